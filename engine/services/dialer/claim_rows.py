"""A dialer claim's records as plain values, and on SQLite read and written at the driver.

A claim of 1,000 records through the async session spent ~40 us a record on the event
loop's thread in SQLAlchemy alone (the result's rows and their two JSON decodes, then the
claim's executemany binding each row's parameters through the column types): about a
fifth of a dialer's CPU a message (profiled, bench/dialer). On SQLite the claim's reads
and its write go instead to the driver's connection in a database thread
(`Database.read_at_once`, `write_at_once`), with the values as SQLAlchemy stores them
(the state's value, the datetime's text made by the column's own bind processor, the
JSON columns' text): the same rows, the same SQL the Core statements make, a fraction of
the work. One JSON decode a record (its variables); a record without attachments (their
JSON text `[]`) needs none for them.

PostgreSQL keeps its Core statements (claims lock their records there, in one
transaction: `runner.py`); both give `Claimed` rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from data.models import BlacklistEntry, BouncingAddress, DialerRecord, DialerRecordState

__all__ = [
    "Change",
    "Claimed",
    "blocked_sqlite",
    "bound_time",
    "next_sqlite",
    "sent_at_driver",
    "sent_sqlite",
    "write_sqlite",
]

_T: Table = DialerRecord.__table__  # type: ignore[assignment]
S = DialerRecordState


class Claimed(NamedTuple):
    """What a claim reads of a record (the columns of `COLUMNS`, in that order)."""

    id: int
    destination: str
    message: str
    attachments: list[str]
    variables: dict[str, str]
    priority: int
    rfc_message_id: str
    link_token: str | None
    sent_at: Any  # as read; written back as it is when the claim does not change it
    attempts: int


COLUMNS = Claimed._fields

# A claim's change of one record: state, error, processed_at, rfc_message_id, link_token,
# sent_at, then the record's id (the order of `_CLAIM_SQL`'s parameters).
Change = tuple[str, str, Any, str, Any, Any, int]

_NEXT_SQL = (
    f"SELECT {', '.join(COLUMNS)} FROM {_T.name}"
    " WHERE list_id = ? AND state = ? AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
    " ORDER BY priority, id LIMIT ?"
)
_CLAIM_SQL = (
    f"UPDATE {_T.name} SET state = ?, error = ?, processed_at = ?, rfc_message_id = ?,"
    " link_token = ?, sent_at = ? WHERE id = ?"
)
# What happened to a mail after the server took it (seen, bounced, a complaint) may be
# recorded before the server's answer is: the answer never undoes it (here and in
# runner.py's Core statements).
AFTER_DELIVERY = (S.SEEN, S.REJECTED, S.SPAM)
_AFTER = ", ".join(f"'{s.value}'" for s in AFTER_DELIVERY)
_SENT_SQL = (
    f"UPDATE {_T.name} SET state = CASE WHEN state IN ({_AFTER}) THEN state ELSE"
    f" '{S.SENT.value}' END, error = '', attempts = ?, processed_at = ?,"
    " next_attempt_at = NULL WHERE id IN ({marks})"
)
_BLOCKED_SQL = (
    f"SELECT email FROM {BlacklistEntry.__tablename__} WHERE email IN ({{marks}})"
    " AND (campaign_id IS NULL OR campaign_id = ?)"
)
_BOUNCING_SQL = f"SELECT email FROM {BouncingAddress.__tablename__} WHERE email IN ({{marks}})"
# SQLite binds at most 32,766 parameters a statement (since 3.32; 999 before): ids in
# slices well under either.
_IDS_PER_STATEMENT = 900


def bound_time(dialect: Dialect, value: datetime) -> Any:
    """`value` as the datetime columns store it on this database (SQLite: their text),
    made by the column type's own bind processor, so the driver gets what Core gives."""
    process = _T.c.sent_at.type._cached_bind_processor(dialect)
    return process(value) if process is not None else value


def _driver_cursor(session: Session) -> Any:
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


def next_sqlite(
    session: Session, list_ids: Sequence[int], now: datetime, want: int
) -> list[list[Claimed]]:
    """SQLite, in a reader thread: each list's next `want` pending records due by `now`
    (priority, then the list's order), read along its (list, state, priority) index."""
    due = bound_time(session.get_bind().dialect, now)
    loads = json.loads
    cursor = _driver_cursor(session)
    found: list[list[Claimed]] = []
    try:
        for list_id in list_ids:
            rows = cursor.execute(_NEXT_SQL, (list_id, S.PENDING.value, due, want)).fetchall()
            found.append(
                [
                    Claimed(
                        rid,
                        destination,
                        message,
                        [] if attachments == "[]" else loads(attachments),
                        loads(variables),
                        priority,
                        rfc_message_id,
                        link_token,
                        sent_at,
                        attempts,
                    )
                    for (
                        rid,
                        destination,
                        message,
                        attachments,
                        variables,
                        priority,
                        rfc_message_id,
                        link_token,
                        sent_at,
                        attempts,
                    ) in rows
                ]
            )
    finally:
        cursor.close()
    return found


def blocked_sqlite(
    session: Session, addresses: Sequence[str], campaign_id: int
) -> tuple[set[str], set[str]]:
    """SQLite, in a reader thread: which of these (lower-case) addresses are blacklisted
    for the campaign or for all (the rule of `blacklist.applies`), and which are bouncing.
    (Through Core, the two IN lists of a 1,000-record claim cost ~5 ms of binding.)"""
    blocked: set[str] = set()
    bouncing: set[str] = set()
    cursor = _driver_cursor(session)
    try:
        for start in range(0, len(addresses), _IDS_PER_STATEMENT):
            part = tuple(addresses[start : start + _IDS_PER_STATEMENT])
            marks = ", ".join("?" * len(part))
            blocked.update(
                email
                for (email,) in cursor.execute(
                    _BLOCKED_SQL.format(marks=marks), (*part, campaign_id)
                ).fetchall()
            )
            bouncing.update(
                email for (email,) in cursor.execute(_BOUNCING_SQL.format(marks=marks), part)
            )
    finally:
        cursor.close()
    return blocked, bouncing


def write_sqlite(changes: list[Change], session: Session) -> None:
    """SQLite, in the writer thread (`write_at_once`): a claim's changes, one executemany."""
    cursor = _driver_cursor(session)
    try:
        cursor.executemany(_CLAIM_SQL, changes)
    finally:
        cursor.close()


def sent_sqlite(sent: dict[int, list[int]], processed_at: datetime, session: Session) -> None:
    """SQLite, in the writer thread: the messages the server took, `sent` (attempts -> their
    record ids), in statements of many ids each."""
    at = bound_time(session.get_bind().dialect, processed_at)
    sent_at_driver(session.connection().connection.driver_connection, sent, at)


def sent_at_driver(connection: Any, sent: dict[int, list[int]], at: Any) -> None:
    """`sent_sqlite` on a sqlite3 connection in a transaction (`Database.write_now`), `at`
    the processing time as stored (`bound_time`)."""
    cursor = connection.cursor()
    try:
        for attempts, ids in sent.items():
            for start in range(0, len(ids), _IDS_PER_STATEMENT):
                part = ids[start : start + _IDS_PER_STATEMENT]
                marks = ", ".join("?" * len(part))
                cursor.execute(_SENT_SQL.format(marks=marks), (attempts, at, *part))
    finally:
        cursor.close()
