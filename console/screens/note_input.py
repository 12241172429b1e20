"""`n`: one internal note on an interaction, written in a line (docs/transfer.md). Agents
and supervisors read it in the thread; it is never sent in mail. Returns the text, or None."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static

from engine.text.sanitize import one_line


class NoteInput(ModalScreen[str | None]):
    DEFAULT_CSS = """
    NoteInput { align: center middle; }
    #note-dialog {
        width: 76;
        max-width: 100%;
        height: auto;
        padding: 0 1;
        border: round $warning;
        background: $surface;
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="note.cancel")]

    def __init__(self, subject: str) -> None:
        super().__init__()
        self.subject = subject

    def compose(self) -> ComposeResult:
        with Vertical(id="note-dialog"):
            subject = one_line(self.subject or "(no subject)", 50)
            yield Label(f"Internal note on “{subject}”", classes="dialog-title", markup=False)
            yield Static(
                "Colleagues and supervisors see it in the thread; the client never does.",
                classes="dialog-note",
                markup=False,
            )
            yield Input(
                placeholder="The note; Enter saves, Esc cancels", id="note-text", max_length=4000
            )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#note-text")
    def _saved(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
