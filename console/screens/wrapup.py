"""The wrap-up dialog (docs/wrapup.md): closing an interaction asks for the campaign's
disposition code (when it has codes) and an optional internal note, under the warnings the
close question always gave (a client without an answer, a reply never sent).

The dialog closes the interaction itself, so that a refusal (no code where one is required,
a code that is no longer in use, a note too long) lands under its field and nothing typed is
lost; it returns the engine's summary of the closed interaction, or None when cancelled.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static, TextArea
from textual.worker import Worker, WorkerState

from engine.api.schemas import DispositionTree, InteractionSummary
from engine.client.client import EngineClient

from ..messages import CodesLoaded, WorkerFailed, WrapupClosed
from ..widgets.dialog_error import DialogError
from ..widgets.disposition_picker import DispositionPicker
from ..widgets.form import refusal_text, refused_field, said_under


class WrapupScreen(ModalScreen[InteractionSummary | None]):
    DEFAULT_CSS = """
    WrapupScreen { align: center middle; }
    #wrapup-dialog {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        padding: 0 1; border: round $primary; background: $surface;
    }
    #wrapup-question { height: auto; max-height: 7; }
    #wrapup-codes-label, #wrapup-note-label { margin-top: 1; }
    #wrapup-note { height: 3; border: none; padding: 0 1; background: $boost; }
    #wrapup-dialog .dialog-buttons { margin-top: 0; }
    """

    BINDINGS = [
        Binding("ctrl+s", "close", "Close it", id="wrapup.close", priority=True),
        Binding("escape", "cancel", "Keep open", id="wrapup.cancel"),
        Binding("ctrl+n", "note", "Note", id="wrapup.note"),
    ]

    def __init__(
        self, api: EngineClient, interaction_id: int, question: Text, *, yes: str = "Close"
    ) -> None:
        super().__init__()
        self.api = api
        self.interaction_id = interaction_id
        self.question = question
        self.yes = yes
        self.choices: DispositionTree | None = None
        self.closing = False

    def compose(self) -> ComposeResult:
        with Vertical(id="wrapup-dialog"):
            yield Static(self.question, id="wrapup-question", markup=False)
            yield Label("Disposition: loading the campaign's codes…", id="wrapup-codes-label")
            yield DialogError(id="wrapup-disposition-error")
            yield Label(
                "Internal note (optional; never sent to the client)", id="wrapup-note-label"
            )
            yield TextArea("", id="wrapup-note", soft_wrap=True)
            yield DialogError(id="wrapup-note-error")
            yield DialogError(id="wrapup-general-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, id="wrapup-yes", variant="error", compact=True)
                yield Button("Keep open", id="wrapup-no", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#wrapup-note", TextArea).focus()
        self.load_choices()

    @work(exclusive=True, group="wrapup-codes", exit_on_error=False)
    async def load_choices(self) -> None:
        self.post_message(CodesLoaded(await self.api.close_choices(self.interaction_id)))

    @on(CodesLoaded)
    def _codes_arrived(self, message: CodesLoaded) -> None:
        self.show_choices(message.tree)

    def show_choices(self, choices: DispositionTree) -> None:
        self.choices = choices
        label = self.query_one("#wrapup-codes-label", Label)
        if not choices.codes:
            label.display = False
            return
        title = Text("Disposition (required)" if choices.required else "Disposition (optional)")
        title.append("  ↑↓ · enter: open or choose · ⌫: up", style="dim")
        label.update(title)
        picker = DispositionPicker(choices.codes, id="wrapup-picker")
        self.query_one("#wrapup-dialog").mount(picker, after=label)
        self.call_after_refresh(lambda: picker.query_one("#dispo-filter").focus())

    @property
    def picker(self) -> DispositionPicker | None:
        found = self.query("#wrapup-picker")
        return found.first(DispositionPicker) if found else None

    @on(DispositionPicker.Chosen)
    def _chosen(self) -> None:
        self.say("disposition", "")
        self.query_one("#wrapup-note", TextArea).focus()

    def action_note(self) -> None:
        self.query_one("#wrapup-note", TextArea).focus()

    def say(self, where: str, message: str) -> None:
        self.query_one(f"#wrapup-{where}-error", DialogError).say(message)

    @on(Button.Pressed, "#wrapup-yes")
    def action_close(self) -> None:
        if self.closing:
            return
        self.closing = True
        for where in ("disposition", "note", "general"):
            self.say(where, "")
        picker = self.picker
        disposition = picker.chosen_path if picker is not None else ""
        note = self.query_one("#wrapup-note", TextArea).text
        self.close_with(disposition, note)

    @work(group="wrapup-close", exit_on_error=False)
    async def close_with(self, disposition: str, note: str) -> None:
        closed = await self.api.close_interaction(
            self.interaction_id, disposition=disposition, note=note
        )
        self.post_message(WrapupClosed(closed))

    @on(WrapupClosed)
    def _wrapped_up(self, message: WrapupClosed) -> None:
        self.dismiss(message.summary)

    @on(Button.Pressed, "#wrapup-no")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is not WorkerState.ERROR or worker.error is None:
            return
        error = worker.error
        field = refused_field(error)
        if worker.group == "wrapup-close":
            self.closing = False
        if field in ("disposition", "note"):
            self.say(field, said_under(refusal_text(error), field))
            target = self.picker if field == "disposition" else None
            if target is not None:
                target.query_one("#dispo-filter").focus()
            return
        self.app.post_message(WorkerFailed(worker, error))
        self.say("general", f"Not closed: {refusal_text(error)}")
