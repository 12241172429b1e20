"""A thread opened read only: from an agent's search (closed ones), a supervisor's search of
the recordings, or a supervisor spying on an agent's live interaction.

Only reading and saving attachments are offered; replying belongs to the interaction's agent.
`p` prints it (a CUPS printer or a PDF saved where the reader chooses), `e` exports its mails
(an mbox, or `.eml` files). A live thread (`spying`) is reloaded by its mode screen when the
engine says it changed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from engine.api.schemas import InteractionDetail
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..messages import ThreadLoaded, WorkerFailed
from ..widgets.recording_info import RecordingInfo
from ..widgets.thread import ThreadView
from .recording_files import ExportRecordingScreen, PrintRecordingScreen
from .save_attachment import SaveAttachmentScreen


class ThreadScreen(Screen[None]):
    # Short words: at 80 columns the footer holds every key and `? Help` (longer ones cut
    # the last hints off); the command palette (Ctrl+P) shows each one's tooltip.
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="thread.back"),
        Binding(
            "v", "save_attachment", "Attachment", id="thread.save-attachment",
            tooltip="Save an attachment to a file",
        ),
        Binding(
            "w", "write_recording", "Write text", id="thread.write-recording",
            tooltip="Write the thread as text to a file",
        ),
        Binding("p", "print_recording", "Print", id="thread.print", tooltip="Print (PDF)"),
        Binding(
            "e", "export_recording", "Export", id="thread.export",
            tooltip="Export the mails (.mbox or .eml files)",
        ),
    ]  # fmt: skip

    def __init__(self, api: EngineClient, interaction_id: int, *, spying: str = "") -> None:
        super().__init__()
        self.api = api
        self.interaction_id = interaction_id
        self.spying = spying  # the agent whose live interaction this is, for the title

    def compose(self) -> ComposeResult:
        yield Header()
        yield RecordingInfo()
        yield ThreadView(id="readonly-thread")
        yield Footer(compact=True)

    def title_for(self, state: str) -> str:
        if state == "closed":
            return f"Interaction #{self.interaction_id} · closed (read only)"
        if self.spying:
            who = one_line(self.spying, 30)
            return f"Watching {who} · interaction #{self.interaction_id} (live)"
        return f"Interaction #{self.interaction_id} (read only)"

    def on_mount(self) -> None:
        self.sub_title = self.title_for("")
        self.load()
        self.query_one(ThreadView).messages.focus()

    @work(exclusive=True, group="thread", exit_on_error=False)
    async def load(self) -> None:
        thread = self.query_one(ThreadView)
        self.post_message(ThreadLoaded(thread, await self.api.interaction(self.interaction_id)))

    @on(ThreadLoaded, "#readonly-thread")
    def _loaded(self, message: ThreadLoaded) -> None:
        message.thread.show(message.detail)
        self.query_one(RecordingInfo).show(message.detail)
        self.sub_title = self.title_for(str(message.detail.state))  # it may close, or reopen

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.app.post_message(WorkerFailed(worker, worker.error))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save_attachment":
            return bool(self.query_one(ThreadView).attachments) or None
        return True

    def action_back(self) -> None:
        self.dismiss(None)

    def action_write_recording(self) -> None:
        """The thread as a text file in the downloads (or home) directory, to print or file;
        never over an existing file."""
        detail = self.query_one(ThreadView).detail
        if detail is None:
            return
        self.write_recording(detail)

    @work(group="recording", exit_on_error=False)
    async def write_recording(self, detail: InteractionDetail) -> None:
        from ..recording import recording, recording_name
        from ..savefile import save_bytes
        from .save_attachment import default_directory

        data = recording(detail).encode()
        path = await asyncio.to_thread(
            save_bytes, default_directory(), recording_name(detail), data
        )
        self.notify(f"Written to {path}", markup=False, timeout=8)

    def action_save_attachment(self) -> None:
        thread = self.query_one(ThreadView)
        current = thread.current_attachment

        def saved(path: Path | None) -> None:
            if path is not None:
                self.notify(f"Saved {path}", markup=False)

        self.app.push_screen(
            SaveAttachmentScreen(
                self.api, thread.attachments, selected=current.id if current else None
            ),
            saved,
        )

    # ---- print and export (issue 15): the engine makes the files, a dialog says where ----
    def _done(self, said: str | None) -> None:
        if said:
            self.notify(said, markup=False, timeout=8)

    def action_print_recording(self) -> None:
        self.app.push_screen(PrintRecordingScreen(self.api, self.interaction_id), self._done)

    def action_export_recording(self) -> None:
        self.app.push_screen(ExportRecordingScreen(self.api, self.interaction_id), self._done)
