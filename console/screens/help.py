"""`?` (or F1): the keys of the screen underneath, with what they do."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

# Textual's own screen keys: listed last, after what is specific to the screen.
GENERIC = frozenset({"app.focus_next", "app.focus_previous", "focus_next", "focus_previous"})
GENERIC |= {"screen.copy_text", "copy_text", "app.copy_text"}


def screen_keys(screen: Screen[object]) -> list[tuple[str, str]]:
    """(keys, description): the screen's own bindings, then the app's, then those of the
    focused widget that it shows in the footer (scrolling keys are left out)."""
    rows: dict[str, list[str]] = {}

    def rank(active: ActiveBinding) -> int:
        if active.binding.action in GENERIC:
            return 3
        return 0 if active.node is screen else 1 if active.node is screen.app else 2

    ranked = sorted(screen.active_bindings.values(), key=rank)
    for active in ranked:
        binding = active.binding
        if not binding.description or binding.system:
            continue
        if active.node is not screen and not binding.show:
            continue
        key = screen.app.get_key_display(binding)
        keys = rows.setdefault(binding.description, [])
        if key not in keys:
            keys.append(key)
    return [(" / ".join(keys), description) for description, keys in rows.items()]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help.close")]

    def __init__(self, title: str, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label(Text(f"Keys: {self.title_text}", style="bold"), classes="dialog-title")
            table = Table.grid(padding=(0, 2))
            table.add_column(style="bold", no_wrap=True)
            table.add_column()
            for key, description in self.keys:
                table.add_row(Text(key), Text(description))
            with VerticalScroll(id="help-keys"):
                yield Static(table, markup=False)
            yield Static("Ctrl+P lists them as commands too. Esc closes.", classes="dialog-note")

    def action_close(self) -> None:
        self.dismiss(None)
