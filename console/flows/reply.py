"""r, R, e: reply to the client, optionally with the conversation quoted or in $EDITOR.

The reply's text is the engine's draft, saved as typed (`persist_draft`); the files chosen
are kept in the console when the agent leaves with Esc.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.api.schemas import InteractionDetail

from ..screens.compose import ReplyScreen
from ..screens.compose_drafts import DraftKey, Kept
from . import draft_of, max_bytes

if TYPE_CHECKING:
    from ..screens.agent import AgentScreen


def reply(
    agent: AgentScreen,
    detail: InteractionDetail,
    *,
    with_history: bool = False,
    editor: bool = False,
) -> None:
    key: DraftKey = ("reply", detail.id)
    screen = ReplyScreen(
        agent.client,
        client=detail.client_name.strip() or detail.client_email,
        to=detail.client_email,
        subject=detail.subject,
        draft=draft_of(agent, detail),
        interaction_id=detail.id,
        with_history=with_history,
        max_attachment_bytes=max_bytes(agent),
        on_draft=lambda text: persist_draft(agent, detail.id, text),
        start_in_editor=editor,
        kept=agent.kept.get(key),
    )

    def done(result: InteractionDetail | None) -> None:
        if result is None:
            if screen.body != draft_of(agent, detail):
                persist_draft(agent, detail.id, screen.body)
            # The text is the engine's draft; the files chosen stay here.
            if screen.left is not None and screen.left.uploads:
                agent.kept.put(key, Kept(uploads=screen.left.uploads))
            else:
                agent.kept.forget(key)
            return
        agent.kept.forget(key)
        agent.drafts[detail.id] = ""
        agent.show_detail(result)
        agent.notify("Reply queued")

    agent.app.push_screen(screen, done)


def persist_draft(agent: AgentScreen, interaction_id: int, text: str) -> None:
    """Keep the unsent reply in the agent screen and in the engine (in the order typed)."""
    agent.drafts[interaction_id] = text
    if agent.thread.interaction_id == interaction_id:
        agent.thread.set_draft(text)

    async def save() -> None:
        async with agent.draft_lock:
            await agent.client.save_draft(interaction_id, text)

    agent.run_worker(save(), group="draft", exit_on_error=False)
