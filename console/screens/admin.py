"""Admin mode: campaigns, users and the break reasons.

Campaigns are added (`a`) and changed (Enter or `e`) in a form, their mail servers tested
(`t`), their members chosen (`m`, several campaigns at once) and removed (`d`); users are
added (`u`) and changed (Enter on the users table) in a form; templates are listed, written
and deleted (`T`); the break reasons agents choose from are edited as a list (`b`); a
campaign's wrap-up codes in a tree (`w`); the blacklist (`B`); the email dialers, their lists
and attachments (`D`, `dialers.py`).

Each worker here posts a typed message when the engine answers (`console/messages.py`),
handled with `@on`.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Label, Static

from engine.api.schemas import (
    AgentChanged,
    CampaignOut,
    CampaignRemoved,
    DialerProgress,
    Event,
    MailboxChanged,
    MailboxHealth,
    Me,
    UserOut,
)
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..messages import (
    BreakReasonsLoaded,
    CampaignsLoaded,
    CampaignTested,
    MailboxesLoaded,
    UsersLoaded,
)
from ..widgets import fitted_table
from ..widgets.banner import EngineBanner
from ..widgets.empty import EmptyNote
from ..widgets.mailboxes import mailbox_cell
from .base import ModeScreen
from .break_reasons import BreakReasonsForm

NOTE = "Enter edits · d removes · w wrap-up codes · B blacklist · D dialers · ? keys"


CAMPAIGN_COLUMNS = [
    ("Name", "name"),
    ("Mailbox", "mailbox"),
    ("Address", "address"),
    ("Inbound", "inbound"),
    ("SMTP host", "smtp"),
    ("Members", "members"),
]
USER_COLUMNS = [
    ("Username", "username"),
    ("Name", "name"),
    ("Roles", "roles"),
    ("Status", "status"),
]


def _cell(value: str, width: int | None = None) -> Text:
    return Text(one_line(value, width))


class AdminScreen(ModeScreen):
    MODE = "admin"
    BINDINGS = [
        # Short labels: all of them fit the footer at 80 columns.
        Binding("a", "add_campaign", "Campaign+", id="admin.add-campaign"),
        Binding("e", "edit_campaign", "Edit", id="admin.edit-campaign", show=False),
        Binding("t", "test_campaign", "Test", id="admin.test-campaign"),
        # Not in the footer (full at 80 columns with `? Help`): the note above the lists says it.
        Binding("d", "remove_campaign", "Remove", id="admin.remove-campaign", show=False),
        Binding("m", "members", "Members", id="admin.members"),
        Binding("u", "add_user", "User+", id="admin.add-user"),
        Binding("T", "templates", "Templates", id="admin.templates"),
        Binding("b", "edit_reasons", "Breaks", id="admin.break-reasons"),
        Binding("B", "blacklist", "Blacklist", id="admin.blacklist", show=False),
        # The email dialers (issue 14, docs/dialer.md): in the note, as B is.
        Binding("D", "dialers", "Dialers", id="admin.dialers", show=False),
        # Not in the footer (it is full at 80 columns): the note above the lists says it.
        Binding("w", "dispositions", "Wrap-up codes", id="admin.dispositions", show=False),
        Binding("ctrl+r", "refresh", "Refresh", id="admin.refresh", show=False),
    ]

    def __init__(self, client: EngineClient, me: Me) -> None:
        super().__init__(client, me)
        self.reasons: list[str] = []
        self.campaigns: dict[str, CampaignOut] = {}
        self.users: list[UserOut] = []
        self.mailboxes: dict[int, MailboxHealth] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield EngineBanner()
        yield Static(NOTE, id="admin-note", markup=False)
        with Vertical(id="campaigns-pane", classes="pane"):
            yield Label("Campaigns", classes="pane-title")
            campaigns = EmptyNote(id="campaigns", cursor_type="row", zebra_stripes=True)
            campaigns.say_when_empty(
                "No campaign yet. A campaign is one support address: the mailbox Postdesk"
                " reads and the server it sends with. a adds one; t tests its servers."
            )
            yield campaigns
        with Vertical(id="users-pane", classes="pane"):
            yield Label("Users", classes="pane-title")
            yield DataTable(id="users", cursor_type="row", zebra_stripes=True)
        with Vertical(id="reasons-pane", classes="pane"):
            yield Label("Break reasons (b edits)", classes="pane-title")
            yield Static("", id="reasons", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        campaigns = self.query_one("#campaigns", DataTable)
        fitted_table.fill(campaigns, CAMPAIGN_COLUMNS, [])
        fitted_table.fill(self.query_one("#users", DataTable), USER_COLUMNS, [])
        # ModeScreen.on_mount runs after this one (Textual calls each class's handler).
        campaigns.focus()

    def refresh_data(self) -> None:
        self.load_campaigns()
        self.load_mailboxes()
        self.load_users()
        self.load_reasons()
        for board in self.dialer_boards():  # back after an outage: catch up
            board.load()

    # ---- loading: each worker posts what it got, handled below with `@on` ----
    @work(exclusive=True, group="campaigns", exit_on_error=False)
    async def load_campaigns(self) -> None:
        self.post_message(CampaignsLoaded(await self.client.campaigns()))

    @work(exclusive=True, group="mailboxes", exit_on_error=False)
    async def load_mailboxes(self) -> None:
        # A mailbox's change heard while this is on its way is newer than the answer: it is
        # applied again after it (console/overtaken.py), as the supervisor's screen does. A
        # mailbox failing again and again says so once: lost here, it never came back.
        self.load_started("mailboxes", (MailboxChanged,))
        self.post_message(MailboxesLoaded(await self.client.mailboxes()))

    @work(exclusive=True, group="users", exit_on_error=False)
    async def load_users(self) -> None:
        self.post_message(UsersLoaded(await self.client.users()))

    @work(exclusive=True, group="reasons", exit_on_error=False)
    async def load_reasons(self) -> None:
        self.post_message(BreakReasonsLoaded(await self.client.break_reasons()))

    @on(CampaignsLoaded)
    def _campaigns_arrived(self, message: CampaignsLoaded) -> None:
        campaigns = message.campaigns
        table = self.query_one("#campaigns", DataTable)
        selected = table.cursor_row
        self.campaigns = {str(c.id): c for c in campaigns}
        fitted_table.fill(table, CAMPAIGN_COLUMNS, [self._campaign_row(c) for c in campaigns])
        if campaigns:
            table.move_cursor(row=min(selected, len(campaigns) - 1))

    @on(MailboxesLoaded)
    def _mailboxes_arrived(self, message: MailboxesLoaded) -> None:
        for row in message.mailboxes:
            self.show_mailbox(row)
        self.load_answered("mailboxes")

    @on(UsersLoaded)
    def _users_arrived(self, message: UsersLoaded) -> None:
        self.users = message.users
        rows = [
            (
                u.username,
                [
                    _cell(u.username),
                    _cell(u.display_name, 40),
                    _cell(", ".join(u.roles)),
                    self._status(u.status),
                ],
            )
            for u in message.users
        ]
        fitted_table.fill(self.query_one("#users", DataTable), USER_COLUMNS, rows)

    @on(BreakReasonsLoaded)
    def _reasons_arrived(self, message: BreakReasonsLoaded) -> None:
        self.show_reasons(message.reasons)

    def show_mailbox(self, row: MailboxHealth) -> None:
        self.mailboxes[row.campaign_id] = row
        table = self.query_one("#campaigns", DataTable)
        if str(row.campaign_id) in table.rows:
            cell = mailbox_cell(row, error_width=28)  # the address and servers stay in sight
            fitted_table.set_cell(table, CAMPAIGN_COLUMNS, str(row.campaign_id), "mailbox", cell)

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

    def selected_campaign(self) -> CampaignOut | None:
        table = self.query_one("#campaigns", DataTable)
        if table.row_count == 0:
            self.notify("No campaign yet: a adds one.", markup=False)
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.campaigns.get(key or "")

    def action_add_campaign(self) -> None:
        self.open_form(None)

    def action_edit_campaign(self) -> None:
        """`e`: the selected user when the users table has the focus, else the campaign."""
        if self.query_one("#users", DataTable).has_focus:
            self.user_chosen()
        elif (campaign := self.selected_campaign()) is not None:
            self.open_form(campaign)

    @on(DataTable.RowSelected, "#campaigns")
    def campaign_chosen(self) -> None:
        self.action_edit_campaign()

    @on(DataTable.RowSelected, "#users")
    def user_chosen(self) -> None:
        table = self.query_one("#users", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        user = next((u for u in self.users if u.username == key), None)
        if user is not None:
            self.open_user_form(user)

    def action_templates(self) -> None:
        from .template_admin import TemplatesScreen

        names = sorted(c.name for c in self.campaigns.values())
        self.app.push_screen(TemplatesScreen(self.client, names), lambda _: self.load_campaigns())

    def action_blacklist(self) -> None:
        from .blacklist import BlacklistScreen

        names = sorted(c.name for c in self.campaigns.values())
        self.app.push_screen(BlacklistScreen(self.client, names))

    def action_dialers(self) -> None:
        from .dialers import DialersScreen

        self.app.push_screen(DialersScreen(self.client))

    def action_add_user(self) -> None:
        self.open_user_form(None)

    def open_user_form(self, user: UserOut | None) -> None:
        from .user_form import UserForm

        def saved(result: UserOut | None) -> None:
            if result is not None:
                self.notify(f"User {one_line(result.username, 40)} saved.", markup=False)
                self.load_users()

        self.app.push_screen(UserForm(self.client, user), saved)

    def open_form(self, campaign: CampaignOut | None) -> None:
        from .campaign_form import CampaignForm

        def saved(result: CampaignOut | None) -> None:
            if result is not None:
                self.notify(f"Campaign {one_line(result.name, 40)} saved.", markup=False)
                self.load_campaigns()

        self.app.push_screen(CampaignForm(self.client, campaign), saved)

    def action_members(self) -> None:
        from .members import MembersScreen

        if (campaign := self.selected_campaign()) is None:
            return

        def closed(result: CampaignOut | None) -> None:
            if result is not None:
                self.load_campaigns()
                self.load_users()

        campaigns = list(self.campaigns.values())
        self.app.push_screen(MembersScreen(self.client, campaign, self.users, campaigns), closed)

    def action_remove_campaign(self) -> None:
        """`d`, as neomutt deletes: the dialog says what stays and asks where open work goes."""
        from .remove_campaign import RemoveCampaignScreen

        if (campaign := self.selected_campaign()) is None:
            return

        def closed(removed: CampaignRemoved | None) -> None:
            if removed is None:
                return
            moved = f"; {removed.moved} open moved to {removed.moved_to}" if removed.moved else ""
            self.notify(f"Campaign {one_line(removed.campaign, 40)} removed{moved}.", markup=False)
            self.load_campaigns()
            self.load_users()

        self.app.push_screen(RemoveCampaignScreen(self.client, campaign.name), closed)

    def action_dispositions(self) -> None:
        """`w`: the selected campaign's wrap-up codes (docs/wrapup.md)."""
        from .dispositions import DispositionsScreen

        if (campaign := self.selected_campaign()) is None:
            return

        def saved(result: object) -> None:
            if result is not None:
                self.notify(f"Codes of {one_line(campaign.name, 40)} saved.", markup=False)

        self.app.push_screen(DispositionsScreen(self.client, campaign.name), saved)

    def action_test_campaign(self) -> None:
        if (campaign := self.selected_campaign()) is not None:
            self.notify(f"Testing {one_line(campaign.name, 40)}…", markup=False)
            self.test_campaign(campaign.name)

    @work(exclusive=True, group="test", exit_on_error=False)
    async def test_campaign(self, name: str) -> None:
        self.post_message(CampaignTested(await self.client.test_campaign(name)))

    @on(CampaignTested)
    def _tested(self, message: CampaignTested) -> None:
        from .conn_report import ConnectionReportScreen

        self.app.push_screen(ConnectionReportScreen(message.report))

    def _campaign_row(self, c: CampaignOut) -> tuple[str, list[Text]]:
        inbound = c.inbound if c.receive_emails else f"{c.inbound} (off)"
        smtp = f"{c.smtp_host}:{c.smtp_port}" if c.smtp_host else "—"
        name = c.name if c.enabled else f"{c.name} (disabled)"
        cells = [
            _cell(name, 30),
            mailbox_cell(self.mailboxes.get(c.id), error_width=28),
            _cell(c.email_address, 40),
            _cell(inbound),
            _cell(smtp, 40),
            _cell(", ".join(c.members), 40),
        ]
        return str(c.id), cells

    @staticmethod
    def _status(status: str) -> Text:
        return Text(status.capitalize())

    def handle_event(self, event: Event) -> None:
        if isinstance(event, MailboxChanged):
            self.show_mailbox(event.mailbox)
        if isinstance(event, DialerProgress):  # the dialers' dashboard, when open (`D`, `g`)
            for board in self.dialer_boards():
                board.progress(event)
        if isinstance(event, AgentChanged):
            users = self.query_one("#users", DataTable)
            status = self._status(event.agent.status)
            fitted_table.set_cell(users, USER_COLUMNS, event.agent.username, "status", status)

    def action_refresh(self) -> None:
        self.refresh_data()
