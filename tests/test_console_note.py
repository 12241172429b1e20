"""An internal note as the thread shows it: marked internal, who moved it where, and its
text (typed by people, perhaps pasted mail) never reaching the terminal raw or as markup."""

from __future__ import annotations

from datetime import UTC, datetime

from console.widgets.note import note_text
from engine.api.schemas import NoteOut


def note(**changes: object) -> NoteOut:
    fields: dict[str, object] = {
        "id": 1,
        "kind": "transfer",
        "author": "ada",
        "author_name": "Ada",
        "target": "Bob",
        "text": "refund ok",
        "created_at": datetime(2026, 3, 1, 11, 35, tzinfo=UTC),
    }
    fields.update(changes)
    return NoteOut(**fields)  # type: ignore[arg-type]


def test_a_transfer_note_says_internal_who_and_where() -> None:
    first, text = note_text(note()).plain.split("\n")
    assert first.startswith("Internal note · Ada → Bob")
    assert first.endswith("transferred")
    assert text == "refund ok"
    plain = note_text(note(kind="note", target="", text="")).plain
    assert plain.startswith("Internal note · Ada") and "→" not in plain and "\n" not in plain
    engine = note_text(note(kind="reassign", author=None, author_name="", target="Support queue"))
    assert engine.plain.startswith("Internal note · Postdesk → Support queue")


def test_hostile_note_text_stays_text() -> None:
    hostile = note(
        author_name="Eve\x1b]0;owned\x07",
        target="Bob\u202e",
        text="\x1b[2J[bold red]wipe[/] \x9b31m",
    )
    shown = note_text(hostile)
    assert "\x1b" not in shown.plain and "\x9b" not in shown.plain and "\u202e" not in shown.plain
    assert "[bold red]wipe[/]" in shown.plain  # markup is shown as typed, never applied
    assert not any("red" in str(span.style) for span in shown.spans)
