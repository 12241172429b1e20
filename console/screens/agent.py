"""Agent mode: my inbox on the left, the selected thread on the right, my status below.

Below 100 columns only the inbox shows; Enter opens the thread full width and Escape goes
back (the `-narrow` / `-thread-open` classes drive the layout in textual.tcss). The inbox is
loaded once and then kept current from engine events; nothing polls.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Header
from textual.worker import Worker

from engine.api.sanitize import one_line
from engine.api.schemas import (
    AgentChanged,
    Event,
    InteractionChanged,
    InteractionDetail,
    InteractionSummary,
    Me,
    MessageChanged,
)
from engine.client.client import EngineClient

from ..widgets.banner import EngineBanner
from ..widgets.inbox import InboxTable
from ..widgets.status_bar import StatusBar
from ..widgets.thread import ThreadView
from .base import ModeScreen
from .compose import ReplyScreen
from .confirm import ConfirmScreen


class AgentScreen(ModeScreen):
    MODE = "agent"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("r", "reply", "Reply", id="agent.reply"),
        Binding("x", "close", "Close", id="agent.close"),
        Binding("a", "status('free')", "Free", id="agent.free"),
        Binding("b", "status('break')", "Break", id="agent.break"),
        Binding("ctrl+r", "refresh", "Refresh", id="agent.refresh"),
        Binding("escape", "back", "Back", id="agent.back"),
    ]

    def __init__(self, client: EngineClient, me: Me) -> None:
        super().__init__(client, me)
        self.drafts: dict[int, str] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield EngineBanner()
        with Horizontal(id="agent-body"):
            yield InboxTable()
            yield ThreadView()
        yield StatusBar()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
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

    # ---- loading ----
    def refresh_data(self) -> None:
        self.load_inbox()
        self.load_me()
        if (current := self.thread.interaction_id) is not None:
            self.load_thread(current)

    @work(exclusive=True, group="inbox", exit_on_error=False)
    async def load_inbox(self) -> list[InteractionSummary]:
        return await self.client.interactions(scope="mine")

    @work(exclusive=True, group="me", exit_on_error=False)
    async def load_me(self) -> Me:
        return await self.client.me()

    @work(exclusive=True, group="thread", exit_on_error=False)
    async def load_thread(self, interaction_id: int) -> InteractionDetail:
        return await self.client.interaction(interaction_id)

    @work(exclusive=True, group="status", exit_on_error=False)
    async def set_status(self, status: str) -> Me:
        return await self.client.set_status(status)

    # Commands are not exclusive: cancelling one in flight would leave its outcome unknown.
    def send_reply(self, interaction_id: int, body: str) -> None:
        self.run_worker(self.client.reply(interaction_id, body), group="reply", exit_on_error=False)

    def close_interaction(self, interaction_id: int) -> None:
        self.run_worker(
            self.client.close_interaction(interaction_id), group="close", exit_on_error=False
        )

    def worker_done(self, worker: Worker[Any], result: Any) -> None:
        match worker.group, result:
            case "inbox", list() as items:
                self.inbox.replace(items)
                self._count()
            case "me" | "status", Me() as me:
                self.show_me(me)
            case "thread", InteractionDetail() as detail:
                self.show_detail(detail)
            case "reply", InteractionDetail() as detail:
                self.drafts.pop(detail.id, None)
                self.notify("Reply queued")
                self.show_detail(detail)
            case "close", InteractionSummary() as summary:
                self.drop(summary.id)
                self.notify("Interaction closed")

    def worker_failed(self, worker: Worker[Any], error: BaseException) -> None:
        if worker.group == "reply":
            self.notify(
                "Your reply is kept as a draft: press r to send it again.", severity="warning"
            )

    def show_detail(self, detail: InteractionDetail) -> None:
        # A thread that arrives after the cursor moved on is stale in the wide layout.
        if detail.id == self.inbox.current_id or detail.id == self.thread.interaction_id:
            self.thread.show(detail)
        if self.inbox.get(detail.id) is not None:
            fields = InteractionSummary.model_fields
            self.inbox.upsert(InteractionSummary(**{k: getattr(detail, k) for k in fields}))

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
                    self.inbox.upsert(item)
                    self._count()
                elif self.inbox.get(item.id) is not None:
                    self.drop(item.id)
            case MessageChanged(interaction_id=interaction_id, agent=agent, message=message):
                if interaction_id == self.thread.interaction_id:
                    self.thread.upsert_message(message)
                self.inbox.touch(interaction_id, message.created_at)
                if message.state == "failed" and agent == self.me.username:
                    self.notify(
                        one_line(message.error or "delivery failed", 200),
                        title="Reply not delivered",
                        severity="error",
                        markup=False,
                    )
            case AgentChanged(agent=agent) if agent.username == self.me.username:
                self.show_me(
                    self.me.model_copy(
                        update={
                            "status": agent.status,
                            "status_reason": agent.status_reason,
                            "status_since": agent.status_since,
                        }
                    )
                )

    def on_resize(self, event: events.Resize) -> None:
        # Narrow to wide: the thread pane appears and should match the highlighted row.
        # (The breakpoint classes may not be updated yet, so use the new size itself.)
        current = self.inbox.current_id
        if event.size.width >= 100 and current not in (None, self.thread.interaction_id):
            self.load_thread(current)

    # ---- inbox navigation ----
    @on(InboxTable.Highlighted)
    def _highlighted(self, event: InboxTable.Highlighted) -> None:
        if event.interaction_id is None:
            self.thread.show(None)
        elif self.wide and event.interaction_id != self.thread.interaction_id:
            self.load_thread(event.interaction_id)

    @on(InboxTable.Opened)
    def _opened(self, event: InboxTable.Opened) -> None:
        if event.interaction_id != self.thread.interaction_id:
            self.load_thread(event.interaction_id)
        self.add_class("-thread-open")
        self.thread.messages.focus()

    # ---- actions ----
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("reply", "close"):
            return self.inbox.current_id is not None or None
        if action == "back":
            return self.has_class("-thread-open")
        return True

    def action_back(self) -> None:
        self.remove_class("-thread-open")
        self.inbox.focus()

    def action_refresh(self) -> None:
        self.refresh_data()

    def action_status(self, status: str) -> None:
        self.set_status(status)

    def action_reply(self) -> None:
        interaction_id = self.inbox.current_id
        item = self.inbox.get(interaction_id) if interaction_id is not None else None
        if item is None:
            return
        screen = ReplyScreen(
            client=item.client_name.strip() or item.client_email,
            to=item.client_email,
            subject=item.subject,
            draft=self.drafts.get(item.id, ""),
        )

        def done(body: str | None) -> None:
            if body is None:
                if screen.body.strip():
                    self.drafts[item.id] = screen.body
                else:
                    self.drafts.pop(item.id, None)
                return
            self.drafts[item.id] = body
            self.send_reply(item.id, body)

        self.app.push_screen(screen, done)

    def action_close(self) -> None:
        interaction_id = self.inbox.current_id
        item = self.inbox.get(interaction_id) if interaction_id is not None else None
        if item is None:
            return
        question = Text("Close the interaction with ")
        question.append(one_line(item.client_name.strip() or item.client_email, 50), "bold")
        question.append("?\n")
        question.append(one_line(item.subject, 60), style="dim")

        def done(yes: bool | None) -> None:
            if yes:
                self.close_interaction(item.id)

        self.app.push_screen(ConfirmScreen(question, yes="Close"), done)
