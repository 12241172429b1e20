"""Whether each campaign's mailbox is being read, as a cell of the admin's campaign list and as
the supervisor's one-line summary. A failing mailbox names its error (the server's words:
untrusted, so sanitised, never markup) and since when it fails."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import Static

from engine.api.schemas import MailboxHealth
from engine.text.sanitize import one_line

from ..timefmt import local_stamp

MARKS = {
    "connected": ("✓ connected", "green"),
    "connecting": ("… connecting", "yellow"),
    "failing": ("✗ failing", "bold red"),
    "off": ("– off", "dim"),
}


def mailbox_cell(health: MailboxHealth | None, *, error_width: int = 60) -> Text:
    if health is None:
        return Text("–", style="dim")
    label, style = MARKS.get(health.state, (health.state, ""))
    text = Text(label, style=style)
    if health.state == "failing":
        text.append(f" since {local_stamp(health.since)[-5:]}", style="red")
        if health.error:
            text.append(": ")
            text.append(one_line(health.error, error_width), style="red")
    return text


def mailbox_summary(rows: Iterable[MailboxHealth]) -> Text:
    """One line: every failing mailbox with its error, then how many are fine."""
    rows = [row for row in rows if row.state != "off"]
    text = Text("Mailboxes ", style="bold")
    if not rows:
        text.append("none are read", style="dim")
        return text
    failing = [row for row in rows if row.state == "failing"]
    for row in failing:
        text.append(one_line(row.campaign_name, 30), style="bold")
        text.append(" ")
        text.append_text(mailbox_cell(row, error_width=50))
        text.append("  ")
    fine = [row for row in rows if row.state == "connected"]
    if fine:
        names = ", ".join(one_line(row.campaign_name, 20) for row in fine)
        text.append(f"✓ {names}" if not failing else f"✓ {len(fine)} connected", style="green")
    if waiting := [row for row in rows if row.state == "connecting"]:
        text.append(f"  … {len(waiting)} connecting", style="yellow")
    return text


class MailboxLine(Static):
    """`#mailboxes`: the supervisor's summary, kept current by `MailboxChanged` events."""

    DEFAULT_CSS = """
    MailboxLine {
        height: auto;
        max-height: 3;
        padding: 0 1;
    }
    """

    def __init__(self) -> None:
        super().__init__("", id="mailboxes", markup=False)
        self.rows: dict[int, MailboxHealth] = {}

    def replace(self, rows: Iterable[MailboxHealth]) -> None:
        self.rows = {row.campaign_id: row for row in rows}
        self._show()

    def upsert(self, row: MailboxHealth) -> None:
        self.rows[row.campaign_id] = row
        self._show()

    def _show(self) -> None:
        ordered = sorted(self.rows.values(), key=lambda row: row.campaign_name.casefold())
        self.update(mailbox_summary(ordered))
