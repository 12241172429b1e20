"""Admin mode: campaigns and users as the engine reports them, and the break reasons.

Campaigns and users are read-only here for now (`postdesk ctl` provisions them); the break
reasons agents choose from are edited in a form (`b`).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Label, Static
from textual.worker import Worker

from engine.api.sanitize import one_line
from engine.api.schemas import AgentChanged, CampaignOut, Event, UserOut

from ..widgets.banner import EngineBanner
from .base import ModeScreen
from .break_reasons import BreakReasonsForm

NOTE = "Read-only campaigns and users (`postdesk ctl` provisions them). Ctrl+R reloads."


def _cell(value: str, width: int | None = None) -> Text:
    return Text(one_line(value, width))


class AdminScreen(ModeScreen):
    MODE = "admin"
    BINDINGS = [
        Binding("b", "edit_reasons", "Break reasons", id="admin.break-reasons"),
        Binding("ctrl+r", "refresh", "Refresh", id="admin.refresh"),
    ]

    reasons: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield EngineBanner()
        yield Static(NOTE, id="admin-note", markup=False)
        with Vertical(id="campaigns-pane", classes="pane"):
            yield Label("Campaigns", classes="pane-title")
            yield DataTable(id="campaigns", cursor_type="row", zebra_stripes=True)
        with Vertical(id="users-pane", classes="pane"):
            yield Label("Users", classes="pane-title")
            yield DataTable(id="users", cursor_type="row", zebra_stripes=True)
        with Vertical(id="reasons-pane", classes="pane"):
            yield Label("Break reasons (b edits)", classes="pane-title")
            yield Static("", id="reasons", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        campaigns = self.query_one("#campaigns", DataTable)
        for label, key in [
            ("Name", "name"),
            ("Address", "address"),
            ("Inbound", "inbound"),
            ("SMTP host", "smtp"),
            ("Members", "members"),
        ]:
            campaigns.add_column(Text(label), key=key)
        users = self.query_one("#users", DataTable)
        for label, key in [
            ("Username", "username"),
            ("Name", "name"),
            ("Roles", "roles"),
            ("Status", "status"),
        ]:
            users.add_column(Text(label), key=key)
        # ModeScreen.on_mount runs after this one (Textual calls each class's handler).
        campaigns.focus()

    def refresh_data(self) -> None:
        self.load_campaigns()
        self.load_users()
        self.load_reasons()

    @work(exclusive=True, group="campaigns", exit_on_error=False)
    async def load_campaigns(self) -> list[CampaignOut]:
        return await self.client.campaigns()

    @work(exclusive=True, group="users", exit_on_error=False)
    async def load_users(self) -> list[UserOut]:
        return await self.client.users()

    @work(exclusive=True, group="reasons", exit_on_error=False)
    async def load_reasons(self) -> list[str]:
        return await self.client.break_reasons()

    def show_reasons(self, reasons: list[str]) -> None:
        self.reasons = reasons
        shown = " · ".join(one_line(r, 40) for r in reasons)
        self.query_one("#reasons", Static).update(
            Text(shown) if reasons else Text("None: agents take breaks without a reason.")
        )

    def action_edit_reasons(self) -> None:
        def saved(reasons: list[str] | None) -> None:
            if reasons is not None:
                self.show_reasons(reasons)
                self.notify("Break reasons saved.")

        self.app.push_screen(BreakReasonsForm(self.client, self.reasons), saved)

    def worker_done(self, worker: Worker[Any], result: Any) -> None:
        if worker.group == "reasons":
            self.show_reasons(result)
        elif worker.group == "campaigns":
            table = self.query_one("#campaigns", DataTable)
            table.clear()
            for c in result:
                inbound = c.inbound if c.receive_emails else f"{c.inbound} (off)"
                smtp = f"{c.smtp_host}:{c.smtp_port}" if c.smtp_host else "—"
                name = c.name if c.enabled else f"{c.name} (disabled)"
                table.add_row(
                    _cell(name, 30),
                    _cell(c.email_address, 40),
                    _cell(inbound),
                    _cell(smtp, 40),
                    _cell(", ".join(c.members), 40),
                    key=str(c.id),
                )
        elif worker.group == "users":
            table = self.query_one("#users", DataTable)
            table.clear()
            for u in result:
                table.add_row(
                    _cell(u.username),
                    _cell(u.display_name, 40),
                    _cell(", ".join(u.roles)),
                    self._status(u.status),
                    key=u.username,
                )

    @staticmethod
    def _status(status: str) -> Text:
        return Text(status.capitalize())

    def handle_event(self, event: Event) -> None:
        if isinstance(event, AgentChanged):
            users = self.query_one("#users", DataTable)
            if event.agent.username in users.rows:
                users.update_cell(event.agent.username, "status", self._status(event.agent.status))

    def action_refresh(self) -> None:
        self.refresh_data()
