"""The engine hears what customers did on the public web service, which runs apart from it.

`postdesk web` writes a `customer_events` row in the same transaction as a rating or an
unsubscribe; this watcher reads the new rows in id order about once a second and reports them
to the notifier, so the agent's thread shows the rating and the supervisor's statistics count
it without anyone reloading. Reading from the database rather than being called by the web
process keeps the two independent: the web service works while the engine restarts, and the
rows wait for it.

Rows older than a day are deleted: they are news, not records (the ratings and the blacklist
are the records).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from data.db import Database
from data.models import CustomerEvent
from engine.services.notify import Notifier

BATCH = 500
KEEP = timedelta(days=1)


class CustomerEventWatcher:
    def __init__(self, db: Database, notifier: Notifier, *, interval: float = 1.0) -> None:
        self.db = db
        self.notifier = notifier
        self.interval = interval
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._after: int | None = None  # the last id told; None: not started

    async def run(self) -> None:
        if self._after is None:
            # What happened before the engine started is not news: consoles load it fresh.
            async with self.db.session() as session:
                self._after = int(await session.scalar(select(func.max(CustomerEvent.id))) or 0)
            await self._prune()
        pruned = self.clock()
        while True:
            await asyncio.sleep(self.interval)
            while await self.poll() == BATCH:
                pass  # a backlog: read on at once
            if self.clock() - pruned > timedelta(hours=1):
                await self._prune()
                pruned = self.clock()

    async def poll(self) -> int:
        """Report the rows written since the last poll; how many there were."""
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(CustomerEvent.id, CustomerEvent.kind, CustomerEvent.message_id)
                    .where(CustomerEvent.id > (self._after or 0))
                    .order_by(CustomerEvent.id)
                    .limit(BATCH)
                )
            ).all()
        for event_id, kind, message_id in rows:
            self._after = event_id
            if message_id is not None:
                self.notifier.customer_acted(message_id, counts=kind == "rating")
        return len(rows)

    async def _prune(self) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(
                delete(CustomerEvent).where(
                    CustomerEvent.created_at < self.clock() - KEEP,
                    CustomerEvent.id < (self._after or 0),  # never the newest: ids go on
                )
            )
