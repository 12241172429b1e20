"""Admin: who works a campaign, as in the manual's two columns, Agents and Members.

Tick agents on the left (Space) and Add (`+`) moves them to the campaign; tick members on the
right and Remove (`-`) takes them off. A removed member gets no new interactions of the
campaign and keeps the ones already assigned, to finish them. Every change is the engine's
answer, shown as it saved it.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, SelectionList, Static
from textual.worker import Worker, WorkerState

from engine.api.schemas import CampaignOut, UserOut
from engine.client.client import EngineClient, Invalid, NotFound
from engine.text.sanitize import one_line

from ..messages import WorkerFailed
from ..widgets.dialog_error import DialogError


def _entry(user: UserOut) -> tuple[Text, str]:
    name = f"{user.username} ({user.display_name})" if user.display_name else user.username
    return Text(one_line(name, 34)), user.username


class MembersScreen(ModalScreen[CampaignOut | None]):
    """Returns the campaign as last saved (None when nothing changed)."""

    # `+` and `-` as the manual's buttons; Ctrl+R means refresh everywhere else.
    BINDINGS = [
        Binding("plus", "add", "Add", id="members.add"),
        Binding("minus", "remove", "Remove", id="members.remove"),
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
                "now on; a removed member keeps what is already assigned.",
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
        for name in campaign.members:  # members without the agent role are listed too
            user = by_name.get(name)
            right.add_option(_entry(user) if user else (Text(one_line(name, 34)), name))
        for column in (left, right):  # so the first Space ticks the top row
            column.highlighted = 0 if column.option_count else None

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
