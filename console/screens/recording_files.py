"""`p` and `e` in the recording viewer: print the interaction, or export its mails.

Print: the engine makes the PDF (engine/services/recordings/printout.py); here the person
chooses a CUPS printer (the default one first) or a directory to save it in, with the same
path picker as saving an attachment. With no CUPS on this machine, saving is the only
choice and the dialog says why. Export: one mbox file, or a new folder of `.eml` files (the
stored mails, byte for byte). Files are never written over (console/savefile.py).

Both return what happened, for the viewer to notify; None when cancelled.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from engine.client import EngineClient, EngineError
from engine.text.sanitize import one_line

from .. import printing
from ..savefile import UnsafeFilename, numbered, save_bytes
from ..widgets.dialog_error import DialogError
from ..widgets.path_picker import PathPicker
from .base import AbstractScreenMeta
from .save_attachment import default_directory

SAVE = "save"


@dataclass
class FileDone(Message, bubble=False):
    """The print or the export is done: what happened, in words for the viewer's notice."""

    said: str


@dataclass
class PrintersFound(Message, bubble=False):
    """The printers CUPS knows here (none when there is no CUPS)."""

    printers: printing.Printers


class _RecordingFileDialog(ModalScreen[str | None], metaclass=AbstractScreenMeta):
    """`#file-choice` (what), `#path-picker` (where), then the work in a worker. Each dialog
    says which choices it offers (`options`) and what a choice does (`work`)."""

    BINDINGS = [
        Binding("ctrl+s", "go", "Go", id="recording-file.go", priority=True),
        Binding("escape", "cancel", "Cancel", id="recording-file.cancel"),
    ]
    DEFAULT_CSS = """
    #file-choice { height: auto; max-height: 8; margin: 1 0 0 0; }
    """
    TITLE_TEXT = ""
    BUTTON = ""

    def __init__(
        self, api: EngineClient, interaction_id: int, *, directory: Path | None = None
    ) -> None:
        super().__init__()
        self.api = api
        self.interaction_id = interaction_id
        self.directory = directory or default_directory()
        self.busy = False

    @abstractmethod
    def options(self) -> list[Option]: ...

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker-dialog recording-file-dialog"):
            yield Label(Text(f"{self.TITLE_TEXT} #{self.interaction_id}"), classes="dialog-title")
            yield OptionList(*self.options(), id="file-choice")
            yield Static("", id="file-note", classes="dialog-note", markup=False)
            yield PathPicker(self.directory, dirs_only=True)
            yield DialogError(id="file-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.BUTTON, id="file-ok", variant="primary", compact=True)
                yield Button("Cancel", id="file-cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        choice = self.query_one("#file-choice", OptionList)
        choice.highlighted = 0
        choice.focus()

    @property
    def choice(self) -> str | None:
        options = self.query_one("#file-choice", OptionList)
        index = options.highlighted
        return options.get_option_at_index(index).id if index is not None else None

    def show_error(self, message: str) -> None:
        self.query_one("#file-error", DialogError).say(message)

    def note(self, message: str) -> None:
        self.query_one("#file-note", Static).update(message)

    @on(OptionList.OptionSelected, "#file-choice")
    def _picked(self) -> None:
        self.action_go()

    @on(PathPicker.Chosen)
    @on(Button.Pressed, "#file-ok")
    def action_go(self) -> None:
        choice = self.choice
        if choice is None or self.busy:
            return
        directory = self.query_one(PathPicker).path
        if not choice.startswith("printer:") and not directory.is_dir():
            self.show_error(f"No such directory: {directory}")
            return
        self.busy = True
        self.show_error("Working…")
        self.do_work(choice, directory)

    @work(group="file", exit_on_error=False)
    async def do_work(self, choice: str, directory: Path) -> None:
        self.post_message(FileDone(await self.work(choice, directory)))

    @abstractmethod
    async def work(self, choice: str, directory: Path) -> str: ...

    @on(FileDone)
    def _done(self, message: FileDone) -> None:
        self.dismiss(message.said)

    @on(PrintersFound)
    def _printers_arrived(self, message: PrintersFound) -> None:
        self.printers_found(message.printers)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.busy = False
            error = worker.error
            said = getattr(error, "message", None) or str(error)
            if isinstance(error, UnsafeFilename | OSError | printing.PrintError | EngineError):
                self.show_error(f"Not done: {said}")
            else:
                raise error

    def printers_found(self, found: printing.Printers) -> None:
        pass

    @on(Button.Pressed, "#file-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class PrintRecordingScreen(_RecordingFileDialog):
    """A printer from CUPS (looked up when the dialog opens), or save the PDF."""

    TITLE_TEXT = "Print interaction"
    BUTTON = "Print"

    def options(self) -> list[Option]:
        return [Option("Save the PDF in the directory below", id=SAVE)]

    def on_mount(self) -> None:
        super().on_mount()
        self.note("Looking for printers…")
        self.find_printers()

    @work(group="printers")
    async def find_printers(self) -> None:
        self.post_message(PrintersFound(await asyncio.to_thread(printing.printers)))

    def printers_found(self, found: printing.Printers) -> None:
        choice = self.query_one("#file-choice", OptionList)
        names = sorted(found.names, key=lambda name: name != found.default)
        if names:  # printers first, the default one on top
            choice.clear_options()
            choice.add_options(
                Option(
                    Text(
                        f"Printer {one_line(name, 60)}"
                        + (" (default)" if name == found.default else "")
                    ),
                    id=f"printer:{name}",
                )
                for name in names
            )
        if names:
            choice.add_option(Option("Save the PDF in the directory below", id=SAVE))
            choice.highlighted = 0
            self.note("Printed with lp (CUPS); or save the PDF where you choose:")
        elif printing.available():
            self.note("CUPS has no printer here: the PDF is saved where you choose.")
        else:
            self.note("No printing on this machine (CUPS is not installed): saving the PDF.")

    async def work(self, choice: str, directory: Path) -> str:
        name, data = await self.api.recording_pdf(self.interaction_id)
        if choice.startswith("printer:"):
            printer = choice.removeprefix("printer:")
            title = f"Postdesk interaction {self.interaction_id}"
            job = await asyncio.to_thread(printing.print_pdf, data, printer=printer, title=title)
            return f"Sent to {printer} (job {job})"
        path = await asyncio.to_thread(save_bytes, directory, name, data)
        return f"Saved {path}"


class ExportRecordingScreen(_RecordingFileDialog):
    """One mbox file, or a new folder of `.eml` files."""

    TITLE_TEXT = "Export the mails of interaction"
    BUTTON = "Export"

    def options(self) -> list[Option]:
        return [
            Option("One mbox file (for a mail program)", id="mbox"),
            Option(".eml files, one per message, in a new folder", id="eml"),
        ]

    def on_mount(self) -> None:
        super().on_mount()
        self.note("into the directory:")

    async def work(self, choice: str, directory: Path) -> str:
        if choice == "mbox":
            name, data = await self.api.recording_mbox(self.interaction_id)
            path = await asyncio.to_thread(save_bytes, directory, name, data)
            return f"Saved {path}"
        mails = await self.api.recording_mails(self.interaction_id)

        def write() -> Path:
            folder = _new_folder(directory / f"interaction-{self.interaction_id}")
            for mail in mails.mails:
                save_bytes(folder, mail.name, mail.data)
            return folder

        folder = await asyncio.to_thread(write)
        return f"Saved {len(mails.mails)} .eml files in {folder}"


def _new_folder(path: Path) -> Path:
    """`path`, or `path (1)`, ...: a folder made now, so no earlier export is mixed in."""
    for n in range(1000):
        candidate = numbered(path, n) if n else path
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"too many folders named like {path.name} in {path.parent}")
