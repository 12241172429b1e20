"""The agent's inbox: one row per open interaction, unread first, then newest first.

The table owns its rows: the screen hands it summaries (`upsert`, `discard`, `replace`) and
the table keeps them sorted, sized to its width and the waiting times current. Plain `str`
cells would be parsed as markup by DataTable, so every cell is a `rich.text.Text`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import events, on
from textual.message import Message
from textual.widgets import DataTable

from engine.api.sanitize import one_line
from engine.api.schemas import InteractionSummary

from ..timefmt import as_utc, since

UNREAD_MARK = "•"
WAITING_WIDTH = 7
# Cell padding (1 each side) for five columns, plus room for the vertical scrollbar so the
# widths do not jump when it appears.
_CHROME = 5 * 2 + 2


def inbox_order(item: InteractionSummary) -> tuple[bool, float]:
    """Sort key: unread before read, then the most recent message first."""
    return (not item.unread, -as_utc(item.last_message_at).timestamp())


def column_widths(width: int) -> dict[str, int]:
    """Share `width` cells between the columns; the subject takes what is left."""
    rest = max(0, width - _CHROME - 1 - WAITING_WIDTH)
    campaign = max(6, min(16, rest * 2 // 10))
    client = max(8, min(26, rest * 3 // 10))
    subject = max(10, rest - campaign - client)
    return {
        "unread": 1,
        "campaign": campaign,
        "client": client,
        "subject": subject,
        "waiting": WAITING_WIDTH,
    }


class InboxTable(DataTable[Text]):
    """Rows keyed by interaction id (as str); cursor on whole rows."""

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another interaction (None: the inbox is empty)."""

        inbox: InboxTable
        interaction_id: int | None

        @property
        def control(self) -> InboxTable:
            return self.inbox

    @dataclass
    class Opened(Message):
        """Enter was pressed on an interaction."""

        inbox: InboxTable
        interaction_id: int

        @property
        def control(self) -> InboxTable:
            return self.inbox

    def __init__(self, *, id: str = "inbox") -> None:  # noqa: A002
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._items: dict[int, InteractionSummary] = {}
        self._order: list[int] = []
        self._widths = column_widths(80)
        self._announced: int | None = None

    # ---- data in ----
    def replace(self, items: Iterable[InteractionSummary]) -> None:
        self._items = {item.id: item for item in items}
        self._rebuild()

    def upsert(self, item: InteractionSummary) -> None:
        old = self._items.get(item.id)
        self._items[item.id] = item
        if old is not None and inbox_order(old) == inbox_order(item):
            for key, cell in self._cells(item).items():
                self.update_cell(str(item.id), key, cell)
        else:
            self._rebuild()

    def discard(self, interaction_id: int) -> None:
        if self._items.pop(interaction_id, None) is not None:
            self._rebuild()

    def touch(self, interaction_id: int, moment: datetime) -> None:
        """A message arrived at `moment`: move the interaction up if that is newer."""
        item = self._items.get(interaction_id)
        if item is not None and as_utc(moment) > as_utc(item.last_message_at):
            self.upsert(item.model_copy(update={"last_message_at": moment}))

    # ---- data out ----
    def get(self, interaction_id: int) -> InteractionSummary | None:
        return self._items.get(interaction_id)

    @property
    def order(self) -> list[int]:
        """Interaction ids top to bottom."""
        return list(self._order)

    @property
    def current_id(self) -> int | None:
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]

    def __len__(self) -> int:
        return len(self._items)

    # ---- rendering ----
    def on_mount(self) -> None:
        self.set_interval(1, self.tick)

    def on_resize(self, event: events.Resize) -> None:
        widths = column_widths(event.size.width)
        if widths != self._widths:
            self._widths = widths
            self._rebuild()

    def tick(self) -> None:
        """Refresh the waiting times in place (no engine call)."""
        for interaction_id in self._order:
            item = self._items[interaction_id]
            self.update_cell(str(interaction_id), "waiting", self._waiting(item))

    def _waiting(self, item: InteractionSummary) -> Text:
        return Text(
            since(item.last_message_at), style="bold" if item.unread else "", justify="right"
        )

    def _cells(self, item: InteractionSummary) -> dict[str, Text]:
        w = self._widths
        style = "bold" if item.unread else ""
        client = item.client_name.strip() or item.client_email
        return {
            "unread": Text(UNREAD_MARK if item.unread else " ", style="bold bright_blue"),
            "campaign": Text(one_line(item.campaign_name, w["campaign"]), style=style),
            "client": Text(one_line(client, w["client"]), style=style),
            "subject": Text(one_line(item.subject or "(no subject)", w["subject"]), style=style),
            "waiting": self._waiting(item),
        }

    def _rebuild(self) -> None:
        keep, keep_row = self.current_id, self.cursor_row
        self._order = [i.id for i in sorted(self._items.values(), key=inbox_order)]
        self.clear(columns=True)
        labels = {
            "unread": " ",
            "campaign": "Campaign",
            "client": "Client",
            "subject": "Subject",
            "waiting": "Waiting",
        }
        for key, label in labels.items():
            self.add_column(Text(label), width=self._widths[key], key=key)
        for interaction_id in self._order:
            cells = self._cells(self._items[interaction_id])
            self.add_row(*cells.values(), key=str(interaction_id))
        if keep in self._items:
            self.move_cursor(row=self._order.index(keep))
        elif self._order:
            # The row under the cursor went away: stay at the same height in the list.
            self.move_cursor(row=min(keep_row, len(self._order) - 1))
        self._announce()

    # ---- messages out ----
    def _announce(self) -> None:
        current = self.current_id
        if current != self._announced:
            self._announced = current
            self.post_message(self.Highlighted(self, current))

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # Rebuilds move the cursor several times; announce only where it finally rests.
        event.stop()
        self._announce()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if (current := self.current_id) is not None:
            self.post_message(self.Opened(self, current))
