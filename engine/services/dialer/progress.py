"""A dialer's progress as events, so a dashboard needs no polling.

Whoever changes records of a dialer (the runner as it sends, the tracking of seen images,
bounces and complaints) calls `DialerProgressBoard.changed(dialer_id)`; nothing is counted
then. The board's task wakes, waits `interval` so a fast run's thousands of changes become
one event, counts every changed dialer's records in ONE grouped query (per list and state)
and publishes a `DialerProgress` per list to supervisors and admins. A dialer that sends a
thousand messages a second costs a few counts a second, never one per message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.models import Dialer, DialerList, DialerRecord, DialerRecordState, Schedule
from engine.api.schemas import DialerProgress
from engine.bus import EventBus
from engine.domain.dialer_schedule import on_schedule
from engine.domain.schedule import WeeklySchedule, Window

__all__ = ["DialerProgressBoard", "count_progress", "weekly_of"]

log = logging.getLogger(__name__)

S = DialerRecordState
_WAITING = (S.PENDING, S.SENDING)
_WERE_SENT = (S.SENT, S.SEEN, S.REJECTED, S.SPAM)


async def weekly_of(session: AsyncSession, dialer: Dialer) -> WeeklySchedule:
    rows = (await session.scalars(select(Schedule).where(Schedule.dialer_id == dialer.id))).all()
    return WeeklySchedule(dialer.time_zone, tuple(Window(r.weekday, r.start, r.end) for r in rows))


async def count_progress(
    session: AsyncSession, dialer_ids: Iterable[int], now: datetime
) -> dict[int, list[DialerProgress]]:
    """Per dialer, one `DialerProgress` per list, from one grouped count of their records."""
    ids = sorted(set(dialer_ids))
    if not ids:
        return {}
    dialers = {
        d.id: d for d in (await session.scalars(select(Dialer).where(Dialer.id.in_(ids)))).all()
    }
    lists = (
        await session.scalars(
            select(DialerList)
            .where(DialerList.dialer_id.in_(ids), DialerList.importing.is_(False))
            .order_by(DialerList.id)
        )
    ).all()
    counts: dict[int, dict[S, int]] = {lst.id: {} for lst in lists}
    if lists:
        rows = await session.execute(
            select(DialerRecord.list_id, DialerRecord.state, func.count())
            .where(DialerRecord.list_id.in_(list(counts)))
            .group_by(DialerRecord.list_id, DialerRecord.state)
        )
        for list_id, state, count in rows:
            counts[list_id][state] = int(count)
    scheduled = {
        d.id: on_schedule(await weekly_of(session, d), d.starts_on, d.ends_on, now)
        for d in dialers.values()
    }
    found: dict[int, list[DialerProgress]] = {i: [] for i in dialers}
    for lst in lists:
        dialer = dialers[lst.dialer_id]
        by = counts[lst.id]
        total = sum(by.values())
        waiting = sum(by.get(s, 0) for s in _WAITING)
        found[dialer.id].append(
            DialerProgress(
                dialer=dialer.name,
                list_id=lst.id,
                list_name=lst.name,
                records=total,
                processed=total - waiting,
                not_processed=waiting,
                sent=sum(by.get(s, 0) for s in _WERE_SENT),
                failed=by.get(S.FAILED, 0),
                skipped=by.get(S.SKIPPED, 0),
                seen=by.get(S.SEEN, 0),
                rejected=by.get(S.REJECTED, 0),
                spam=by.get(S.SPAM, 0),
                on_schedule=scheduled[dialer.id],
                list_active=lst.active,
                running=dialer.running,
            )
        )
    return found


class DialerProgressBoard:
    def __init__(
        self, db: Database, bus: EventBus, clock: Callable[[], datetime], *, interval: float = 0.5
    ) -> None:
        self.db = db
        self.bus = bus
        self.clock = clock
        self.interval = interval  # at most one count of a dialer this often
        self._dirty: set[int] = set()
        self._wake = asyncio.Event()
        self.published = 0  # events sent so far (the tests and the bench read it)
        # Several nodes on one PostgreSQL (engine/services/node_events.py): the dialers that
        # changed here are told to the other nodes, whose supervisors see them too.
        self.share: Callable[[set[int]], Awaitable[None]] | None = None
        self._told: set[int] = set()

    def changed(self, dialer_id: int) -> None:
        """Records of this dialer changed (sent, failed, seen, bounced...): its progress
        event goes out within `interval`. Cheap: call it as often as records change."""
        self._dirty.add(dialer_id)
        if self.share is not None:
            self._told.add(dialer_id)
        self._wake.set()

    def heard(self, dialer_ids: Iterable[int]) -> None:
        """Another node changed these dialers' records: counted and published here too."""
        self._dirty.update(dialer_ids)
        self._wake.set()

    async def records_changed(self, record_ids: Iterable[int]) -> None:
        """The same, for code that knows records rather than dialers (a seen image, a
        bounce, a complaint): their dialers' events go out within `interval`."""
        ids = list(set(record_ids))
        if not ids:
            return
        async with self.db.session() as session:
            dialers = await session.scalars(
                select(DialerList.dialer_id)
                .join(DialerRecord, DialerRecord.list_id == DialerList.id)
                .where(DialerRecord.id.in_(ids))
                .distinct()
            )
            for dialer_id in dialers:
                self.changed(dialer_id)

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.interval)  # what changes meanwhile joins this count
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        told, self._told = self._told, set()
        if told and self.share is not None:
            try:
                await self.share(told)
            except Exception as exc:  # their supervisors miss it; ours do not
                log.warning("could not tell the other nodes of dialer progress: %s", exc)
        if not dirty:
            return
        async with self.db.session() as session:
            found = await count_progress(session, dirty, self.clock())
        for events in found.values():
            for event in events:
                self.bus.publish(event)
                self.published += 1
