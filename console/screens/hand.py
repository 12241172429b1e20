"""Agent: raise a hand, to any supervisor on duty or to one by name.

The list is the engine's: the supervisors of the agent's campaigns (and those who supervise
every campaign), each said to be on duty (console open) or away (they see the line when they
come back). Returns who to chat with: a username, or `ANY` for every one on duty.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from engine.api.schemas import ChatSupervisor
from engine.client.client import EngineClient
from engine.text.sanitize import one_line

from ..messages import SupervisorsLoaded, WorkerFailed
from ..widgets.dialog_error import DialogError

ANY = "*"  # not a login name: the engine refuses it as one
ANY_NAME = "any supervisor on duty"


class HandScreen(ModalScreen[tuple[str, str] | None]):
    """Returns (username or ANY, name to show), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="hand.cancel")]

    def __init__(self, api: EngineClient) -> None:
        super().__init__()
        self.api = api
        self.names: dict[str, str] = {ANY: ANY_NAME}

    def compose(self) -> ComposeResult:
        with Vertical(id="hand-dialog"):
            yield Label("Raise your hand: chat with", classes="dialog-title")
            yield OptionList(id="hand-options")
            yield DialogError(id="hand-error")

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="supervisors", exit_on_error=False)
    async def load(self) -> None:
        self.post_message(SupervisorsLoaded(await self.api.chat_supervisors()))

    @on(SupervisorsLoaded)
    def _loaded(self, message: SupervisorsLoaded) -> None:
        self.show(message.supervisors)

    def show(self, supervisors: list[ChatSupervisor]) -> None:
        present = sum(s.on_duty for s in supervisors)
        first = Text("Any supervisor on duty", style="bold")
        first.append(f"  ({present} now)" if present else "  (none now)", style="dim")
        options = [Option(first, id=ANY)]
        for s in supervisors:
            name = one_line(s.display_name or s.username, 40)
            self.names[s.username] = name
            line = Text(name)
            line.append(
                "  on duty" if s.on_duty else "  away: sees it on coming back",
                style="green" if s.on_duty else "dim",
            )
            options.append(Option(line, id=s.username))
        listing = self.query_one(OptionList)
        listing.clear_options()
        listing.add_options(options)
        listing.highlighted = 0
        listing.focus()
        if not supervisors:
            self.query_one(DialogError).say("No supervisor looks after your campaigns.")

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        username = event.option.id or ANY
        self.dismiss((username, self.names.get(username, username)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR and worker.error is not None:
            self.query_one(DialogError).say(str(getattr(worker.error, "message", worker.error)))
            self.app.post_message(WorkerFailed(worker, worker.error))

    def action_cancel(self) -> None:
        self.dismiss(None)
