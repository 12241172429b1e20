"""`b`: going on break, with one of the reasons the admin defined.

The picker opens at once with the reasons the screen already knows, then asks the engine for
the current list, so an admin's edit reaches agents without them reconnecting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from rich.text import Text
from textual import on, work
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

    def __init__(
        self,
        reasons: Sequence[str],
        reload: Callable[[], Awaitable[list[str]]] | None = None,
    ) -> None:
        super().__init__()
        self.reasons = list(reasons)
        self.reload = reload

    def compose(self) -> ComposeResult:
        with Vertical(id="break-dialog"):
            yield Label("Take a break", classes="dialog-title")
            yield OptionList(*self._options(), id="break-reasons")

    def _options(self) -> list[Option]:
        options = [Option(Text(one_line(r, 40)), id=str(i)) for i, r in enumerate(self.reasons)]
        return options or [Option(Text("Break"), id=NO_REASON)]

    def on_mount(self) -> None:
        self.query_one("#break-reasons", OptionList).focus()
        if self.reload is not None:
            self._refresh_reasons()

    @work(exclusive=True, exit_on_error=False)
    async def _refresh_reasons(self) -> None:
        assert self.reload is not None
        reasons = await self.reload()
        if reasons == self.reasons:
            return
        self.reasons = reasons
        picker = self.query_one("#break-reasons", OptionList)
        picker.clear_options()
        picker.add_options(self._options())
        picker.highlighted = 0

    @on(OptionList.OptionSelected, "#break-reasons")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == NO_REASON or event.option.id is None:
            self.dismiss("")
        else:
            self.dismiss(self.reasons[int(event.option.id)])

    def action_cancel(self) -> None:
        self.dismiss(None)
