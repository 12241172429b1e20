"""c: a new interaction with a client, in one of my campaigns; s: one started from the
message the agent points at (its campaign, subject and text filled in). What was typed is
kept in the console on Esc: one draft for `c`, one per message for `s`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.api.schemas import InteractionDetail

from ..screens.compose_drafts import DraftKey
from ..screens.new_interaction import NewInteractionScreen
from ..widgets.inbox import summary_of
from . import max_bytes, message_of

if TYPE_CHECKING:
    from ..screens.agent import AgentScreen


def start_from(agent: AgentScreen, detail: InteractionDetail) -> None:
    message = message_of(agent, detail)
    new_interaction(
        agent,
        key=("new", detail.id, message.id if message is not None else None),
        campaign=detail.campaign_name,
        subject=message.subject if message is not None else detail.subject,
        body=message.text if message is not None else "",
    )


def new_interaction(
    agent: AgentScreen,
    *,
    key: DraftKey = ("new",),
    campaign: str | None = None,
    subject: str = "",
    body: str = "",
) -> None:
    campaigns = sorted(agent.me.campaigns)
    if not campaigns:
        agent.notify("You are not a member of any campaign.", severity="warning")
        return

    def done(result: InteractionDetail | None) -> None:
        if result is None:
            if agent.kept.left(key, screen):
                again = "s on the same message" if len(key) > 1 else "c"
                agent.notify(f"New message kept as a draft: {again} opens it again", markup=False)
            return
        agent.kept.forget(key)
        if result.state == "assigned" and result.agent == agent.me.username:
            agent.inbox.upsert(summary_of(result))
        agent.notify(f"Interaction #{result.id} started", markup=False)

    screen = NewInteractionScreen(
        agent.client,
        campaigns=campaigns,
        campaign=campaign,
        subject=subject,
        body=body,
        max_attachment_bytes=max_bytes(agent),
        kept=agent.kept.get(key),
    )
    agent.app.push_screen(screen, done)
