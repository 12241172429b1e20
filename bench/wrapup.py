"""bench/wrapup: the wrap-up read models at scale (docs/wrapup.md): the closes per campaign
and disposition over a period (`GET /stats/dispositions`, `ctl stats --dispositions`) and the
last code of a page of search results, against the naive way in the same run (read every
wrap-up of the period and count them in Python).

Builds a SQLite database of N wrap-ups (default 1M, spread over 90 days, 50 campaigns, 40
codes each) through sqlite3 (kept in --db for the next run), then times each read.

    uv run python -m bench.wrapup [--wrapups 1000000] [--db /tmp/postdesk-wrapup.db]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from data.db import Database, sqlite_url
from data.models import Campaign, InteractionWrapup
from engine.domain.statistics import day_bounds
from engine.services.work import wrapups
from engine.services.work.wrapups import Wrapups

CODES = [f"Group {g} > Code {c}" for g in range(8) for c in range(5)]


async def build(path: Path, n: int) -> None:
    db = Database(sqlite_url(path))
    await db.upgrade()
    async with db.session() as session, session.begin():
        session.add_all(Campaign(name=f"c{i}", email_address=f"c{i}@x") for i in range(1, 51))
    await db.close()
    conn = sqlite3.connect(path)
    now = datetime.now(UTC).replace(tzinfo=None)
    for start in range(1, n + 1, 50_000):
        rows = [
            (
                i,
                i,
                i % 50 + 1,
                random.randint(1, 2000),
                random.choice(CODES) if random.random() < 0.95 else "",
                "note" if random.random() < 0.3 else "",
                (now - timedelta(seconds=random.randint(0, 90 * 86400))).isoformat(sep=" "),
            )
            for i in range(start, min(n + 1, start + 50_000))
        ]
        conn.executemany(
            "INSERT INTO interaction_wrapups (id, interaction_id, campaign_id, agent_id,"
            " disposition_path, note, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    conn.commit()
    conn.close()


async def main(path: Path, n: int) -> None:
    if not path.exists():
        await build(path, n)
    db = Database(sqlite_url(path))
    service = Wrapups(db)
    now = datetime.now(UTC)
    today, end = day_bounds(now)

    async def timeit(name: str, fn: Callable[[], Awaitable[object]], runs: int = 5) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            await fn()
            times.append(time.perf_counter() - started)
        times.sort()
        print(f"{name}: p50 {times[len(times) // 2] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")
        return times[len(times) // 2]

    async def naive(since: datetime) -> Counter[tuple[int | None, str]]:
        async with db.session() as session:
            rows = await session.execute(
                select(InteractionWrapup).where(
                    InteractionWrapup.closed_at >= since, InteractionWrapup.closed_at < end
                )
            )
            return Counter((w.campaign_id, w.disposition_path) for w in rows.scalars())

    async def last_codes() -> object:
        async with db.session() as session:
            return await wrapups.last_dispositions(session, random.sample(range(1, n), 200))

    ratios: list[tuple[int, float]] = []
    for days in (1, 30):
        since = today - timedelta(days=days - 1)

        def fast_call(since: datetime = since) -> Awaitable[object]:
            return service.stats(since, end)

        def slow_call(since: datetime = since) -> Awaitable[object]:
            return naive(since)

        fast = await timeit(f"stats/dispositions {days} day(s)", fast_call)
        slow = await timeit(f"naive count {days} day(s)", slow_call, runs=3)
        ratios.append((days, slow / fast))
    await timeit("last code of 200 search results", last_codes)
    # The guide's form, one line per target, at the end: the grouped query against counting
    # the same closes in Python, in the same run.
    for days, ratio in ratios:
        print(f"target dispositions-{days}d-vs-python: {ratio:.1f} x (goal >= 10)")
    await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wrapups", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/postdesk-wrapup.db"))
    args = parser.parse_args()
    asyncio.run(main(args.db, args.wrapups))
