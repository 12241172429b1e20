"""Exports built from the engine's answers, the same for the console and `postdesk ctl`: a
dialer's records as CSV, every page of them, each cell safe for a spreadsheet."""

from __future__ import annotations

import csv
import io

from msgspec.structs import replace

from engine.api.schemas import DialerRecordQuery
from engine.client.client import EngineClient
from engine.text.spreadsheet import csv_cell

RECORD_COLUMNS = ("list", "line", "destination", "state", "error", "priority", "sent_at", "seen_at")


async def dialer_records_csv(client: EngineClient, dialer: str, query: DialerRecordQuery) -> str:
    """Every record of `dialer` matching `query` (all pages, in list and line order)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RECORD_COLUMNS)
    number = 1
    while True:
        page = await client.dialer_records(dialer, replace(query, page=number, page_size=1000))
        for r in page.items:
            sent = r.sent_at.isoformat(timespec="seconds") if r.sent_at else ""
            seen = r.seen_at.isoformat(timespec="seconds") if r.seen_at else ""
            row = (r.list, r.line, r.destination, r.state, r.error, r.priority, sent, seen)
            writer.writerow([csv_cell(v) for v in row])
        if number * page.page_size >= page.total or not page.items:
            return out.getvalue()
        number += 1
