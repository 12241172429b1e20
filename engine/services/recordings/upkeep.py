"""Keeps SQLite's search indexes (FTS5, migration 0020) merged into one segment each.

FTS5 adds each transaction's rows as a new small segment and merges them in the background
of later writes (automerge), so a live index is 5-15 segments of several levels (the
benchmark's 1M messages: 9 for the bodies, 11 for the addresses and subjects). Every lookup
reads every segment: checking one interaction for a common word cost 38-48 us over 9
segments, 16-19 us over one, and the benchmark's slowest query (a common word, page 5,
sorted by client) walks ~550 such checks (docs/recordings.md, "Index upkeep").

`SearchUpkeep.run` merges on start and every `EVERY` seconds, in steps of `PAGES` pages
written (FTS5's `merge` command with a negative size: any two segments qualify, and it stops
after that much work), each step one short writing transaction in the database's write turn
(`Database.write_at_once`), so mail being stored waits for one step (~20-40 ms), never for
the whole merge (`optimize`: 16 s on 1M messages). A step that wrote nothing means the index
is one segment: the round ends. PostgreSQL's GIN indexes need no such care (autovacuum)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

from sqlalchemy.orm import Session

from data.db import Database

log = logging.getLogger(__name__)

INDEXES = ("search_interactions", "search_bodies")
# FTS5 pages (~4 KB each) written per step: on 1M messages a step took 23 ms at the median,
# 39 ms at p90 (1,000 pages: ~140 ms); merging a fresh migration's 9 and 11 segments took
# 541 steps, 15 s in all.
PAGES = 250
EVERY = 15 * 60.0
# Between steps: what waits for the write turn goes first.
PAUSE = 0.05


def _merge_step(session: Session, index: str, pages: int) -> bool:
    """One bounded merge of `index`; True when it did some work (FTS5 counts 2 or more
    changes then, fewer when there was nothing to merge)."""
    raw: sqlite3.Connection = session.connection().connection.driver_connection  # type: ignore[assignment]
    before = raw.total_changes
    raw.execute(f"INSERT INTO {index}({index}, rank) VALUES ('merge', {-int(pages)})")
    return raw.total_changes - before >= 2


class SearchUpkeep:
    """Merges the search indexes of `db` (SQLite only) on start and every `every` seconds."""

    def __init__(
        self, db: Database, *, every: float = EVERY, pages: int = PAGES, pause: float = PAUSE
    ) -> None:
        self.db = db
        self.every = every
        self.pages = pages
        self.pause = pause

    @staticmethod
    def applies(db: Database) -> bool:
        return db.engine.dialect.name == "sqlite"

    async def merge(self) -> int:
        """Merge steps until every index is one segment; how many steps wrote something."""
        steps = 0
        for index in INDEXES:
            while await self.db.write_at_once(
                lambda s, index=index: _merge_step(s, index, self.pages)  # type: ignore[misc]
            ):
                steps += 1
                await asyncio.sleep(self.pause)
        return steps

    async def run(self) -> None:
        while True:
            started = time.monotonic()
            steps = await self.merge()
            if steps:
                log.info(
                    "search indexes merged: %d steps in %.1f s", steps, time.monotonic() - started
                )
            await asyncio.sleep(self.every)
