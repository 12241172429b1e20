"""The engine's busy writers take turns on SQLite (`data.db.WriteTurn`) instead of sleeping
in SQLite's busy handler: one at a time, in the order they asked, the router's urgent passes
first; a writer cancelled or failing never keeps the turn."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from data.db import Database, WriteTurn, sqlite_url


async def test_turns_go_in_order_with_the_urgent_first() -> None:
    turn = WriteTurn()
    order: list[str] = []
    release = asyncio.Event()

    async def writer(name: str, urgent: bool = False) -> None:
        async with turn.turn(urgent=urgent):
            order.append(name)
            if name == "first":
                await release.wait()
            await asyncio.sleep(0)

    first = asyncio.create_task(writer("first"))
    await asyncio.sleep(0)
    others = [asyncio.create_task(writer(f"mail{n}")) for n in range(3)]
    router = asyncio.create_task(writer("router", urgent=True))
    await asyncio.sleep(0.01)
    assert order == ["first"]  # the others wait their turn
    release.set()
    await asyncio.gather(first, *others, router)
    assert order == ["first", "router", "mail0", "mail1", "mail2"]


async def test_a_cancelled_or_failing_writer_leaves_the_turn_free() -> None:
    turn = WriteTurn()
    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with turn.turn():
            held.set()
            await release.wait()

    async def waiter() -> None:
        async with turn.turn():
            raise AssertionError("never reached")

    task = asyncio.create_task(holder())
    await held.wait()
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    waiting.cancel()  # gave up while waiting
    release.set()
    await task
    with pytest.raises(asyncio.CancelledError):
        await waiting
    with pytest.raises(RuntimeError):
        async with turn.turn():
            raise RuntimeError("the transaction failed")
    async with asyncio.timeout(1):  # free again
        async with turn.turn():
            pass


async def test_many_writers_at_once_all_commit(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "turns.db"))
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))

        async def write(n: int) -> None:
            async with db.writing(urgent=n % 7 == 0) as session:
                await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                await asyncio.sleep(0.001)  # the turn is held across the event loop
                await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": -n})

        await asyncio.gather(*(write(n) for n in range(1, 61)))
        async with db.session() as session:
            count = await session.scalar(text("SELECT count(*) FROM t"))
        assert count == 120
    finally:
        await db.close()
