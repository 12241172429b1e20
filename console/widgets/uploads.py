"""Files the agent attached to the message being written: one row each, removable.

Each row is the file name, its size and a small ✕ button (click it, or focus it and press
Enter). The compose screen reads `tokens` when it sends.
"""

from __future__ import annotations

from rich.filesize import decimal
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from engine.api.schemas import UploadOut
from engine.text.sanitize import one_line


def upload_label(upload: UploadOut, width: int = 60) -> Text:
    text = Text("+ ", style="bold")
    text.append(one_line(upload.filename, width), style="underline")
    text.append(f" ({decimal(upload.size)})", style="dim")
    return text


class UploadRow(Horizontal):
    DEFAULT_CSS = """
    UploadRow {
        height: 1;
    }
    UploadRow Static {
        width: auto;
        margin-right: 1;
    }
    """

    def __init__(self, upload: UploadOut) -> None:
        super().__init__()
        self.upload = upload

    def compose(self) -> ComposeResult:
        yield Static(upload_label(self.upload), markup=False)
        button = Button("✕", compact=True, classes="remove-upload", variant="error")
        button.tooltip = "Remove this attachment"
        yield button


class UploadList(VerticalScroll, can_focus=False):
    """`#uploads`: hidden while empty."""

    DEFAULT_CSS = """
    UploadList {
        height: auto;
        max-height: 3;
        display: none;
    }
    UploadList.-some {
        display: block;
    }
    """

    def __init__(self, *, id: str = "uploads") -> None:  # noqa: A002
        super().__init__(id=id)
        self._uploads: list[UploadOut] = []

    @property
    def uploads(self) -> list[UploadOut]:
        return list(self._uploads)

    @property
    def tokens(self) -> list[str]:
        return [upload.token for upload in self._uploads]

    def add(self, upload: UploadOut) -> None:
        self._uploads.append(upload)
        self.mount(UploadRow(upload))
        self.add_class("-some")

    def remove_upload(self, token: str) -> None:
        self._uploads = [u for u in self._uploads if u.token != token]
        for row in self.query(UploadRow):
            if row.upload.token == token:
                row.remove()
        self.set_class(bool(self._uploads), "-some")

    @on(Button.Pressed, ".remove-upload")
    def _remove(self, event: Button.Pressed) -> None:
        event.stop()
        row = event.button.parent
        if isinstance(row, UploadRow):
            self.remove_upload(row.upload.token)
