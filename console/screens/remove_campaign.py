"""Admin: removing a campaign (the manual's Remove button), after saying what it does.

The dialog asks the engine first what the campaign still has open. With nothing open it is a
plain question; with interactions waiting or assigned it offers the campaigns they can move
to, and Remove stays refused until one is picked (the engine refuses it too). Removal keeps
the campaign's recordings searchable and stops its mailbox at once.
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
from textual.widgets import Button, Footer, Label, Static
from textual.worker import Worker, WorkerState

from engine.api.schemas import CampaignRemoved, RemovalPlan
from engine.client.client import EngineClient, EngineError
from engine.text.sanitize import one_line

from ..messages import WorkerFailed
from ..widgets.dialog_error import DialogError
from ..widgets.pick_list import PickList


@dataclass
class PlanLoaded(Message):
    plan: RemovalPlan


@dataclass
class Removed(Message):
    removed: CampaignRemoved


class RemoveCampaignScreen(ModalScreen[CampaignRemoved | None]):
    """Returns what the engine removed, or None when the admin kept the campaign."""

    BINDINGS = [
        Binding("ctrl+s", "remove", "Remove", id="remove-campaign.remove", priority=True),
        Binding("escape", "cancel", "Keep it", id="remove-campaign.cancel"),
    ]

    def __init__(self, api: EngineClient, name: str) -> None:
        super().__init__()
        self.api = api
        self.campaign_name = name
        self.plan: RemovalPlan | None = None
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="remove-dialog"):
            yield Label(
                Text(f"Remove campaign {one_line(self.campaign_name, 40)}?"), classes="dialog-title"
            )
            yield Static(
                "Its mailbox is no longer read and it leaves every list and form. Its "
                "interactions stay in the recordings, found under its name; the name is free "
                "for a new campaign.",
                classes="dialog-note",
                markup=False,
            )
            yield Static("Looking for open interactions…", id="remove-open", markup=False)
            with Horizontal(id="remove-move"):
                yield Label("Move them to", markup=False)
                yield PickList[str](
                    [], id="remove-target", prompt="choose a campaign", compact=True
                )
            yield DialogError(id="remove-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    "Remove", id="remove-yes", variant="error", compact=True, disabled=True
                )
                yield Button("Keep it", id="remove-no", compact=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#remove-move").display = False
        self.query_one("#remove-no", Button).focus()
        self.load_plan()

    @work(exclusive=True, group="plan", exit_on_error=False)
    async def load_plan(self) -> None:
        self.post_message(PlanLoaded(await self.api.removal_plan(self.campaign_name)))

    @on(PlanLoaded)
    def show_plan(self, message: PlanLoaded) -> None:
        self.plan = plan = message.plan
        open_count = plan.queued + plan.assigned
        said = self.query_one("#remove-open", Static)
        if not open_count:
            said.update(Text("It has no open interactions."))
        else:
            interactions = "interaction" if open_count == 1 else "interactions"
            said.update(
                Text(
                    f"It has {open_count} open {interactions} ({plan.queued} waiting, "
                    f"{plan.assigned} assigned): they move to the campaign you pick; waiting "
                    "ones enter its queue, assigned ones stay with their agent.",
                    style="bold",
                )
            )
            target = self.query_one("#remove-target", PickList)
            target.set_options((one_line(name, 40), name) for name in plan.targets)
            self.query_one("#remove-move").display = True
            if not plan.targets:
                self.show_error("No other campaign to move them to: add one first.")
        self.query_one("#remove-yes", Button).disabled = False

    @on(PickList.Changed, "#remove-target")
    def _target_chosen(self) -> None:
        if self.target() is not None:
            self.show_error("")

    def target(self) -> str | None:
        value = self.query_one("#remove-target", PickList).value
        return value if isinstance(value, str) else None

    @on(Button.Pressed, "#remove-yes")
    def action_remove(self) -> None:
        if self.plan is None or self.busy:
            return
        move_to = self.target()
        if self.plan.queued + self.plan.assigned and move_to is None:
            self.show_error("Pick the campaign its open interactions move to first.")
            self.query_one("#remove-target", PickList).focus()
            return
        self.show_error("")
        self.busy = True
        self.send_removal(move_to)

    @work(exclusive=True, group="remove", exit_on_error=False)
    async def send_removal(self, move_to: str | None) -> None:
        removed = await self.api.remove_campaign(self.campaign_name, move_to=move_to)
        self.post_message(Removed(removed))

    @on(Removed)
    def _removed(self, message: Removed) -> None:
        self.dismiss(message.removed)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is not WorkerState.ERROR or worker.error is None:
            return
        self.busy = False
        if not isinstance(worker.error, EngineError):
            self.app.post_message(WorkerFailed(worker, worker.error))
        message = getattr(worker.error, "message", str(worker.error))
        self.show_error(f"Not removed: {message}")
        if worker.group == "remove":
            self.load_plan()  # mail may have come in meanwhile

    def show_error(self, message: str) -> None:
        self.query_one("#remove-error", DialogError).say(message)

    @on(Button.Pressed, "#remove-no")
    def action_cancel(self) -> None:
        self.dismiss(None)
