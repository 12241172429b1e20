"""Raw SQL against a test engine's own database, whichever it is (SQLite file or the test
PostgreSQL cluster): what a test checks "straight from the database", or breaks on purpose.

SQLite is read through `sqlite3` (read-only for queries: WAL lets it read beside the engine);
PostgreSQL through asyncpg on a thread of its own, so a synchronous helper can be called from
a test's event loop. Parameters are written `?` for both; values come back as each driver
gives them (SQLite: timestamps as text), `at` reads either as an aware UTC datetime.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from engine.config import Settings

Row = tuple[Any, ...]


def url_of(settings: Settings) -> str:
    return settings.database_url or f"sqlite:///{settings.home / 'postdesk.db'}"


def is_postgresql(settings: Settings) -> bool:
    return settings.database_url.startswith("postgresql")


def _numbered(sql: str) -> str:
    count = 0

    def number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"\?", number, sql)


async def _pg(url: str, sql: str, args: tuple[Any, ...], fetch: bool) -> list[Row]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        if fetch:
            return [tuple(row) for row in await conn.fetch(_numbered(sql), *args)]
        await conn.execute(_numbered(sql), *args)
        return []
    finally:
        await conn.close()


def _on_thread(url: str, sql: str, args: tuple[Any, ...], fetch: bool) -> list[Row]:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _pg(url, sql, args, fetch)).result(timeout=60)


def rows(settings: Settings, sql: str, *args: Any) -> list[Row]:
    """Every row of a query."""
    if is_postgresql(settings):
        return _on_thread(settings.database_url, sql, args, True)
    db = settings.home / "postdesk.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return [tuple(row) for row in conn.execute(sql, args)]
    finally:
        conn.close()


def row(settings: Settings, sql: str, *args: Any) -> Row:
    found = rows(settings, sql, *args)
    assert found, f"no row for {sql!r}"
    return found[0]


def execute(settings: Settings, sql: str, *args: Any) -> None:
    """A write, committed (foreign keys on: a delete cascades as the engine's would)."""
    if is_postgresql(settings):
        _on_thread(settings.database_url, sql, args, False)
        return
    conn = sqlite3.connect(Path(settings.home / "postdesk.db"), timeout=10)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


async def write(settings: Settings, sql: str, *args: Any) -> None:
    """`execute` from a test whose engine runs in the test's own event loop. A write waits
    for the database's write lock, and an engine transaction holding it may need that loop
    to go on (one awaited statement at a time): waiting on the loop itself, the test would
    hold the lock's release up until its own timeout ("database is locked")."""
    await asyncio.to_thread(execute, settings, sql, *args)


def at(value: str | datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite keeps naive UTC text)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def everything(settings: Settings) -> bytes:
    """All the database holds, as bytes to look for a secret in: the SQLite file itself, or
    every value of every table of the PostgreSQL database (bytea as stored, the rest as text)."""
    if not is_postgresql(settings):
        return (settings.home / "postdesk.db").read_bytes()
    tables = rows(
        settings,
        "SELECT quote_ident(table_name) FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    out = bytearray()
    for (table,) in tables:
        for found in rows(settings, f"SELECT * FROM {table}"):
            for value in found:
                out += value if isinstance(value, bytes) else str(value).encode()
                out += b"\n"
    return bytes(out)
