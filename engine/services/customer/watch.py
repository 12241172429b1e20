"""The engine hears what customers did on the public web service, which runs apart from it.

`postdesk web` writes a `customer_events` row in the same transaction as a rating or an
unsubscribe; this watcher reads the new rows in id order about once a second and reports them
to the notifier, so the agent's thread shows the rating and the supervisor's statistics count
it without anyone reloading. Reading from the database rather than being called by the web
process keeps the two independent: the web service works while the engine restarts, and the
rows wait for it.

Rows about dialer records (seen, unsubscribe from the web service; rejected, spam from the
ingest) are told through one callback, `dialer_records_changed(dialer_id)`, once per dialer
per poll however many of its records changed: the dialer's progress publisher reloads its
figures from the records, which are the truth, so a burst of image fetches costs one reload.

Rows older than a day are deleted: they are news, not records (the ratings and the blacklist
are the records).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from data.db import Database
from data.models import CustomerEvent, DialerList, DialerRecord
from engine.services.customer.dialer_tracking import KINDS as DIALER_KINDS
from engine.services.notify import Notifier

log = logging.getLogger(__name__)

BATCH = 500
# Told when records of a dialer changed state after sending (seen, rejected, spam) or one of
# its recipients unsubscribed; may be a coroutine function.
DialerChanged = Callable[[int], Awaitable[object] | object]
KEEP = timedelta(days=1)


class CustomerEventWatcher:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        *,
        interval: float = 1.0,
        dialer_records_changed: DialerChanged | None = None,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.interval = interval
        self.dialer_records_changed = dialer_records_changed
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
                    select(
                        CustomerEvent.id,
                        CustomerEvent.kind,
                        CustomerEvent.message_id,
                        DialerList.dialer_id,
                    )
                    .outerjoin(DialerRecord, CustomerEvent.dialer_record_id == DialerRecord.id)
                    .outerjoin(DialerList, DialerRecord.list_id == DialerList.id)
                    .where(CustomerEvent.id > (self._after or 0))
                    .order_by(CustomerEvent.id)
                    .limit(BATCH)
                )
            ).all()
        dialers: dict[int, None] = {}  # in the order first told
        for event_id, kind, message_id, dialer_id in rows:
            self._after = event_id
            if message_id is not None:
                self.notifier.customer_acted(message_id, counts=kind == "rating")
            if kind in DIALER_KINDS and dialer_id is not None:
                dialers[dialer_id] = None
        if self.dialer_records_changed is not None:
            for dialer_id in dialers:
                await self._tell(self.dialer_records_changed, dialer_id)
        return len(rows)

    @staticmethod
    async def _tell(hook: DialerChanged, dialer_id: int) -> None:
        """Call the hook; its failure is logged, never stops the watcher (the rows are read)."""
        try:
            result = hook(dialer_id)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("telling that dialer %s's records changed failed", dialer_id)

    async def _prune(self) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(
                delete(CustomerEvent).where(
                    CustomerEvent.created_at < self.clock() - KEEP,
                    CustomerEvent.id < (self._after or 0),  # never the newest: ids go on
                )
            )
