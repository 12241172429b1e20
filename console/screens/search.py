"""`/` search: my interactions, open and closed, as I type.

Each keystroke restarts one exclusive worker that waits 150 ms before asking the engine, so
a burst of typing costs one query and an old answer never overwrites a newer one. Enter (or
a click) returns the chosen interaction; the agent screen opens it. The worker posts what was
found (`SearchFound`), handled with `@on`.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState

from engine.api.schemas import InteractionSummary
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..messages import SearchFound, WorkerFailed
from ..timefmt import local_stamp

DEBOUNCE = 0.15


def column_widths(width: int) -> dict[str, int]:
    """State, campaign, client and date fixed-ish; the subject gets the rest."""
    rest = max(0, width - 5 * 2 - 2 - 6 - 16)
    campaign = max(8, min(14, rest // 6))
    client = max(10, min(26, rest // 3))
    return {
        "state": 6,
        "campaign": campaign,
        "client": client,
        "subject": max(10, rest - campaign - client),
        "when": 16,
    }


AGENT_WIDTH = 10
DISPOSITION_WIDTH = 16


def tail(text: str, width: int) -> str:
    """The end of a disposition path (its finest level) when the whole does not fit."""
    text = one_line(text)
    return text if len(text) <= width else "…" + text[-(width - 1) :]


class SearchScreen(ModalScreen[InteractionSummary | None]):
    """`#search-input` over `#search-results` (rows keyed by interaction id)."""

    BINDINGS = [
        Binding("escape", "cancel", "Close", id="search.cancel"),
        Binding("down", "to_results", "Results", id="search.to-results", show=False),
    ]

    def __init__(self, api: EngineClient, query: str = "", *, scope: str = "mine") -> None:
        super().__init__()
        self.api = api
        self.initial = query
        self.scope = scope  # "all": a supervisor searching every agent's interactions
        self.results: list[InteractionSummary] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="search-dialog"):
            yield Input(
                self.initial,
                placeholder=(
                    "Search all interactions: client, email, subject, campaign"
                    if self.scope == "all"
                    else "Search my interactions: client, email, subject, campaign"
                ),
                id="search-input",
            )
            yield DataTable[Text](id="search-results", cursor_type="row", zebra_stripes=True)
            yield Static("Type to search.", id="search-status", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#search-input", Input).focus()
        if self.initial.strip():
            self.search(self.initial)

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        self.search(event.value)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def search(self, query: str) -> None:
        if not query.strip():
            self.post_message(SearchFound(query, []))
            return
        await asyncio.sleep(DEBOUNCE)
        self.post_message(
            SearchFound(query, await self.api.search(query.strip(), scope=self.scope))
        )

    @on(SearchFound)
    def _found(self, message: SearchFound) -> None:
        self.show(message.query, message.results)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.app.post_message(WorkerFailed(worker, worker.error))
            self.status(f"Search failed: {getattr(worker.error, 'message', worker.error)}")

    def status(self, text: str) -> None:
        self.query_one("#search-status", Static).update(Text(one_line(text, 200)))

    def on_resize(self) -> None:
        self.fill_table()

    def fill_table(self) -> None:
        table = self.query_one("#search-results", DataTable)
        widths = column_widths(table.size.width or 76)
        table.clear(columns=True)
        for key, label in (("state", ""), ("campaign", "Campaign"), ("client", "Client")):
            table.add_column(Text(label), key=key, width=widths[key])
        agents = self.scope == "all"  # a supervisor sees whose interaction each row is
        if agents:
            widths["subject"] = max(10, widths["subject"] - AGENT_WIDTH - 1)
            table.add_column(Text("Agent"), key="agent", width=AGENT_WIDTH)
        # The last close's code (docs/wrapup.md), when any result has one.
        coded = any(item.disposition for item in self.results)
        if coded:
            widths["subject"] = max(10, widths["subject"] - DISPOSITION_WIDTH - 1)
        table.add_column(Text("Subject"), key="subject", width=widths["subject"])
        if coded:
            table.add_column(Text("Wrap-up"), key="disposition", width=DISPOSITION_WIDTH)
        table.add_column(Text("Last"), key="when", width=widths["when"])
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
                cells.append(Text(tail(item.disposition, DISPOSITION_WIDTH), style="magenta"))
            cells.append(Text(local_stamp(item.last_message_at), style="dim"))
            table.add_row(*cells, key=str(item.id))

    def show(self, query: str, results: list[InteractionSummary]) -> None:
        self.results = results
        self.fill_table()
        if not query.strip():
            self.status("Type to search.")
        else:
            found = f"{len(results)} found" if results else "Nothing found"
            self.status(f"{found} for “{query.strip()}”. Enter opens, ↓ moves to the list.")

    @property
    def current(self) -> InteractionSummary | None:
        row = self.query_one("#search-results", DataTable).cursor_row
        return self.results[row] if 0 <= row < len(self.results) else None

    @on(Input.Submitted, "#search-input")
    @on(DataTable.RowSelected, "#search-results")
    def _open(self) -> None:
        if (item := self.current) is not None:
            self.dismiss(item)

    def action_to_results(self) -> None:
        self.query_one("#search-results", DataTable).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
