"""Admin: the addresses that get no mail from us, why, and from which campaigns.

The manual's blacklist, kept by the engine (`engine/services/customer/blacklist.py`): an
unsubscribe blocks the campaign whose mail it came from, a spam complaint blocks every campaign,
and an admin adds either. The list searches as the admin types (after a pause, not on every
key), `n` adds an entry (the engine's refusal lands under its field), `d` removes the
highlighted one after a question. Addresses and reasons come from mail: shown as text only.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, DataTable, Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from engine.api.schemas import BlacklistOut
from engine.client.client import EngineClient, Invalid, NotFound
from engine.text.sanitize import one_line

from ..messages import BlacklistAdded, WorkerFailed
from ..timefmt import local_stamp
from ..widgets import fitted_table
from ..widgets.dialog_error import DialogError
from ..widgets.form import FormField, place_error, refusal_text
from ..widgets.pick_list import PickList
from .confirm import ConfirmScreen

ALL_CAMPAIGNS = ""
COLUMNS = [
    ("Address", "email"),
    ("Blocks", "scope"),
    ("Source", "source"),
    ("Since", "since"),
    ("Reason", "reason"),
]
# What each source means to whoever reads the list (docs/web.md says more).
SOURCES = {
    "complaint": "spam complaint",
    "unsubscribe-link": "unsubscribed",
    "one-click": "one-click unsub.",
    "mailto": "unsub. by mail",
    "manual": "an admin",
    "hard-bounce": "hard bounce",
    "": "-",
}
SEARCH_PAUSE = 0.3  # seconds of no typing before the list is searched


@dataclass
class BlacklistLoaded(Message, bubble=False):
    entries: list[BlacklistOut]
    search: str


class BlacklistForm(ModalScreen[BlacklistOut | None]):
    """Returns the entry as the engine saved it, or None when cancelled."""

    DEFAULT_CSS = """
    #blacklist-form-dialog {
        width: 72;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 1 2;
        border: round $primary;
        background: $surface;
    }
    #blacklist-form-dialog .choice-row {
        height: 1;
        margin-bottom: 1;
    }
    #blacklist-form-dialog .choice-row Label {
        width: 9;
        text-style: bold;
    }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="blacklist-form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="blacklist-form.cancel"),
    ]

    def __init__(self, api: EngineClient, campaigns: list[str]) -> None:
        super().__init__()
        self.api = api
        self.campaigns = campaigns
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="blacklist-form-dialog"):
            yield Label("Stop mail to an address", classes="dialog-title")
            yield FormField("Address", input_id="bf-email", placeholder="name@example.com")
            with Horizontal(classes="choice-row"):
                yield Label("Blocks")
                choices = [(Text("every campaign"), ALL_CAMPAIGNS)]
                choices += [(Text(f"only {one_line(c, 50)}"), c) for c in self.campaigns]
                yield PickList(
                    choices, value=ALL_CAMPAIGNS, allow_blank=False, id="bf-campaign", compact=True
                )
            yield FormField("Reason", input_id="bf-reason", placeholder="why, for the team")
            yield DialogError(id="bf-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="bf-save", variant="primary", compact=True)
                yield Button("Cancel", id="bf-cancel", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#bf-email", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#bf-save")
    def action_save(self) -> None:
        if self.saving:
            return
        self.saving = True
        self.query_one("#bf-error", DialogError).say("")
        campaign = self.query_one("#bf-campaign", PickList).value
        self._save(
            self.query_one("#bf-email", Input).value.strip(),
            campaign if isinstance(campaign, str) and campaign else None,
            self.query_one("#bf-reason", Input).value.strip(),
        )

    @work(group="save", exit_on_error=False)
    async def _save(self, email: str, campaign: str | None, reason: str) -> None:
        entry = await self.api.add_to_blacklist(email, campaign=campaign, reason=reason)
        self.post_message(BlacklistAdded(entry))

    @on(BlacklistAdded)
    def _saved(self, message: BlacklistAdded) -> None:
        self.dismiss(message.entry)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.saving = False
            if not isinstance(worker.error, Invalid | NotFound):
                self.app.post_message(WorkerFailed(worker, worker.error))
            if place_error(self.query(FormField), worker.error) is None:
                self.query_one("#bf-error", DialogError).say(
                    f"Not saved: {refusal_text(worker.error)}"
                )

    @on(Button.Pressed, "#bf-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class BlacklistScreen(ModalScreen[None]):
    """The list, searched; add and remove entries."""

    DEFAULT_CSS = """
    #blacklist-dialog {
        width: 110;
        max-width: 100%;
        height: 100%;
        padding: 0 1;
        border: round $primary;
        background: $surface;
    }
    #blacklist-search-field {
        margin: 0 0 1 0;
    }
    #blacklist-table {
        height: 1fr;
    }
    """
    BINDINGS = [
        Binding("n", "add", "Add", id="blacklist.add"),
        Binding("d", "remove", "Remove", id="blacklist.remove"),
        Binding("slash", "search", "Search", id="blacklist.search"),
        Binding("escape", "close", "Close", id="blacklist.close"),
    ]

    def __init__(self, api: EngineClient, campaigns: list[str]) -> None:
        super().__init__()
        self.api = api
        self.campaigns = campaigns
        self.entries: list[BlacklistOut] = []
        self._pause: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="blacklist-dialog"):
            yield Label("Blacklist", classes="dialog-title")
            yield Static(
                "Addresses that get no mail from us. n add · d remove · / search · Esc close",
                classes="dialog-note",
                markup=False,
            )
            yield FormField(
                "Search", input_id="blacklist-search", placeholder="any part of an address"
            )
            yield DataTable(id="blacklist-table", cursor_type="row", zebra_stripes=True)
            yield DialogError(id="blacklist-error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#blacklist-table", DataTable)
        fitted_table.fill(table, COLUMNS, [])
        table.focus()
        self.load("")

    @property
    def search(self) -> str:
        return self.query_one("#blacklist-search", Input).value.strip()

    @work(exclusive=True, group="load", exit_on_error=False)
    async def load(self, search: str) -> None:
        self.post_message(BlacklistLoaded(await self.api.blacklist(search), search))

    @on(BlacklistLoaded)
    def _loaded(self, message: BlacklistLoaded) -> None:
        if message.search != self.search:
            return  # typed on since: the search for the current text is on its way
        self.show(message.entries)

    @on(Input.Changed, "#blacklist-search")
    def _typed(self) -> None:
        if self._pause is not None:
            self._pause.stop()
        self._pause = self.set_timer(SEARCH_PAUSE, lambda: self.load(self.search))

    @on(Input.Submitted, "#blacklist-search")
    def _searched(self) -> None:
        self.query_one("#blacklist-table", DataTable).focus()

    def action_search(self) -> None:
        self.query_one("#blacklist-search", Input).focus()

    def show(self, entries: list[BlacklistOut]) -> None:
        table = self.query_one("#blacklist-table", DataTable)
        row = table.cursor_row
        self.entries = entries
        rows = [
            (
                str(n),
                [
                    Text(one_line(e.email, 40)),
                    Text(f"{one_line(e.campaign, 20)} only" if e.campaign else "all campaigns"),
                    Text(SOURCES.get(e.source, one_line(e.source, 16)), style="dim"),
                    Text(local_stamp(e.created_at)[:10], style="dim"),
                    Text(one_line(e.reason, 60)),
                ],
            )
            for n, e in enumerate(entries)
        ]
        fitted_table.fill(table, COLUMNS, rows)
        if entries:
            table.move_cursor(row=min(max(row, 0), len(entries) - 1))
        count = len(entries)
        what = f"{count} address{'es' if count != 1 else ''}"
        self.query_one("#blacklist-error", DialogError).say(
            "" if count or not self.search else f"No address contains {self.search!r}."
        )
        self.query_one(".dialog-title", Label).update(Text(f"Blacklist · {what}"))

    def selected(self) -> BlacklistOut | None:
        table = self.query_one("#blacklist-table", DataTable)
        if table.row_count == 0 or not 0 <= table.cursor_row < len(self.entries):
            return None
        return self.entries[table.cursor_row]

    def action_add(self) -> None:
        def saved(entry: BlacklistOut | None) -> None:
            if entry is not None:
                self.notify(f"No more mail to {one_line(entry.email, 60)}.", markup=False)
                self.load(self.search)

        self.app.push_screen(BlacklistForm(self.api, self.campaigns), saved)

    def action_remove(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        scope = f"from {entry.campaign}" if entry.campaign else "from every campaign"

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove_entry(entry)

        question = Text("Allow mail to ")
        question.append(one_line(entry.email, 60), style="bold")
        question.append(f" {one_line(scope, 60)} again?")
        if entry.source in ("complaint", "unsubscribe-link", "one-click", "mailto"):
            question.append(
                "\n\nThey asked not to be mailed: remove it only if they asked again.",
                style="bold yellow",
            )
        self.app.push_screen(ConfirmScreen(question, yes="Remove"), answered)

    @work(group="remove", exit_on_error=False)
    async def remove_entry(self, entry: BlacklistOut) -> None:
        await self.api.remove_from_blacklist(entry.email, campaign=entry.campaign)
        self.post_message(BlacklistLoaded(await self.api.blacklist(self.search), self.search))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            if not isinstance(worker.error, Invalid | NotFound):
                self.app.post_message(WorkerFailed(worker, worker.error))
            self.query_one("#blacklist-error", DialogError).say(refusal_text(worker.error))

    def action_close(self) -> None:
        self.dismiss(None)
