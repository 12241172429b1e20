"""What every mode screen shares: the client session, the event bridge and the banner.

A mode screen runs one bridge worker for as long as it is mounted (Textual cancels it when
the screen goes away) and refetches its data when the engine comes back. Its workers post
typed messages with what they found (`console/messages.py`), handled with `@on`. Worker
failures are forwarded to the app, which owns the one place that turns them into
notifications.
"""

from __future__ import annotations

from abc import ABCMeta
from typing import TYPE_CHECKING, Any

from textual import work
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from engine.api.schemas import ChatLine, ChatSaid, Event, Hello, LoggedOut, Me
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..bridge import pump_events
from ..messages import EngineBack, EngineEvent, EngineEvents, EngineLost, WorkerFailed
from ..overtaken import Kinds, Overtaken
from ..widgets.banner import EngineBanner

if TYPE_CHECKING:
    from .dialer_dashboard import DialerDashboardScreen


class ModeScreen(Screen[None]):
    """Base of the agent, supervisor and admin screens."""

    MODE = "mode"

    def __init__(self, client: EngineClient, me: Me) -> None:
        super().__init__()
        self.client = client
        self.me = me
        self._chat_told: set[int] = set()  # chat lines a toast already announced
        self._overtaken = Overtaken()  # events heard while a load is on its way
        # Applying events heard during a load again, on top of its answer: what told the
        # person once (a toast, a bell) does not tell them twice.
        self.replaying = False

    def on_mount(self) -> None:
        # Textual runs this after a subclass's own on_mount: subclasses must not call it.
        self.fit_width()
        self.sub_title = f"{self.MODE.capitalize()} · {self.me.username}"
        # Data is loaded when the event stream says hello (see console/bridge.py).
        self.run_bridge()

    def on_screen_resume(self) -> None:
        self.fit_width()  # the terminal may have been resized while a dialog was on top

    def fit_width(self) -> None:
        """The layout class for the app's width now (`HORIZONTAL_BREAKPOINTS`, as Textual
        chooses it). Textual sets it when this screen gets a Resize, and only the screen on
        top gets one: a screen mounted on a busy machine showed both panes of its wide layout
        at 80 columns for a minute (a console test in CI), and one under a dialog kept the
        layout of the size before."""
        points = self.HORIZONTAL_BREAKPOINTS or self.app.HORIZONTAL_BREAKPOINTS or []
        width = self.app.size.width
        chosen = next((name for at, name in sorted(points, reverse=True) if width >= at), None)
        self.update_classes({name: name == chosen for _, name in points}, animate=False)

    def dialer_boards(self) -> list[DialerDashboardScreen]:
        """The dialers' dashboard, when open above this screen (it has no stream of its own:
        the supervisor's and admin's screens hand it their events)."""
        from .dialer_dashboard import DialerDashboardScreen

        return [s for s in self.app.screen_stack if isinstance(s, DialerDashboardScreen)]

    # ---- hooks for subclasses ----
    def refresh_data(self) -> None:
        """Start the workers that (re)load everything the screen shows."""

    def handle_event(self, event: Event) -> None:
        """React to one engine event."""

    def stream_started(self) -> None:
        """The event stream said hello (first, or after a reconnect): before the reload."""

    def worker_failed(self, worker: Worker[Any], error: BaseException) -> None:
        """A worker of this screen failed (the app has already been told)."""

    # ---- loads, and the events that overtake them (console/overtaken.py) ----
    def load_started(self, load: str, kinds: Kinds) -> None:
        """Call first thing in a load's worker (`load`: its group): the events of `kinds`
        heard from now on are applied again once its answer is (`load_answered`)."""
        self._overtaken.started(load, kinds)

    def load_answered(self, load: str) -> None:
        """Call once the load's answer is applied: the events heard meanwhile, again."""
        self.replaying = True
        try:
            for event in self.overtaking(load):
                self.handle_event(event)
        finally:
            self.replaying = False

    def overtaking(self, load: str) -> list[Event]:
        """The events heard while the load was on its way, for a screen that folds them
        into the answer before showing it (a table replaced, then changed again, would
        jump under the person's cursor); instead of `load_answered`."""
        return self._overtaken.answered(load)

    # ---- engine connection ----
    @work(exclusive=True, group="bridge", exit_on_error=False)
    async def run_bridge(self) -> None:
        await pump_events(self.client, self)

    @property
    def banner(self) -> EngineBanner:
        return self.query_one(EngineBanner)

    def on_engine_events(self, message: EngineEvents) -> None:
        message.taken = True  # events arriving from now on come in the next message
        for event in message.events:
            self.engine_event(event)

    def on_engine_event(self, message: EngineEvent) -> None:
        self.engine_event(message.event)

    def engine_event(self, event: Event) -> None:
        if isinstance(event, Hello):
            self._overtaken.reconnected()
            self.stream_started()
            self.refresh_data()
            self.unread_chat()
            return
        if isinstance(event, LoggedOut):
            # Only the agent side leaves: the same person's supervisor console stays.
            if event.username == self.me.username and self.MODE == "agent":
                self.logged_out(event.by)
            return
        if isinstance(event, ChatSaid):
            self.chat_line(event.line)
            return
        self._overtaken.heard(event)
        self.handle_event(event)

    # ---- chat between supervisors and agents ----
    chat_peer: tuple[str, str] | None = None  # who last wrote to me: (username, name)

    def chat_line(self, line: ChatLine) -> None:
        """Into the open chat with that person; else the bell and a toast."""
        from .chat import ChatScreen
        from .hand import ANY

        other = line.recipient if line.sender == self.me.username else line.sender
        screen = self.app.screen
        if (
            isinstance(screen, ChatScreen)
            and screen.peer == ANY
            and line.recipient == self.me.username
        ):
            screen.become(line.sender, line.sender_name)  # the first answer to a raised hand
            return
        if isinstance(screen, ChatScreen) and screen.peer == other:
            screen.add(line)
            return
        if line.sender == self.me.username or line.id in self._chat_told:
            return
        self._chat_told.add(line.id)
        self.chat_peer = (line.sender, line.sender_name)
        self.app.bell()
        self.notify(
            f"{one_line(line.sender_name, 30)}: {one_line(line.text, 120)} (M answers)",
            title="Chat",
            markup=False,
            timeout=15,
        )

    @work(exclusive=True, group="chat-unread", exit_on_error=False)
    async def unread_chat(self) -> None:
        """Lines sent while this console was away: told now, one toast per person."""
        last: dict[str, ChatLine] = {}
        count: dict[str, int] = {}
        for line in await self.client.unread_chat():
            if line.id not in self._chat_told:
                self._chat_told.add(line.id)
                last[line.sender] = line
                count[line.sender] = count.get(line.sender, 0) + 1
        for sender, line in last.items():
            self.chat_peer = (sender, line.sender_name)
            lines = f"{count[sender]} chat lines" if count[sender] > 1 else "a chat line"
            self.app.bell()
            self.notify(
                f"{one_line(line.sender_name, 30)} sent you {lines} while you were away, "
                f"last: {one_line(line.text, 100)} (M answers)",
                title="Chat",
                markup=False,
                timeout=30,
            )

    def open_chat(self, username: str, name: str) -> None:
        from .chat import ChatScreen

        self.app.push_screen(ChatScreen(self.client, self.me.username, username, name))

    def action_raise_hand(self) -> None:
        from .hand import HandScreen

        def chosen(peer: tuple[str, str] | None) -> None:
            if peer is not None:
                self.open_chat(*peer)

        self.app.push_screen(HandScreen(self.client), chosen)

    def action_answer_chat(self) -> None:
        if self.chat_peer is None:
            self.notify("Nobody has written to you yet.", markup=False)
            return
        self.open_chat(*self.chat_peer)

    def logged_out(self, by: str) -> None:
        """A supervisor logged this user out: leave (the demo goes back to its switcher)."""
        text = f"{one_line(by, 40)} logged you out of Postdesk."
        if getattr(self.app, "switch_users", None):
            self.app.notify(text, severity="warning", markup=False)
            self.app.call_later(self.app.run_action, "switch_user")
        else:
            self.app.exit(return_code=0, message=text)

    def on_engine_lost(self, message: EngineLost) -> None:
        self.banner.show_lost(message.reason)

    def on_engine_back(self, message: EngineBack) -> None:
        self.banner.show_back()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self._overtaken.failed(worker.group)
            self.app.post_message(WorkerFailed(worker, worker.error))
            self.worker_failed(worker, worker.error)


class AbstractScreenMeta(ABCMeta, type(Screen)):  # type: ignore[misc]
    """Textual's screen metaclass with `abc`'s: a base screen can have abstract methods, which
    each screen built on it must give (the compose screens' `submit`, the recording dialogs'
    `options` and `work`), and the base alone cannot be opened."""
