"""Agent mode: my inbox on the left, the selected thread on the right, my status below.

Below 100 columns only the inbox shows; Enter opens the thread full width and Escape goes
back (the `-narrow` / `-thread-open` classes drive the layout in textual.tcss). The inbox is
loaded once and then kept current from engine events; nothing polls. The mail actions
(reply, forward, search, …) open modals and live in `agent_flows`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from msgspec import structs
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Header
from textual.worker import Worker

from engine.api.schemas import (
    AgentChanged,
    Event,
    InteractionChanged,
    InteractionDetail,
    InteractionSummary,
    LimitsOut,
    Me,
    MessageChanged,
)
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..settle import settled
from ..widgets.banner import EngineBanner
from ..widgets.inbox import InboxTable
from ..widgets.status_bar import StatusBar
from ..widgets.thread import ThreadView
from .agent_flows import AgentFlows, summary_of


def inbox_note(me: Me) -> Text:
    """What an empty inbox says: what comes here, and what to do about it now."""
    if not me.campaigns:
        return Text(
            "Your inbox is empty: you are not a member of any campaign yet, so no mail comes"
            " to you. An admin adds you to one (admin console, m)."
        )
    campaigns = ", ".join(one_line(name, 30) for name in sorted(me.campaigns))
    note = Text()
    note.append("Nothing waiting for you. ", style="bold")
    if me.status == "break":
        note.append("You are on a break, so no new mail comes to you: a makes you Free.")
    elif me.status == "paused":
        note.append("A supervisor paused you: new mail comes again when they resume you.")
    else:
        note.append(f"Mail to {campaigns} comes here as it arrives; Enter opens it, r replies.")
    note.append(" c writes to a client; / searches earlier interactions.", style="dim")
    return note


class AgentScreen(AgentFlows):
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

    def __init__(self, client: EngineClient, me: Me) -> None:
        super().__init__(client, me)
        self.drafts: dict[int, str] = {}
        self.limits: LimitsOut | None = None
        self._draft_lock = asyncio.Lock()
        self._inbox_loaded = False

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
        self.inbox.say_when_empty(inbox_note(me))
        self.refresh_bindings()  # `a` Free and `b` Break follow the status

    # ---- loading ----
    def refresh_data(self) -> None:
        self.load_inbox()
        self.load_me()
        self.load_limits()
        if (current := self.thread.interaction_id) is not None:
            self.load_thread(current, read=False)

    @work(exclusive=True, group="inbox", exit_on_error=False)
    async def load_inbox(self) -> list[InteractionSummary]:
        return await self.client.interactions(scope="mine", state="assigned")

    @work(exclusive=True, group="me", exit_on_error=False)
    async def load_me(self) -> Me:
        return await self.client.me()

    @work(exclusive=True, group="limits", exit_on_error=False)
    async def load_limits(self) -> LimitsOut:
        return await self.client.limits()

    @work(exclusive=True, group="thread", exit_on_error=False)
    async def load_thread(self, interaction_id: int, *, read: bool = True) -> InteractionDetail:
        """Fetch the thread; `read=False` for a preview the agent did not ask for."""
        return await self.client.interaction(interaction_id, mark_read=read)

    @work(exclusive=True, group="status", exit_on_error=False)
    async def set_status(self, status: str, reason: str = "") -> Me:
        return await self.client.set_status(status, reason)

    # Commands are not exclusive: cancelling one in flight would leave its outcome unknown.
    def close_interaction(self, interaction_id: int) -> None:
        self.run_worker(
            self.client.close_interaction(interaction_id), group="close", exit_on_error=False
        )

    def persist_draft(self, interaction_id: int, text: str) -> None:
        """Keep the unsent reply here and in the engine (in the order typed)."""
        self.drafts[interaction_id] = text
        if self.thread.interaction_id == interaction_id:
            self.thread.set_draft(text)

        async def save() -> None:
            async with self._draft_lock:
                await self.client.save_draft(interaction_id, text)

        self.run_worker(save(), group="draft", exit_on_error=False)

    def worker_done(self, worker: Worker[Any], result: Any) -> None:
        match worker.group, result:
            case "inbox", list() as items:
                # A reload (the engine came back) brings what was assigned in between.
                known = set(self.inbox.order) if self._inbox_loaded else None
                self._inbox_loaded = True
                self.inbox.replace(items)
                self._count()
                self.call_after_refresh(settled)
                if known is not None:
                    self.announce([item for item in items if item.id not in known])
            case "me" | "status", Me() as me:
                self.show_me(me)
            case "limits", LimitsOut() as limits:
                self.limits = limits
            case "thread", InteractionDetail() as detail:
                self.show_detail(detail)
            case "fetch", (str() as action, InteractionDetail() as detail, tuple() as args):
                self.show_detail(detail)
                self.run_flow(action, detail, args)
            case "close", InteractionSummary() as summary:
                self.drop(summary.id)
                self.notify("Interaction closed")

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
        self._count()

    def _count(self) -> None:
        self.query_one(StatusBar).open_count = len(self.inbox)

    # ---- events ----
    def handle_event(self, event: Event) -> None:
        match event:
            case InteractionChanged(interaction=item):
                if item.agent == self.me.username and item.state == "assigned":
                    old = self.inbox.get(item.id)
                    new = old is None
                    if item.unread and old is not None and not old.unread and self._shown(item.id):
                        # Mail arriving in the thread the agent has open is read as it lands:
                        # the engine is told (it reloads the thread) and no marker appears.
                        self.load_thread(item.id)
                        item = structs.replace(item, unread=False)
                    self.inbox.upsert(item)
                    self._count()
                    if new:
                        self.announce([item])
                elif self.inbox.get(item.id) is not None:
                    self.drop(item.id)
            case MessageChanged(interaction_id=interaction_id, agent=agent, message=message):
                if interaction_id == self.thread.interaction_id:
                    self.thread.upsert_message(message)
                # Only the client's mail moves the waiting time here; what we send moves it
                # (a reply) or not (a forward) by the engine's rule, in the summary that
                # follows this event.
                if message.direction == "inbound":
                    self.inbox.touch(interaction_id, message.created_at)
                if message.state == "failed" and agent == self.me.username:
                    self.notify(
                        one_line(message.error or "delivery failed", 200),
                        title="Message not delivered",
                        severity="error",
                        markup=False,
                    )
            case AgentChanged(agent=agent) if agent.username == self.me.username:
                self.show_me(
                    structs.replace(
                        self.me,
                        status=agent.status,
                        status_reason=agent.status_reason,
                        status_since=agent.status_since,
                    )
                )

    def _shown(self, interaction_id: int) -> bool:
        """Whether the agent has this interaction's thread in front of them."""
        if self.thread.interaction_id != interaction_id:
            return False
        return self.reading or (self.wide and self.inbox.current_id == interaction_id)

    def announce(self, items: list[InteractionSummary]) -> None:
        """Ring the bell and show a toast for interactions just assigned to me. Those I
        started myself are read already: they make no noise."""
        waiting = [item for item in items if item.unread]
        if not waiting:
            return
        self.app.bell()
        if len(waiting) == 1:
            item = waiting[0]
            client = one_line(item.client_name.strip() or item.client_email, 40)
            subject = one_line(item.subject or "(no subject)", 60)
            self.notify(f"{client}: {subject}", title="New interaction", markup=False)
        else:
            self.notify(f"{len(waiting)} new interactions in your inbox", markup=False)

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
