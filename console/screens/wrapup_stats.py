"""Supervisor: how interactions were closed (docs/wrapup.md), the closes per campaign and
disposition over a period, as the engine counted them (`GET /stats/dispositions`): today,
the last 7 or the last 30 days (UTC days). `1`, `7`, `3` (or the buttons) choose the period;
`escape` or `q` closes. Read only; code names are an admin's text, shown as plain text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static
from textual.worker import Worker, WorkerState

from engine.api.schemas import DispositionStats
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..messages import DispositionsCounted, WorkerFailed

PERIODS = {1: "today", 7: "the last 7 days", 30: "the last 30 days"}


def counts_table(stats: DispositionStats) -> Table | Text:
    if not stats.campaigns:
        return Text("No interaction was closed in this period.", style="dim")
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, max_width=50)
    table.add_column(justify="right")
    table.add_column(justify="right", style="dim")
    for campaign in stats.campaigns:
        table.add_row(Text(one_line(campaign.campaign, 40), style="bold"), str(campaign.closed), "")
        for count in campaign.counts:
            name = Text("  " + one_line(count.disposition, 46))
            if not count.disposition:
                name = Text("  (no code)", style="dim italic")
            share = f"{100 * count.count / campaign.closed:.0f}%"
            table.add_row(name, str(count.count), share)
    return table


class WrapupStatsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    WrapupStatsScreen { align: center middle; }
    #wrapup-stats-dialog {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        padding: 0 1; border: round $primary; background: $surface;
    }
    #wrapup-stats-body { height: auto; max-height: 16; }
    #wrapup-stats-buttons { height: 1; margin-top: 1; }
    #wrapup-stats-buttons Button { margin-right: 1; }
    """

    BINDINGS = [
        Binding("1", "period(1)", "Day", id="wrapup-stats.today"),
        Binding("7", "period(7)", "Week", id="wrapup-stats.week"),
        Binding("3", "period(30)", "Month", id="wrapup-stats.month"),
        Binding("escape", "close", "Close", id="wrapup-stats.close"),
        Binding("q", "close", "Close", show=False, id="wrapup-stats.quit"),
    ]

    def __init__(self, api: EngineClient) -> None:
        super().__init__()
        self.api = api
        self.days = 1

    def compose(self) -> ComposeResult:
        with Vertical(id="wrapup-stats-dialog"):
            yield Label("", id="wrapup-stats-title", classes="dialog-title")
            with VerticalScroll(id="wrapup-stats-body"):
                yield Static(Text("Counting…", style="dim"), id="wrapup-stats-table")
            with Horizontal(id="wrapup-stats-buttons"):
                for days, text in ((1, "Today"), (7, "7 days"), (30, "30 days")):
                    yield Button(text, id=f"wrapup-stats-{days}", compact=True)
                yield Button("Close", id="wrapup-stats-close", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.action_period(1)

    def action_period(self, days: int) -> None:
        self.days = days
        title = Text(f"Closes by disposition, {PERIODS[days]} (UTC)")
        self.query_one("#wrapup-stats-title", Label).update(title)
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.count(today - timedelta(days=days - 1), today + timedelta(days=1))

    @work(exclusive=True, group="wrapup-stats", exit_on_error=False)
    async def count(self, since: datetime, until: datetime) -> None:
        self.post_message(DispositionsCounted(await self.api.disposition_stats(since, until)))

    @on(DispositionsCounted)
    def _counted(self, message: DispositionsCounted) -> None:
        self.query_one("#wrapup-stats-table", Static).update(counts_table(message.stats))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.app.post_message(WorkerFailed(worker, worker.error))

    @on(Button.Pressed, "#wrapup-stats-buttons Button")
    def _pressed(self, event: Button.Pressed) -> None:
        name = (event.button.id or "").removeprefix("wrapup-stats-")
        if name == "close":
            self.action_close()
        else:
            self.action_period(int(name))

    def action_close(self) -> None:
        self.dismiss(None)
