"""The agent's inbox: one row per open interaction, sortable, unread first by default.

The table owns its rows: the screen hands it summaries (`upsert`, `discard`, `replace`) and
the table keeps them in the chosen order, sized to its width and the waiting times current.
Plain `str` cells would be parsed as markup by DataTable, so every cell is a `rich.text.Text`.

Two habits of mail clients keep the cursor where the agent expects it:

- Until the agent uses the inbox (moves the cursor, opens a row, sorts, leaves it for a
  reply or the thread), the cursor stays on the top row while interactions arrive; after
  that it stays on its interaction whatever moves around it.
- A row that only became read stays where it is until the order is next rebuilt: in the wide
  layout highlighting a row reads it, and it must not slide away from under the cursor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from msgspec import structs
from rich.cells import cell_len
from rich.text import Text
from textual import events, on
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from engine.api.schemas import InteractionDetail, InteractionSummary
from engine.text.sanitize import one_line

from ..timefmt import as_utc, since
from .empty import EmptyNote
from .inbox_columns import (
    ARROWS,
    LABELS,
    SORT_COLUMNS,
    SORT_CYCLE,
    UNREAD_MARK,
    client_of,
    column_widths,
    header_label,
    sort_value,
    sorted_items,
)
from .inbox_columns import inbox_order as inbox_order  # the default order, for callers


def summary_of(detail: InteractionDetail) -> InteractionSummary:
    """The inbox row of an interaction, from its detail."""
    return InteractionSummary(
        **{k: getattr(detail, k) for k in InteractionSummary.__struct_fields__}
    )


class InboxTable(EmptyNote):
    """Rows keyed by interaction id (as str); cursor on whole rows."""

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another interaction (None: the inbox is empty). `by_agent`:
        the agent moved it, rather than the list changing under it (a new assignment)."""

        inbox: InboxTable
        interaction_id: int | None
        by_agent: bool = True

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
        self._width = 80
        self._widths = column_widths(self._width)
        self._announced: int | None = None
        self._sort: tuple[str, bool] = SORT_CYCLE[0]
        # The agent has used the inbox: the cursor follows its interaction from now on.
        self._held = False
        self._rebuilding = False

    # ---- data in ----
    def replace(self, items: Iterable[InteractionSummary]) -> None:
        self._items = {item.id: item for item in items}
        self._rebuild()

    def upsert(self, item: InteractionSummary) -> None:
        old = self._items.get(item.id)
        self._items[item.id] = item
        if old is not None and (
            self._key(old) == self._key(item)
            or (old.unread and not item.unread and self._key(old) == self._key(item, unread=True))
        ):
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
            self.upsert(structs.replace(item, last_message_at=moment))

    # ---- sorting ----
    @property
    def sorted_by(self) -> tuple[str, bool]:
        """(column, reversed) of the current order."""
        return self._sort

    def sort_by(self, column: str, reverse: bool = False) -> None:
        if column not in SORT_COLUMNS:
            raise ValueError(f"cannot sort the inbox by {column!r}")
        self._sort = (column, reverse)
        self._held = True  # the agent chose the order: keep their row
        self._rebuild()

    def toggle_sort(self, column: str) -> None:
        """A header click: sort by `column`, or reverse it when it already is the order."""
        current, reverse = self._sort
        self.sort_by(column, not reverse if column == current else False)

    def next_sort(self) -> None:
        """The next order of `SORT_CYCLE` (from a reversed one: the next column's)."""
        if self._sort in SORT_CYCLE:
            index = SORT_CYCLE.index(self._sort)
        else:
            index = next(i for i, (c, _) in enumerate(SORT_CYCLE) if c == self._sort[0])
        self.sort_by(*SORT_CYCLE[(index + 1) % len(SORT_CYCLE)])

    def reverse_sort(self) -> None:
        column, reverse = self._sort
        self.sort_by(column, not reverse)

    def _key(self, item: InteractionSummary, **update: Any) -> tuple[object, ...]:
        """What decides `item`'s place in the current order (with `update` applied)."""
        if update:
            item = structs.replace(item, **update)
        column, reverse = self._sort
        moment = as_utc(item.last_message_at).timestamp()
        if column == "waiting" and reverse:
            return (moment,)
        return (sort_value(item, column), item.unread, moment)

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

    def per_campaign(self) -> dict[str, int]:
        """How many interactions each campaign has here."""
        counts: dict[str, int] = {}
        for item in self._items.values():
            counts[item.campaign_name] = counts.get(item.campaign_name, 0) + 1
        return counts

    # ---- rendering ----
    def on_mount(self) -> None:
        self.set_interval(1, self.tick)

    def on_resize(self, event: events.Resize) -> None:
        # The event has the outer size; a border (beside the thread) takes a cell of it.
        width = self.size.width
        if width != self._width:
            self._width = width
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
        """The cells of the columns shown, by column key."""
        w = self._widths
        style = "bold" if item.unread else ""
        cells = {
            "unread": Text(UNREAD_MARK if item.unread else " ", style="bold bright_blue"),
            "campaign": Text(one_line(item.campaign_name, w.get("campaign")), style=style),
            "client": Text(one_line(client_of(item), w["client"]), style=style),
            "subject": Text(one_line(item.subject or "(no subject)", w["subject"]), style=style),
            "waiting": self._waiting(item),
        }
        return {key: cells[key] for key in w}

    def _wants(self) -> dict[str, int]:
        """The widest campaign and client, or their label (with the sort arrow)."""
        items = self._items.values()
        label = {c: cell_len(LABELS[c]) + 2 * (c == self._sort[0]) for c in ("campaign", "client")}
        return {
            "campaign": max(
                [label["campaign"], *(cell_len(one_line(i.campaign_name)) for i in items)]
            ),
            "client": max([label["client"], *(cell_len(one_line(client_of(i))) for i in items)]),
        }

    def _rebuild(self) -> None:
        keep, keep_row = self.current_id, self.cursor_row
        column, reverse = self._sort
        self._order = [i.id for i in sorted_items(self._items.values(), column, reverse)]
        self._widths = column_widths(self._width, self._wants(), campaign=column == "campaign")
        self._rebuilding = True
        try:
            self.clear(columns=True)
            for key, width in self._widths.items():
                arrow = ARROWS[reverse] if key == column else ""
                self.add_column(header_label(key, width, arrow), width=width, key=key)
            for interaction_id in self._order:
                cells = self._cells(self._items[interaction_id])
                self.add_row(*cells.values(), key=str(interaction_id))
            if not self._order:
                self._held = False  # the next arrivals start from the top again
            elif not self._held:
                self.move_cursor(row=0)
            elif keep in self._items:
                self.move_cursor(row=self._order.index(keep))
            else:
                # The row under the cursor went away: stay at the same height in the list.
                self.move_cursor(row=min(keep_row, len(self._order) - 1))
        finally:
            self._rebuilding = False
        self._announce(by_agent=False)

    # ---- the agent at work ----
    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if not self._rebuilding and old != new:
            self._held = True

    def on_blur(self) -> None:
        # A reply, the thread, a search...: the agent is working on the row under the cursor.
        if self._order:
            self._held = True

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = str(event.column_key.value)
        self.toggle_sort(column if column in SORT_COLUMNS else "waiting")

    # ---- messages out ----
    def _announce(self, *, by_agent: bool = True) -> None:
        current = self.current_id
        if current != self._announced:
            self._announced = current
            self.post_message(self.Highlighted(self, current, by_agent))

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # Rebuilds move the cursor several times; announce only where it finally rests.
        event.stop()
        self._announce()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._held = True
        if (current := self.current_id) is not None:
            self.post_message(self.Opened(self, current))
