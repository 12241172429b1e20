"""Choosing a wrap-up code (docs/wrapup.md): the campaign's codes one level at a time, or,
as soon as something is typed, every code that can be chosen by its full path, filtered.

Keys: type to filter; ↑ ↓ move; enter (or →) opens a level or chooses a code; backspace in
the empty filter (or ←) goes back up a level. Every row is also a click: the first row of a
level below the top is "‹ back". Names come from an admin: shown as plain text.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from engine.api.schemas import DispositionNode
from engine.text.sanitize import one_line

SHOWN = " > "
BACK = "‹back"


def leaf_paths(nodes: list[DispositionNode], above: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every code that can be chosen (no code below it), by path, in tree order."""
    out: list[tuple[str, ...]] = []
    for node in nodes:
        here = (*above, node.name)
        out += leaf_paths(node.children, here) if node.children else [here]
    return out


class FilterInput(Input):
    """The filter line: backspace with nothing typed goes up a level."""

    @dataclass
    class Up(Message):
        pass

    def action_delete_left(self) -> None:
        if not self.value:
            self.post_message(self.Up())
            return
        super().action_delete_left()


class DispositionPicker(Vertical):
    DEFAULT_CSS = """
    DispositionPicker { height: auto; }
    DispositionPicker #dispo-filter { height: 1; border: none; padding: 0 1; background: $boost; }
    DispositionPicker #dispo-list {
        height: auto; max-height: 6; min-height: 2; border: none; padding: 0;
    }
    DispositionPicker #dispo-chosen { height: 1; }
    """

    BINDINGS = [
        Binding("down", "move(1)", "Next code", show=False, id="wrapup.next"),
        Binding("up", "move(-1)", "Previous code", show=False, id="wrapup.previous"),
        Binding("right", "open", "Open level", show=False, id="wrapup.open"),
        Binding("left", "up", "Up a level", show=False, id="wrapup.up"),
    ]

    @dataclass
    class Chosen(Message):
        """A code was chosen ("" when the choice was dropped)."""

        picker: DispositionPicker
        path: str

        @property
        def control(self) -> DispositionPicker:
            return self.picker

    def __init__(self, codes: list[DispositionNode], *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.codes = codes
        self.level: tuple[str, ...] = ()  # the names of the open levels
        self.chosen: tuple[str, ...] = ()
        self.rows: list[tuple[str, ...] | None] = []  # per option: a path, None = back

    def compose(self) -> ComposeResult:
        yield FilterInput(placeholder="type to filter, enter to choose", id="dispo-filter")
        yield OptionList(id="dispo-list")
        yield Static("", id="dispo-chosen", markup=False)

    def on_mount(self) -> None:
        self.refill()
        self.show_chosen()

    @property
    def chosen_path(self) -> str:
        return SHOWN.join(self.chosen)

    def nodes_at(self, level: tuple[str, ...]) -> list[DispositionNode]:
        nodes = self.codes
        for name in level:
            found = next((n for n in nodes if n.name == name), None)
            nodes = found.children if found is not None else []
        return nodes

    def refill(self) -> None:
        typed = self.query_one("#dispo-filter", Input).value.strip().casefold()
        options: list[Option] = []
        self.rows = []
        if typed:
            for path in leaf_paths(self.codes):
                if typed in SHOWN.join(path).casefold():
                    self.rows.append(path)
                    options.append(Option(Text(one_line(SHOWN.join(path), 70))))
        else:
            if self.level:
                self.rows.append(None)
                options.append(Option(Text(f"‹ {one_line(SHOWN.join(self.level), 60)}", "dim")))
            for node in self.nodes_at(self.level):
                self.rows.append((*self.level, node.name))
                label = Text(one_line(node.name, 60))
                if node.children:
                    label.append(" ›", "bold")
                options.append(Option(label))
        listing = self.query_one("#dispo-list", OptionList)
        listing.clear_options()
        listing.add_options(options or [Option(Text("no code matches", "dim"), disabled=True)])
        if options:
            listing.highlighted = 1 if self.level and not typed and len(options) > 1 else 0

    def show_chosen(self) -> None:
        line = Text("Chosen: ", "dim")
        if self.chosen:
            line.append(one_line(self.chosen_path, 66), "bold")
        else:
            line.append("none yet", "dim italic")
        self.query_one("#dispo-chosen", Static).update(line)

    def action_move(self, step: int) -> None:
        listing = self.query_one("#dispo-list", OptionList)
        if listing.option_count:
            current = listing.highlighted if listing.highlighted is not None else -step
            listing.highlighted = max(0, min(listing.option_count - 1, current + step))

    def action_open(self) -> None:
        listing = self.query_one("#dispo-list", OptionList)
        if listing.highlighted is not None:
            self.take(listing.highlighted)

    def action_up(self) -> None:
        if self.query_one("#dispo-filter", Input).value:
            return
        if self.level:
            self.level = self.level[:-1]
            self.refill()

    def take(self, index: int) -> None:
        """Open the level of row `index`, or choose its code."""
        if not 0 <= index < len(self.rows):
            return
        path = self.rows[index]
        if path is None:
            self.action_up()
            return
        if not self.query_one("#dispo-filter", Input).value and self.nodes_at(path):
            self.level = path
            self.refill()
            return
        self.chosen = path
        self.show_chosen()
        self.post_message(self.Chosen(self, self.chosen_path))

    @on(Input.Changed, "#dispo-filter")
    def _typed(self) -> None:
        self.refill()

    @on(Input.Submitted, "#dispo-filter")
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_open()

    @on(FilterInput.Up)
    def _up(self) -> None:
        self.action_up()

    @on(OptionList.OptionSelected, "#dispo-list")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.take(event.option_index)
