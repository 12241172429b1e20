"""The reply editor: a modal that returns the body to send, or None when cancelled.

The screen does not talk to the engine: the agent screen sends the text, so a failed send
(engine gone, SMTP refused) never loses what was typed. On cancel the caller can still read
`body` to keep it as a draft.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static, TextArea

from engine.api.sanitize import one_line

_RE = re.compile(r"^\s*re\s*:", re.IGNORECASE)


def reply_subject(subject: str) -> str:
    """What the engine will send: `Re: ` once, not `Re: Re: `."""
    return subject if _RE.match(subject) else f"Re: {subject}"


class ReplyScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", id="reply.send", priority=True),
        Binding("escape", "cancel", "Cancel", id="reply.cancel"),
    ]

    def __init__(self, *, client: str, to: str, subject: str, draft: str = "") -> None:
        super().__init__()
        self.client_label = client
        self.to = to
        self.subject = subject
        self.draft = draft

    def compose(self) -> ComposeResult:
        with Vertical(id="reply-dialog"):
            title = Text("Reply to ", style="bold")
            title.append(one_line(self.client_label, 60))
            yield Label(title, id="reply-title", markup=False)
            yield Static(self._field("To", self.to), id="reply-to", markup=False)
            yield Static(
                self._field("Subject", reply_subject(self.subject)),
                id="reply-subject",
                markup=False,
            )
            yield TextArea(self.draft, id="reply-body", soft_wrap=True, show_line_numbers=False)
            yield Static(
                Text.assemble(
                    ("ctrl+s", "bold"), " send   ", ("esc", "bold"), " cancel (kept as draft)"
                ),
                id="reply-hint",
                markup=False,
            )

    @staticmethod
    def _field(label: str, value: str) -> Text:
        text = Text(f"{label:<8}", style="bold")
        text.append(one_line(value))
        return text

    def on_mount(self) -> None:
        area = self.query_one("#reply-body", TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    @property
    def body(self) -> str:
        """The text typed so far; still readable after the screen is dismissed."""
        return self.draft

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self.draft = event.text_area.text

    def action_send(self) -> None:
        self.draft = self.query_one("#reply-body", TextArea).text
        if not self.body.strip():
            self.notify("The reply is empty.", severity="warning")
            return
        self.dismiss(self.body)

    def action_cancel(self) -> None:
        self.draft = self.query_one("#reply-body", TextArea).text
        self.dismiss(None)
