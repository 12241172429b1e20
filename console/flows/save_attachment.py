"""v: save an attachment of the thread (the focused message's first, or one chosen) to a
file. Those over the inbound limit were kept only inside the original mail."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine.api.schemas import InteractionDetail

from ..screens.save_attachment import SaveAttachmentScreen

if TYPE_CHECKING:
    from ..screens.agent import AgentScreen


def save_attachment(agent: AgentScreen, detail: InteractionDetail) -> None:
    thread = agent.thread
    shown = thread.interaction_id == detail.id
    attachments = (
        thread.attachments
        if shown
        else [a for m in reversed(detail.messages) for a in m.attachments]
    )
    if not attachments:
        agent.notify("This thread has no attachments.", severity="warning")
        return
    # Over the inbound limit: the engine kept them only inside the original mail.
    attachments = [a for a in attachments if not a.over_limit]
    if not attachments:
        agent.notify(
            "Its attachments were too large to keep on their own; "
            "they are only in the original mail.",
            severity="warning",
        )
        return
    current = thread.current_attachment if shown else None

    def saved(path: Path | None) -> None:
        if path is not None:
            agent.notify(f"Saved {path}", markup=False)

    screen = SaveAttachmentScreen(
        agent.client, attachments, selected=current.id if current is not None else None
    )
    agent.app.push_screen(screen, saved)
