"""Admin: one dialer's lists (the manual's "Email lists"), and uploading a CSV into one.

The lists with their counts as the engine gives them (records, pending, failed) and whether
each is active. `u` uploads a CSV chosen with the path picker into a new list (name, subject
with `${variables}`) or appends it to an existing one, with the file's encoding when it is
not UTF-8; the engine's import report follows (`import_report.py`). `d` removes a list after
a question (the engine refuses while it runs, and says so here).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from engine.api.schemas import DialerListOut, ImportReport
from engine.client.client import EngineClient, Invalid, NotFound
from engine.text.sanitize import one_line

from ..messages import WorkerFailed
from ..timefmt import local_stamp
from ..widgets import fitted_table
from ..widgets.dialog_error import DialogError
from ..widgets.form import FormField, place_error, refusal_text
from ..widgets.path_picker import PathPicker
from ..widgets.pick_list import PickList
from .confirm import ConfirmScreen
from .import_report import ImportReportScreen

# No id column: 80 columns keep the subject in sight (`ctl dialer lists` shows ids).
COLUMNS = [
    ("List", "name"),
    ("Active", "active"),
    ("Records", "records"),
    ("Pending", "pending"),
    ("Failed", "failed"),
    ("Added", "created"),
    ("Subject", "subject"),
]
SUBJECT_WIDTH = 24  # the rest of 80 columns: the whole subject is in the upload's report
NEW_LIST = ""


@dataclass
class ListsLoaded(Message, bubble=False):
    lists: list[DialerListOut]


@dataclass
class Imported(Message, bubble=False):
    report: ImportReport


class UploadListForm(ModalScreen[ImportReport | None]):
    """A CSV file from the path picker into a new list or an existing one; returns the
    engine's import report."""

    DEFAULT_CSS = """
    UploadListForm { align: center middle; }
    #upload-dialog FormField Label, #upload-dialog .choice-row Label { width: 10; }
    #upload-dialog FormField .field-error { padding-left: 10; }
    #upload-dialog .choice-row { height: 1; }
    #upload-dialog .choice-row PickList { width: 1fr; }
    #upload-dialog PathPicker { height: 1fr; min-height: 4; }
    """
    BINDINGS = [
        Binding("ctrl+s", "upload", "Upload", id="upload-list.upload", priority=True),
        Binding("escape", "cancel", "Cancel", id="upload-list.cancel"),
    ]

    def __init__(
        self, api: EngineClient, dialer: str, lists: list[DialerListOut], start: Path
    ) -> None:
        super().__init__()
        self.api = api
        self.dialer = dialer
        self.lists = lists
        self.start = start
        self.picked = start  # the chosen file's directory: the report is saved there first
        self.uploading = False

    def compose(self) -> ComposeResult:
        with Vertical(id="upload-dialog", classes="picker-dialog"):
            yield Label(
                Text(f"Upload a CSV list · dialer {one_line(self.dialer, 40)}"),
                classes="dialog-title",
            )
            yield PathPicker(self.start, dirs_only=False)
            with Horizontal(classes="choice-row"):
                yield Label("Into")
                choices = [(Text("a new list"), NEW_LIST)]
                choices += [(Text(f"append to {one_line(x.name, 50)}"), x.name) for x in self.lists]
                yield PickList(
                    choices, value=NEW_LIST, allow_blank=False, id="ul-into", compact=True
                )
            yield FormField("Name", input_id="ul-name", placeholder="the new list's name")
            yield FormField(
                "Subject", input_id="ul-subject", placeholder="the mail's subject; ${name} allowed"
            )
            yield FormField(
                "Encoding", input_id="ul-encoding", placeholder="empty: UTF-8; e.g. cp1252"
            )
            yield DialogError(id="ul-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Upload", id="ul-upload", variant="primary", compact=True)
                yield Button("Cancel", id="ul-cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#path-tree").focus()

    @on(PickList.Changed, "#ul-into")
    def _into(self) -> None:
        """Appending keeps the list's own name and subject."""
        into = self.query_one("#ul-into", PickList).value
        appending = isinstance(into, str) and into != NEW_LIST
        self.query_one("#ul-name-field").display = not appending
        self.query_one("#ul-subject-field").display = not appending

    @on(PathPicker.Chosen)
    def _chosen(self) -> None:
        self.query_one("#ul-name", Input).focus()

    @on(Input.Submitted, "#ul-encoding, #ul-subject, #ul-name")
    @on(Button.Pressed, "#ul-upload")
    def action_upload(self) -> None:
        if self.uploading:
            return
        path = self.query_one(PathPicker).path
        error = self.query_one("#ul-error", DialogError)
        if not path.is_file():
            error.say(f"Not a file: {path} (choose the CSV in the tree above)")
            self.query_one("#path-input").focus()
            return
        into = self.query_one("#ul-into", PickList).value
        append = isinstance(into, str) and into != NEW_LIST
        name = into if append else self.query_one("#ul-name", Input).value.strip()
        if not name:
            self.query_one("#ul-name-field", FormField).show_error("a list needs a name")
            self.query_one("#ul-name", Input).focus()
            return
        self.uploading = True
        self.picked = path.parent
        error.say(f"Uploading {path.name}; a large list takes a while to check…")
        self.upload(
            path,
            str(name),
            subject=self.query_one("#ul-subject", Input).value.strip(),
            append=append,
            encoding=self.query_one("#ul-encoding", Input).value.strip(),
        )

    @work(exclusive=True, group="upload", exit_on_error=False)
    async def upload(
        self, path: Path, name: str, *, subject: str, append: bool, encoding: str
    ) -> None:
        data = await asyncio.to_thread(path.read_bytes)
        report = await self.api.upload_list(
            self.dialer, data, name=name, subject=subject, append=append, encoding=encoding
        )
        self.post_message(Imported(report))

    @on(Imported)
    def _imported(self, message: Imported) -> None:
        self.dismiss(message.report)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.uploading = False
            error = worker.error
            if not isinstance(error, Invalid | NotFound | OSError):
                self.app.post_message(WorkerFailed(worker, error))
            why = error.strerror if isinstance(error, OSError) and error.strerror else None
            place_error(self.query(FormField), error)
            self.query_one("#ul-error", DialogError).say(
                f"Not imported: {why or refusal_text(error)}"
            )

    @on(Button.Pressed, "#ul-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class DialerListsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DialerListsScreen { align: center middle; }
    #lists-dialog {
        width: 100%;
        max-width: 130;
        height: 100%;
        padding: 0 1;
        border: round $primary;
        background: $surface;
    }
    #lists-table { height: 1fr; }
    """
    BINDINGS = [
        Binding("u", "upload", "Upload CSV", id="dialer-lists.upload"),
        Binding("d", "remove", "Remove", id="dialer-lists.remove"),
        Binding("ctrl+r", "refresh", "Refresh", id="dialer-lists.refresh", show=False),
        Binding("escape", "close", "Close", id="dialer-lists.close"),
    ]

    def __init__(self, api: EngineClient, dialer: str) -> None:
        super().__init__()
        self.api = api
        self.dialer = dialer
        self.lists: list[DialerListOut] = []
        self.directory = Path.cwd()  # where the last CSV came from: reports are saved there

    def compose(self) -> ComposeResult:
        with Vertical(id="lists-dialog"):
            yield Label(Text(f"Lists of {one_line(self.dialer, 50)}"), classes="dialog-title")
            yield Static(
                "u uploads a CSV (new list or append) · d removes a list · Esc closes",
                classes="dialog-note",
                markup=False,
            )
            yield DataTable(id="lists-table", cursor_type="row", zebra_stripes=True)
            yield DialogError(id="lists-error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#lists-table", DataTable)
        fitted_table.fill(table, COLUMNS, [])
        table.focus()
        self.load()

    @work(exclusive=True, group="load", exit_on_error=False)
    async def load(self) -> None:
        self.post_message(ListsLoaded(await self.api.dialer_lists(self.dialer)))

    @on(ListsLoaded)
    def show(self, message: ListsLoaded) -> None:
        table = self.query_one("#lists-table", DataTable)
        row = table.cursor_row
        self.lists = message.lists
        rows = [
            (
                str(x.id),
                [
                    Text(one_line(x.name, 30)),
                    Text("yes", style="bold green") if x.active else Text("no", style="dim"),
                    Text(str(x.records), justify="right"),
                    Text(str(x.pending), justify="right"),
                    Text(str(x.failed), justify="right", style="yellow" if x.failed else ""),
                    Text(local_stamp(x.created_at)[:10], style="dim"),
                    Text(one_line(x.subject, SUBJECT_WIDTH)),
                ],
            )
            for x in message.lists
        ]
        fitted_table.fill(table, COLUMNS, rows)
        if rows:
            table.move_cursor(row=min(max(row, 0), len(rows) - 1))
        self.query_one("#lists-error", DialogError).say(
            "" if rows else "No list yet: u uploads a CSV (x in the dialers writes an example)."
        )

    def action_upload(self) -> None:
        def done(report: ImportReport | None) -> None:
            if report is not None:
                self.directory = form.picked
                self.load()
                self.app.push_screen(ImportReportScreen(report, self.directory))

        form = UploadListForm(self.api, self.dialer, self.lists, self.directory)
        self.app.push_screen(form, done)

    def action_remove(self) -> None:
        table = self.query_one("#lists-table", DataTable)
        if table.row_count == 0 or not 0 <= table.cursor_row < len(self.lists):
            return
        chosen = self.lists[table.cursor_row]

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove_list(chosen.id)

        question = Text("Remove the list ")
        question.append(one_line(chosen.name, 60), style="bold")
        question.append(f" and its {chosen.records} records?")
        self.app.push_screen(ConfirmScreen(question, yes="Remove"), answered)

    @work(group="remove", exit_on_error=False)
    async def remove_list(self, list_id: int) -> None:
        await self.api.remove_dialer_list(list_id)
        self.post_message(ListsLoaded(await self.api.dialer_lists(self.dialer)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            if not isinstance(worker.error, Invalid | NotFound):
                self.app.post_message(WorkerFailed(worker, worker.error))
            self.query_one("#lists-error", DialogError).say(
                f"Refused: {refusal_text(worker.error)}"
            )

    def action_refresh(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
