"""Supervisor: the email dialers' dashboard (the manual's "Email Dialer Monitoring").

One row per dialer and list: the list and whether it is active, the dialer running or
stopped, on schedule or not, and the records processed, not processed, sent, failed,
skipped, seen, rejected and spam. The campaign selector limits the rows to one campaign.
Under the table, the highlighted list's progress graph (percentage processed over time and
the send rate). `p` plays and `s` stops the highlighted row's dialer: the engine lets
supervisors and admins do both (docs/dialer.md, "Who may start a dialer").

It reads `GET /dialer-board` once when it opens (and when the engine comes back, or a dialer
it does not know yet shows up); after that only `DialerProgress` events, forwarded by the
screen under it, change it: no polling, so a dashboard left open while no dialer runs costs
nothing. Names come from admins and CSV files: shown through `one_line` as plain Text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label
from textual.worker import Worker, WorkerState

from engine.api.schemas import DialerBoardRow, DialerProgress, DialerStatus
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..dialer_history import History
from ..messages import DialerActed, DialerBoardLoaded, WorkerFailed
from ..widgets.dialer_graph import DialerGraph
from ..widgets.fitted_table import fill, set_cell
from ..widgets.pick_list import PickList

ALL = ""  # the selector's value for every campaign

COLUMNS = [
    ("Dialer", "dialer"),
    ("List", "list"),
    ("List is", "active"),
    ("Status", "status"),
    ("Schedule", "schedule"),
    ("Processed", "processed"),
    ("Not proc.", "not_processed"),
    ("Sent", "sent"),
    ("Failed", "failed"),
    ("Skipped", "skipped"),
    ("Seen", "seen"),
    ("Rejected", "rejected"),
    ("Spam", "spam"),
]
COUNTS = [key for _, key in COLUMNS[5:]]


@dataclass
class DialerRows:
    """What the dashboard knows of one dialer: its campaign and its lists' newest counts."""

    name: str
    campaign: str
    running: bool
    on_schedule: bool
    lists: dict[int, DialerProgress] = field(default_factory=dict)


def row_key(dialer: str, list_id: int | None) -> str:
    return f"list-{list_id}" if list_id is not None else f"dialer-{dialer}"


def count(value: int, style: str = "") -> Text:
    return Text(f"{value:,}", style=style if value else "dim", justify="right")


def cells(dialer: DialerRows, progress: DialerProgress | None) -> list[Text]:
    name = Text(one_line(dialer.name, 24))
    status = Text("running", style="bold green") if dialer.running else Text("stopped", "dim")
    schedule = Text("on", style="green") if dialer.on_schedule else Text("off", style="yellow")
    if progress is None:
        dash = Text("-", style="dim", justify="right")
        return [name, Text("(no list)", style="dim italic"), Text(""), status, schedule] + [
            dash for _ in COUNTS
        ]
    active = Text("active") if progress.list_active else Text("inactive", style="dim")
    return [
        name,
        Text(one_line(progress.list_name, 30)),
        active,
        status,
        schedule,
        count(progress.processed),
        count(progress.not_processed),
        count(progress.sent),
        count(progress.failed, "red"),
        count(progress.skipped),
        count(progress.seen),
        count(progress.rejected, "red"),
        count(progress.spam, "red"),
    ]


def in_words(progress: DialerProgress) -> str:
    """The highlighted row's counts under the graph: at 80 columns the table scrolls."""
    return (
        f"Sent {progress.sent:,} · failed {progress.failed:,} · skipped {progress.skipped:,}"
        f" · seen {progress.seen:,} · rejected {progress.rejected:,} · spam {progress.spam:,}"
    )


class DialerDashboardScreen(Screen[None]):
    DEFAULT_CSS = """
    DialerDashboardScreen #dialer-top { height: 1; }
    DialerDashboardScreen #dialer-campaign { width: 40; }
    DialerDashboardScreen #dialer-hint { width: 1fr; padding: 0 1; color: $text-muted; }
    DialerDashboardScreen #dialer-table { height: auto; max-height: 45%; min-height: 3; }
    DialerDashboardScreen DialerGraph { height: 1fr; min-height: 8; border-top: solid $primary; }
    """

    BINDINGS = [
        Binding("p", "play", "Play", id="dialer-dashboard.play"),
        Binding("s", "stop", "Stop", id="dialer-dashboard.stop"),
        Binding("c", "campaign", "Campaign", id="dialer-dashboard.campaign"),
        Binding("r", "records", "Records", id="dialer-dashboard.records"),
        Binding("escape", "close", "Back", id="dialer-dashboard.close"),
        Binding("q", "close", "Back", show=False, id="dialer-dashboard.quit"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="dialer-dashboard.reload"),
    ]

    def __init__(self, client: EngineClient) -> None:
        super().__init__()
        self.client = client
        self.dialers: dict[str, DialerRows] = {}
        self.histories: dict[int, History] = {}
        self.campaign = ALL
        self._fresh: set[int] = set()  # lists an event changed while the board loaded

    def compose(self) -> ComposeResult:
        from textual.containers import Horizontal

        yield Header()
        with Horizontal(id="dialer-top"):
            yield PickList[str](
                [(Text("All campaigns"), ALL)],
                value=ALL,
                allow_blank=False,
                compact=True,
                id="dialer-campaign",
            )
            yield Label(Text("Loading the dialers…"), id="dialer-hint")
        table: DataTable[Text] = DataTable(id="dialer-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield DialerGraph(id="dialer-graph")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "Dialers"
        self.query_one(DataTable).focus()
        self.load()

    # ---- loading: once, then events ----
    @work(exclusive=True, group="dialer-board", exit_on_error=False)
    async def load(self) -> None:
        self._fresh = set()
        self.post_message(DialerBoardLoaded(await self.client.dialer_board()))

    @on(DialerBoardLoaded)
    def _board_arrived(self, message: DialerBoardLoaded) -> None:
        self.loaded(message.rows)

    @on(DialerActed)
    def _acted(self, message: DialerActed) -> None:
        self.status(message.status)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.app.post_message(WorkerFailed(worker, worker.error))

    def _loading(self) -> bool:
        return any(w.group == "dialer-board" and not w.is_finished for w in self.workers)

    def loaded(self, rows: list[DialerBoardRow]) -> None:
        now = time.time()
        known = self.dialers
        self.dialers = {}
        for row in rows:
            dialer = DialerRows(row.dialer, row.campaign, row.running, row.on_schedule)
            old = known.get(row.dialer)
            for progress in row.lists:
                if progress.list_id in self._fresh and old and progress.list_id in old.lists:
                    progress = old.lists[progress.list_id]  # an event newer than this read
                dialer.lists[progress.list_id] = progress
                self._sample(progress, now)
            self.dialers[row.dialer] = dialer
        self._campaigns()
        self._fill()

    def _sample(self, progress: DialerProgress, at: float) -> None:
        history = self.histories.setdefault(progress.list_id, History())
        history.add(at, progress.processed, progress.records, progress.sent)

    # ---- events (the supervisor screen forwards DialerProgress) ----
    def progress(self, event: DialerProgress) -> None:
        self._fresh.add(event.list_id)
        dialer = self.dialers.get(event.dialer)
        if dialer is None:  # a dialer made (or renamed) since the board was read
            if not self._loading():  # else the read in flight, or the next event, brings it
                self.load()
            return
        self._sample(event, time.time())
        status_moved = (dialer.running, dialer.on_schedule) != (event.running, event.on_schedule)
        new_list = event.list_id not in dialer.lists
        dialer.running, dialer.on_schedule = event.running, event.on_schedule
        dialer.lists[event.list_id] = event
        if new_list:
            self._fill()
            return
        table = self.query_one(DataTable)
        key = row_key(dialer.name, event.list_id)
        if dialer.campaign == self.campaign or self.campaign == ALL:
            values = cells(dialer, event)
            for index, (_, column) in enumerate(COLUMNS):
                set_cell(table, COLUMNS, key, column, values[index])
            if status_moved:  # the dialer's other lists show its status too
                for other in dialer.lists.values():
                    if other.list_id != event.list_id:
                        values = cells(dialer, other)
                        for index in (3, 4):
                            column = COLUMNS[index][1]
                            set_cell(
                                table,
                                COLUMNS,
                                row_key(dialer.name, other.list_id),
                                column,
                                values[index],
                            )
        self._graph()

    def status(self, status: DialerStatus) -> None:
        """The answer of play or stop: shown at once (its events follow)."""
        dialer = self.dialers.get(status.dialer)
        if dialer is None:
            return
        dialer.running, dialer.on_schedule = status.running, status.on_schedule
        for progress in status.lists:
            dialer.lists[progress.list_id] = progress
            self._sample(progress, time.time())
        self._fill()

    # ---- the table, the selector and the graph ----
    def _visible(self) -> list[DialerRows]:
        return [d for d in self.dialers.values() if self.campaign in (ALL, d.campaign)]

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        selected = self.selected_key()
        rows: list[tuple[str, list[Text]]] = []
        for dialer in self._visible():
            if not dialer.lists:
                rows.append((row_key(dialer.name, None), cells(dialer, None)))
            for progress in dialer.lists.values():
                rows.append((row_key(dialer.name, progress.list_id), cells(dialer, progress)))
        fill(table, COLUMNS, rows)
        keys = [key for key, _ in rows]
        if selected in keys:
            table.move_cursor(row=keys.index(selected), animate=False)
        shown = len(self._visible())
        where = "" if self.campaign == ALL else f" in {one_line(self.campaign, 30)}"
        hint = (
            f"{shown} dialer{'s' if shown != 1 else ''}{where} · p play · s stop"
            if self.dialers
            else "No dialer yet: an admin creates them (docs/dialer.md)."
        )
        self.query_one("#dialer-hint", Label).update(Text(hint))
        self._graph()

    def _campaigns(self) -> None:
        select: PickList[str] = self.query_one("#dialer-campaign", PickList)
        names = sorted({d.campaign for d in self.dialers.values()})
        if self.campaign not in names:
            self.campaign = ALL
        options: list[tuple[Text, str]] = [(Text("All campaigns"), ALL)]
        options += [(Text(one_line(name, 36)), name) for name in names]
        with self.prevent(PickList.Changed):
            select.set_options(options)
            select.value = self.campaign

    @on(PickList.Changed, "#dialer-campaign")
    def _campaign_chosen(self, event: PickList.Changed) -> None:
        value = event.value if isinstance(event.value, str) else ALL
        if value != self.campaign:
            self.campaign = value
            self._fill()

    def action_campaign(self) -> None:
        """`c`: the next campaign, after the last one all of them again."""
        names = sorted({d.campaign for d in self.dialers.values()})
        if not names:
            return
        following = names.index(self.campaign) + 1 if self.campaign in names else 0
        self.query_one("#dialer-campaign", PickList).value = (
            names[following] if following < len(names) else ALL
        )

    @on(DataTable.RowHighlighted, "#dialer-table")
    def _highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._graph()

    def selected_key(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        value = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(value) if value is not None else None

    def selected(self) -> tuple[DialerRows, DialerProgress | None] | None:
        key = self.selected_key()
        for dialer in self._visible():
            if key == row_key(dialer.name, None):
                return dialer, None
            for progress in dialer.lists.values():
                if key == row_key(dialer.name, progress.list_id):
                    return dialer, progress
        return None

    def _graph(self) -> None:
        graph = self.query_one(DialerGraph)
        chosen = self.selected()
        if chosen is None or chosen[1] is None:
            graph.show("", None, False)
            return
        dialer, progress = chosen
        title = f"{one_line(dialer.name, 30)} · {one_line(progress.list_name, 40)}"
        graph.show(title, self.histories.get(progress.list_id), dialer.running, in_words(progress))

    # ---- the records one by one (the drill-down) ----
    def action_records(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        dialer, progress = chosen
        from .dialer_records import DialerRecordsScreen

        list_name = progress.list_name if progress is not None else ""
        self.app.push_screen(DialerRecordsScreen(self.client, dialer.name, list_name))

    # ---- play and stop (the engine checks the role) ----
    def action_play(self) -> None:
        chosen = self.selected()
        if chosen is None:
            return
        dialer = chosen[0]
        if dialer.running:
            self.notify(f"{one_line(dialer.name, 40)} is already running.", markup=False)
            return
        from .confirm import ConfirmScreen

        waiting = sum(p.not_processed for p in dialer.lists.values())
        question = Text(
            f"Start {one_line(dialer.name, 40)}? It sends {waiting:,} waiting mail"
            f"{'s' if waiting != 1 else ''} through {one_line(dialer.campaign, 40)}"
            " inside its schedule."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(dialer.name, play=True)

        self.app.push_screen(ConfirmScreen(question, yes="Play"), answered)

    def action_stop(self) -> None:
        chosen = self.selected()
        if chosen is not None:
            self.act(chosen[0].name, play=False)

    @work(group="dialer-act", exit_on_error=False)
    async def act(self, name: str, *, play: bool) -> None:
        if play:
            status = await self.client.play_dialer(name)
        else:
            status = await self.client.stop_dialer(name)
        self.post_message(DialerActed(status))

    def action_reload(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
