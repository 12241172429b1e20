"""Admin: the break reasons agents choose from, edited as one list (one reason per line).

The engine checks the whole list and names the first bad entry (`reasons.2` in the refusal's
`field`), which the form selects; the form stays open with the text as typed until it is
right, so nothing the admin wrote is lost to a refusal.
"""

from __future__ import annotations

import re

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static, TextArea
from textual.worker import Worker, WorkerState

from engine.client.client import EngineClient, Invalid

from ..messages import BreakReasonsSaved, WorkerFailed
from ..widgets.dialog_error import DialogError
from ..widgets.form import refusal_text, refused_field

_ENTRY_FIELD = re.compile(r"reasons\.(\d+)")


def entry_refused(error: BaseException | None) -> int | None:
    """Which entry of the list a refusal is about (from 0), if it is about one."""
    field = refused_field(error)
    entry = _ENTRY_FIELD.fullmatch(field) if field is not None else None
    return int(entry.group(1)) if entry is not None else None


class BreakReasonsForm(ModalScreen[list[str] | None]):
    """Returns the list as the engine saved it, or None when cancelled."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="reasons.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="reasons.cancel"),
    ]

    def __init__(self, api: EngineClient, reasons: list[str]) -> None:
        super().__init__()
        self.api = api
        self.reasons = reasons
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="reasons-dialog"):
            yield Label("Break reasons", classes="dialog-title")
            yield Static(
                "One per line, in the order agents see them. Empty lines are ignored.",
                classes="dialog-note",
                markup=False,
            )
            yield TextArea(
                "\n".join(self.reasons), id="reasons-text", soft_wrap=False, show_line_numbers=True
            )
            yield DialogError(id="reasons-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="reasons-save", variant="primary", compact=True)
                yield Button("Cancel", id="reasons-cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#reasons-text", TextArea).focus()

    @property
    def entered(self) -> list[str]:
        """The non-empty lines, as the engine will number them."""
        text = self.query_one("#reasons-text", TextArea).text
        return [line for line in text.splitlines() if line.strip()]

    @on(Button.Pressed, "#reasons-save")
    def action_save(self) -> None:
        if self.saving:
            return
        self.saving = True
        self.show_error("")
        self._save(self.entered)

    @work(group="reasons", exit_on_error=False)
    async def _save(self, reasons: list[str]) -> None:
        self.post_message(BreakReasonsSaved(await self.api.set_break_reasons(reasons)))

    @on(BreakReasonsSaved)
    def _saved(self, message: BreakReasonsSaved) -> None:
        self.dismiss(message.reasons)

    def show_error(self, message: str) -> None:
        self.query_one("#reasons-error", DialogError).say(message)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.saving = False
            message = refusal_text(worker.error)
            if not isinstance(worker.error, Invalid):
                self.app.post_message(WorkerFailed(worker, worker.error))
            self.show_error(f"Not saved: {message}")
            self.point_at(entry_refused(worker.error))

    def point_at(self, entry: int | None) -> None:
        """Put the cursor on the line of the entry refused (entries are the non-empty lines,
        counted from 0), or at least in the text."""
        area = self.query_one("#reasons-text", TextArea)
        area.focus()
        if entry is None:
            return
        lines = area.text.splitlines()
        numbered = [i for i, line in enumerate(lines) if line.strip()]
        if 0 <= entry < len(numbered):
            area.select_line(numbered[entry])

    @on(Button.Pressed, "#reasons-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
