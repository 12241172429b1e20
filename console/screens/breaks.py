"""`b`: going on break, with one of the reasons the admin defined."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from engine.api.sanitize import one_line

NO_REASON = "\x00none"


class BreakPicker(ModalScreen[str | None]):
    """Returns the reason ("" when none were defined), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="break.cancel")]

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__()
        self.reasons = list(reasons)

    def compose(self) -> ComposeResult:
        with Vertical(id="break-dialog"):
            yield Label("Take a break", classes="dialog-title")
            options = [Option(Text(one_line(r, 40)), id=str(i)) for i, r in enumerate(self.reasons)]
            if not options:
                options = [Option(Text("Break"), id=NO_REASON)]
            yield OptionList(*options, id="break-reasons")

    def on_mount(self) -> None:
        self.query_one("#break-reasons", OptionList).focus()

    @on(OptionList.OptionSelected, "#break-reasons")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == NO_REASON or event.option.id is None:
            self.dismiss("")
        else:
            self.dismiss(self.reasons[int(event.option.id)])

    def action_cancel(self) -> None:
        self.dismiss(None)
