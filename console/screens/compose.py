"""The reply screen: `r` answers the client, `R` also quotes the conversation so far.

The shared machinery (sending, templates, files, $EDITOR, drafts) is in `compose_base`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from engine.api.schemas import InteractionDetail
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from .compose_base import ComposeScreen, labelled
from .compose_drafts import Kept

_RE = re.compile(r"^\s*re\s*:", re.IGNORECASE)


def reply_subject(subject: str) -> str:
    """What the engine will send: `Re: ` once, not `Re: Re: `."""
    return subject if _RE.match(subject) else f"Re: {subject}"


class ReplyScreen(ComposeScreen):
    """`r` (or `R`, quoting the conversation so far): the reply goes to the client."""

    BODY_ID = "reply-body"
    BODY_PLACEHOLDER = "Write your reply. Ctrl+T inserts a template."

    def __init__(
        self,
        api: EngineClient,
        *,
        client: str,
        to: str,
        subject: str,
        draft: str = "",
        interaction_id: int | None = None,
        with_history: bool = False,
        max_attachment_bytes: int | None = None,
        on_draft: Callable[[str], None] | None = None,
        start_in_editor: bool = False,
        kept: Kept | None = None,
    ) -> None:
        super().__init__(
            api,
            draft=draft,
            interaction_id=interaction_id,
            max_attachment_bytes=max_attachment_bytes,
            on_draft=on_draft,
            kept=kept,
        )
        self.client_label = client
        self.to = to
        self.subject = subject
        self.with_history = with_history
        self.start_in_editor = start_in_editor

    def on_mount(self) -> None:
        # Textual also runs ComposeScreen.on_mount (handlers run for every class in the MRO).
        if self.start_in_editor:
            self.call_after_refresh(self.action_edit)

    def title_text(self) -> Text:
        title = Text("Reply with history to " if self.with_history else "Reply to ", style="bold")
        title.append(one_line(self.client_label, 60))
        return title

    def compose_fields(self) -> Iterable[Widget]:
        yield Static(labelled("To", self.to), id="reply-to", markup=False)
        yield Static(
            labelled("Subject", reply_subject(self.subject)), id="reply-subject", markup=False
        )
        if self.with_history:
            yield Static(
                "The conversation so far is quoted under your text.",
                id="reply-history",
                classes="compose-note",
                markup=False,
            )

    async def submit(self) -> InteractionDetail:
        assert self.interaction_id is not None
        return await self.api.reply(
            self.interaction_id,
            self.draft,
            with_history=self.with_history,
            uploads=self.uploads.tokens,
        )
