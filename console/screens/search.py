"""`/` recordings search: every interaction (an agent: their own), filtered, paged, sorted.

The filters are `RecordingFilters`. A search runs on Enter, on a pick, or after a pause in
typing: each change restarts one exclusive worker that waits `DEBOUNCE` before asking, so a
burst of typing costs one query and an old answer never overwrites a newer one. Pages move
with PgDn/PgUp (or n/p in the list); `s` cycles the sort, `S` reverses it, and a click on
a column header sorts by it (again: reversed). Enter on a row (or Enter in a field whose
results are shown) chooses the interaction: the caller's `viewer` opens it on top of the
search, so closing it comes back to the same filters, page and row; without a viewer (or
when it gives none: an agent's interaction still in their inbox opens in place there) the
search closes and returns it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState

from engine.api.schemas import (
    InteractionSummary,
    RecordingPage,
    RecordingQuery,
    convert,
    to_builtins,
)
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..messages import RecordingChoicesLoaded, RecordingsCounted, RecordingsFound, WorkerFailed
from ..timefmt import local_stamp
from ..widgets.pick_list import PickList
from ..widgets.recording_filters import LABELS, BadDate, RecordingFilters

DEBOUNCE = 0.35
PAGE_SIZE = 40
SORTS = ("last", "created", "client", "subject")
SORT_NAMES = {"last": "last message", "created": "start", "client": "client", "subject": "subject"}
# Columns whose header sorts by them; the date column's sort is `date_sort`.
HEADER_SORTS = frozenset({"client", "subject"})
AGENT_WIDTH = 10


def column_widths(width: int, *, agents: bool) -> dict[str, int]:
    """State, campaign, client, agent and date fixed-ish; the subject gets the rest. `width`
    is the table's, scrollbar included; each column pads one cell on both sides."""
    columns = 6 if agents else 5
    rest = max(0, width - 2 - 2 * columns - 6 - 16 - (AGENT_WIDTH if agents else 0))
    campaign = max(8, min(14, rest // 6))
    client = max(10, min(26, rest // 4))
    return {
        "state": 6,
        "campaign": campaign,
        "client": client,
        "subject": max(10, rest - campaign - client),
        "when": 16,
    }


DISPOSITION_WIDTH = 16


def tail(text: str, width: int) -> str:
    """The end of a disposition path (its finest level) when the whole does not fit."""
    text = one_line(text)
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def shown_range(page: RecordingPage) -> str:
    """`41-80 of 1,234`."""
    if not page.items:
        more = "+" if page.capped else ""
        return f"none of {page.total:,}{more}" if page.total else "Nothing found"
    first = (page.page - 1) * page.page_size + 1
    more = "+" if page.capped else ""  # counting stopped there; the exact figure follows
    return f"{first:,}-{first + len(page.items) - 1:,} of {page.total:,}{more}"


# The keys the status line names after the range, first the most useful.
HINTS = ("Enter opens", "s sort", "PgDn/PgUp pages")


class SearchScreen(ModalScreen[InteractionSummary | None]):
    """Filters over `#search-results` (rows keyed by interaction id) and `#search-status`."""

    BINDINGS = [
        Binding("escape", "cancel", "Close", id="search.cancel"),
        # Priority: a closed pick list would open its menu on Down (Enter or Space do).
        Binding("down", "to_results", "Results", id="search.to-results", show=False, priority=True),
        # Up on the first result: back to the filters (only there: elsewhere the list moves).
        Binding("up", "to_filters", "Filters", id="search.to-filters", show=False, priority=True),
        Binding("pagedown", "next_page", "Next page", id="search.next-page", priority=True),
        Binding("pageup", "previous_page", "Prev page", id="search.previous-page", priority=True),
        Binding("n", "next_page", "Next page", id="search.next", show=False),
        Binding("p", "previous_page", "Prev page", id="search.previous", show=False),
        Binding("s", "sort", "Sort", id="search.sort"),
        Binding("S", "reverse", "Reverse", id="search.reverse", show=False),
    ]

    def __init__(
        self,
        api: EngineClient,
        query: str = "",
        *,
        scope: str = "mine",
        viewer: Callable[[InteractionSummary], Screen[None] | None] | None = None,
    ) -> None:
        super().__init__()
        self.api = api
        self.viewer = viewer
        self.initial = query
        self.scope = scope  # "all": a supervisor searching every agent's interactions
        self.results: list[InteractionSummary] = []
        self.page = 1
        self.sort = "last"
        self.descending = True
        self.total = 0
        self.shown: dict[str, object] | None = None  # the filters the table shows

    def compose(self) -> ComposeResult:
        with Vertical(id="search-dialog"):
            yield RecordingFilters(any_text=self.initial, agents=self.scope == "all")
            yield DataTable[Text](id="search-results", cursor_type="row", zebra_stripes=True)
            yield Static("Searching…", id="search-status", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#search-any", Input).focus()
        self.load_choices()
        self.search(0)

    @property
    def filters(self) -> RecordingFilters:
        return self.query_one(RecordingFilters)

    # ---- when to search ----
    @on(Input.Changed, "RecordingFilters Input")
    def _typed(self) -> None:
        self.page = 1
        self.search(DEBOUNCE)

    @on(PickList.Changed, "RecordingFilters PickList")
    def _picked(self) -> None:
        self.page = 1
        self.search(0)

    @on(Input.Submitted, "RecordingFilters Input")
    def _entered(self) -> None:
        try:
            current = self.filters.values()
        except BadDate:
            current = None
        if current == self.shown and (item := self.current) is not None:
            self.choose(item)  # the results of what is typed are on screen: open one
        else:
            self.page = 1
            self.search(0)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def search(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        try:
            given = self.filters.values()
        except BadDate as exc:
            self.status(str(exc))  # the field is marked; the results shown stay
            return
        query = convert(
            {
                **given,
                "sort": self.sort,
                "descending": self.descending,
                "page": self.page,
                "page_size": PAGE_SIZE,
                "mine": self.scope != "all",
            },
            RecordingQuery,
        )
        found = await self.api.recordings(query)
        self.post_message(RecordingsFound(given, found))
        if found.capped:
            # The page is on screen; the exact count may take a while on a large database.
            # A newer search cancels this worker, and with it the wait for the count.
            exact = await self.api.recordings(
                convert({**to_builtins(query), "exact_count": True}, RecordingQuery)
            )
            self.post_message(RecordingsCounted(given, exact))

    @work(exclusive=True, group="choices", exit_on_error=False)
    async def load_choices(self) -> None:
        self.post_message(RecordingChoicesLoaded(await self.api.recording_choices()))

    @on(RecordingChoicesLoaded)
    def _choices(self, message: RecordingChoicesLoaded) -> None:
        with self.prevent(PickList.Changed):
            self.filters.set_choices(message.choices)

    @on(RecordingsFound)
    def _found(self, message: RecordingsFound) -> None:
        self.shown = message.filters
        self.filters.mark(None)
        self.results = message.page.items
        self.total = message.page.total
        self.page = message.page.page
        self.fill_table()
        self.show_range(message.page)

    @on(RecordingsCounted)
    def _counted(self, message: RecordingsCounted) -> None:
        if message.filters == self.shown and message.page.page == self.page:
            self.total = message.page.total
            self.show_range(message.page)

    def show_range(self, page: RecordingPage) -> None:
        order = "↓" if self.descending else "↑"
        counting = " (counting…)" if page.capped else ""
        line = f"{shown_range(page)}{counting} · by {SORT_NAMES[self.sort]} {order}"
        # The keys' hints as far as they fit on the one line (80 columns: not all of them).
        room = self.query_one("#search-status", Static).content_region.width or 76
        for hint in HINTS:
            if len(line) + 3 + len(hint) > room:
                break
            line += f" · {hint}"
        self.status(line)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            field = getattr(worker.error, "field", None)
            message = str(getattr(worker.error, "message", worker.error))
            if field in LABELS:  # a filter refused: said next to the filters, no alarm
                self.filters.mark(field)
                self.status(f"{LABELS[field]}: {message.removeprefix(f'{field}: ')}")
                return
            self.app.post_message(WorkerFailed(worker, worker.error))
            self.filters.mark(None)
            self.status(f"Search failed: {message}")

    def status(self, text: str) -> None:
        self.query_one("#search-status", Static).update(Text(one_line(text, 200)))

    # ---- the table ----
    def on_resize(self) -> None:
        self.fill_table()

    def fill_table(self) -> None:
        table = self.query_one("#search-results", DataTable)
        agents = self.scope == "all"  # a supervisor sees whose interaction each row is
        # The dialog's width (border and padding off), known before the table is laid out.
        dialog = self.query_one("#search-dialog")
        widths = column_widths((dialog.size.width or 80) - 4, agents=agents)
        table.clear(columns=True)
        arrow = " ↓" if self.descending else " ↑"
        sorted_by = "when" if self.sort == self.date_sort else self.sort

        def label(key: str, name: str) -> Text:
            return Text(name + (arrow if key == sorted_by else ""))

        table.add_column(Text(""), key="state", width=widths["state"])
        table.add_column(Text("Campaign"), key="campaign", width=widths["campaign"])
        table.add_column(label("client", "Client"), key="client", width=widths["client"])
        if agents:
            table.add_column(Text("Agent"), key="agent", width=AGENT_WIDTH)
        # The last close's code (docs/wrapup.md), when any result has one and there is room
        # beside a subject of 10 cells (a supervisor's list at 80 columns has none: the
        # viewer shows it).
        coded = any(item.disposition for item in self.results)
        coding = min(DISPOSITION_WIDTH, widths["subject"] - 10 - 2)  # the column pads 2
        if coded and coding >= 8:
            widths["subject"] -= coding + 2
        else:
            coded = False
        table.add_column(label("subject", "Subject"), key="subject", width=widths["subject"])
        if coded:
            table.add_column(Text("Wrap-up"), key="disposition", width=coding)
        started = self.date_sort == "created"
        when = "Started" if started else "Last"
        table.add_column(label("when", when), key="when", width=widths["when"])
        for item in self.results:
            is_open = item.state != "closed"
            cells = [
                Text("open" if is_open else "closed", style="green" if is_open else "dim"),
                Text(one_line(item.campaign_name, widths["campaign"])),
                Text(one_line(item.client_name.strip() or item.client_email, widths["client"])),
            ]
            if agents:
                cells.append(Text(one_line(item.agent or "—", AGENT_WIDTH)))
            cells.append(Text(one_line(item.subject or "(no subject)", widths["subject"])))
            if coded:
                cells.append(Text(tail(item.disposition, coding), style="magenta"))
            moment = (item.created_at or item.queued_at) if started else item.last_message_at
            cells.append(Text(local_stamp(moment), style="dim"))
            table.add_row(*cells, key=str(item.id))

    @property
    def date_sort(self) -> str:
        """The date column's: when each began while sorted by start, else its last mail."""
        return "created" if self.sort == "created" else "last"

    @on(DataTable.HeaderSelected, "#search-results")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        sort = self.date_sort if key == "when" else key if key in HEADER_SORTS else None
        if sort is None:
            return
        self.descending = not self.descending if sort == self.sort else sort == "last"
        self.sort = sort
        self.page = 1
        self.search(0)

    @property
    def current(self) -> InteractionSummary | None:
        row = self.query_one("#search-results", DataTable).cursor_row
        return self.results[row] if 0 <= row < len(self.results) else None

    @on(DataTable.RowSelected, "#search-results")
    def _open(self) -> None:
        if (item := self.current) is not None:
            self.choose(item)

    def choose(self, item: InteractionSummary) -> None:
        """The caller's viewer on top of the search, or the search closed with `item`."""
        screen = self.viewer(item) if self.viewer is not None else None
        if screen is None:
            self.dismiss(item)
        else:
            self.app.push_screen(screen)

    # ---- keys ----
    def action_next_page(self) -> None:
        if self.page * PAGE_SIZE < self.total:
            self.page += 1
            self.search(0)

    def action_previous_page(self) -> None:
        if self.page > 1:
            self.page -= 1
            self.search(0)

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.descending = self.sort in ("last", "created")  # newest first, A to Z
        self.page = 1
        self.search(0)

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.page = 1
        self.search(0)

    def action_to_results(self) -> None:
        self.query_one("#search-results", DataTable).focus()

    def action_to_filters(self) -> None:
        self.filters.last_focused().focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "to_filters":
            table = self.query_one("#search-results", DataTable)
            return table.has_focus and table.cursor_row <= 0
        if action == "to_results":
            # From a filter (a field or a closed pick list); an open pick list's menu and
            # the list itself move their own cursor.
            focused = self.focused
            return isinstance(focused, Input | PickList) and self.filters in focused.ancestors
        return True

    def action_cancel(self) -> None:
        self.dismiss(None)
