"""Admin: files the dialer attaches, each named by a token in a list's `attachments` column.

`u` uploads a file chosen with the path picker; its token is then shown in full under the
table, where it can be selected and copied by hand, and `y` copies the highlighted one to the
clipboard (OSC 52 through `App.copy_to_clipboard`, where the terminal allows it). `d` removes
an attachment no list names (the engine refuses otherwise, and says so here).
"""

from __future__ import annotations

import asyncio
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from rich.filesize import decimal
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import Worker, WorkerState

from engine.api.schemas import DialerAttachmentOut
from engine.client.client import EngineClient, Invalid, NotFound
from engine.text.sanitize import one_line

from ..messages import WorkerFailed
from ..widgets import fitted_table
from ..widgets.dialog_error import DialogError
from ..widgets.form import refusal_text
from .attach import AttachScreen
from .confirm import ConfirmScreen

COLUMNS = [
    ("Token", "token"),
    ("File", "file"),
    ("Size", "size"),
    ("Lists", "lists"),
]


@dataclass
class AttachmentsLoaded(Message, bubble=False):
    attachments: list[DialerAttachmentOut]
    uploaded: str = ""  # the token just uploaded: highlighted


class DialerAttachmentsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DialerAttachmentsScreen { align: center middle; }
    #dialer-attachments-dialog {
        width: 100%;
        max-width: 120;
        height: 100%;
        padding: 0 1;
        border: round $primary;
        background: $surface;
    }
    #da-table { height: 1fr; }
    #da-token {
        height: auto;
        margin-top: 1;
        padding: 0 1;
        background: $boost;
    }
    """
    BINDINGS = [
        Binding("u", "upload", "Upload", id="dialer-attachments.upload"),
        Binding("y", "copy_token", "Copy token", id="dialer-attachments.copy"),
        Binding("d", "remove", "Remove", id="dialer-attachments.remove"),
        Binding("escape", "close", "Close", id="dialer-attachments.close"),
    ]

    def __init__(self, api: EngineClient, start: Path | None = None) -> None:
        super().__init__()
        self.api = api
        self.start = start or Path.cwd()
        self.attachments: list[DialerAttachmentOut] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialer-attachments-dialog"):
            yield Label("Dialer attachments", classes="dialog-title")
            yield Static(
                "Lists name files by token · u upload · y copy token · d remove · Esc close",
                classes="dialog-note",
                markup=False,
            )
            yield DataTable(id="da-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="da-token", markup=False)
            yield DialogError(id="da-error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#da-table", DataTable)
        fitted_table.fill(table, COLUMNS, [])
        table.focus()
        self.load()

    @work(exclusive=True, group="load", exit_on_error=False)
    async def load(self, uploaded: str = "") -> None:
        self.post_message(AttachmentsLoaded(await self.api.dialer_attachments(), uploaded))

    @on(AttachmentsLoaded)
    def show(self, message: AttachmentsLoaded) -> None:
        table = self.query_one("#da-table", DataTable)
        row = table.cursor_row
        self.attachments = message.attachments
        rows = [
            (
                a.token,
                [
                    Text(a.token, style="bold"),
                    Text(one_line(a.filename, 30)),
                    Text(decimal(a.size), justify="right"),
                    Text(str(a.lists), justify="right"),
                ],
            )
            for a in message.attachments
        ]
        fitted_table.fill(table, COLUMNS, rows)
        tokens = [a.token for a in message.attachments]
        if message.uploaded in tokens:
            table.move_cursor(row=tokens.index(message.uploaded))
            self.query_one("#da-error", DialogError).say("")
            self.notify(f"Uploaded: token {message.uploaded}", markup=False)
        elif rows:
            table.move_cursor(row=min(max(row, 0), len(rows) - 1))
        self.show_token()

    @on(DataTable.RowHighlighted, "#da-table")
    def show_token(self) -> None:
        """The highlighted token in full, on its own line: selectable and copyable by hand
        where the terminal does not take OSC 52."""
        chosen = self.selected()
        line = self.query_one("#da-token", Static)
        if chosen is None:
            line.update(Text("No attachment yet: u uploads a file.", style="dim"))
            return
        text = Text("Token: ")
        text.append(chosen.token, style="bold reverse")
        text.append(f"  for {one_line(chosen.filename, 40)} · y copies it", style="dim")
        line.update(text)

    def selected(self) -> DialerAttachmentOut | None:
        table = self.query_one("#da-table", DataTable)
        if table.row_count == 0 or not 0 <= table.cursor_row < len(self.attachments):
            return None
        return self.attachments[table.cursor_row]

    def action_copy_token(self) -> None:
        if (chosen := self.selected()) is None:
            return
        self.app.copy_to_clipboard(chosen.token)
        self.notify(
            f"Token {chosen.token} copied (if the terminal allows; it is shown to copy by hand).",
            markup=False,
        )

    def action_upload(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self.start = path.parent
                self.query_one("#da-error", DialogError).say(f"Uploading {path.name}…")
                self.upload(path)

        self.app.push_screen(AttachScreen(None, self.start), chosen)

    @work(exclusive=True, group="upload", exit_on_error=False)
    async def upload(self, path: Path) -> None:
        data = await asyncio.to_thread(path.read_bytes)
        content_type = mimetypes.guess_type(path.name)[0] or ""
        added = await self.api.attach_dialer_file(path.name, data, content_type)
        self.post_message(AttachmentsLoaded(await self.api.dialer_attachments(), added.token))

    def action_remove(self) -> None:
        if (chosen := self.selected()) is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove_attachment(chosen.token)

        question = Text("Remove the attachment ")
        question.append(one_line(chosen.filename, 60), style="bold")
        question.append(f" ({chosen.token})?")
        self.app.push_screen(ConfirmScreen(question, yes="Remove"), answered)

    @work(group="remove", exit_on_error=False)
    async def remove_attachment(self, token: str) -> None:
        await self.api.remove_dialer_attachment(token)
        self.post_message(AttachmentsLoaded(await self.api.dialer_attachments()))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            if not isinstance(worker.error, Invalid | NotFound | OSError):
                self.app.post_message(WorkerFailed(worker, worker.error))
            self.query_one("#da-error", DialogError).say(f"Refused: {refusal_text(worker.error)}")

    def action_close(self) -> None:
        self.dismiss(None)
