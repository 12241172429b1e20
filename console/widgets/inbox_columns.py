"""The inbox's columns as pure functions: the orders it can be sorted in, how wide each
column is at a given width, and the header labels with their sort arrow. No Textual here,
so it is tested without an app."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from rich.text import Text

from engine.api.schemas import InteractionSummary
from engine.text.sanitize import one_line

from ..timefmt import as_utc

UNREAD_MARK = "•"
# Room for "Waiting ▲"; the values themselves ("2h10m", "1d02h") are shorter.
WAITING_WIDTH = 9
# Narrower than this (the inbox beside the thread on 100-120 columns), the campaign column
# gives way to client and subject: the thread pane beside it names the campaign.
NARROW = 60

LABELS = {
    "unread": "",
    "campaign": "Campaign",
    "client": "Client",
    "subject": "Subject",
    "waiting": "Waiting",
}
SORT_COLUMNS = ("waiting", "campaign", "client", "subject")
# What `o` steps through: (column, reversed). The first is the default order.
SORT_CYCLE = (
    ("waiting", False),  # unread first, then the newest
    ("waiting", True),  # the longest waiting first
    ("campaign", False),
    ("client", False),
    ("subject", False),
)
ARROWS = {False: "▲", True: "▼"}  # ▲: the column's values grow downwards
_REPLY_PREFIX = re.compile(r"^(\s*(re|fwd?|aw|sv)\s*:\s*)+", re.IGNORECASE)


def inbox_order(item: InteractionSummary) -> tuple[bool, float]:
    """The default order: unread before read, then the most recent message first."""
    return (not item.unread, -as_utc(item.last_message_at).timestamp())


def client_of(item: InteractionSummary) -> str:
    return item.client_name.strip() or item.client_email


def sorted_items(
    items: Iterable[InteractionSummary], column: str = "waiting", reverse: bool = False
) -> list[InteractionSummary]:
    """`items` in the order of `column`; equal values keep the default order.

    Waiting is the default order (unread first, then newest); reversed it is the longest
    wait first, read or not: the client who has waited longest comes first.
    """
    ordered = sorted(items, key=lambda item: (inbox_order(item), item.id))
    if column == "waiting":
        if reverse:
            ordered.sort(key=lambda item: as_utc(item.last_message_at).timestamp())
        return ordered
    # Python's sort is stable, reversed too: ties stay in the default order.
    ordered.sort(key=lambda item: sort_value(item, column), reverse=reverse)
    return ordered


def sort_value(item: InteractionSummary, column: str) -> str:
    """What `column` sorts `item` by: the text shown, caseless; subjects without `Re:`."""
    if column == "campaign":
        text = item.campaign_name
    elif column == "client":
        text = client_of(item)
    elif column == "subject":
        text = _REPLY_PREFIX.sub("", item.subject)
    else:
        return ""
    return one_line(text).casefold()


def column_widths(
    width: int, wants: Mapping[str, int] | None = None, *, campaign: bool = False
) -> dict[str, int]:
    """Share `width` cells between the columns, left to right. Campaign and client get what
    their longest value `wants` (within limits); the subject keeps at least half the room
    and takes whatever is left. Below `NARROW` cells the campaign column is left out, unless
    `campaign` (the inbox is sorted by it)."""
    wants = wants or {}
    with_campaign = campaign or width >= NARROW
    # Cell padding (1 each side) per column, plus room for the vertical scrollbar so the
    # widths do not jump when it appears.
    chrome = 2 * (len(LABELS) - (not with_campaign)) + 2
    rest = max(0, width - chrome - 1 - WAITING_WIDTH)
    widths = {"unread": 1}
    if with_campaign:
        widths["campaign"] = max(6, min(wants.get("campaign", 16), 16, max(8, rest // 4)))
    taken = widths.get("campaign", 0)
    subject_floor = max(10, rest // 2)
    widths["client"] = max(8, min(wants.get("client", 26), 26, rest - taken - subject_floor))
    widths["subject"] = max(10, rest - taken - widths["client"])
    widths["waiting"] = WAITING_WIDTH
    return widths


def header_label(column: str, width: int, arrow: str = "") -> Text:
    """The column's name, with the sort arrow when sorted by it, cut to fit `width`."""
    justify = "right" if column == "waiting" else "left"
    if not arrow:
        return Text(one_line(LABELS[column], width), justify=justify)
    name = one_line(LABELS[column], max(0, width - 2))
    return Text(f"{name} {arrow}".strip(), justify=justify)
