"""What a CSV upload did: the counts, then every refused or failed line with its reason.

The engine's import report (`ImportReport`): rows imported (of which failed, kept with a
reason and never sent) and lines rejected (not stored), each with its line number in the
file. Shown in a table that scrolls (a list of thousands of bad lines stays readable), and
`s` writes the same as text to a file the admin picks. Reasons quote the file's cells: they
are shown as one line of text, never as markup.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from engine.api.schemas import ImportReport
from engine.text.sanitize import one_line

from .save_text import SaveTextScreen


def summary(report: ImportReport) -> str:
    """One line: how many rows went where."""
    verb = "appended to" if report.appended else "imported into"
    rows = "row" if report.imported == 1 else "rows"
    refused = "line" if report.rejected == 1 else "lines"
    return (
        f"{report.imported} {rows} {verb} list {one_line(report.list_name, 60)}:"
        f" {report.imported - report.failed} to send, {report.failed} failed,"
        f" {report.rejected} {refused} rejected"
    )


def items(report: ImportReport) -> list[tuple[int, str, str]]:
    found = [(i.line, "failed", i.reason) for i in report.failures]
    found += [(i.line, "rejected", i.reason) for i in report.rejections]
    return sorted(found)


def report_text(report: ImportReport) -> str:
    """The report as a text file: the summary, then one line per refused line."""
    lines = [f"Dialer {one_line(report.dialer, 100)}, list id {report.list_id}", summary(report)]
    lines += [f"line {n}: {what}: {one_line(reason, 500)}" for n, what, reason in items(report)]
    if report.not_shown:
        lines.append(f"... and {report.not_shown} more lines not listed by the engine")
    return "\n".join(lines) + "\n"


class ImportReportScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ImportReportScreen { align: center middle; }
    #import-report-dialog {
        width: 110;
        max-width: 100%;
        height: 100%;
        padding: 0 1;
        border: round $primary;
        background: $surface;
    }
    #import-report-summary {
        margin-bottom: 1;
    }
    #import-report-table {
        height: 1fr;
    }
    """
    BINDINGS = [
        Binding("s", "save", "Save to file", id="import-report.save"),
        Binding("escape,q", "close", "Close", id="import-report.close"),
    ]

    def __init__(self, report: ImportReport, directory: Path | None = None) -> None:
        super().__init__()
        self.report = report
        self.directory = directory

    def compose(self) -> ComposeResult:
        r = self.report
        with Vertical(id="import-report-dialog"):
            yield Label(
                Text(f"Import report · dialer {one_line(r.dialer, 40)}"), classes="dialog-title"
            )
            yield Static(Text(summary(r)), id="import-report-summary", markup=False)
            yield DataTable(id="import-report-table", cursor_type="row", zebra_stripes=True)
            more = f"{r.not_shown} more lines not listed. " if r.not_shown else ""
            yield Static(
                f"{more}s saves this report to a file · Esc closes",
                classes="dialog-note",
                markup=False,
            )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.fill()
        self.query_one("#import-report-table", DataTable).focus()

    def on_resize(self) -> None:
        self.fill()

    def fill(self) -> None:
        """Reasons wrap in the width the terminal leaves them: a long one is read whole at
        80 columns, without scrolling sideways."""
        table = self.query_one("#import-report-table", DataTable)
        found = items(self.report)
        line_width = max([4, *(len(str(line)) for line, _w, _r in found)])
        dialog = min(self.app.size.width, 110) - 4  # border and padding
        reason_width = max(20, dialog - line_width - len("rejected") - 6 - 2)  # cell padding
        row = table.cursor_row
        table.clear(columns=True)
        table.add_column(Text("Line"), key="line", width=line_width)
        table.add_column(Text("What"), key="what", width=len("rejected"))
        table.add_column(Text("Reason"), key="reason", width=reason_width)
        for n, (line, what, reason) in enumerate(found):
            table.add_row(
                Text(str(line), justify="left"),
                Text(what, style="bold red" if what == "rejected" else "yellow", justify="left"),
                Text(one_line(reason, 300), justify="left"),
                key=str(n),
                height=None,
            )
        if found:
            table.move_cursor(row=min(max(row, 0), len(found) - 1))

    def action_save(self) -> None:
        name = f"import-{one_line(self.report.list_name, 40).replace('/', '_')}.txt"

        def saved(path: Path | None) -> None:
            if path is not None:
                self.notify(f"Report saved to {path}", markup=False)

        self.app.push_screen(
            SaveTextScreen(
                "Save the import report", report_text(self.report), name, self.directory
            ),
            saved,
        )

    def action_close(self) -> None:
        self.dismiss(None)
