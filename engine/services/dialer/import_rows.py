"""A list import's rows on their way into `dialer_records`: checked outcomes turned into
ready values a batch at a time (in a worker thread), and written with one executemany of
multi-row INSERT statements.

Driver-level on purpose: a million rows through the ORM's or Core's per-row processing cost
3-4x the driver's time (measured), more than checking them; and SQLite takes rows twice as
fast in multi-row VALUES as one row per statement. The values are those the models store:
JSON text for the JSON columns, the state's value.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from itertools import chain, islice

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from data.models import DialerRecord, DialerRecordState
from engine.api.schemas import ImportLine, ImportReport
from engine.domain.dialer_csv import Accepted, Rejected

__all__ = ["BATCH_ROWS", "REPORT_LINES", "insert_rows", "next_batch"]

BATCH_ROWS = 20_000  # rows a transaction: the database's writer is free between them
ROWS_PER_INSERT = 100  # 900 parameters a statement: within SQLite's and PostgreSQL's limits
REPORT_LINES = 500  # reasons listed per kind; the counts are always whole

_RECORD_COLUMNS = (
    "list_id",
    "line_number",
    "destination",
    "message",
    "attachments",
    "variables",
    "priority",
    "state",
    "error",
)
Row = tuple[int, int, str, str, str, str, int, str, str]


async def insert_rows(connection: AsyncConnection, rows: list[Row]) -> None:
    """Ready values, ROWS_PER_INSERT rows to a statement, one executemany: a million rows
    through the ORM's or Core's per-row processing cost more than checking them (measured:
    3-4x the driver's time), and SQLite takes rows twice as fast in multi-row VALUES as one
    row per statement."""
    style = connection.dialect.paramstyle
    if style == "named":  # pragma: no cover - no such driver among ours
        await connection.execute(
            insert(DialerRecord.__table__),  # type: ignore[arg-type]
            [dict(zip(_RECORD_COLUMNS, row, strict=True)) for row in rows],
        )
        return
    whole = len(rows) - len(rows) % ROWS_PER_INSERT
    if whole:
        flat = [
            tuple(chain.from_iterable(rows[at : at + ROWS_PER_INSERT]))
            for at in range(0, whole, ROWS_PER_INSERT)
        ]
        await connection.exec_driver_sql(_insert_sql(style, ROWS_PER_INSERT), flat)
    if whole < len(rows):
        rest = rows[whole:]
        await connection.exec_driver_sql(
            _insert_sql(style, len(rest)), tuple(chain.from_iterable(rest))
        )


@functools.lru_cache(maxsize=16)
def _insert_sql(style: str, count: int) -> str:
    width = len(_RECORD_COLUMNS)
    if style == "qmark":
        marks = ["?"] * (width * count)
    elif style in ("numeric", "numeric_dollar"):
        sign = ":" if style == "numeric" else "$"
        marks = [f"{sign}{n}" for n in range(1, width * count + 1)]
    else:  # format, pyformat
        marks = ["%s"] * (width * count)
    values = ", ".join(
        "(" + ", ".join(marks[at : at + width]) + ")" for at in range(0, len(marks), width)
    )
    return (
        f"INSERT INTO {DialerRecord.__tablename__} ({', '.join(_RECORD_COLUMNS)}) VALUES {values}"
    )


def next_batch(
    outcomes: Iterator[Accepted | Rejected],
    list_id: int,
    report: ImportReport,
    token_ids: dict[str, int],
    used: set[int],
) -> tuple[list[Row], bool]:
    """The next rows to insert as the driver takes them, and whether the file is done (in
    a worker thread: reading and checking is the CPU part)."""
    rows: list[Row] = []
    append = rows.append
    dumps = json.dumps
    pending, failed = DialerRecordState.PENDING.value, DialerRecordState.FAILED.value
    seen = 0
    for outcome in islice(outcomes, BATCH_ROWS):
        seen += 1
        if type(outcome) is Accepted:
            error = outcome.error
            attachments = outcome.attachments
            if attachments:
                used.update(token_ids[t] for t in attachments)
            append(
                (
                    list_id,
                    outcome.line,
                    outcome.destination,
                    outcome.message,
                    dumps(attachments) if attachments else "[]",
                    outcome.variables_json
                    or (dumps(outcome.variables) if outcome.variables else "{}"),
                    outcome.priority,
                    failed if error else pending,
                    error,
                )
            )
            if error:
                report.failed += 1
                if len(report.failures) < REPORT_LINES:
                    report.failures.append(ImportLine(line=outcome.line, reason=error))
        else:
            assert isinstance(outcome, Rejected)
            report.rejected += 1
            if len(report.rejections) < REPORT_LINES:
                report.rejections.append(ImportLine(line=outcome.line, reason=outcome.reason))
    report.imported += len(rows)
    return rows, seen < BATCH_ROWS
