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
from sqlalchemy.orm import Session

from data.models import DialerRecord, DialerRecordState
from engine.api.schemas import ImportLine, ImportReport
from engine.domain.dialer_csv import Accepted, Rejected
from engine.domain.dialer_rows import Ready, json_text

__all__ = ["BATCH_ROWS", "REPORT_LINES", "insert_rows", "next_batch"]

BATCH_ROWS = 20_000  # rows a transaction: the database's writer is free between them
# 32,760 parameters a statement: within SQLite's (32,766 since 3.32) and asyncpg's (32,767)
# limits. Few statements a batch, because between two the writer thread takes the GIL back
# from the thread checking the next batch, which can keep it up to the switch interval
# (5 ms) each time: with 100-row statements that wait tripled a batch's insert, and with
# 1,000-row ones it was still most of it (9.5 s of wall time for 2.7 s of work a million
# rows, measured). (A whole batch in one statement, where a build allows it, was no
# better: binding its 180,000 parameters holds the GIL in one stretch.)
ROWS_PER_INSERT = 32_767 // 9
REPORT_LINES = 500  # reasons listed per kind; the counts are always whole

# A `Ready` record's columns first, so its row is `ready + (list, state, error)`.
_RECORD_COLUMNS = (
    "line_number",
    "destination",
    "message",
    "attachments",
    "variables",
    "priority",
    "list_id",
    "state",
    "error",
)
Row = tuple[int, str, str, str, str, int, int, str, str]


def insert_rows(rows: list[Row], session: Session) -> None:
    """Ready values, ROWS_PER_INSERT rows to a statement, one executemany, in the database's
    writer (`Database.write_at_once`): on SQLite straight to the sqlite3 connection of its
    writer thread, which binds and steps without a hop per statement and lets go of the GIL
    while SQLite works, so the next batch is checked meanwhile."""
    connection = session.connection()
    dialect = connection.dialect
    style = dialect.paramstyle
    if style == "named":  # pragma: no cover - no such driver among ours
        connection.execute(
            insert(DialerRecord.__table__),  # type: ignore[arg-type]
            [dict(zip(_RECORD_COLUMNS, row, strict=True)) for row in rows],
        )
        return
    whole = len(rows) - len(rows) % ROWS_PER_INSERT
    flat = [
        tuple(chain.from_iterable(rows[at : at + ROWS_PER_INSERT]))
        for at in range(0, whole, ROWS_PER_INSERT)
    ]
    rest = tuple(chain.from_iterable(rows[whole:]))
    if dialect.name == "sqlite":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if flat:
                cursor.executemany(_insert_sql(style, ROWS_PER_INSERT), flat)
            if rest:
                cursor.execute(_insert_sql(style, len(rows) - whole), rest)
        finally:
            cursor.close()
        return
    if flat:
        connection.exec_driver_sql(_insert_sql(style, ROWS_PER_INSERT), flat)
    if rest:
        connection.exec_driver_sql(_insert_sql(style, len(rows) - whole), rest)


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
    outcomes: Iterator[Ready | Accepted | Rejected],
    list_id: int,
    report: ImportReport,
    token_ids: dict[str, int],
    used: set[int],
) -> tuple[list[Row], bool]:
    """The next rows to insert as the driver takes them, and whether the file is done (in
    a worker thread: reading and checking is the CPU part). A `Ready` record (the common
    row, `dialer_rows.py`) is its columns already; the careful reader's outcomes are turned
    into the same columns, the same JSON text."""
    rows: list[Row] = []
    append = rows.append
    loads = json.loads
    pending, failed = DialerRecordState.PENDING.value, DialerRecordState.FAILED.value
    to_send = (list_id, pending, "")
    seen = 0
    for outcome in islice(outcomes, BATCH_ROWS):
        seen += 1
        if type(outcome) is tuple:
            append(outcome + to_send)
            if outcome[3] != "[]":
                used.update(token_ids[t] for t in loads(outcome[3]))
        elif type(outcome) is Accepted:
            error = outcome.error
            attachments = outcome.attachments
            if attachments:
                used.update(token_ids[t] for t in attachments)
            append(
                (
                    outcome.line,
                    outcome.destination,
                    outcome.message,
                    json_text(attachments) if attachments else "[]",
                    outcome.variables_json
                    or (json_text(outcome.variables) if outcome.variables else "{}"),
                    outcome.priority,
                    list_id,
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
