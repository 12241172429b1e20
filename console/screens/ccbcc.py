"""`C`: the interaction's CC and BCC, as the next messages will carry them.

Saving sends both lists to the engine; an address it refuses is named under the field the
refusal is about (its `field`: `cc` or `bcc`) and the form stays open.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from engine.api.schemas import InteractionDetail
from engine.client.client import EngineClient, Invalid
from engine.text.sanitize import one_line

from ..messages import CcBccSaved, WorkerFailed
from ..widgets.dialog_error import DialogError
from ..widgets.form import FormField, place_error, refusal_text


class CcBccScreen(ModalScreen[InteractionDetail | None]):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="ccbcc.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="ccbcc.cancel"),
    ]

    def __init__(self, api: EngineClient, detail: InteractionDetail) -> None:
        super().__init__()
        self.api = api
        self.detail = detail
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="ccbcc-dialog"):
            title = Text("Copies for the conversation with ", style="bold")
            title.append(one_line(self.detail.client_name.strip() or self.detail.client_email, 50))
            yield Label(title, classes="dialog-title", markup=False)
            yield Static(
                "Addresses separated by commas; they receive every later message.",
                classes="dialog-note",
                markup=False,
            )
            yield FormField("CC", input_id="cc", value=", ".join(self.detail.cc))
            yield FormField("BCC", input_id="bcc", value=", ".join(self.detail.bcc))
            yield DialogError(id="ccbcc-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="ccbcc-save", variant="primary", compact=True)
                yield Button("Cancel", id="ccbcc-cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#cc", Input).focus()

    def field(self, name: str) -> FormField:
        return self.query_one(f"#{name}-field", FormField)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ccbcc-save")
    def action_save(self) -> None:
        if self.saving:
            return
        self.saving = True
        for name in ("cc", "bcc"):
            self.field(name).clear_error()
        self.show_error("")
        self._save(self.field("cc").input.value.strip(), self.field("bcc").input.value.strip())

    @work(group="ccbcc", exit_on_error=False)
    async def _save(self, cc: str, bcc: str) -> None:
        self.post_message(CcBccSaved(await self.api.set_cc_bcc(self.detail.id, cc, bcc)))

    @on(CcBccSaved)
    def _saved(self, message: CcBccSaved) -> None:
        self.dismiss(message.detail)

    def show_error(self, message: str) -> None:
        self.query_one("#ccbcc-error", DialogError).say(message)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.saving = False
            fields = (self.field("cc"), self.field("bcc"))
            if isinstance(worker.error, Invalid) and place_error(fields, worker.error) is not None:
                return
            self.app.post_message(WorkerFailed(worker, worker.error))
            self.show_error(f"Not saved: {refusal_text(worker.error)}")

    @on(Button.Pressed, "#ccbcc-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
