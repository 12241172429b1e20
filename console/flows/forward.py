"""f: forward the message the agent points at (the focused one, else the newest inbound) to
someone else. What was typed is kept in the console on Esc, per message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.api.schemas import InteractionDetail

from ..screens.compose_drafts import DraftKey
from ..screens.forward import ForwardScreen
from . import max_bytes, message_of

if TYPE_CHECKING:
    from ..screens.agent import AgentScreen


def forward(agent: AgentScreen, detail: InteractionDetail) -> None:
    message = message_of(agent, detail)
    if message is None:
        agent.notify("There is no message to forward.", severity="warning")
        return

    key: DraftKey = ("forward", detail.id, message.id)

    def done(result: InteractionDetail | None) -> None:
        if result is None:
            if agent.kept.left(key, screen):
                agent.notify(
                    "Forward kept as a draft: f on the same message opens it again", markup=False
                )
            return
        agent.kept.forget(key)
        agent.show_detail(result)
        agent.notify("Forward queued")

    screen = ForwardScreen(
        agent.client,
        detail=detail,
        message=message,
        max_attachment_bytes=max_bytes(agent),
        kept=agent.kept.get(key),
    )
    agent.app.push_screen(screen, done)
