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
from itertools import chain

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from data.models import DialerRecord, DialerRecordState
from engine.services.dialer.check_rows import FAILED, PENDING, RECORD_COLUMNS, Row

__all__ = ["insert_rows"]

ROWS_PER_INSERT = 100  # 900 parameters a statement: within SQLite's and PostgreSQL's limits
# The checker writes the states as text without importing the models (it may run in a
# process of its own, started without the database layer).
assert (PENDING, FAILED) == (DialerRecordState.PENDING.value, DialerRecordState.FAILED.value)


async def insert_rows(connection: AsyncConnection, rows: list[Row]) -> None:
    """Ready values, ROWS_PER_INSERT rows to a statement, one executemany: a million rows
    through the ORM's or Core's per-row processing cost more than checking them (measured:
    3-4x the driver's time), and SQLite takes rows twice as fast in multi-row VALUES as one
    row per statement."""
    style = connection.dialect.paramstyle
    if style == "named":  # pragma: no cover - no such driver among ours
        await connection.execute(
            insert(DialerRecord.__table__),  # type: ignore[arg-type]
            [dict(zip(RECORD_COLUMNS, row, strict=True)) for row in rows],
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
    width = len(RECORD_COLUMNS)
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
    return f"INSERT INTO {DialerRecord.__tablename__} ({', '.join(RECORD_COLUMNS)}) VALUES {values}"
