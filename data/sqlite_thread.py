"""Run a function on a session's own SQLite connection, in its driver's thread, in one hop.

Through SQLAlchemy each statement costs ~0.2-0.4 ms of Python before SQLite sees it (the ORM
compiles, the aiosqlite adapter hops threads for the execute and again for the rows); a
search of ten small statements paid more there than in SQLite. A function given the plain
`sqlite3.Connection` runs all of its statements for one hop (~20 us), in the session's
transaction, without blocking the event loop. Only for reads that need many statements
(the recordings search): writes keep going through the session and its write turn.

aiosqlite runs everything on a connection through `Connection._execute` (its queue to the
connection's thread); it has no public name for "run this function there", so this module
is the one place that uses it (tests/test_recordings_planner.py runs through it)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def run_on_sqlite(session: AsyncSession, fn: Callable[[sqlite3.Connection], T]) -> T:
    """`fn(connection)` in the thread of `session`'s aiosqlite connection."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection  # aiosqlite.Connection
    result: T = await driver._execute(fn, driver._conn)
    return result
