"""The campaign statistics panel at the top of the supervisor monitor: one row per campaign.

Rows come from the engine (`StatsOut`, today in each campaign's time zone) and are replaced
whole when it counts again; the longest wait ticks locally and takes the campaign's threshold
colours as it grows.
Choosing a row (Enter, a click) limits the grid and the queue to that campaign. Whether each
campaign is in its schedule and how many it holds over its queue limit come with the queue
(`CampaignState`), not with the statistics: `show_states` sets those two columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rich.text import Text
from textual.message import Message

from engine.api.schemas import CampaignState, CampaignStats, Level, StatsOut
from engine.text.sanitize import one_line

from ..timefmt import as_utc, format_duration, since
from .empty import EmptyNote

# The same rule as engine.domain.statistics.wait_level (tests/test_console_stats.py keeps
# them equal): the console ticks waits itself, so it colours them itself.
LEVEL_STYLES: dict[Level, str] = {"ok": "", "warning": "bold yellow", "critical": "bold red"}


def wait_level(seconds: float, warning: int, critical: int) -> Level:
    if critical > 0 and seconds >= critical:
        return "critical"
    if warning > 0 and seconds >= warning:
        return "warning"
    return "ok"


def waited(start: datetime) -> float:
    return (datetime.now(UTC) - as_utc(start)).total_seconds()


def _right(value: object, style: str = "") -> Text:
    return Text(str(value), style=style, justify="right")


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else format_duration(seconds)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CampaignStatsTable(EmptyNote):
    """`#campaign-stats`: in or out of schedule, waiting, held over the queue limit, longest
    wait, agents, active, answered, SL%, first response, completed in/out, per campaign,
    today; from 100 cells wide, the customers' ratings too (average and count)."""

    @dataclass
    class Chosen(Message):
        """A campaign's row was chosen: limit the monitor to it (None: all campaigns)."""

        table: CampaignStatsTable
        campaign: str | None

        @property
        def control(self) -> CampaignStatsTable:
            return self.table

    # Eleven columns in 80 cells (each column has a cell of padding either side).
    COLUMNS = (
        ("open", "", 1, False),
        ("campaign", "Campaign", 10, False),
        ("waiting", "Wait", 4, True),
        ("overflow", "Ovf", 3, True),
        ("longest", "Longest", 7, True),
        ("agents", "Fr/Bu/Br/Of", 11, True),
        ("active", "Act", 3, True),
        ("answered", "Ans", 4, True),
        ("sl", "SL%", 3, True),
        ("first", "1st", 6, True),
        ("done", "In/Out", 6, True),
    )
    # Only where there is room: 80 cells hold the eleven above and nothing more.
    WIDE_COLUMNS = (("rating", "Rated", 9, True),)
    WIDE = 100

    def __init__(self, *, id: str = "campaign-stats") -> None:  # noqa: A002
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._rows: dict[str, CampaignStats] = {}
        self._states: dict[str, CampaignState] = {}  # by campaign name
        self._wide = False

    def on_mount(self) -> None:
        self._wide = self.app.size.width >= self.WIDE
        self._add_columns()
        self.say_when_empty("No campaigns yet: an admin adds them (admin console, n).")
        self.set_interval(1, self.tick)

    def _add_columns(self) -> None:
        columns = self.COLUMNS + (self.WIDE_COLUMNS if self._wide else ())
        for key, label, width, right in columns:
            header = Text(label, justify="right" if right else "left")
            self.add_column(header, width=width, key=key)

    def on_resize(self) -> None:
        wide = self.app.size.width >= self.WIDE
        if wide != self._wide:
            self._wide = wide
            rows = StatsOut(since=_EPOCH, until=_EPOCH, at=_EPOCH, campaigns=self.campaigns)
            self.clear(columns=True)
            self._rows = {}
            self._add_columns()
            self.replace(rows)

    @property
    def campaigns(self) -> list[CampaignStats]:
        return list(self._rows.values())

    def thresholds(self) -> dict[str, tuple[int, int]]:
        return {r.name: (r.warning_seconds, r.critical_seconds) for r in self._rows.values()}

    def replace(self, stats: StatsOut) -> None:
        keep = self._key_at_cursor()
        fresh = {str(row.campaign_id): row for row in stats.campaigns}
        if list(fresh) != list(self._rows):
            self.clear()
            self._rows = fresh
            for key, row in fresh.items():
                self.add_row(*self._cells(row).values(), key=key)
        else:
            self._rows = fresh
            for key, row in fresh.items():
                for column, cell in self._cells(row).items():
                    self.update_cell(key, column, cell)
        if keep in self._rows:
            self.move_cursor(row=list(self._rows).index(keep), scroll=False)

    def show_states(self, states: list[CampaignState]) -> None:
        """In or out of schedule and the overflow count of each campaign, as the queue says."""
        self._states = {state.name: state for state in states}
        for key, row in self._rows.items():
            self.update_cell(key, "open", self._open(row))
            self.update_cell(key, "overflow", self._overflow(row))

    def _open(self, row: CampaignStats) -> Text:
        state = self._states.get(row.name)
        if state is None:
            return Text("")
        return Text("●", style="green") if state.in_schedule else Text("○", style="bold yellow")

    def _overflow(self, row: CampaignStats) -> Text:
        state = self._states.get(row.name)
        held = state.overflow if state is not None else 0
        return _right(held, "bold red") if held else _right("-", "dim")

    def _key_at_cursor(self) -> str | None:
        if not 0 <= self.cursor_row < len(self._rows):
            return None
        return list(self._rows)[self.cursor_row]

    def tick(self) -> None:
        for key, row in self._rows.items():
            self.update_cell(key, "longest", self._longest(row))

    def _longest(self, row: CampaignStats) -> Text:
        if row.oldest_queued_at is None:
            return _right("-", "dim")
        seconds = waited(row.oldest_queued_at)
        level = wait_level(seconds, row.warning_seconds, row.critical_seconds)
        return _right(since(row.oldest_queued_at), LEVEL_STYLES[level])

    def _cells(self, row: CampaignStats) -> dict[str, Text]:
        a = row.agents
        on_break = a.get("free_on_break", 0) + a.get("busy_on_break", 0) + a.get("paused", 0)
        agents = f"{a.get('free', 0)}/{a.get('busy', 0)}/{on_break}/{a.get('offline', 0)}"
        percent = "-" if row.sl_percent is None else f"{row.sl_percent:.0f}"
        return {
            "open": self._open(row),
            "campaign": Text(one_line(row.name, 10)),
            "waiting": _right(row.waiting, "bold" if row.waiting else "dim"),
            "overflow": self._overflow(row),
            "longest": self._longest(row),
            "agents": _right(agents),
            "active": _right(row.active),
            "answered": _right(row.answered),
            "sl": _right(percent, LEVEL_STYLES[row.sl_level]),
            "first": _right(_duration(row.avg_first_response_seconds)),
            "done": _right(f"{row.completed_in}/{row.completed_out}"),
        } | ({"rating": self._rating(row)} if self._wide else {})

    @staticmethod
    def _rating(row: CampaignStats) -> Text:
        if row.rating_average is None:
            return _right("-", "dim")
        return _right(f"★{row.rating_average:.1f} ({row.rating_count})")

    def on_data_table_row_selected(self, event: EmptyNote.RowSelected) -> None:
        event.stop()
        row = self._rows.get(str(event.row_key.value))
        if row is not None:
            self.post_message(self.Chosen(self, row.name))
