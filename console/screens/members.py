"""Admin: who works a campaign, as in the manual's two columns, Agents and Members.

Tick agents on the left (Space) and Add (`+`) moves them to the campaign; tick members on the
right and Remove (`-`) takes them off. A removed member gets no new interactions of the
campaign and keeps the ones already assigned, to finish them. Every change is the engine's
answer, shown as it saved it.

Members are listed in their order on the campaign, with their penalty: the highlighted one's
order and penalty are edited in the row below the columns (Enter or Ctrl+S sets them). The
order counts for the `linear` and `round-robin` strategies, the penalty (0-100) for
`weighted-random` (docs/strategies.md).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, SelectionList, Static
from textual.worker import Worker, WorkerState

from engine.api.schemas import CampaignOut, MemberOut, UserOut
from engine.client.client import EngineClient, Invalid, NotFound
from engine.text.sanitize import one_line

from ..messages import WorkerFailed
from ..widgets.dialog_error import DialogError


def _entry(user: UserOut) -> tuple[Text, str]:
    name = f"{user.username} ({user.display_name})" if user.display_name else user.username
    return Text(one_line(name, 34)), user.username


def _member_entry(member: MemberOut, user: UserOut | None) -> tuple[Text, str]:
    """`2. ana (Ana A)  p40`: the order, the name, the penalty when there is one."""
    text = Text(f"{member.position}. ")
    name = member.username
    if user is not None and user.display_name:
        name = f"{name} ({user.display_name})"
    text.append(one_line(name, 26))
    if member.penalty:
        text.append(f"  p{member.penalty}", style="dim")
    return text, member.username


class MembersScreen(ModalScreen[CampaignOut | None]):
    """Returns the campaign as last saved (None when nothing changed)."""

    # `+` and `-` as the manual's buttons; Ctrl+R means refresh everywhere else.
    BINDINGS = [
        Binding("plus", "add", "Add", id="members.add"),
        Binding("minus", "remove", "Remove", id="members.remove"),
        Binding(
            "ctrl+s",
            "set_member",
            "Set order/penalty",
            tooltip="Give the highlighted member the order and penalty typed below",
            id="members.set",
            priority=True,
        ),
        Binding("escape", "close", "Close", id="members.close"),
    ]

    def __init__(self, api: EngineClient, campaign: CampaignOut, users: list[UserOut]) -> None:
        super().__init__()
        self.api = api
        self.campaign = campaign
        self.changed = False
        self.busy = False
        self.agents = [u for u in users if "agent" in u.roles]

    def compose(self) -> ComposeResult:
        with Vertical(id="members-dialog"):
            title = f"Members of {one_line(self.campaign.name, 50)}"
            yield Label(Text(title), classes="dialog-title")
            yield Static(
                "Space ticks, + adds, - removes. New members get the campaign's mail from "
                "now on; a removed member keeps what is already assigned. Members stand in "
                "their order; pN is a penalty (fewer mails under weighted-random).",
                classes="dialog-note",
                markup=False,
            )
            with Horizontal(id="members-columns"):
                with Vertical(classes="members-column"):
                    yield Label("Agents", classes="pane-title")
                    yield SelectionList[str](id="members-agents", compact=True)
                with Vertical(classes="members-column"):
                    yield Label("Members", classes="pane-title")
                    yield SelectionList[str](id="members-members", compact=True)
            with Horizontal(id="members-settings"):
                yield Label("Member:", id="members-who", markup=False)
                yield Label("Order", markup=False)
                yield Input(id="members-position", type="integer", compact=True)
                yield Label("Penalty", markup=False)
                yield Input(id="members-penalty", type="integer", compact=True)
                yield Button("Set", id="members-set", compact=True)
            yield DialogError(id="members-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add →", id="members-add", variant="primary", compact=True)
                yield Button("← Remove", id="members-remove", compact=True)
                yield Button("Close", id="members-close", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.show(self.campaign)
        self.query_one("#members-agents", SelectionList).focus()

    def show(self, campaign: CampaignOut) -> None:
        self.campaign = campaign
        members = set(campaign.members)
        left = self.query_one("#members-agents", SelectionList)
        right = self.query_one("#members-members", SelectionList)
        left.clear_options()
        right.clear_options()
        left.add_options([_entry(u) for u in self.agents if u.username not in members])
        by_name = {u.username: u for u in self.agents}
        settings = campaign.member_settings or [
            MemberOut(username=name, position=n, penalty=0)
            for n, name in enumerate(campaign.members, start=1)
        ]
        for member in settings:  # members without the agent role are listed too
            right.add_option(_member_entry(member, by_name.get(member.username)))
        for column in (left, right):  # so the first Space ticks the top row
            column.highlighted = 0 if column.option_count else None
        self.show_settings()

    def member(self) -> MemberOut | None:
        """The highlighted member, as the engine saved them."""
        right = self.query_one("#members-members", SelectionList)
        if right.highlighted is None:
            return None
        name = right.get_option_at_index(right.highlighted).value
        return next((m for m in self.campaign.member_settings if m.username == name), None)

    @on(SelectionList.SelectionHighlighted, "#members-members")
    def show_settings(self) -> None:
        member = self.member()
        who = member.username if member else "none"
        self.query_one("#members-who", Label).update(Text(f"{one_line(who, 16)}:"))
        self.query_one("#members-position", Input).value = str(member.position) if member else ""
        self.query_one("#members-penalty", Input).value = str(member.penalty) if member else ""

    @on(Button.Pressed, "#members-set")
    @on(Input.Submitted, "#members-position, #members-penalty")
    def action_set_member(self) -> None:
        member = self.member()
        if member is None:
            self.show_error("Highlight a member on the right first.")
            return
        if self.busy:
            return
        try:
            position = int(self.query_one("#members-position", Input).value)
            penalty = int(self.query_one("#members-penalty", Input).value)
        except ValueError:
            self.show_error("Order and penalty are whole numbers (penalty 0-100).")
            return
        self.show_error("")
        self.busy = True
        self.run_worker(
            self.apply_settings(member.username, position, penalty),
            group="members",
            exit_on_error=False,
        )

    async def apply_settings(self, username: str, position: int, penalty: int) -> CampaignOut:
        campaign = await self.api.set_member(
            self.campaign.name, username, penalty=penalty, position=position
        )
        self.changed = True
        self.show(campaign)
        right = self.query_one("#members-members", SelectionList)
        for index in range(right.option_count):  # stay on the member just set
            if right.get_option_at_index(index).value == username:
                right.highlighted = index
        return campaign

    @on(Button.Pressed, "#members-add")
    def action_add(self) -> None:
        chosen = list(self.query_one("#members-agents", SelectionList).selected)
        self.change(chosen, add=True)

    @on(Button.Pressed, "#members-remove")
    def action_remove(self) -> None:
        chosen = list(self.query_one("#members-members", SelectionList).selected)
        self.change(chosen, add=False)

    def change(self, usernames: list[str], *, add: bool) -> None:
        if self.busy:
            return
        if not usernames:
            side = "Agents" if add else "Members"
            self.show_error(f"Tick one or more in {side} first (Space).")
            return
        self.show_error("")
        self.busy = True
        self.run_worker(self.apply(usernames, add), group="members", exit_on_error=False)

    async def apply(self, usernames: list[str], add: bool) -> CampaignOut:
        """One call per user; each answer is shown, so a refusal halfway leaves the columns
        as the engine has them."""
        for username in usernames:
            if add:
                campaign = await self.api.add_member(self.campaign.name, username)
            else:
                campaign = await self.api.remove_member(self.campaign.name, username)
            self.changed = True
            self.show(campaign)
        return self.campaign

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.busy = False
        if event.state is WorkerState.ERROR and worker.error is not None:
            if not isinstance(worker.error, Invalid | NotFound):
                self.app.post_message(WorkerFailed(worker, worker.error))
            self.show_error(f"Not saved: {getattr(worker.error, 'message', worker.error)}")

    def show_error(self, message: str) -> None:
        self.query_one("#members-error", DialogError).say(message)

    @on(Button.Pressed, "#members-close")
    def action_close(self) -> None:
        self.dismiss(self.campaign if self.changed else None)
