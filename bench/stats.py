"""bench/stats: the supervisor's statistics read models at scale, against the per-agent query
loop the grid used before (one grouped count per agent), in the same run.

Builds a SQLite database of N interactions (default 1M, spread over 90 days, 0.6 % open),
2,000 agents and 50 campaigns straight through sqlite3 (a few minutes at 1M; kept in
--db for the next run), then times `campaign_stats` for today and for 30 days, `agent_rows`
for everyone and for one agent (the notifier's case) and `queue_rows`.

    uv run python -m bench.stats [--interactions 1000000] [--db /tmp/postdesk-stats.db]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database, sqlite_url
from data.models import Interaction, User
from engine.domain.statistics import day_bounds
from engine.services import queries, statistics

N = 1_000_000
path = Path("/tmp/postdesk-stats.db")


def _insert(
    conn: sqlite3.Connection, table: str, columns: str, rows: list[tuple[object, ...]]
) -> None:
    marks = ",".join("?" * len(columns.split(",")))
    conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


CAMPAIGN = (
    "id,name,enabled,receive_emails,service_level_seconds,strategy,from_name,email_address,"
    "inbound,imap_host,imap_port,imap_security,imap_username,imap_folder,imap_sent_folder,"
    "maildir_path,smtp_host,smtp_port,smtp_security,smtp_username,tls_verify,"
    "max_interactions_per_agent,max_interactions_in_queue,qualification_enabled,"
    "qualification_motivation,qualification_thanks,threshold_warning_seconds,"
    "threshold_critical_seconds,confirmation_enabled,created_at"
)
USER = "id,username,display_name,roles,status,status_reason,status_since,"
USER += "screen_monitoring_allowed,created_at"
INTERACTION = (
    "id,campaign_id,agent_id,state,direction,client_email,client_name,subject,cc,bcc,unread,"
    "draft,created_at,queued_at,assigned_at,closed_at,last_message_at,service_due_at,"
    "first_response_at,first_response_seconds,handling_seconds"
)


def _interaction(i: int, now: datetime) -> tuple[object, ...]:
    created = now - timedelta(seconds=random.randint(0, 90 * 86400))
    r = random.random()
    closed: datetime | None = None
    if r < 0.002:
        state, agent = "queued", None
    elif r < 0.006:
        state, agent = "assigned", random.randint(1, 2000)
    else:
        state, agent = "closed", random.randint(1, 2000)
        closed = created + timedelta(minutes=30)
    first = created + timedelta(minutes=random.randint(1, 120)) if agent else None
    return (
        i, i % 50 + 1, agent, state, "inbound", "c@x", "", "", "[]", "[]", 0, "",
        _f(created), _f(created), _f(created) if agent else None, _f(closed), _f(created),
        _f(created + timedelta(hours=1)), _f(first),
        (first - created).seconds if first else None, 600,
    )  # fmt: skip


def _f(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(sep=" ")


async def build() -> None:
    db = Database(sqlite_url(path))
    await db.upgrade()
    await db.close()
    conn = sqlite3.connect(path)
    now = datetime.now(UTC).replace(tzinfo=None)
    at = _f(now)
    _insert(conn, "campaigns", CAMPAIGN, [
        (i, f"c{i}", 1, 1, 3600, "least_active", "", f"c{i}@x", "none", "", 993, "tls", "",
         "INBOX", "", "", "h", 25, "plain", "", 1, 5, 0, 0, "", "", 300, 900, 0, at)
        for i in range(1, 51)
    ])  # fmt: skip
    statuses = ["free", "break", "offline", "paused"]
    _insert(conn, "users", USER, [
        (i, f"a{i}", f"A {i}", '["agent"]', random.choice(statuses), "", at, 0, at)
        for i in range(1, 2001)
    ])  # fmt: skip
    _insert(conn, "memberships", "campaign_id,user_id", [(i % 50 + 1, i) for i in range(1, 2001)])
    for start in range(1, N + 1, 50_000):
        rows = [_interaction(i, now) for i in range(start, min(N + 1, start + 50_000))]
        _insert(conn, "interactions", INTERACTION, rows)
    conn.commit()
    conn.close()


async def main() -> None:
    if not path.exists():
        await build()
    db = Database(sqlite_url(path))
    now = datetime.now(UTC)
    s, e = day_bounds(now)
    timings: dict[str, float] = {}

    async def timeit(
        name: str, fn: Callable[[AsyncSession], Awaitable[object]], n: int = 10
    ) -> None:
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            async with db.session() as session:
                await fn(session)
            ts.append(time.perf_counter() - t)
        ts.sort()
        timings[name] = ts[len(ts) // 2]
        print(f"{name}: p50 {ts[len(ts) // 2] * 1000:.1f} ms, max {ts[-1] * 1000:.1f} ms")

    await timeit(
        "campaign_stats today (50 campaigns)", lambda se: statistics.campaign_stats(se, s, e, now)
    )
    await timeit("agent_rows (2,000 agents)", lambda se: queries.agent_rows(se, now=now))
    await timeit(
        "agent_rows one agent (notifier)", lambda se: queries.agent_rows(se, user_ids=[17], now=now)
    )
    await timeit("queue_rows", queries.queue_rows)
    m = now - timedelta(days=30)
    await timeit("campaign_stats 30 days", lambda se: statistics.campaign_stats(se, m, e, now), n=3)
    async with db.session() as se:
        users = (await se.execute(select(User))).scalars().all()
        t = time.perf_counter()
        for u in users:  # the old pattern: one grouped count per agent
            await se.execute(
                select(Interaction.state, func.count(Interaction.id))
                .where(Interaction.agent_id == u.id)
                .group_by(Interaction.state)
            )
        loop_ms = (time.perf_counter() - t) * 1000
        print(f"old per-agent loop (2,000 queries): {loop_ms:.0f} ms")
        grid_ms = timings["agent_rows (2,000 agents)"] * 1000
        print(f"target grid-read: {grid_ms:.0f} ms, {loop_ms / grid_ms:.1f}x faster than the loop")
    await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=N)
    parser.add_argument("--db", type=Path, default=path)
    args = parser.parse_args()
    N, path = args.interactions, args.db
    asyncio.run(main())
