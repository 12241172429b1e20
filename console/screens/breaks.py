"""`b`: going on break, with one of the reasons the admin defined.

The picker opens at once with the reasons the screen already knows, then asks the engine for
the current list, so an admin's edit reaches agents without them reconnecting. Each option's id
is its reason, not its place in the list: a reload that lands while the agent chooses may
reorder the list, and the agent still gets the reason they chose, with the cursor left on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from engine.text.sanitize import one_line

# The id of the one option when no reasons are defined. Reasons hold no control characters
# (the engine refuses them), so none can be mistaken for this one.
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
        self.reasons = self._distinct(reasons)
        self.reload = reload

    def compose(self) -> ComposeResult:
        with Vertical(id="break-dialog"):
            yield Label("Take a break", classes="dialog-title")
            yield OptionList(*self._options(), id="break-reasons")
        yield Footer(compact=True)

    @staticmethod
    def _distinct(reasons: Sequence[str]) -> list[str]:
        """The reasons in order, each once (they are the option ids), without empty ones."""
        return [reason for reason in dict.fromkeys(reasons) if reason]

    def _options(self) -> list[Option]:
        options = [Option(Text(one_line(r, 40)), id=r) for r in self.reasons]
        return options or [Option(Text("Break"), id=NO_REASON)]

    def on_mount(self) -> None:
        self.query_one("#break-reasons", OptionList).focus()
        if self.reload is not None:
            self._refresh_reasons()

    @work(exclusive=True, exit_on_error=False)
    async def _refresh_reasons(self) -> None:
        assert self.reload is not None
        reasons = self._distinct(await self.reload())
        if reasons == self.reasons:
            return
        self.reasons = reasons
        picker = self.query_one("#break-reasons", OptionList)
        at = picker.highlighted_option
        picker.clear_options()
        picker.add_options(self._options())
        # The cursor stays on the reason the agent is at; if that one went away, on the top.
        kept = at.id if at is not None else None
        picker.highlighted = reasons.index(kept) if kept in reasons else 0

    @on(OptionList.OptionSelected, "#break-reasons")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        # The option carries its reason: right even when a reload replaced the list since.
        reason = event.option.id
        self.dismiss("" if reason is None or reason == NO_REASON else reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
