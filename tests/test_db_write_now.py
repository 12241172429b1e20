"""`Database.write_now` (SQLite): a small write committed on the event loop's own thread (the
dialer's sent outcomes), which never waits there for a lock: when another connection holds
the database's write lock the same work goes the writer thread's way and commits once the
lock is free; a failing work leaves nothing behind and the next write goes on."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from data.db import Database, sqlite_url


def _table(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")


def _rows(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT id, v FROM t ORDER BY id").fetchall()


def _insert(value: str, threads: list[str]) -> Callable[[sqlite3.Connection], int]:
    def work(conn: sqlite3.Connection) -> int:
        threads.append(threading.current_thread().name)
        return conn.execute("INSERT INTO t (v) VALUES (?)", (value,)).lastrowid or 0

    return work


async def test_a_quick_write_commits_on_the_loops_thread(tmp_path: Path) -> None:
    path = tmp_path / "now.db"
    _table(path)
    db = Database(sqlite_url(path))
    threads: list[str] = []
    try:
        assert await db.write_now(_insert("a", threads)) == 1
        assert await db.write_now(_insert("b", threads)) == 2
    finally:
        await db.close()
    assert threads == [threading.current_thread().name] * 2
    assert _rows(path) == [(1, "a"), (2, "b")]  # committed: another connection reads them


async def test_a_busy_database_sends_the_write_to_the_writer_thread(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    _table(path)
    db = Database(sqlite_url(path))
    other = sqlite3.connect(path, isolation_level=None)
    threads: list[str] = []
    try:
        other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
        other.execute("INSERT INTO t (v) VALUES ('theirs')")
        writing = asyncio.create_task(db.write_now(_insert("ours", threads)))
        await asyncio.sleep(0.2)
        assert not writing.done()  # waiting for the lock, in the writer thread
        assert _rows(path) == []
        other.execute("COMMIT")
        assert await asyncio.wait_for(writing, 15) == 2
    finally:
        other.close()
        await db.close()
    assert threads[-1].startswith("db-write")
    assert _rows(path) == [(1, "theirs"), (2, "ours")]


async def test_a_failing_write_leaves_nothing_and_the_next_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "fail.db"
    _table(path)
    db = Database(sqlite_url(path))
    threads: list[str] = []

    def fails(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t (v) VALUES ('half')")
        raise ValueError("no")

    try:
        with pytest.raises(ValueError):
            await db.write_now(fails)
        assert await db.write_now(_insert("next", threads)) == 1
    finally:
        await db.close()
    assert _rows(path) == [(1, "next")]
