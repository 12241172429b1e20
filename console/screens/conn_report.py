"""Admin: what the engine found when it logged in to a campaign's IMAP and SMTP servers.

The manual's green status, with the reason when it is not green: each service's steps that
passed and the step that failed, in the engine's words (an untrusted CA, a wrong password).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static

from engine.api.schemas import ConnectionCheck, ConnectionReport
from engine.text.sanitize import one_line


def check_text(check: ConnectionCheck) -> Text:
    """`IMAP  ✓ resolve ✓ connect ✗ tls` and the detail on the next line."""
    text = Text()
    text.append(f"{check.service.upper():<5} ", style="bold")
    for step in check.passed:
        text.append("✓ ", style="green")
        text.append(f"{step} ")
    if check.step == "skipped":
        text.append("– not used", style="dim")
    elif check.ok:
        text.append("✓ ok", style="bold green")
    else:
        text.append(f"✗ {check.step}", style="bold red")
    if check.detail:
        text.append("\n      ")
        text.append(one_line(check.detail, 300))
    return text


class ConnectionReportScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter", "close", "Close", id="report.close")]
    AUTO_FOCUS = "#report-close"

    def __init__(self, report: ConnectionReport) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        verdict = "connected" if self.report.ok else "not connected"
        title = Text(f"{one_line(self.report.campaign, 50)}: {verdict}")
        title.stylize("bold green" if self.report.ok else "bold red")
        with Vertical(id="report-dialog"):
            yield Label(title, classes="dialog-title")
            for check in self.report.checks:
                yield Static(check_text(check), classes="report-check", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="report-close", variant="primary", compact=True)
        yield Footer(compact=True)

    @on(Button.Pressed, "#report-close")
    def action_close(self) -> None:
        self.dismiss(None)
