"""Admin: the email dialers (the manual's "Email Dialer" list), reached with `D`.

Each dialer with its campaign, whether it runs and whether it is inside its schedule now (as
the engine says), its lists and template. `n` adds one and Enter (or `e`) changes it in the
form (`dialer_form.py`); `d` removes it after a question (the engine refuses while it runs or
has lists, and says so here); `l` opens its lists (CSV uploads and import reports), `a` the
dialer attachments and their tokens, `x` writes the example CSV to a file. Names are typed
by admins: shown as text, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static
from textual.worker import Worker, WorkerState

from engine.api.schedule_text import window_text
from engine.api.schemas import DialerOut
from engine.client.client import EngineClient, Invalid, NotFound
from engine.text.sanitize import one_line

from ..messages import WorkerFailed
from ..widgets import fitted_table
from ..widgets.dialog_error import DialogError
from .confirm import ConfirmScreen

COLUMNS = [
    ("Dialer", "name"),
    ("Campaign", "campaign"),
    ("Running", "running"),
    ("On schedule", "on_schedule"),
    ("Lists", "lists"),
    ("Sends", "when"),
    ("Template", "template"),
]
NOTE = "n new · Enter edits · d removes · l lists · a attachments · x example CSV · g dashboard"


@dataclass
class DialersLoaded(Message, bubble=False):
    dialers: list[DialerOut]


@dataclass
class ExampleFetched(Message, bubble=False):
    text: str


def _yes(value: bool) -> Text:
    return Text("yes", style="bold green") if value else Text("no", style="dim")


def _when(d: DialerOut) -> str:
    windows = ", ".join(window_text(w) for w in d.schedule) or "any hour"
    if d.starts_on or d.ends_on:
        windows += f" · {d.starts_on or '…'} to {d.ends_on or '…'}"
    return windows


class DialersScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DialersScreen { align: center middle; }
    #dialers-dialog {
        width: 100%;
        max-width: 150;
        height: 100%;
        padding: 0 1;
        border: round $primary;
        background: $surface;
    }
    #dialers-table { height: 1fr; }
    """
    BINDINGS = [
        Binding("n", "add", "New", id="dialers.add"),
        Binding("e", "edit", "Edit", id="dialers.edit", show=False),
        Binding("d", "remove", "Remove", id="dialers.remove"),
        Binding("l", "lists", "Lists", id="dialers.lists"),
        Binding("a", "attachments", "Attachments", id="dialers.attachments"),
        Binding("x", "example", "Example CSV", id="dialers.example"),
        # The supervisors' live dashboard, for admins too (fed by the admin screen's events).
        Binding("g", "dashboard", "Dashboard", id="dialers.dashboard"),
        Binding("ctrl+r", "refresh", "Refresh", id="dialers.refresh", show=False),
        Binding("escape", "close", "Close", id="dialers.close"),
    ]

    def __init__(self, api: EngineClient) -> None:
        super().__init__()
        self.api = api
        self.dialers: list[DialerOut] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialers-dialog"):
            yield Label("Dialers", classes="dialog-title")
            yield Static(NOTE, classes="dialog-note", markup=False)
            yield DataTable(id="dialers-table", cursor_type="row", zebra_stripes=True)
            yield DialogError(id="dialers-error")
        yield Footer(compact=True)

    def action_dashboard(self) -> None:
        from .dialer_dashboard import DialerDashboardScreen

        self.app.push_screen(DialerDashboardScreen(self.api))

    def on_mount(self) -> None:
        table = self.query_one("#dialers-table", DataTable)
        fitted_table.fill(table, COLUMNS, [])
        table.focus()
        self.load()

    @work(exclusive=True, group="load", exit_on_error=False)
    async def load(self) -> None:
        self.post_message(DialersLoaded(await self.api.dialers()))

    @on(DialersLoaded)
    def show(self, message: DialersLoaded) -> None:
        table = self.query_one("#dialers-table", DataTable)
        row = table.cursor_row
        self.dialers = message.dialers
        rows = [
            (
                d.name,
                [
                    Text(one_line(d.name, 30)),
                    Text(one_line(d.campaign, 24)),
                    _yes(d.running),
                    _yes(d.on_schedule),
                    Text(str(d.lists), justify="right"),
                    Text(one_line(_when(d), 40)),
                    Text(one_line(d.template or "-", 24)),
                ],
            )
            for d in message.dialers
        ]
        fitted_table.fill(table, COLUMNS, rows)
        if rows:
            table.move_cursor(row=min(max(row, 0), len(rows) - 1))
        count = len(rows)
        title = f"Dialers · {count}" if count else "Dialers · none yet: n adds one"
        self.query_one(".dialog-title", Label).update(Text(title))

    def selected(self) -> DialerOut | None:
        table = self.query_one("#dialers-table", DataTable)
        if table.row_count == 0 or not 0 <= table.cursor_row < len(self.dialers):
            self.notify("No dialer yet: n adds one.", markup=False)
            return None
        return self.dialers[table.cursor_row]

    # ---- add, change, remove ----
    def action_add(self) -> None:
        self.open_form(None)

    @on(DataTable.RowSelected, "#dialers-table")
    def action_edit(self) -> None:
        if (dialer := self.selected()) is not None:
            self.open_form(dialer)

    def open_form(self, dialer: DialerOut | None) -> None:
        from .dialer_form import DialerForm

        def saved(result: DialerOut | None) -> None:
            if result is not None:
                self.notify(f"Dialer {one_line(result.name, 40)} saved.", markup=False)
                self.load()

        self.app.push_screen(DialerForm(self.api, dialer), saved)

    def action_remove(self) -> None:
        if (dialer := self.selected()) is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove_dialer(dialer.name)

        question = Text("Remove the dialer ")
        question.append(one_line(dialer.name, 60), style="bold")
        question.append("? Its schedule goes with it.")
        self.app.push_screen(ConfirmScreen(question, yes="Remove"), answered)

    @work(group="remove", exit_on_error=False)
    async def remove_dialer(self, name: str) -> None:
        await self.api.remove_dialer(name)
        self.notify(f"Dialer {one_line(name, 40)} removed.", markup=False)
        self.post_message(DialersLoaded(await self.api.dialers()))

    # ---- its lists, the attachments, the example ----
    def action_lists(self) -> None:
        from .dialer_lists import DialerListsScreen

        if (dialer := self.selected()) is not None:
            self.app.push_screen(DialerListsScreen(self.api, dialer.name), lambda _: self.load())

    def action_attachments(self) -> None:
        from .dialer_attachments import DialerAttachmentsScreen

        self.app.push_screen(DialerAttachmentsScreen(self.api))

    def action_example(self) -> None:
        """The example's rows name the highlighted dialer's campaign (any, with none yet)."""
        dialer = self.selected() if self.dialers else None
        self.fetch_example(dialer.campaign if dialer else "")

    @work(exclusive=True, group="example", exit_on_error=False)
    async def fetch_example(self, campaign: str) -> None:
        self.post_message(ExampleFetched(await self.api.dialer_example_csv(campaign)))

    @on(ExampleFetched)
    def save_example(self, message: ExampleFetched) -> None:
        from .save_text import SaveTextScreen

        def saved(path: Path | None) -> None:
            if path is not None:
                self.notify(f"Example CSV written to {path}", markup=False)

        screen = SaveTextScreen("Write the example CSV", message.text, "dialer-example.csv")
        self.app.push_screen(screen, saved)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            if not isinstance(worker.error, Invalid | NotFound):
                self.app.post_message(WorkerFailed(worker, worker.error))
            message = str(getattr(worker.error, "message", worker.error))
            self.query_one("#dialers-error", DialogError).say(f"Refused: {message}")

    def action_refresh(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
