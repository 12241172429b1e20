"""Writing a text the engine gave (an import report, the example CSV) to a file the admin picks.

A directory from the path picker and a file name typed under it. The name goes through
`console.savefile` as an attachment's does: last path component only, inside the directory,
and an existing file is never replaced (`report.txt` becomes `report (1).txt`); the path
actually written is returned, so the caller can say where it went.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from ..messages import FileSaved
from ..savefile import UnsafeFilename, save_bytes
from ..widgets.dialog_error import DialogError
from ..widgets.form import FormField
from ..widgets.path_picker import PathPicker


class SaveTextScreen(ModalScreen[Path | None]):
    """`#path-picker` (which directory) and `#st-name` (the file's name)."""

    DEFAULT_CSS = """
    SaveTextScreen { align: center middle; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="save-text.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="save-text.cancel"),
    ]

    def __init__(self, title: str, text: str, filename: str, directory: Path | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.filename = filename
        self.directory = directory or Path.cwd()
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="save-text-dialog", classes="picker-dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Static(
                "Into the directory (Enter on a folder opens it):",
                classes="dialog-note",
                markup=False,
            )
            yield PathPicker(self.directory, dirs_only=True)
            yield FormField("File", input_id="st-name", value=self.filename, wire_name="file")
            yield DialogError(id="st-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="st-save", variant="primary", compact=True)
                yield Button("Cancel", id="st-cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#st-name", Input).focus()

    @on(Input.Submitted, "#st-name")
    @on(Button.Pressed, "#st-save")
    def action_save(self) -> None:
        if self.saving:
            return
        directory = self.query_one(PathPicker).path
        name = self.query_one("#st-name", Input).value.strip()
        if not directory.is_dir():
            self.query_one("#st-error", DialogError).say(f"No such directory: {directory}")
            return
        if not name:
            self.query_one("#st-name-field", FormField).show_error("a file name is needed")
            return
        self.saving = True
        data = self.text.encode("utf-8")
        self._save(directory, name, data)

    @work(group="save", exit_on_error=False)
    async def _save(self, directory: Path, name: str, data: bytes) -> None:
        self.post_message(FileSaved(await asyncio.to_thread(save_bytes, directory, name, data)))

    @on(FileSaved)
    def _saved(self, message: FileSaved) -> None:
        self.dismiss(message.path)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.saving = False
            why = worker.error.strerror if isinstance(worker.error, OSError) else None
            if isinstance(worker.error, UnsafeFilename):
                self.query_one("#st-name-field", FormField).show_error(str(worker.error))
            self.query_one("#st-error", DialogError).say(f"Not saved: {why or worker.error}")

    @on(Button.Pressed, "#st-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
