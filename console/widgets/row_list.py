"""A labelled list of typed one-line rows: the campaign form's weekly hours and exceptions.

The manual's way: the rows are listed one per line; `+` adds one (the cursor goes to the
line where it is typed, Enter adds it), `-` removes the highlighted one; the `+` and `-`
buttons do the same by mouse. Each typed row is read by the parser given (the engine's own
text format, `engine/api/schedule_text.py`), so what the form accepts is what `ctl` accepts;
a row it cannot read stays where it was typed with the reason under it. The widget holds
the parsed values (`values`); the form sends them as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from engine.text.sanitize import one_line


class Rows(OptionList):
    """The rows themselves; `+` and `-` work here."""

    BINDINGS = [
        Binding("plus", "add", "Add", id="rows.add"),
        Binding("minus,delete", "remove", "Remove", id="rows.remove"),
    ]

    def action_add(self) -> None:
        parent = self.parent
        while parent is not None and not isinstance(parent, RowList):
            parent = parent.parent
        if isinstance(parent, RowList):
            parent.add_typed()

    def action_remove(self) -> None:
        parent = self.parent
        while parent is not None and not isinstance(parent, RowList):
            parent = parent.parent
        if isinstance(parent, RowList):
            parent.remove_highlighted()


class RowList(Vertical):
    """`label  rows...` then `[new row] [+] [-]` and an error line, hidden until set.

    `#<id>` is the list of rows, `#<id>-new` the line where one is typed, `#<id>-field` the
    whole; `wire_name` the request field (`schedule`), which refusals name.
    """

    DEFAULT_CSS = """
    RowList {
        height: auto;
    }
    RowList > Horizontal {
        height: auto;
    }
    RowList .rows-body {
        height: auto;
        width: 1fr;
    }
    RowList Rows {
        height: auto;
        max-height: 6;
        border: none;
        padding: 0;
        background: $foreground 4%;
    }
    RowList .rows-empty {
        color: $text-muted;
    }
    RowList .rows-entry {
        height: 1;
    }
    RowList .rows-entry Input {
        width: 1fr;
        background: $foreground 8%;
    }
    RowList .rows-entry Button {
        min-width: 3;
        margin-left: 1;
    }
    RowList .field-error {
        display: none;
        color: $text-error;
    }
    RowList.-error .field-error {
        display: block;
    }
    """

    @dataclass
    class Changed(Message):
        """A row was added or removed."""

        rows: RowList

        @property
        def control(self) -> RowList:
            return self.rows

    def __init__(
        self,
        label: str,
        *,
        list_id: str,
        values: list[Any],
        parse: Callable[[str], Any],
        show: Callable[[Any], str],
        example: str,
        empty: str,
        wire_name: str,
    ) -> None:
        super().__init__(id=f"{list_id}-field")
        self.label = label
        self.list_id = list_id
        self.values = list(values)
        self.parse = parse
        self.show = show
        self.example = example
        self.empty = empty
        self.wire_name = wire_name

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.label, markup=False)
            with Vertical(classes="rows-body"):
                yield Static(self.empty, classes="rows-empty", markup=False)
                yield Rows(id=self.list_id, compact=True)
                with Horizontal(classes="rows-entry"):
                    yield Input(
                        placeholder=f"e.g. {self.example}; Enter adds",
                        id=f"{self.list_id}-new",
                        compact=True,
                    )
                    yield Button("+", id=f"{self.list_id}-add", compact=True)
                    yield Button("-", id=f"{self.list_id}-remove", compact=True)
                yield Static("", id=f"{self.list_id}-error", classes="field-error", markup=False)

    def on_mount(self) -> None:
        self._redraw()

    @property
    def rows(self) -> Rows:
        return self.query_one(Rows)

    @property
    def entry(self) -> Input:
        return self.query_one(f"#{self.list_id}-new", Input)

    @property
    def input(self) -> Input:
        """Where the cursor goes to show a refusal (as `FormField.input`)."""
        return self.entry

    def _redraw(self, highlight: int | None = None) -> None:
        rows = self.rows
        rows.clear_options()
        # Typed by admins (a holiday's note): shown as text, never as markup.
        rows.add_options([Option(Text(one_line(self.show(v), 70))) for v in self.values])
        rows.display = bool(self.values)
        self.query_one(".rows-empty", Static).display = not self.values
        if self.values:
            rows.highlighted = min(highlight or 0, len(self.values) - 1)

    # ---- editing ----
    def add_typed(self) -> bool:
        """Add what is typed on the entry line; with nothing typed, move the cursor there.
        False (with the reason under the list) when it cannot be read."""
        text = self.entry.value.strip()
        if not text:
            self.entry.focus()
            return True
        try:
            value = self.parse(text)
        except ValueError as exc:
            self.show_error(str(exc))
            self.entry.focus()
            return False
        self.clear_error()
        self.values.append(value)
        self.entry.value = ""
        self._redraw(len(self.values) - 1)
        self.post_message(self.Changed(self))
        return True

    def remove_highlighted(self) -> None:
        index = self.rows.highlighted
        if index is None or not 0 <= index < len(self.values):
            return
        del self.values[index]
        self.clear_error()
        self._redraw(index)
        if self.values:
            self.rows.focus()
        self.post_message(self.Changed(self))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.entry.value.strip():
            self.add_typed()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == f"{self.list_id}-add":
            self.add_typed()
        else:
            self.remove_highlighted()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self.clear_error()

    # ---- errors ----
    @property
    def has_error(self) -> bool:
        return self.has_class("-error")

    @property
    def error(self) -> str:
        return str(self.query_one(".field-error", Static).content) if self.has_error else ""

    def show_error(self, message: str) -> None:
        self.query_one(".field-error", Static).update(Text(one_line(message, 200)))
        self.add_class("-error")

    def clear_error(self) -> None:
        self.remove_class("-error")
