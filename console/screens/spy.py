"""Supervisor: which of an agent's open interactions to watch, when they have several."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from engine.api.schemas import InteractionSummary
from engine.text.sanitize import one_line


class InteractionPicker(ModalScreen[int | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="spy.cancel")]

    def __init__(self, agent_name: str, interactions: list[InteractionSummary]) -> None:
        super().__init__()
        self.agent_name = agent_name
        self.interactions = interactions

    def compose(self) -> ComposeResult:
        with Vertical(id="spy-dialog"):
            yield Label(
                Text(f"Watch which of {self.agent_name}'s interactions?"), classes="dialog-title"
            )
            options = []
            for item in self.interactions:
                client = item.client_name.strip() or item.client_email
                line = Text(one_line(client, 28), style="bold")
                line.append("  " + one_line(item.subject or "(no subject)", 40))
                options.append(Option(line, id=str(item.id)))
            yield OptionList(*options, id="spy-options")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0) or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
