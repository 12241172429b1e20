"""Chat between a supervisor and an agent (the manual's "Chat with agent").

The history with that person, then a line to type; Enter sends. New lines arrive as engine
events: the mode screen hands them to an open chat with that person, or rings the bell and
shows a toast when none is open. What an open chat shows is read; the rest waits for the
person's next console. An agent's raised hand to any supervisor on duty (`ANY`) goes to each
of them, and the chat carries on with whoever answers first. Lines are typed by people: shown
as text, never as markup. The workers post what the engine answered (`console/messages.py`),
handled with `@on`.
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

from engine.api.schemas import ChatLine
from engine.client.client import EngineClient, EngineError
from engine.text.sanitize import one_line, sanitize

from ..messages import (
    ChatHistoryLoaded,
    ChatLineNotSent,
    ChatLineSent,
    HandRaised,
    WorkerFailed,
)
from ..timefmt import local_stamp
from ..widgets.dialog_error import DialogError
from .hand import ANY


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
            yield Label(self.title_text(), classes="dialog-title", id="chat-title")
            yield VerticalScroll(id="chat-log")
            yield Input(placeholder="Type a message, Enter sends", id="chat-input", max_length=2000)
            yield DialogError(id="chat-error")
            yield Static("", id="chat-note", classes="dialog-note", markup=False)
        yield Footer(compact=True)

    def title_text(self) -> Text:
        if self.peer == ANY:
            return Text("Raise your hand: any supervisor on duty")
        return Text(f"Chat with {one_line(self.peer_name, 40)}")

    def on_mount(self) -> None:
        self.query_one("#chat-note", Static).display = False
        self.query_one("#chat-input", Input).focus()
        if self.peer != ANY:
            self.load()

    @work(exclusive=True, group="history", exit_on_error=False)
    async def load(self) -> None:
        # The engine counts the lines it returns here as read.
        peer = self.peer
        self.post_message(ChatHistoryLoaded(peer, await self.api.chat(peer)))

    @on(ChatHistoryLoaded)
    def _history(self, message: ChatHistoryLoaded) -> None:
        if message.peer != self.peer:
            return  # asked before the chat went on with someone else (`become`)
        for line in message.lines:
            self.add(line)

    def become(self, peer: str, peer_name: str) -> None:
        """A supervisor answered the raised hand: the chat goes on with them."""
        self.peer, self.peer_name = peer, peer_name
        self.query_one("#chat-title", Label).update(self.title_text())
        self.query_one("#chat-note", Static).display = False
        self.shown.clear()
        self.query_one("#chat-log", VerticalScroll).remove_children()
        self.load()

    def add(self, line: ChatLine) -> None:
        """Show a line once (the history and its event may both bring it)."""
        if line.id in self.shown:
            return
        self.shown.add(line.id)
        log = self.query_one("#chat-log", VerticalScroll)
        log.mount(Static(line_text(line, self.me), classes="chat-line", markup=False))
        log.scroll_end(animate=False)
        if line.sender == self.peer:
            self.mark_read()

    @work(exclusive=True, group="read", exit_on_error=False)
    async def mark_read(self) -> None:
        await self.api.chat_read(self.peer)

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
        try:
            if self.peer == ANY:
                self.post_message(HandRaised(await self.api.raise_hand(text)))
            else:
                self.post_message(ChatLineSent(await self.api.say(self.peer, text)))
        except Exception as error:
            self.post_message(ChatLineNotSent(error))
            raise

    @on(ChatLineSent)
    def _sent(self, message: ChatLineSent) -> None:
        self.add(message.line)
        self.pending = ""
        self.show_error("")

    @on(HandRaised)
    def _hand_raised(self, message: HandRaised) -> None:
        lines = message.lines
        self.add(lines[0])  # the same words went to each of them
        told = ", ".join(one_line(line.recipient, 20) for line in lines)
        self.pending = ""
        self.show_error("")
        note = self.query_one("#chat-note", Static)
        note.update(Text(f"Told {told}: whoever answers first carries on here."))
        note.display = True

    @on(ChatLineNotSent)
    def _not_sent(self, message: ChatLineNotSent) -> None:
        if self.pending:
            field = self.query_one("#chat-input", Input)
            field.value = self.pending + (" " + field.value if field.value else "")
            self.pending = ""  # nothing typed is lost: it is back in the line, to send again

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # A line not sent was put back first (`ChatLineNotSent`).
        worker = event.worker
        if event.state is not WorkerState.ERROR or worker.error is None:
            return
        self.show_error(f"Not sent: {getattr(worker.error, 'message', worker.error)}")
        if not isinstance(worker.error, EngineError):
            self.app.post_message(WorkerFailed(worker, worker.error))

    def show_error(self, message: str) -> None:
        self.query_one("#chat-error", DialogError).say(message)

    def action_close(self) -> None:
        self.dismiss(None)
