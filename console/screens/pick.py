"""The waiting queue of the agent's pick-mode campaigns: the agent takes the highlighted
interaction (Enter or `t`); the engine decides, and a colleague who took it a moment before
wins (the agent is told). Returns the id to take, or None."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from engine.api.schemas import PickQueue
from engine.text.sanitize import one_line

from ..timefmt import since


class PickScreen(ModalScreen[int | None]):
    BINDINGS = [
        Binding("t,enter", "take", "Take", id="pick.take", priority=True),
        Binding("escape", "close", "Close", id="pick.close"),
    ]

    def __init__(self, queue: PickQueue) -> None:
        super().__init__()
        self.queue = queue

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-dialog"):
            yield Label("Waiting to be taken", classes="dialog-title", markup=False)
            yield Static(id="pick-note", markup=False, classes="dialog-note")
            table: DataTable[Text] = DataTable(id="pick-table", cursor_type="row")
            yield table
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Waiting", "Campaign", "Client", "Subject")
        self.show(self.queue)
        table.focus()

    def show(self, queue: PickQueue) -> None:
        """The queue as the engine last sent it; the cursor stays on the same interaction."""
        self.queue = queue
        tables = self.query(DataTable)
        if not tables or not tables.first().columns:
            return  # pushed but not mounted yet: on_mount shows the queue kept here
        table: DataTable[Text] = tables.first()
        current = self.highlighted()
        table.clear()
        for item in queue.waiting:
            client = item.client_name.strip() or item.client_email
            table.add_row(
                Text(since(item.queued_at)),
                Text(one_line(item.campaign_name, 16)),
                Text(one_line(client, 22)),
                Text(one_line(item.subject or "(no subject)", 60)),
                key=str(item.id),
            )
            if item.id == current:
                table.move_cursor(row=table.row_count - 1)
        campaigns = ", ".join(one_line(c, 20) for c in queue.campaigns)
        shown = len(queue.waiting)
        count = f"{queue.total} waiting" + (
            f" (the {shown} longest shown)" if shown < queue.total else ""
        )
        note = f"{count} in {campaigns}. Enter or t takes the highlighted one; Esc closes."
        if not queue.waiting:
            note = f"Nothing waits in {campaigns} now; new mail shows here as it arrives."
        self.query_one("#pick-note", Static).update(note)

    def highlighted(self) -> int | None:
        table: DataTable[Text] = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    @on(DataTable.RowSelected)
    def action_take(self) -> None:
        interaction_id = self.highlighted()
        if interaction_id is not None:
            self.dismiss(interaction_id)

    def action_close(self) -> None:
        self.dismiss(None)
