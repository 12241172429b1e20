"""`v`: save an attachment of the thread to a directory the agent chooses.

The name on disk comes from the mail, so it goes through `console.savefile`: last path
component only, never outside the directory, never over an existing file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from rich.filesize import decimal
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from engine.api.schemas import AttachmentOut
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..messages import FileSaved, WorkerFailed
from ..savefile import UnsafeFilename, save_bytes
from ..widgets.dialog_error import DialogError
from ..widgets.path_picker import PathPicker


def default_directory() -> Path:
    downloads = Path.home() / "Downloads"
    return downloads if downloads.is_dir() else Path.home()


class SaveAttachmentScreen(ModalScreen[Path | None]):
    """`#attachment-list` (which file), then `#path-picker` (where); returns the saved path."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="save.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="save.cancel"),
    ]

    def __init__(
        self,
        api: EngineClient,
        attachments: Sequence[AttachmentOut],
        *,
        directory: Path | None = None,
        selected: int | None = None,
    ) -> None:
        super().__init__()
        self.api = api
        self.attachments = list(attachments)
        self.directory = directory or default_directory()
        self.selected = selected
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="save-dialog", classes="picker-dialog"):
            yield Label("Save an attachment", classes="dialog-title")
            yield OptionList(
                *(
                    Option(
                        Text.assemble(
                            (one_line(a.filename, 60), "underline"),
                            (f" ({decimal(a.size)})", "dim"),
                        ),
                        id=str(a.id),
                    )
                    for a in self.attachments
                ),
                id="attachment-list",
            )
            yield Static("into the directory:", classes="dialog-note", markup=False)
            yield PathPicker(self.directory, dirs_only=True)
            yield DialogError(id="save-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="save-ok", variant="primary", compact=True)
                yield Button("Cancel", id="save-cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        options = self.query_one("#attachment-list", OptionList)
        ids = [a.id for a in self.attachments]
        options.highlighted = ids.index(self.selected) if self.selected in ids else 0
        options.focus()

    @property
    def attachment(self) -> AttachmentOut | None:
        index = self.query_one("#attachment-list", OptionList).highlighted
        return self.attachments[index] if index is not None else None

    def show_error(self, message: str) -> None:
        self.query_one("#save-error", DialogError).say(message)

    @on(OptionList.OptionSelected, "#attachment-list")
    def _picked(self) -> None:
        self.query_one("#path-tree").focus()

    @on(PathPicker.Chosen)
    @on(Button.Pressed, "#save-ok")
    def action_save(self) -> None:
        attachment = self.attachment
        if attachment is None or self.saving:
            return
        directory = self.query_one(PathPicker).path
        if not directory.is_dir():
            self.show_error(f"No such directory: {directory}")
            return
        self.saving = True
        self.show_error(f"Saving {one_line(attachment.filename, 60)}…")
        self._save(attachment, directory)

    @work(group="save", exit_on_error=False)
    async def _save(self, attachment: AttachmentOut, directory: Path) -> None:
        data = await self.api.attachment(attachment.id)
        path = await asyncio.to_thread(save_bytes, directory, attachment.filename, data)
        self.post_message(FileSaved(path))

    @on(FileSaved)
    def _saved(self, message: FileSaved) -> None:
        self.dismiss(message.path)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.saving = False
            if not isinstance(worker.error, UnsafeFilename | OSError):
                self.app.post_message(WorkerFailed(worker, worker.error))
            self.show_error(f"Not saved: {getattr(worker.error, 'message', worker.error)}")

    @on(Button.Pressed, "#save-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
