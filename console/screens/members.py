"""Admin: who works which campaigns, as in the manual's three columns, Campaigns, Agents and
Members, several campaigns and several agents at once.

Tick campaigns on the left (Space or a click; the one the screen was opened on is ticked),
tick agents in the middle and Add (`+`): each of them joins each of those campaigns, in one
engine call that saves all or nothing. The Members column lists the ticked campaigns'
members; tick some and Remove (`-`) takes them off. A removed member gets no new
interactions of the campaign and keeps the ones already assigned, to finish them. Every
change is the engine's answer, shown as it saved it.

Members are listed in their order on their campaign, with their penalty: the highlighted
one's order and penalty are edited in the row below the columns (Enter or Ctrl+S sets them).
The order counts for the `linear` and `round-robin` strategies, the penalty (0-100) for
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
from textual.widgets.selection_list import Selection
from textual.worker import Worker, WorkerState

from engine.api.schemas import CampaignOut, MemberOut, UserOut
from engine.client.client import EngineClient, Invalid, NotFound
from engine.text.sanitize import one_line

from ..messages import WorkerFailed
from ..widgets.dialog_error import DialogError

Pair = tuple[str, str]  # (campaign, username)


def _entry(user: UserOut) -> tuple[Text, str]:
    name = f"{user.username} ({user.display_name})" if user.display_name else user.username
    return Text(one_line(name, 22)), user.username


def _member_entry(
    campaign: str, member: MemberOut, user: UserOut | None, *, several: bool
) -> tuple[Text, Pair]:
    """`2. ana (Ana A)  p40`: the order, the name, the penalty when there is one; with
    several campaigns ticked, the campaign first (`Sales 2. ana`)."""
    text = Text()
    if several:
        text.append(f"{one_line(campaign, 10)} ", style="bold")
    text.append(f"{member.position}. ")
    name = member.username
    if user is not None and user.display_name and not several:
        name = f"{name} ({user.display_name})"
    text.append(one_line(name, 18))
    if member.penalty:
        text.append(f" p{member.penalty}", style="dim")
    return text, (campaign, member.username)


def _settings(campaign: CampaignOut) -> list[MemberOut]:
    return campaign.member_settings or [
        MemberOut(username=name, position=n, penalty=0)
        for n, name in enumerate(campaign.members, start=1)
    ]


class MembersScreen(ModalScreen[CampaignOut | None]):
    """Returns the campaign it was opened on as last saved (None when nothing changed)."""

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

    def __init__(
        self,
        api: EngineClient,
        campaign: CampaignOut,
        users: list[UserOut],
        campaigns: list[CampaignOut] | None = None,
    ) -> None:
        super().__init__()
        self.api = api
        self.opened_on = campaign.name
        self.campaigns = {c.name: c for c in campaigns or [campaign]}
        self.campaigns[campaign.name] = campaign
        self.changed = False
        self.busy = False
        self.agents = [u for u in users if "agent" in u.roles]
        self.users = {u.username: u for u in users}

    @property
    def campaign(self) -> CampaignOut:
        return self.campaigns[self.opened_on]

    def compose(self) -> ComposeResult:
        with Vertical(id="members-dialog"):
            yield Label("Members", classes="dialog-title")
            yield Static(
                "Space ticks. + adds every ticked agent to every ticked campaign; - removes "
                "the ticked members (they keep what is assigned). pN: penalty.",
                classes="dialog-note",
                markup=False,
            )
            with Horizontal(id="members-columns"):
                with Vertical(classes="members-column", id="members-campaigns-column"):
                    yield Label("Campaigns", classes="pane-title")
                    yield SelectionList[str](id="members-campaigns", compact=True)
                with Vertical(classes="members-column"):
                    yield Label("Agents", classes="pane-title")
                    yield SelectionList[str](id="members-agents", compact=True)
                with Vertical(classes="members-column", id="members-members-column"):
                    yield Label("Members", classes="pane-title")
                    yield SelectionList[Pair](id="members-members", compact=True)
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
        left = self.query_one("#members-campaigns", SelectionList)
        left.add_options(
            Selection(Text(one_line(name, 24)), name, name == self.opened_on)
            for name in sorted(self.campaigns)
        )
        left.highlighted = sorted(self.campaigns).index(self.opened_on)
        self.show()
        self.query_one("#members-agents", SelectionList).focus()

    def ticked_campaigns(self) -> list[str]:
        """In name order, as the column lists them (not in the order they were ticked)."""
        return sorted(self.query_one("#members-campaigns", SelectionList).selected)

    @on(SelectionList.SelectedChanged, "#members-campaigns")
    def show(self) -> None:
        """The agents who are not yet members of every ticked campaign, and the ticked
        campaigns' members (what was ticked stays ticked)."""
        names = self.ticked_campaigns()
        middle = self.query_one("#members-agents", SelectionList)
        right = self.query_one("#members-members", SelectionList)
        ticked_agents = set(middle.selected)
        ticked_members = set(right.selected)
        in_all: set[str] = (
            set.intersection(*(set(self.campaigns[n].members) for n in names)) if names else set()
        )
        middle.clear_options()
        middle.add_options(
            Selection(label, username, username in ticked_agents)
            for label, username in (_entry(u) for u in self.agents if u.username not in in_all)
        )
        right.clear_options()
        several = len(names) > 1
        right.add_options(
            Selection(label, pair, pair in ticked_members)
            for name in names
            for label, pair in (  # members without the agent role are listed too
                _member_entry(name, m, self.users.get(m.username), several=several)
                for m in _settings(self.campaigns[name])
            )
        )
        for column in (middle, right):  # so the first Space ticks the top row
            column.highlighted = 0 if column.option_count else None
        self.show_settings()

    def member(self) -> tuple[str, MemberOut] | None:
        """The highlighted member and their campaign, as the engine saved them."""
        right = self.query_one("#members-members", SelectionList)
        if right.highlighted is None:
            return None
        campaign, username = right.get_option_at_index(right.highlighted).value
        settings = _settings(self.campaigns[campaign])
        found = next((m for m in settings if m.username == username), None)
        return (campaign, found) if found else None

    @on(SelectionList.SelectionHighlighted, "#members-members")
    def show_settings(self) -> None:
        chosen = self.member()
        member = chosen[1] if chosen else None
        who = one_line(member.username, 16) if member else "none"
        if chosen is not None and len(self.ticked_campaigns()) > 1:
            who = f"{one_line(chosen[0], 12)} {who}"  # whose order: the campaign's
        self.query_one("#members-who", Label).update(Text(f"{who}:"))
        self.query_one("#members-position", Input).value = str(member.position) if member else ""
        self.query_one("#members-penalty", Input).value = str(member.penalty) if member else ""

    @on(Button.Pressed, "#members-set")
    @on(Input.Submitted, "#members-position, #members-penalty")
    def action_set_member(self) -> None:
        chosen = self.member()
        if chosen is None:
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
        campaign, member = chosen
        self.run_worker(
            self.apply_settings(campaign, member.username, position, penalty),
            group="members",
            exit_on_error=False,
        )

    async def apply_settings(
        self, campaign: str, username: str, position: int, penalty: int
    ) -> None:
        saved = await self.api.set_member(campaign, username, penalty=penalty, position=position)
        self.saved([saved])
        right = self.query_one("#members-members", SelectionList)
        for index in range(right.option_count):  # stay on the member just set
            if right.get_option_at_index(index).value == (campaign, username):
                right.highlighted = index

    @on(Button.Pressed, "#members-add")
    def action_add(self) -> None:
        agents = list(self.query_one("#members-agents", SelectionList).selected)
        campaigns = self.ticked_campaigns()
        if not campaigns:
            self.show_error("Tick one or more in Campaigns first (Space).")
            return
        if not agents:
            self.show_error("Tick one or more in Agents first (Space).")
            return
        self.change([(c, a) for c in campaigns for a in agents], add=True)

    @on(Button.Pressed, "#members-remove")
    def action_remove(self) -> None:
        pairs = list(self.query_one("#members-members", SelectionList).selected)
        if not pairs:
            self.show_error("Tick one or more in Members first (Space).")
            return
        self.change(pairs, add=False)

    def change(self, pairs: list[Pair], *, add: bool) -> None:
        if self.busy:
            return
        self.show_error("")
        self.busy = True
        self.run_worker(self.apply(pairs, add), group="members", exit_on_error=False)

    async def apply(self, pairs: list[Pair], add: bool) -> None:
        """One call for every pair: the engine saves them all or refuses them all."""
        if add:
            changed = await self.api.change_members(add=pairs)
        else:
            changed = await self.api.change_members(remove=pairs)
        for column in ("#members-agents", "#members-members"):
            self.query_one(column, SelectionList).deselect_all()
        self.saved(changed.campaigns)
        done = changed.added if add else changed.removed
        verb = "added" if add else "removed"
        said = f"{done} {'membership' if done == 1 else 'memberships'} {verb}"
        if changed.unchanged:
            said += f", {changed.unchanged} already {'members' if add else 'not members'}"
        self.notify(said + ".", markup=False)

    def saved(self, campaigns: list[CampaignOut]) -> None:
        self.changed = True
        for campaign in campaigns:
            self.campaigns[campaign.name] = campaign
        self.show()

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
