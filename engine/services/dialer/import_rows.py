"""A list import's rows on their way into `dialer_records`: a checked batch
(`import_check.py`) written with one executemany of multi-row INSERT statements.

Driver-level on purpose: a million rows through the ORM's or Core's per-row processing cost
3-4x the driver's time (measured), more than checking them; and SQLite takes rows twice as
fast in multi-row VALUES as one row per statement. The values are those the models store:
JSON text for the JSON columns, the state's value.
"""

from __future__ import annotations

import functools
from itertools import chain

from sqlalchemy.orm import Session

from data.models import DialerRecord, DialerRecordState
from engine.services.dialer.import_check import Row, States

__all__ = ["ROWS_PER_INSERT", "STATES", "insert_rows"]

# 32,760 parameters a statement: within SQLite's (32,766 since 3.32) and asyncpg's (32,767)
# limits. Few statements a batch, because between two the writer thread takes the GIL back
# from the thread checking the next batch, which can keep it up to the switch interval
# (5 ms) each time: with 100-row statements that wait tripled a batch's insert, and with
# 1,000-row ones it was still most of it (9.5 s of wall time for 2.7 s of work a million
# rows, measured). (A whole batch in one statement, where a build allows it, was no
# better: binding its 180,000 parameters holds the GIL in one stretch.)
ROWS_PER_INSERT = 32_767 // 9
STATES = States(pending=DialerRecordState.PENDING.value, failed=DialerRecordState.FAILED.value)

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


def insert_rows(rows: list[Row], session: Session) -> None:
    """A batch's rows, ROWS_PER_INSERT to a statement, one executemany, in the database's writer
    (`Database.write_at_once`): on SQLite straight to the sqlite3 connection of its writer
    thread, which binds and steps without a hop per statement and lets go of the GIL while
    SQLite works, so the next batch is checked meanwhile."""
    connection = session.connection()
    dialect = connection.dialect
    style = dialect.paramstyle
    whole = len(rows) - len(rows) % ROWS_PER_INSERT
    full = [
        tuple(chain.from_iterable(rows[at : at + ROWS_PER_INSERT]))
        for at in range(0, whole, ROWS_PER_INSERT)
    ]
    rest = tuple(chain.from_iterable(rows[whole:]))
    if dialect.name == "sqlite":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if full:
                cursor.executemany(_insert_sql(style, ROWS_PER_INSERT), full)
            if rest:
                cursor.execute(_insert_sql(style, len(rows) - whole), rest)
        finally:
            cursor.close()
        return
    if full:
        connection.exec_driver_sql(_insert_sql(style, ROWS_PER_INSERT), full)
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
