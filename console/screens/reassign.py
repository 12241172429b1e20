"""`r` on the monitor: move a paused or absent agent's open work (docs/transfer.md). Above,
what moves: all their open interactions or one of them; below, where: back to each one's
campaign queue, or to a colleague at a console (with their state); then an optional internal
note. Enter on a destination (or in the note) moves it; Tab goes between the parts; Esc
cancels. Returns a `ReassignChoice`, or None; the engine checks the rest (a colleague must
be a member of each interaction's campaign)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from engine.api.schemas import AgentRow, InteractionSummary
from engine.text.sanitize import one_line

from .transfer import NOTE_LABEL, NOTE_PLACEHOLDER, agent_label, heading

ALL = "all"
QUEUE = "queue:"
AGENT = "agent:"


@dataclass(frozen=True)
class ReassignChoice:
    interaction_id: int | None  # None: every open interaction of theirs
    to_agent: str  # "": back to the queues
    words: str  # "the queue", "Bob Builder"
    note: str = ""


class ReassignScreen(ModalScreen[ReassignChoice | None]):
    DEFAULT_CSS = """
    ReassignScreen { align: center middle; }
    #reassign-dialog {
        width: 78;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $warning;
        background: $surface;
    }
    #reassign-what { height: auto; max-height: 6; }
    #reassign-to { height: auto; max-height: 8; margin-top: 1; }
    .reassign-note-label { margin-top: 1; color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="reassign.cancel")]

    def __init__(
        self, agent: AgentRow, theirs: Sequence[InteractionSummary], others: Sequence[AgentRow]
    ) -> None:
        super().__init__()
        self.agent = agent
        self.theirs = list(theirs)
        self.others = list(others)
        self.words: dict[str, str] = {QUEUE: "their campaigns' queues"}

    def compose(self) -> ComposeResult:
        name = one_line(self.agent.display_name or self.agent.username, 30)
        with Vertical(id="reassign-dialog"):
            yield Label(f"Reassign the work of {name}", classes="dialog-title", markup=False)
            yield Static(
                "Above what moves, below where to · Enter moves it · Tab · Esc cancels",
                classes="dialog-note",
                markup=False,
            )
            yield OptionList(*self._what(), id="reassign-what")
            yield OptionList(*self._to(), id="reassign-to")
            yield Label(NOTE_LABEL, classes="reassign-note-label", markup=False)
            yield Input(placeholder=NOTE_PLACEHOLDER, id="reassign-note", max_length=4000)
        yield Footer(compact=True)

    def _what(self) -> list[Option]:
        count = len(self.theirs)
        noun = "interaction" if count == 1 else "interactions"
        options = [Option(Text(f"All {count} open {noun}"), id=ALL)]
        for item in self.theirs:
            client = one_line(item.client_name.strip() or item.client_email, 24)
            subject = one_line(item.subject or "(no subject)", 36)
            label = Text(f"#{item.id} ")
            label.append(client, style="bold")
            label.append(f"  {subject}  ")
            label.append(one_line(item.campaign_name, 16), style="dim")
            options.append(Option(label, id=str(item.id)))
        return options

    def _to(self) -> list[Option]:
        options = [Option(Text("↩ Back to their campaigns' queues"), id=QUEUE)]
        options.append(heading("Agents at a console"))
        for row in self.others:
            key = AGENT + row.username
            name = row.display_name or row.username
            self.words[key] = one_line(name, 40)
            state = row.state or row.status
            options.append(Option(agent_label(name, state, row.active), id=key))
        if not self.others:
            options.append(
                Option(Text("  nobody else is at a console", style="dim"), disabled=True)
            )
        return options

    def on_mount(self) -> None:
        self.query_one("#reassign-what", OptionList).highlighted = 0
        where = self.query_one("#reassign-to", OptionList)
        where.highlighted = 0
        where.focus()

    def _choice(self) -> ReassignChoice | None:
        what = self.query_one("#reassign-what", OptionList).highlighted_option
        to = self.query_one("#reassign-to", OptionList).highlighted_option
        if to is None or to.id not in self.words:
            return None
        interaction_id = None if what is None or what.id in (None, ALL) else int(what.id)
        note = self.query_one("#reassign-note", Input).value.strip()
        to_agent = to.id.removeprefix(AGENT) if to.id.startswith(AGENT) else ""
        return ReassignChoice(interaction_id, to_agent, self.words[to.id], note)

    @on(OptionList.OptionSelected, "#reassign-what")
    def _what_chosen(self) -> None:
        self.query_one("#reassign-to", OptionList).focus()

    @on(OptionList.OptionSelected, "#reassign-to")
    @on(Input.Submitted, "#reassign-note")
    def _done(self) -> None:
        choice = self._choice()
        if choice is None:
            self.query_one("#reassign-to", OptionList).focus()
            self.notify("Choose where it goes first", markup=False)
            return
        self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)
