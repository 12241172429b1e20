"""One internal note in a thread: a transfer, a reassignment or a note someone wrote.

Notes sit among the messages in time order but must never be mistaken for mail: a
distinct colour bar and background, and a first line that says "Internal note" with who
moved it where. Their text was typed by people (and may be pasted mail), so it goes through
`engine.text.sanitize` and the widget is `markup=False`.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from engine.api.schemas import NoteOut
from engine.text.sanitize import one_line, sanitize

from ..timefmt import local_stamp

KIND_WORDS = {"transfer": "transferred", "reassign": "reassigned"}


def note_text(note: NoteOut) -> Text:
    """`Internal note · Ada → Bob  2026-03-01 11:30  transferred`, then the note."""
    text = Text()
    text.append("Internal note", style="bold")
    text.append(" · ")
    text.append(one_line(note.author_name or note.author or "Postdesk", 30), style="bold")
    if note.target:
        text.append(" → ")
        text.append(one_line(note.target, 40), style="bold")
    text.append(f"  {local_stamp(note.created_at)}", style="dim")
    if (words := KIND_WORDS.get(note.kind)) is not None:
        text.append(f"  {words}", style="italic")
    if note.text.strip():
        text.append("\n")
        text.append(sanitize(note.text.strip("\n")))
    return text


class NoteView(Static):
    """`.note` in the thread; not focusable: `f`, `s` and `v` act on messages only."""

    DEFAULT_CSS = """
    NoteView {
        height: auto;
        margin: 0 0 1 0;
        padding: 0 1;
        border-left: thick $warning;
        background: $warning 12%;
    }
    """

    def __init__(self, note: NoteOut) -> None:
        super().__init__(note_text(note), markup=False, classes="note")
        self.note = note
