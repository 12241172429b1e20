"""A dialer's records one by one, from the dashboard (`r`): the failed ones with their
reasons, the bounced, the spam, found by state and by any part of the address or reason, a
page at a time, and saved as CSV (ctrl+s, every match) for a spreadsheet.

Addresses and reasons come from a CSV and from remote servers: shown as text, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from msgspec.structs import replace
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from engine.api.schemas import DialerRecordPage, DialerRecordQuery
from engine.client.client import EngineClient
from engine.client.exports import dialer_records_csv
from engine.text.sanitize import one_line

from ..widgets.dialog_error import DialogError
from ..widgets.pick_list import PickList

STATES = ("", "failed", "rejected", "spam", "skipped", "pending", "sent", "seen", "sending")
PAGE = 200
SEARCH_PAUSE = 0.4  # seconds of no typing before the search goes out
COLUMNS = ("Line", "Address", "State", "Why")


@dataclass
class RecordsLoaded(Message, bubble=False):
    page: DialerRecordPage


class DialerRecordsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DialerRecordsScreen { align: center middle; }
    #records-dialog { width: 100%; max-width: 160; height: 100%; border: round $primary;
                      padding: 0 1; }
    #records-filters { height: auto; }
    #records-state { width: 20; }
    #records-search { width: 1fr; }
    #records-table { height: 1fr; }
    """
    BINDINGS = [
        Binding("pagedown", "page(1)", "Next page", id="dialer-records.next"),
        Binding("pageup", "page(-1)", "Prev page", id="dialer-records.prev"),
        # ctrl+s, not a letter: it saves from the search box too, as Save does in forms.
        Binding("ctrl+s", "export", "Save CSV", id="dialer-records.export", priority=True),
        Binding("escape", "close", "Back", id="dialer-records.close"),
    ]

    def __init__(self, client: EngineClient, dialer: str, list_name: str = "") -> None:
        super().__init__()
        self.client = client
        self.dialer = dialer
        self.query_now = DialerRecordQuery(list=list_name, page_size=PAGE)
        self.total = 0
        self._typing: Timer | None = None

    def compose(self) -> ComposeResult:
        where = one_line(self.dialer, 40)
        if self.query_now.list:
            where += f" · {one_line(self.query_now.list, 40)}"
        with Vertical(id="records-dialog"):
            yield Label(Text(f"Records of {where}"), classes="dialog-title")
            with Horizontal(id="records-filters"):
                yield PickList(
                    [(Text(s or "every state"), s) for s in STATES],
                    value="",
                    allow_blank=False,
                    id="records-state",
                    compact=True,
                )
                yield Input(
                    placeholder="address or reason contains…", id="records-search", compact=True
                )
            yield DataTable(id="records-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="records-count", markup=False)
            yield DialogError(id="records-error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column.lower())
        self.load()

    # ---- asking the engine ----
    @work(exclusive=True, group="records", exit_on_error=False)
    async def load(self) -> None:
        self.post_message(
            RecordsLoaded(await self.client.dialer_records(self.dialer, self.query_now))
        )

    @on(RecordsLoaded)
    def show(self, message: RecordsLoaded) -> None:
        page = message.page
        self.total = page.total
        table = self.query_one(DataTable)
        table.clear()
        for record in page.items:
            table.add_row(
                Text(str(record.line)),
                Text(one_line(record.destination, 60)),
                Text(record.state, style=_STATE_STYLE.get(record.state, "")),
                Text(one_line(record.error, 200), style="dim"),
            )
        first = (page.page - 1) * page.page_size + 1 if page.items else 0
        last = first + len(page.items) - 1 if page.items else 0
        self.query_one("#records-count", Static).update(
            Text(
                f"{first}-{last} of {page.total:,} · PgDn/PgUp pages"
                " · ctrl+s saves every match as CSV"
            )
            if page.total
            else "No record matches."
        )
        self.query_one("#records-error", DialogError).say("")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            said = one_line(str(event.worker.error), 200)
            self.query_one("#records-error", DialogError).say(f"The engine said: {said}")

    # ---- filters and pages ----
    @on(PickList.Changed, "#records-state")
    def _state(self, event: PickList.Changed) -> None:
        state = event.value if isinstance(event.value, str) else ""
        self.query_now = replace(self.query_now, state=state, page=1)  # type: ignore[arg-type]
        self.load()

    @on(Input.Changed, "#records-search")
    def _typed(self, _: Input.Changed) -> None:
        if self._typing is not None:
            self._typing.stop()
        self._typing = self.set_timer(SEARCH_PAUSE, self._search)

    @on(Input.Submitted, "#records-search")
    def _search(self) -> None:
        text = one_line(self.query_one("#records-search", Input).value, 320)
        self.query_now = replace(self.query_now, search=text, page=1)
        self.load()

    def action_page(self, step: int) -> None:
        page = self.query_now.page + step
        if page < 1 or (page - 1) * self.query_now.page_size >= max(self.total, 1):
            return
        self.query_now = replace(self.query_now, page=page)
        self.load()

    def action_export(self) -> None:
        self.export()

    @work(exclusive=True, group="export", exit_on_error=False)
    async def export(self) -> None:
        text = await dialer_records_csv(self.client, self.dialer, self.query_now)
        from .save_text import SaveTextScreen

        name = f"{self.dialer} records.csv"
        self.app.push_screen(SaveTextScreen("Save the records as CSV", text, name))

    def action_close(self) -> None:
        self.dismiss(None)


_STATE_STYLE = {
    "failed": "bold red",
    "rejected": "red",
    "spam": "bold magenta",
    "skipped": "yellow",
    "seen": "green",
    "sent": "green",
}
