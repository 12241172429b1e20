"""Choosing a file to attach: a path input over a directory tree, with the size limit shown.

The modal only chooses (and refuses what is too big or not a file); the compose screen
reads and uploads the file.
"""

from __future__ import annotations

from pathlib import Path

from rich.filesize import decimal
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static

from ..widgets.dialog_error import DialogError
from ..widgets.path_picker import PathPicker


def limit_text(max_bytes: int | None) -> str:
    if max_bytes is None:
        return "The engine checks the size when the file is sent."
    return f"Up to {decimal(max_bytes)} per file."


def refusal(path: Path, max_bytes: int | None) -> str | None:
    """Why `path` cannot be attached (None: it can)."""
    if not path.is_file():
        return f"Not a file: {path}"
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        return f"{path.name} is {decimal(size)}; the limit is {decimal(max_bytes)}."
    return None


class AttachScreen(ModalScreen[Path | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="attach.cancel")]

    def __init__(self, max_bytes: int | None, start: Path | None = None) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.start = start or Path.cwd()

    def compose(self) -> ComposeResult:
        with Vertical(id="attach-dialog", classes="picker-dialog"):
            yield Label("Attach a file", classes="dialog-title")
            yield Static(limit_text(self.max_bytes), id="attach-limit", markup=False)
            yield PathPicker(self.start, dirs_only=False)
            yield DialogError(id="attach-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Attach", id="attach-ok", variant="primary", compact=True)
                yield Button("Cancel", id="attach-cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#path-tree").focus()

    def choose(self, path: Path) -> None:
        problem = refusal(path, self.max_bytes)
        if problem is None:
            self.dismiss(path)
            return
        self.query_one("#attach-error", DialogError).say(problem)

    @on(PathPicker.Chosen)
    def _chosen(self, event: PathPicker.Chosen) -> None:
        self.choose(event.path)

    @on(Button.Pressed, "#attach-ok")
    def _ok(self) -> None:
        self.choose(self.query_one(PathPicker).path)

    @on(Button.Pressed, "#attach-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
