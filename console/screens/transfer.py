"""`T`: where an agent hands an interaction (docs/transfer.md): back to its campaign's queue,
to a colleague of the campaign at a console (with their state and open count), or to another
campaign's queue, with an internal note the next person reads in the thread.

Enter on a destination (or in the note) hands it over; Tab goes between the list and the
note; Esc cancels. Returns a `TransferChoice`, or None. The engine decides: a colleague who
went offline meanwhile is refused there, and the refusal is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from engine.api.schemas import InteractionDetail, TransferTargets
from engine.text.sanitize import one_line

from ..widgets.monitor import STATE_COLOURS, STATE_LABELS

QUEUE = "queue:"
AGENT = "agent:"
CAMPAIGN = "campaign:"
NOTE_LABEL = "Internal note for the next person: optional, never sent to the client"
NOTE_PLACEHOLDER = "e.g. refund approved; she prefers email"


@dataclass(frozen=True)
class TransferChoice:
    to_agent: str = ""
    to_campaign: str = ""
    words: str = ""  # where, for the toast: "Bob Builder", "the Sales queue"
    note: str = ""


def heading(words: str) -> Option:
    return Option(Text(words, style="bold dim"), disabled=True)


def agent_label(name: str, state: str, active: int, width: int = 26) -> Text:
    label = Text(one_line(name, width).ljust(width))
    label.append(f"  {STATE_LABELS.get(state, state):<13}", style=STATE_COLOURS.get(state, ""))
    label.append(f"  {active} open", style="dim")
    return label


class TransferScreen(ModalScreen[TransferChoice | None]):
    DEFAULT_CSS = """
    TransferScreen { align: center middle; }
    #transfer-dialog {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $warning;
        background: $surface;
    }
    #transfer-to { height: auto; max-height: 12; }
    .transfer-note-label { margin-top: 1; color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="transfer.cancel")]

    def __init__(self, detail: InteractionDetail, targets: TransferTargets) -> None:
        super().__init__()
        self.detail = detail
        self.targets = targets
        self.words: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        subject = one_line(self.detail.subject or "(no subject)", 50)
        with Vertical(id="transfer-dialog"):
            yield Label(f"Transfer “{subject}”", classes="dialog-title", markup=False)
            yield Static(
                "Enter hands it over · Tab: the note · Esc cancels",
                classes="dialog-note",
                markup=False,
            )
            yield OptionList(*self._options(), id="transfer-to")
            yield Label(NOTE_LABEL, classes="transfer-note-label", markup=False)
            yield Input(placeholder=NOTE_PLACEHOLDER, id="transfer-note", max_length=4000)
        yield Footer(compact=True)

    def _options(self) -> list[Option]:
        campaign = one_line(self.targets.campaign, 30)
        self.words[QUEUE] = f"the {campaign} queue"
        options = [Option(Text(f"↩ Back to the {campaign} queue"), id=QUEUE)]
        options.append(heading(f"Agents of {campaign}"))
        for agent in self.targets.agents:
            key = AGENT + agent.username
            name = agent.display_name or agent.username
            self.words[key] = one_line(name, 40)
            options.append(Option(agent_label(name, agent.state, agent.active), id=key))
        if not self.targets.agents:
            options.append(
                Option(Text("  nobody else of it is at a console", style="dim"), disabled=True)
            )
        if self.targets.campaigns:
            options.append(heading("Other campaigns' queues"))
            for name in self.targets.campaigns:
                key = CAMPAIGN + name
                self.words[key] = f"the {one_line(name, 30)} queue"
                options.append(Option(Text(f"{one_line(name, 40)} queue"), id=key))
        return options

    def on_mount(self) -> None:
        listed = self.query_one(OptionList)
        listed.highlighted = 0
        listed.focus()

    def _choice(self, key: str | None) -> TransferChoice | None:
        if key is None or key not in self.words:
            return None
        note = self.query_one("#transfer-note", Input).value.strip()
        words = self.words[key]
        if key.startswith(AGENT):
            return TransferChoice(to_agent=key.removeprefix(AGENT), words=words, note=note)
        if key.startswith(CAMPAIGN):
            return TransferChoice(to_campaign=key.removeprefix(CAMPAIGN), words=words, note=note)
        return TransferChoice(words=words, note=note)

    @on(OptionList.OptionSelected, "#transfer-to")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if (choice := self._choice(event.option.id)) is not None:
            self.dismiss(choice)

    @on(Input.Submitted, "#transfer-note")
    def _submitted(self) -> None:
        listed = self.query_one(OptionList)
        option = listed.highlighted_option
        choice = self._choice(option.id if option is not None else None)
        if choice is None:
            listed.focus()  # say where first
            self.notify("Choose where it goes first", markup=False)
            return
        self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)
