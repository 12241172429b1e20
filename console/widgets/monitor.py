"""Supervisor tables: the live agent grid and the waiting queue.

Rows are keyed by username / interaction id so events update them in place. Time columns
tick from a local 1 s timer; nothing here polls the engine. Both can be limited to one
campaign (`limit`); the queue colours a wait by its campaign's thresholds (`thresholds`).
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from engine.api.schemas import AgentRow, QueueRow
from engine.text.sanitize import one_line

from ..timefmt import as_utc, since
from .campaign_stats import LEVEL_STYLES, wait_level, waited
from .empty import EmptyNote

# The manual's states, as the engine derives them (AgentRow.state).
STATE_LABELS = {
    "offline": "Offline",
    "free": "Free",
    "busy": "Busy",
    "free_on_break": "Free on break",
    "busy_on_break": "Busy on break",
    "paused": "Paused",
    "break": "Break",  # a status, for an engine that sends no state
}
STATE_COLOURS = {
    "free": "green",
    "busy": "cyan",
    "free_on_break": "yellow",
    "busy_on_break": "yellow",
    "paused": "magenta",
    "break": "yellow",
}


def _right(value: object, style: str = "") -> Text:
    return Text(str(value), style=style, justify="right")


class AgentGrid(EmptyNote):
    """`#agents`: status, agent, active, completed, average rating, time in state."""

    def __init__(self, *, id: str = "agents") -> None:  # noqa: A002
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._agents: dict[str, AgentRow] = {}  # every agent, shown or not
        self._shown: set[str] = set()  # those with a row (the campaign limit)
        self._limit: str | None = None
        # What each row's cells show: a change touches only the cells that differ (a state
        # change two of six), and the 1 s tick only the times that read differently. With
        # 2,000 agents changing once a second every cell was set again (bench/routing.py).
        self._painted: dict[str, dict[str, Text]] = {}
        # Rows off screen whose agent changed: painted when they come into view. Setting a
        # cell of any row makes the DataTable drop its whole render cache and repaint, so
        # 2,000 off-screen changes a second cost as much as 2,000 visible ones.
        self._stale: set[str] = set()

    def on_mount(self) -> None:
        self.add_column(Text("Status"), width=15, key="status")
        self.add_column(Text("Agent"), width=22, key="agent")
        self.add_column(Text("Active", justify="right"), width=6, key="active")
        self.add_column(Text("Done", justify="right"), width=6, key="completed")
        self.add_column(Text("Rating", justify="right"), width=6, key="rating")
        self.add_column(Text("In state", justify="right"), width=8, key="since")
        self.say_when_empty(
            "No agents yet. An agent is a user with the agent role who is a member of a"
            " campaign: an admin adds both (admin console, u and m)."
        )
        self.set_interval(1, self.tick)

    def replace(self, agents: Iterable[AgentRow]) -> None:
        self.clear()
        self._agents = {}
        self._shown = set()
        self._painted = {}
        self._stale = set()
        for agent in sorted(agents, key=lambda a: (a.display_name or a.username).lower()):
            self.upsert(agent)

    def limit_to(self, campaign: str | None) -> None:
        """Show only the members of `campaign` (None: everyone)."""
        self._limit = campaign
        self.replace(list(self._agents.values()))

    def _wanted(self, agent: AgentRow) -> bool:
        return self._limit is None or self._limit in agent.campaigns

    def upsert(self, agent: AgentRow) -> bool:
        """Show `agent`'s row as it is now; True when a row came or went (titles count them)."""
        shown = self._shown
        name = agent.username
        known = name in shown
        self._agents[name] = agent
        if not self._wanted(agent):
            if known:
                self.remove_row(name)
                shown.discard(name)
                self._painted.pop(name, None)
                self._stale.discard(name)
            return known
        if known:
            if self._on_screen(name):
                self._paint(name, agent)
            else:
                self._stale.add(name)
            return False
        cells = self._cells(agent)
        shown.add(name)
        self.add_row(*cells.values(), key=name)
        self._painted[name] = cells
        return True

    def _paint(self, name: str, agent: AgentRow) -> None:
        """Set the cells of `name`'s row that read differently from what it shows."""
        cells = self._cells(agent)
        painted = self._painted[name]
        for key, cell in cells.items():
            if not _same(painted[key], cell):
                self.update_cell(name, key, cell)
        self._painted[name] = cells
        self._stale.discard(name)

    def _visible(self) -> range:
        """Indexes of the rows on screen (one line each; the header line is above them)."""
        first = max(0, int(self.scroll_y))
        return range(first, first + self.size.height + 1)

    def _on_screen(self, name: str) -> bool:
        return self.get_row_index(name) in self._visible()

    @property
    def limit(self) -> str | None:
        return self._limit

    def get(self, username: str) -> AgentRow | None:
        return self._agents.get(username)

    def rows_known(self) -> list[AgentRow]:
        """Every agent the grid knows, shown or not (a reassignment may go to any), by name."""
        return sorted(self._agents.values(), key=lambda row: row.username)

    def tick(self) -> None:
        """The times in state of the rows on screen, and the rows that changed while off
        screen; the others when scrolled into view. (Every row's time every second was 2,000
        cells a second at 2,000 agents.)"""
        visible = self._visible()
        for row in self.ordered_rows[visible.start : visible.stop]:
            username = str(row.key.value)
            agent = self._agents.get(username)
            if agent is None:
                continue
            if username in self._stale:
                self._paint(username, agent)
                continue
            cell = _right(since(agent.status_since))
            painted = self._painted[username]
            if not _same(painted["since"], cell):
                painted["since"] = cell
                self.update_cell(username, "since", cell)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.tick()  # rows scrolled into view show their state and time as of now

    def on_resize(self) -> None:
        self.tick()  # rows a taller grid brings into view

    def _cells(self, agent: AgentRow) -> dict[str, Text]:
        state = agent.state or agent.status
        colour = STATE_COLOURS.get(state, "dim")
        status = STATE_LABELS.get(state, state)
        name = agent.display_name.strip() or agent.username
        label = Text(one_line(name, 22))
        if agent.status_reason:
            label.append(f" ({one_line(agent.status_reason)})", style="dim")
            label.truncate(22, overflow="ellipsis")
        return {
            "status": Text(f"● {status}", style=colour),
            "agent": label,
            "active": _right(agent.active, "bold" if agent.active else "dim"),
            "completed": _right(agent.completed),
            "rating": _right(
                "-" if agent.rating_average is None else f"{agent.rating_average:.1f}",
                "dim" if agent.rating_average is None else "yellow",
            ),
            "since": _right(since(agent.status_since)),
        }


def _same(a: Text, b: Text) -> bool:
    return a.plain == b.plain and a.style == b.style and a.spans == b.spans


class QueueTable(EmptyNote):
    """`#queue`: client email, campaign, time on hold; oldest first."""

    def __init__(self, *, id: str = "queue") -> None:  # noqa: A002
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._rows: list[QueueRow] = []
        self._all: list[QueueRow] = []
        self._limit: str | None = None
        self.thresholds: dict[str, tuple[int, int]] = {}  # campaign: (warning, critical)

    def on_mount(self) -> None:
        self.add_column(Text("Client"), width=30, key="client")
        self.add_column(Text("Campaign"), width=16, key="campaign")
        self.add_column(Text("On hold", justify="right"), width=8, key="hold")
        self.say_when_empty(
            "No one is waiting. Mail that no agent can take yet (all busy, on a break or"
            " offline) is listed here, longest waiting first."
        )
        self.set_interval(1, self.tick)

    def limit_to(self, campaign: str | None) -> None:
        self._limit = campaign
        self.replace(self._all)

    def _hold(self, row: QueueRow) -> Text:
        warning, critical = self.thresholds.get(row.campaign_name, (0, 0))
        level = wait_level(waited(row.queued_at), warning, critical)
        return _right(since(row.queued_at), LEVEL_STYLES[level])

    def replace(self, queue: Iterable[QueueRow]) -> None:
        """The engine sends the whole queue on every change: swap the rows, keep the cursor."""
        keep = self._rows[self.cursor_row].interaction_id if self._valid_cursor() else None
        self._all = sorted(queue, key=lambda row: as_utc(row.queued_at))
        self._rows = [r for r in self._all if self._limit in (None, r.campaign_name)]
        self.clear()
        for row in self._rows:
            self.add_row(
                Text(one_line(row.client_email, 30)),
                Text(one_line(row.campaign_name, 16)),
                self._hold(row),
                key=str(row.interaction_id),
            )
        ids = [row.interaction_id for row in self._rows]
        if keep in ids:
            self.move_cursor(row=ids.index(keep), scroll=False)

    @property
    def rows_in_order(self) -> list[QueueRow]:
        return list(self._rows)

    def _valid_cursor(self) -> bool:
        return 0 <= self.cursor_row < len(self._rows)

    def tick(self) -> None:
        for row in self._rows:
            self.update_cell(str(row.interaction_id), "hold", self._hold(row))
