"""Chat between a supervisor and an agent (the manual's "Chat with agent").

The history with that person, then a line to type; Enter sends. New lines arrive as engine
events: the mode screen hands them to an open chat with that person, or rings the bell and
shows a toast when none is open. Lines are typed by people: shown as text, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from engine.api.sanitize import one_line, sanitize
from engine.api.schemas import ChatLine
from engine.client.client import EngineClient, EngineError

from ..messages import WorkerFailed
from ..timefmt import local_stamp
from ..widgets.dialog_error import DialogError


def line_text(line: ChatLine, me: str) -> Text:
    mine = line.sender == me
    text = Text()
    text.append(local_stamp(line.at)[11:] + " ", style="dim")
    text.append(
        "You" if mine else one_line(line.sender_name, 30), style="bold" if mine else "bold cyan"
    )
    text.append(": " + sanitize(line.text))
    return text


class ChatScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Close", id="chat.close")]

    def __init__(self, api: EngineClient, me: str, peer: str, peer_name: str) -> None:
        super().__init__()
        self.api = api
        self.me = me
        self.peer = peer
        self.peer_name = peer_name
        self.shown: set[int] = set()
        self.pending = ""  # the line being sent, put back if the engine refuses it

    def compose(self) -> ComposeResult:
        with Vertical(id="chat-dialog"):
            yield Label(Text(f"Chat with {one_line(self.peer_name, 40)}"), classes="dialog-title")
            yield VerticalScroll(id="chat-log")
            yield Input(placeholder="Type a message, Enter sends", id="chat-input", max_length=2000)
            yield DialogError(id="chat-error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#chat-input", Input).focus()
        self.load()

    @work(exclusive=True, group="history", exit_on_error=False)
    async def load(self) -> None:
        for line in await self.api.chat(self.peer):
            self.add(line)

    def add(self, line: ChatLine) -> None:
        """Show a line once (the history and its event may both bring it)."""
        if line.id in self.shown:
            return
        self.shown.add(line.id)
        log = self.query_one("#chat-log", VerticalScroll)
        log.mount(Static(line_text(line, self.me), classes="chat-line", markup=False))
        log.scroll_end(animate=False)

    @on(Input.Submitted, "#chat-input")
    def send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        event.input.value = ""
        self.say(text)

    @work(group="say", exit_on_error=False)
    async def say(self, text: str) -> None:
        self.pending = text
        self.add(await self.api.say(self.peer, text))
        self.pending = ""
        self.show_error("")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is not WorkerState.ERROR or worker.error is None:
            return
        if worker.group == "say" and self.pending:
            field = self.query_one("#chat-input", Input)
            field.value = self.pending + (" " + field.value if field.value else "")
            self.pending = ""  # nothing typed is lost: it is back in the line, to send again
        self.show_error(f"Not sent: {getattr(worker.error, 'message', worker.error)}")
        if not isinstance(worker.error, EngineError):
            self.app.post_message(WorkerFailed(worker, worker.error))

    def show_error(self, message: str) -> None:
        self.query_one("#chat-error", DialogError).say(message)

    def action_close(self) -> None:
        self.dismiss(None)
