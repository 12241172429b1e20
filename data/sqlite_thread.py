"""Reads of many statements on SQLite as one function, in one hop to a connection's thread.

Through SQLAlchemy each statement costs ~0.2-0.4 ms of Python before SQLite sees it (the ORM
compiles, the aiosqlite adapter hops threads for the execute and again for the rows), and a
session's connection costs ~0.5 ms to check out and give back (a rollback, another hop). A
recordings search of ten small statements paid more there than in SQLite. Here a function
given the plain `sqlite3.Connection` runs all its statements in one read transaction for
one hop (~30 us), without blocking the event loop.

`SqliteReaders` keeps a few plain aiosqlite connections (the engine's pragmas: WAL, mmap,
page cache, busy timeout) apart from SQLAlchemy's pool, each with the search's temporary
tables made once. Each run is `BEGIN`, the function, `ROLLBACK`: a snapshot, nothing
written but this connection's own temporary rows, which the rollback empties. Only for
reads: writes keep going through sessions and the database's write turn. `Database.close`
closes them (aiosqlite's threads would otherwise keep the process alive).

aiosqlite runs everything on a connection through `Connection._execute` (its queue to the
connection's thread) and names no public way to run a function there: this module is the one
place that uses it (tests/test_recordings_planner.py runs through it)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA mmap_size=1073741824",
    "PRAGMA cache_size=-65536",
    # Temporary tables (a search's copied ids) in memory, not in a file of their own.
    "PRAGMA temp_store=MEMORY",
)


def _in_snapshot(fn: Callable[[sqlite3.Connection], T], connection: sqlite3.Connection) -> T:
    connection.execute("BEGIN")
    try:
        return fn(connection)
    finally:
        connection.execute("ROLLBACK")


class SqliteReaders:
    """Idle reader connections to the SQLite file at `path`, opened when first needed."""

    def __init__(self, path: str, setup: tuple[str, ...] = ()) -> None:
        self.path = path
        self.setup = setup
        self.idle: list[aiosqlite.Connection] = []
        self.opened: list[aiosqlite.Connection] = []

    async def _open(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(Path(self.path), isolation_level=None)
        self.opened.append(connection)
        for statement in PRAGMAS + self.setup:
            await connection.execute(statement)
        return connection

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(connection)` in a read transaction, in that connection's thread."""
        connection = self.idle.pop() if self.idle else await self._open()
        try:
            driver: Any = connection
            result: T = await driver._execute(_in_snapshot, fn, driver._conn)
            return result
        finally:
            self.idle.append(connection)

    async def close(self) -> None:
        opened, self.opened, self.idle = self.opened, [], []
        for connection in opened:
            await connection.close()
