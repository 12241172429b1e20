"""Agent mode: my inbox on the left, the selected thread on the right, my status below.

Below 100 columns only the inbox shows; Enter opens the thread full width and Escape goes
back (the `-narrow` / `-thread-open` classes drive the layout in textual.tcss). The inbox is
loaded once and then kept current from engine events; nothing polls.

Each worker here posts a typed message when the engine answers (`console/messages.py`),
handled below with `@on`. The mail actions (reply, forward, close, search, …) are flows, one
module each in `console/flows/`: the actions here only bind them to their keys.

About 500 lines because its 21 key bindings (about 90 lines, each with an id and most with a
tooltip) stay beside the actions they call, as Textual screens keep them; the rest is the
two-pane layout and the typed messages' handlers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

from msgspec import structs
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Header

from engine.api.schemas import (
    AgentChanged,
    Event,
    InteractionChanged,
    InteractionDetail,
    InteractionMoved,
    LimitsOut,
    Me,
    MessageChanged,
    PickQueue,
    ScreenWatchers,
    WaitingChanged,
)
from engine.client.client import EngineClient

from ..messages import (
    DetailFetched,
    InboxLoaded,
    InteractionClosed,
    InteractionTaken,
    InteractionTransferred,
    LimitsLoaded,
    MeLoaded,
    PickQueueLoaded,
    ThreadLoaded,
)
from ..screen_share import ScreenSharer
from ..settle import settled
from ..widgets.banner import EngineBanner
from ..widgets.inbox import InboxTable, summary_of
from ..widgets.status_bar import StatusBar
from ..widgets.thread import ThreadView
from . import agent_events
from .base import ModeScreen
from .compose_drafts import KeptDrafts

Flow = Callable[[InteractionDetail], None]  # goes on with the highlighted interaction


class AgentScreen(ModeScreen):
    MODE = "agent"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    # At 80 columns the footer has room for about 68 cells: the keys shown below, in this
    # order, and the app's `? Help`. `a` Free hides while free (`check_action`); `b` stays
    # while on break, to change the reason without going Free (and being routed work) first.
    # Every key, shown or not, is listed by `?` and offered by the command palette.
    BINDINGS = [
        Binding("escape", "back", "Back", id="agent.back"),
        Binding("r", "reply", "Reply", id="agent.reply"),
        Binding(
            "R",
            "reply(True)",
            "Reply+history",
            tooltip="Reply with the conversation so far quoted under your text",
            id="agent.reply-history",
        ),
        Binding("f", "forward", "Forward", id="agent.forward"),
        Binding("x", "close", "Close", id="agent.close"),
        Binding("slash", "search", "Search", id="agent.search"),
        Binding("b", "break", "Break", id="agent.break"),
        Binding("a", "free", "Free", id="agent.free"),
        Binding("c", "new", "New interaction", id="agent.new", show=False),
        Binding("e", "reply(False, True)", "Reply in $EDITOR", id="agent.reply-editor", show=False),
        Binding("C", "cc_bcc", "CC/BCC", id="agent.cc-bcc", show=False),
        Binding("s", "start_from", "New from message", id="agent.start-from", show=False),
        Binding("v", "save_attachment", "Save attachment", id="agent.save-attachment", show=False),
        Binding(
            "o",
            "sort",
            "Sort inbox",
            tooltip="Sort the inbox by: newest, longest waiting, campaign, client, subject",
            id="agent.sort",
            show=False,
        ),
        Binding("O", "sort_reverse", "Reverse sort", id="agent.sort-reverse", show=False),
        Binding("M", "answer_chat", "Answer chat", id="agent.answer-chat", show=False),
        Binding(
            "H",
            "raise_hand",
            "Raise hand",
            tooltip="Chat with a supervisor of your campaigns, or any supervisor on duty",
            id="agent.raise-hand",
            show=False,
        ),
        # The thread has its own `z`; this one works while the inbox beside it has focus.
        Binding(
            "z",
            "toggle_quotes",
            "Quotes",
            tooltip="Show or hide the quoted history of the thread's messages",
            id="agent.toggle-quotes",
            show=False,
        ),
        # aerc's and neomutt's `t` marks a message as one's own; here it takes one.
        Binding(
            "t",
            "pick",
            "Take from queue",
            tooltip="The waiting queue of your pick-mode campaigns: take the highlighted one",
            id="agent.pick",
            show=False,
        ),
        Binding(
            "T",
            "transfer",
            "Transfer",
            tooltip="Hand it to a colleague of the campaign or to a queue, with a note",
            id="agent.transfer",
            show=False,
        ),
        Binding(
            "n",
            "note",
            "Internal note",
            tooltip="A note in the thread for colleagues and supervisors, never sent",
            id="agent.note",
            show=False,
        ),
        Binding("ctrl+r", "refresh", "Refresh", id="agent.refresh", show=False),
        Binding(
            "Q",
            "log_out",
            "Log out",
            tooltip="Go Offline and leave the console (drafts are kept)",
            id="agent.log-out",
            show=False,
        ),
    ]

    NEEDS_INTERACTION = frozenset(
        {"reply", "forward", "cc_bcc", "start_from", "save_attachment", "close", "transfer", "note"}
    )

    def __init__(self, client: EngineClient, me: Me) -> None:
        super().__init__(client, me)
        self.drafts: dict[int, str] = {}  # the unsent reply by interaction, as typed here
        self.kept = KeptDrafts()  # forwards and new interactions left with Esc
        self.limits: LimitsOut | None = None
        self.draft_lock = asyncio.Lock()  # the reply's draft is saved in the order typed
        self._inbox_loaded = False
        self.pick_queue: PickQueue | None = None  # None until loaded

    def compose(self) -> ComposeResult:
        yield Header()
        yield EngineBanner()
        with Horizontal(id="agent-body"):
            yield InboxTable()
            yield ThreadView()
        yield StatusBar()
        yield Footer(compact=True, show_command_palette=False)  # `?` names ctrl+p

    def on_mount(self) -> None:
        # ModeScreen.on_mount runs too: Textual calls the handler of every class in the MRO.
        self.show_me(self.me)
        self.inbox.focus()

    @property
    def inbox(self) -> InboxTable:
        return self.query_one(InboxTable)

    @property
    def thread(self) -> ThreadView:
        return self.query_one(ThreadView)

    @property
    def wide(self) -> bool:
        return not self.has_class("-narrow")

    def show_me(self, me: Me) -> None:
        self.me = me
        bar = self.query_one(StatusBar)
        bar.status, bar.reason, bar.status_since = me.status, me.status_reason, me.status_since
        bar.display_name = me.display_name
        bar.load = tuple(me.load)
        self.inbox.say_when_empty(agent_events.inbox_note(me))
        self.refresh_bindings()  # `a` Free and `b` Break follow the status

    # ---- loading: each worker posts what it got ----
    def refresh_data(self) -> None:
        self.load_inbox()
        self.load_me()
        self.load_limits()
        self.load_pick_queue()
        if (current := self.thread.interaction_id) is not None:
            self.load_thread(current, read=False)

    # What each load reads, and so which events heard while it is on its way are newer
    # than its answer: folded into it (the inbox) or applied again after it (the others;
    # console/overtaken.py).
    INBOX_EVENTS = (InteractionChanged, InteractionMoved)
    ME_EVENTS = (AgentChanged, WaitingChanged)
    THREAD_EVENTS = (MessageChanged,)

    @work(exclusive=True, group="inbox", exit_on_error=False)
    async def load_inbox(self) -> None:
        self.load_started("inbox", self.INBOX_EVENTS)
        self.post_message(
            InboxLoaded(await self.client.interactions(scope="mine", state="assigned"))
        )

    @work(exclusive=True, group="me", exit_on_error=False)
    async def load_me(self) -> None:
        self.load_started("me", self.ME_EVENTS)
        self.post_message(MeLoaded(await self.client.me(), load="me"))

    @work(exclusive=True, group="limits", exit_on_error=False)
    async def load_limits(self) -> None:
        self.post_message(LimitsLoaded(await self.client.limits()))

    @work(exclusive=True, group="pick", exit_on_error=False)
    async def load_pick_queue(self) -> None:
        self.post_message(PickQueueLoaded(await self.client.pick_queue()))

    @work(group="take", exit_on_error=False)
    async def take(self, interaction_id: int) -> None:
        self.post_message(InteractionTaken(await self.client.take(interaction_id)))

    @work(exclusive=True, group="thread", exit_on_error=False)
    async def load_thread(self, interaction_id: int, *, read: bool = True) -> None:
        """Fetch the thread; `read=False` for a preview the agent did not ask for."""
        thread = self.thread
        self.load_started("thread", self.THREAD_EVENTS)
        detail = await self.client.interaction(interaction_id, mark_read=read)
        self.post_message(ThreadLoaded(thread, detail, load="thread"))

    @work(exclusive=True, group="status", exit_on_error=False)
    async def set_status(self, status: str, reason: str = "") -> None:
        self.post_message(MeLoaded(await self.client.set_status(status, reason)))

    @on(InboxLoaded)
    def _inbox_arrived(self, message: InboxLoaded) -> None:
        items = message.items
        # A reload (the engine came back) brings what was assigned in between.
        known = set(self.inbox.order) if self._inbox_loaded else None
        self._inbox_loaded = True
        # What was heard while the answer was on its way is newer than it: those rows stay
        # as the events left them, shown or gone (console/overtaken.py).
        heard = {_about(event) for event in self.overtaking("inbox")}
        items = [item for item in items if item.id not in heard]
        items += [shown for i in heard if (shown := self.inbox.get(i)) is not None]
        self.inbox.replace(items)
        self.count_open()
        self.call_after_refresh(settled)
        if known is not None:
            agent_events.announce(self, [item for item in items if item.id not in known])

    @on(PickQueueLoaded)
    def _pick_queue_arrived(self, message: PickQueueLoaded) -> None:
        from .pick import PickScreen

        self.pick_queue = message.queue
        if isinstance(self.app.screen, PickScreen):
            self.app.screen.show(message.queue)

    @on(InteractionTaken)
    def _taken(self, message: InteractionTaken) -> None:
        summary = message.summary
        self.inbox.upsert(summary)
        self.count_open()
        self.inbox.focus()
        self.notify("It is yours now", title="Taken", markup=False)
        self.load_pick_queue()

    @on(MeLoaded)
    def _me_arrived(self, message: MeLoaded) -> None:
        self.show_me(message.me)
        if message.load is not None:
            self.load_answered(message.load)

    @on(LimitsLoaded)
    def _limits_arrived(self, message: LimitsLoaded) -> None:
        self.limits = message.limits

    @on(ThreadLoaded, "#thread")
    def _thread_arrived(self, message: ThreadLoaded) -> None:
        self.show_detail(message.detail)
        if message.load is not None:
            self.load_answered(message.load)

    @on(DetailFetched, "#thread")
    def _detail_arrived(self, message: DetailFetched) -> None:
        self.show_detail(message.detail)
        message.flow(message.detail)

    @on(InteractionClosed, "#thread")
    def _interaction_closed(self, message: InteractionClosed) -> None:
        self.drop(message.summary.id)
        self.notify("Interaction closed")

    @on(InteractionTransferred)
    def _transferred(self, message: InteractionTransferred) -> None:
        # The engine's `moved` event may have dropped it already (and said so).
        if self.inbox.get(message.summary.id) is not None:
            self.drop(message.summary.id)
            self.notify(f"Handed to {message.words}", title="Transferred", markup=False)

    def show_detail(self, detail: InteractionDetail) -> None:
        # The engine's copy of the draft counts until the agent types here.
        self.drafts.setdefault(detail.id, detail.draft)
        detail = structs.replace(detail, draft=self.drafts[detail.id])
        # A thread that arrives after the cursor moved on is stale in the wide layout.
        if detail.id == self.inbox.current_id or detail.id == self.thread.interaction_id:
            self.thread.show(detail)
        if self.inbox.get(detail.id) is not None:
            self.inbox.upsert(summary_of(detail))

    def drop(self, interaction_id: int) -> None:
        self.inbox.discard(interaction_id)
        self.drafts.pop(interaction_id, None)
        if self.thread.interaction_id == interaction_id:
            self.thread.show(None)
            self.action_back()
        self.count_open()

    def count_open(self) -> None:
        bar = self.query_one(StatusBar)
        bar.open_count = len(self.inbox)
        bar.held = self.inbox.per_campaign()

    def waiting_changed(self, campaign: str, waiting: int) -> None:
        bar = self.query_one(StatusBar)
        bar.load = tuple(
            structs.replace(c, waiting=waiting) if c.name == campaign else c for c in bar.load
        )

    # ---- events (agent_events.py) ----
    def handle_event(self, event: Event) -> None:
        if isinstance(event, ScreenWatchers):  # a supervisor views this screen, or stopped
            self.screen_share.told(event)
            return
        agent_events.handle(self, event)

    @property
    def screen_share(self) -> ScreenSharer:
        """Sends this console's screen while a supervisor watches (console/screen_share.py)."""
        sharer = getattr(self, "_screen_share", None)
        if sharer is None:
            sharer = self._screen_share = ScreenSharer(self.app, self.client, self)
        return sharer

    def stream_started(self) -> None:
        self.screen_share.reset()  # the engine tells again who watches, right after hello

    def on_resize(self, event: events.Resize) -> None:
        # Narrow to wide: the thread pane appears and should match the highlighted row.
        # (The breakpoint classes may not be updated yet, so use the new size itself.)
        current = self.inbox.current_id
        if event.size.width >= 100 and current not in (None, self.thread.interaction_id):
            self.load_thread(current, read=False)
        self.call_after_refresh(self.refresh_bindings)  # `reading` may have changed

    # ---- inbox navigation ----
    @on(InboxTable.Highlighted)
    def _highlighted(self, event: InboxTable.Highlighted) -> None:
        if event.interaction_id is None:
            self.thread.show(None)
        elif self.wide and event.interaction_id != self.thread.interaction_id:
            # A new assignment landing under an untouched cursor is shown, not read: the
            # agent has not looked at it yet.
            self.load_thread(event.interaction_id, read=event.by_agent)

    @on(events.DescendantFocus, "#thread")
    def _thread_focused(self) -> None:
        """Moving into the thread beside the inbox is reading it."""
        current = self.thread.interaction_id
        item = self.inbox.get(current) if current is not None else None
        if item is not None and item.unread:
            self.load_thread(item.id)

    @on(InboxTable.Opened)
    def _opened(self, event: InboxTable.Opened) -> None:
        self.open_thread(event.interaction_id)

    def open_thread(self, interaction_id: int) -> None:
        item = self.inbox.get(interaction_id)
        if interaction_id != self.thread.interaction_id or (item is not None and item.unread):
            self.load_thread(interaction_id)
        self.add_class("-thread-open")
        self.thread.messages.focus()
        self.refresh_bindings()

    # ---- actions ----
    @property
    def reading(self) -> bool:
        """The thread fills the screen (narrow layout): inbox keys are off until Escape."""
        return not self.wide and self.has_class("-thread-open")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.NEEDS_INTERACTION:
            return self.inbox.current_id is not None or None
        match action:
            case "back":
                return self.has_class("-thread-open")
            case "sort" | "sort_reverse":
                return not self.reading
            case "toggle_quotes":
                shown = self.wide or self.has_class("-thread-open")
                return shown and bool(self.thread.check_action("toggle_quotes", ()))
            case "free":
                return self.me.status not in ("free", "paused")
            case "break":
                return self.me.status != "paused"  # a supervisor's pause: only they resume
        return True

    def action_back(self) -> None:
        self.remove_class("-thread-open")
        self.inbox.focus()
        self.refresh_bindings()

    def action_toggle_quotes(self) -> None:
        self.thread.action_toggle_quotes()

    def action_sort(self) -> None:
        self.inbox.next_sort()

    def action_sort_reverse(self) -> None:
        self.inbox.reverse_sort()

    def action_refresh(self) -> None:
        self.refresh_data()

    def action_free(self) -> None:
        self.set_status("free")

    # ---- the flows (console/flows/), given the highlighted interaction's detail ----
    def with_detail(self, flow: Flow) -> None:
        """Run `flow` with the highlighted interaction's detail: at once when the thread
        pane shows it, else once `fetch_for` has loaded it."""
        interaction_id = self.inbox.current_id
        if interaction_id is None:
            return
        detail = self.thread.detail
        if detail is not None and detail.id == interaction_id:
            flow(detail)
        else:
            self.fetch_for(flow, interaction_id)

    @work(exclusive=True, group="fetch", exit_on_error=False)
    async def fetch_for(self, flow: Flow, interaction_id: int) -> None:
        thread = self.thread
        detail = await self.client.interaction(interaction_id)
        self.post_message(DetailFetched(thread, detail, flow))

    def action_reply(self, with_history: bool = False, editor: bool = False) -> None:
        from ..flows.reply import reply

        self.with_detail(partial(reply, self, with_history=with_history, editor=editor))

    def action_forward(self) -> None:
        from ..flows.forward import forward

        self.with_detail(partial(forward, self))

    def action_cc_bcc(self) -> None:
        from ..flows.cc_bcc import cc_bcc

        self.with_detail(partial(cc_bcc, self))

    def action_new(self) -> None:
        from ..flows.new_interaction import new_interaction

        new_interaction(self)

    def action_start_from(self) -> None:
        from ..flows.new_interaction import start_from

        self.with_detail(partial(start_from, self))

    def action_save_attachment(self) -> None:
        from ..flows.save_attachment import save_attachment

        self.with_detail(partial(save_attachment, self))

    def action_close(self) -> None:
        from ..flows.close import close

        self.with_detail(partial(close, self))

    def action_transfer(self) -> None:
        from ..flows.transfer import transfer

        self.with_detail(partial(transfer, self))

    def action_note(self) -> None:
        from ..flows.transfer import add_note

        self.with_detail(partial(add_note, self))

    def action_search(self) -> None:
        from ..flows.search import search

        search(self)

    def action_break(self) -> None:
        from ..flows.status import take_break

        take_break(self)

    def action_pick(self) -> None:
        from ..flows.pick import pick

        pick(self)

    def action_log_out(self) -> None:
        from ..flows.status import log_out

        log_out(self)


def _about(event: Event) -> int:
    """The interaction an inbox event is about (`AgentScreen.INBOX_EVENTS`)."""
    if isinstance(event, InteractionMoved):
        return event.interaction_id
    assert isinstance(event, InteractionChanged)
    return event.interaction.id
