"""Supervisor mode: the campaign statistics, the live agent grid and the waiting queue, and
actions on an agent.

One `monitor()` snapshot when the screen opens (and after a reconnect); from then on only
`AgentChanged`, `QueueChanged` and `StatsChanged` events change the tables. Agents' changes
are applied to the grid together, at most every `AGENT_BATCH` seconds (the newest row of each
agent): with 2,000 agents changing once a second, repainting the grid for every change cost
more than a core (bench/routing.py), and nobody reads faster than that. Time columns
tick locally; whether each campaign is in its schedule and what it holds over its queue
limit are columns of the statistics panel. `l` limits grid and queue to one campaign (each
press the next, then all again), as does choosing a campaign's row in the statistics; `i`
shows the selected agent's information (the manual's "Info"); `r` moves a paused or absent
agent's open work to the queue or a colleague (`console/flows/reassign.py`).
On the selected agent (the manual's "Actions with agents"): `s` watches their live
interaction (its thread reloads as messages come and go), `c` chats with them, `p` pauses
them (no new interactions until resumed, `p` again) and `L` logs them out (their console
leaves). `/` searches every agent's interactions, open and closed, and opens one read only.
`w` shows how interactions were closed: the count per campaign and disposition (wrap-up).
`v` views the selected agent's screen live, read only, when they allow it (docs/supervisor.md);
a spy and a screen view are written to the audit log.
`d` opens the email dialers' dashboard (`dialer_dashboard.py`), fed by this screen's events.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.widgets import Footer, Header, Label

from engine.api.schemas import (
    AgentChanged,
    AgentRow,
    CampaignState,
    DialerProgress,
    Event,
    InteractionChanged,
    InteractionSummary,
    MailboxChanged,
    MessageChanged,
    QueueChanged,
    QueueRow,
    ScreenChanged,
    StatsChanged,
    StatsOut,
)
from engine.text.sanitize import one_line

from ..messages import AgentActedOn, MailboxesLoaded, MonitorLoaded
from ..widgets.banner import EngineBanner
from ..widgets.campaign_stats import CampaignStatsTable
from ..widgets.mailboxes import MailboxLine
from ..widgets.monitor import AgentGrid, QueueTable
from .base import ModeScreen
from .dialer_dashboard import DialerDashboardScreen
from .mirror import MirrorScreen
from .thread_screen import ThreadScreen

AGENT_BATCH = 0.25  # seconds: how long agents' changes wait to be shown together


class SupervisorScreen(ModeScreen):
    MODE = "supervisor"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    BINDINGS = [
        Binding("s", "spy", "Spy", id="supervisor.spy"),
        Binding("c", "chat", "Chat", id="supervisor.chat"),
        Binding("M", "answer_chat", "Answer chat", id="supervisor.answer-chat", show=False),
        Binding("slash", "search", "Search", id="supervisor.search"),
        Binding("p", "pause", "Pause", id="supervisor.pause"),
        Binding("L", "log_out_agent", "Log out", id="supervisor.log-out-agent"),
        Binding("i", "info", "Info", id="supervisor.info"),
        # neomutt's `v` views: the agent's screen, live and read only (console/screens/mirror.py).
        # No room in the footer at 80 columns: in help (?), the palette and the Info window's
        # footer and button.
        Binding(
            "v",
            "view_screen",
            "View screen",
            tooltip="The selected agent's screen, live and read only (when they allow it)",
            id="supervisor.view-screen",
            show=False,
        ),
        Binding("l", "limit", "Limit", id="supervisor.limit"),
        Binding(
            "r",
            "reassign",
            "Reassign",
            tooltip="Move a paused or absent agent's open work to the queue or a colleague",
            id="supervisor.reassign",
            show=False,
        ),
        # Not in the footer either (no room at 80 columns): in help (?) and the palette.
        Binding("w", "wrapups", "Wrap-ups", id="supervisor.wrapups", show=False),
        Binding("d", "dialers", "Dialers", id="supervisor.dialers", show=False),
        # Live from events, so rarely needed: in help (?) and the palette, not the footer,
        # which needs the room at 80 columns.
        Binding("ctrl+r", "refresh", "Refresh", id="supervisor.refresh", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield EngineBanner()
        yield MailboxLine()
        yield CampaignStatsTable()
        with Container(id="monitor-body"):
            with Vertical(id="agents-pane", classes="pane"):
                yield Label("Agents", classes="pane-title", id="agents-title")
                yield AgentGrid()
            with Vertical(id="queue-pane", classes="pane"):
                yield Label("Waiting queue", classes="pane-title", id="queue-title")
                yield QueueTable()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # ModeScreen.on_mount runs after this one (Textual calls each class's handler).
        self.query_one(AgentGrid).focus()

    def refresh_data(self) -> None:
        self.load_monitor()
        self.load_mailboxes()
        for watched in self.watched_threads():  # back after an outage: catch up
            watched.load()
        for mirror in self.mirrors():  # the same watch again: the agent sends every row
            mirror.resume()
        for board in self.dialer_boards():
            board.load()

    def watched_threads(self) -> list[ThreadScreen]:
        """Threads open above this screen, even under a dialog, so none falls behind."""
        return [s for s in self.app.screen_stack if isinstance(s, ThreadScreen)]

    def action_dialers(self) -> None:
        """`d`: the email dialers' dashboard (docs/dialer.md)."""
        if not self.dialer_boards():
            self.app.push_screen(DialerDashboardScreen(self.client))

    # ---- loading: each worker posts what it got, handled below with `@on` ----
    @work(exclusive=True, group="monitor", exit_on_error=False)
    async def load_monitor(self) -> None:
        # Events heard while it is on its way are newer than its answer: they are folded
        # into it (`_monitor_arrived`, console/overtaken.py).
        self.load_started("monitor", (AgentChanged, QueueChanged, StatsChanged))
        self.post_message(MonitorLoaded(await self.client.monitor()))

    @work(exclusive=True, group="mailboxes", exit_on_error=False)
    async def load_mailboxes(self) -> None:
        self.load_started("mailboxes", (MailboxChanged,))
        self.post_message(MailboxesLoaded(await self.client.mailboxes()))

    @on(MonitorLoaded)
    def _monitor_arrived(self, message: MonitorLoaded) -> None:
        snapshot = message.snapshot
        grid = self.query_one(AgentGrid)
        # What was heard while the snapshot was on its way is newer than it: those rows,
        # the queue and the statistics stay as the events left them (console/overtaken.py).
        # Rows heard before it started are older: dropped.
        heard = self.overtaking("monitor")
        pending = getattr(self, "_pending_agents", {})
        rows = {agent.username: agent for agent in snapshot.agents}
        for event in heard:
            if isinstance(event, AgentChanged):
                name = event.agent.username
                rows[name] = pending.get(name) or grid.get(name) or event.agent
        self._pending_agents: dict[str, AgentRow] = {}
        grid.replace(rows.values())
        if snapshot.stats is not None and not any(isinstance(e, StatsChanged) for e in heard):
            self.show_stats(snapshot.stats)
        if not any(isinstance(e, QueueChanged) for e in heard):
            self.show_queue(snapshot.queue, snapshot.queue_total)
            self.show_campaigns(snapshot.campaigns)

    @on(MailboxesLoaded)
    def _mailboxes_arrived(self, message: MailboxesLoaded) -> None:
        self.query_one(MailboxLine).replace(message.mailboxes)
        self.load_answered("mailboxes")

    @on(AgentActedOn)
    def _acted_on(self, message: AgentActedOn) -> None:
        self.query_one(AgentGrid).upsert(message.agent)  # the event follows; no waiting for it

    def mirrors(self) -> list[MirrorScreen]:
        return [s for s in self.app.screen_stack if isinstance(s, MirrorScreen)]

    def handle_event(self, event: Event) -> None:
        match event:
            case ScreenChanged(agent=agent, frame=frame):
                for mirror in self.mirrors():
                    if mirror.agent == agent:
                        mirror.show(frame)
            case (
                MessageChanged(interaction_id=changed)
                | InteractionChanged(interaction=InteractionSummary(id=changed))
            ):
                for watched in self.watched_threads():
                    if watched.interaction_id == changed:
                        watched.load()
            case AgentChanged(agent=agent):
                for mirror in self.mirrors():
                    if mirror.agent == agent.username:
                        mirror.agent_changed(agent)
                pending = getattr(self, "_pending_agents", None)
                if pending is None:
                    pending = self._pending_agents = {}
                if not pending:
                    self.set_timer(AGENT_BATCH, self._show_agents)
                pending[agent.username] = agent  # a newer row of the same agent wins
            case QueueChanged(queue=queue, total=total, campaigns=campaigns):
                self.show_queue(queue, total)
                self.show_campaigns(campaigns)
            case StatsChanged(stats=stats):
                self.show_stats(stats)
            case MailboxChanged(mailbox=row):
                self.query_one(MailboxLine).upsert(row)
            case DialerProgress():
                for board in self.dialer_boards():
                    board.progress(event)

    def _show_agents(self) -> None:
        pending, self._pending_agents = self._pending_agents, {}
        grid = self.query_one(AgentGrid)
        came_or_went = False
        for agent in pending.values():
            came_or_went |= grid.upsert(agent)
        if came_or_went:  # the count in the title changed
            self._titles()

    def show_queue(self, queue: list[QueueRow], total: int) -> None:
        # The engine sends the longest-waiting rows only; the title says how many wait.
        self.queue_total = total
        self.query_one(QueueTable).replace(queue)
        self._titles()

    def show_campaigns(self, campaigns: list[CampaignState]) -> None:
        """Each campaign in or out of schedule, and what it holds over its limit: columns of
        the statistics panel."""
        self.query_one(CampaignStatsTable).show_states(campaigns)

    def show_stats(self, stats: StatsOut) -> None:
        panel = self.query_one(CampaignStatsTable)
        panel.replace(stats)
        queue = self.query_one(QueueTable)
        if queue.thresholds != (thresholds := panel.thresholds()):
            queue.thresholds = thresholds
            queue.tick()

    def _titles(self) -> None:
        grid = self.query_one(AgentGrid)
        limit = grid.limit
        where = "" if limit is None else f" in {one_line(limit, 20)}"
        self.query_one("#agents-title", Label).update(Text(f"Agents{where} ({grid.row_count})"))
        shown = self.query_one(QueueTable).row_count
        if limit is None:
            total = max(getattr(self, "queue_total", shown), shown)
            more = f", longest {shown} shown" if total > shown else ""
        else:
            waiting = {c.name: c.waiting for c in self.query_one(CampaignStatsTable).campaigns}
            total = max(waiting.get(limit, shown), shown)
            more = f", longest {shown} shown" if total > shown else ""
        self.query_one("#queue-title", Label).update(Text(f"Waiting queue{where} ({total}{more})"))

    # ---- limiting to one campaign ----
    def limit_to(self, campaign: str | None) -> None:
        self.query_one(AgentGrid).limit_to(campaign)
        self.query_one(QueueTable).limit_to(campaign)
        self._titles()

    def action_limit(self) -> None:
        """Each press limits to the next campaign, after the last one to all of them."""
        names = [c.name for c in self.query_one(CampaignStatsTable).campaigns]
        current = self.query_one(AgentGrid).limit
        if not names:
            return
        if current not in names:
            self.limit_to(names[0])
        else:
            following = names.index(current) + 1
            self.limit_to(names[following] if following < len(names) else None)

    @on(CampaignStatsTable.Chosen)
    def campaign_chosen(self, event: CampaignStatsTable.Chosen) -> None:
        same = event.campaign == self.query_one(AgentGrid).limit
        self.limit_to(None if same else event.campaign)

    # ---- the selected agent ----
    def action_info(self) -> None:
        agent = self.selected_agent()
        if agent is not None:
            self.show_info(agent.username)

    def action_wrapups(self) -> None:
        """`w`: closes per campaign and disposition, today or longer (docs/wrapup.md)."""
        from .wrapup_stats import WrapupStatsScreen

        self.app.push_screen(WrapupStatsScreen(self.client))

    @work(exclusive=True, group="agent-info", exit_on_error=False)
    async def show_info(self, username: str) -> None:
        from .agent_info import AgentInfoScreen

        info = await self.client.agent_info(username)

        def chosen(what: str | None) -> None:
            if what == "screen":
                self.view_screen(username)

        self.app.push_screen(AgentInfoScreen(info), chosen)

    def action_refresh(self) -> None:
        self.refresh_data()

    def selected_agent(self) -> AgentRow | None:
        """The agent under the grid's cursor, for a key that acts on one. With no row (no
        agents yet, none in the campaign limit, or the monitor still loading) the key says so
        instead of doing nothing."""
        grid = self.query_one(AgentGrid)
        agent = None
        if grid.row_count:
            key = grid.coordinate_to_cell_key(grid.cursor_coordinate).row_key.value
            agent = grid.get(key or "")
        if agent is None:
            self.notify("No agent selected: the grid shows none.", markup=False)
        return agent

    def action_chat(self) -> None:
        agent = self.selected_agent()
        if agent is not None:
            self.open_chat(agent.username, agent.display_name or agent.username)

    def action_spy(self) -> None:
        agent = self.selected_agent()
        if agent is not None:
            self.spy_on(agent)

    @work(exclusive=True, group="spy", exit_on_error=False)
    async def spy_on(self, agent: AgentRow) -> None:
        theirs = await self.client.interactions(scope="all", state="assigned", agent=agent.username)
        name = one_line(agent.display_name or agent.username, 30)
        if not theirs:
            self.notify(f"{name} has no open interaction.", markup=False)
        elif len(theirs) == 1:
            self.watch(theirs[0].id, name, agent.username)
        else:
            from .spy import InteractionPicker

            def picked(interaction_id: int | None) -> None:
                if interaction_id is not None:
                    self.watch(interaction_id, name, agent.username)

            self.app.push_screen(InteractionPicker(name, theirs), picked)

    @work(group="spy-watch", exit_on_error=False)
    async def watch(self, interaction_id: int, agent_name: str, agent: str) -> None:
        """Spy on one interaction: the engine writes it to the audit log until it closes."""
        from .mirror import end_watch

        watching = await self.client.watch("spy", agent, interaction_id=interaction_id)

        def closed(_: None) -> None:
            self.app.run_worker(
                end_watch(self.client, watching.id), group="watch-end", exit_on_error=False
            )

        self.app.push_screen(ThreadScreen(self.client, interaction_id, spying=agent_name), closed)

    # ---- the agent's screen, live (console/screens/mirror.py) ----
    def action_view_screen(self) -> None:
        agent = self.selected_agent()
        if agent is not None:
            self.view_screen(agent.username)

    @work(exclusive=True, group="view-screen", exit_on_error=False)
    async def view_screen(self, username: str) -> None:
        """Once the engine accepts (it refuses without the agent's consent flag)."""
        watching = await self.client.watch("screen", username)
        self.app.push_screen(MirrorScreen(self.client, watching))

    def action_search(self) -> None:
        from .search import SearchScreen

        def viewer(item: InteractionSummary) -> ThreadScreen:
            return ThreadScreen(self.client, item.id)  # read only, over the search

        self.app.push_screen(SearchScreen(self.client, scope="all", viewer=viewer))

    def action_pause(self) -> None:
        agent = self.selected_agent()
        if agent is None:
            return
        self.act_on(agent, "resume" if agent.status == "paused" else "pause")

    def action_log_out_agent(self) -> None:
        agent = self.selected_agent()
        if agent is None:
            return
        from .confirm import ConfirmScreen

        name = one_line(agent.display_name or agent.username, 40)
        question = Text(f"Log out {name}? Their console closes and they get no new mail.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.act_on(agent, "logout")

        self.app.push_screen(ConfirmScreen(question, yes="Log out"), answered)

    def action_reassign(self) -> None:
        agent = self.selected_agent()
        if agent is None:
            return
        from ..flows.reassign import reassign

        grid = self.query_one(AgentGrid)
        others = [
            row
            for row in grid.rows_known()
            if row.username != agent.username and row.status != "offline"
        ]
        reassign(self, agent, others)

    @work(group="agent-action", exit_on_error=False)
    async def act_on(self, agent: AgentRow, action: str) -> None:
        calls = {
            "pause": self.client.pause_agent,
            "resume": self.client.resume_agent,
            "logout": self.client.log_out_agent,
        }
        self.post_message(AgentActedOn(await calls[action](agent.username)))
