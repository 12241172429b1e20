"""Supervisor: the manual's "Info" window about one agent, as the engine counted it (today,
UTC day): who they are, their campaigns, state and status history, the interactions they hold,
completed today, average handling time, time logged in, and whether screen monitoring is
allowed. Read only; `escape`, `q` or the button closes it; `v` (or its button) views the
agent's screen live when that is allowed (console/screens/mirror.py)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static

from engine.api.schemas import AgentInfo
from engine.text.sanitize import one_line

from ..timefmt import as_utc, format_duration
from ..widgets.monitor import STATE_COLOURS, STATE_LABELS


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else format_duration(seconds)


def facts(info: AgentInfo) -> Table:
    row = info.row
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    name = row.state or row.status
    state = Text(f"● {STATE_LABELS.get(name, name)}")
    state.stylize(STATE_COLOURS.get(name, "dim"))
    if row.status_reason:
        state.append(f" ({one_line(row.status_reason, 40)})", style="dim")
    # Rich reads a str cell as markup whatever the Static says: every value is Text.
    table.add_row("Login", Text(one_line(info.username, 40)))
    table.add_row("Roles", Text(", ".join(info.roles) or "-"))
    table.add_row("Campaigns", Text(one_line(", ".join(info.campaigns) or "-", 200)))
    table.add_row("State", state)
    done = f"{row.completed} ({row.completed_in} in, {row.completed_out} out)"
    table.add_row("Completed today", Text(done))
    table.add_row("Avg handling", Text(_duration(info.avg_handling_seconds)))
    table.add_row("Logged in today", Text(_duration(info.logged_in_seconds)))
    table.add_row(
        "Screen monitoring", "allowed" if info.screen_monitoring_allowed else "not allowed"
    )
    return table


def history(info: AgentInfo) -> Text:
    if not info.history:
        return Text("No status change today.", style="dim")
    text = Text()
    for change in info.history:
        text.append(as_utc(change.at).strftime("%H:%M:%S") + "  ")
        text.append(change.status.capitalize(), style="bold")
        if change.reason:
            text.append(f" ({one_line(change.reason, 40)})", style="dim")
        if change.by:
            text.append(f" by {one_line(change.by, 30)}", style="dim")
        text.append("\n")
    text.rstrip()
    return text


def active(info: AgentInfo) -> Text:
    if not info.active:
        return Text("None.", style="dim")
    text = Text()
    for item in info.active:
        client = item.client_name.strip() or item.client_email
        text.append(f"#{item.id} ", style="dim")
        text.append(one_line(client, 28), style="bold")
        text.append("  " + one_line(item.subject or "(no subject)", 40) + "\n")
    text.rstrip()
    return text


class AgentInfoScreen(ModalScreen[str | None]):
    """Dismissed with "screen" when the supervisor asks to view the agent's screen."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="agent-info.close"),
        Binding("q", "close", "Close", show=False, id="agent-info.quit"),
        Binding("v", "view_screen", "View screen", id="agent-info.view-screen"),
    ]

    def __init__(self, info: AgentInfo) -> None:
        super().__init__()
        self.info = info

    def compose(self) -> ComposeResult:
        name = one_line(self.info.display_name.strip() or self.info.username, 50)
        with Vertical(id="agent-info-dialog"):
            yield Label(Text(f"Agent {name}"), classes="dialog-title")
            with VerticalScroll(id="agent-info-body"):
                yield Static(facts(self.info), id="agent-info-facts")
                yield Label("Active interactions", classes="info-heading")
                yield Static(active(self.info), id="agent-info-active")
                yield Label("Status today (UTC)", classes="info-heading")
                yield Static(history(self.info), id="agent-info-history")
            with Horizontal(id="agent-info-buttons"):
                yield Button(
                    "View screen",
                    id="agent-info-screen",
                    compact=True,
                    disabled=not self.info.screen_monitoring_allowed,
                    tooltip=None
                    if self.info.screen_monitoring_allowed
                    else "Screen monitoring is not allowed for this agent",
                )
                yield Button("Close", id="agent-info-close", compact=True)
        yield Footer(compact=True)

    @on(Button.Pressed, "#agent-info-close")
    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#agent-info-screen")
    def action_view_screen(self) -> None:
        """The engine decides whether it may be viewed (and says why not)."""
        self.dismiss("screen")
