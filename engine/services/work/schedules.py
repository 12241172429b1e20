"""Campaign schedules as the engine reads them: the rows turned into domain schedules, the
campaign states supervisors see, and the clock everything schedule-related asks.

The clock is an attribute so tests move it across a window's edge instead of sleeping.
Exceptions are read for the days `next_change` can look at, never the whole history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.models import Campaign, Interaction, InteractionState, Schedule, ScheduleException
from engine.api.schemas import CampaignState
from engine.domain.schedule import (
    HORIZON_DAYS,
    DayException,
    ScheduleError,
    WeeklySchedule,
    Window,
    is_open,
    next_change,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Schedules:
    def __init__(self, db: Database, clock: Callable[[], datetime] = _utcnow) -> None:
        self.db = db
        self.clock = clock

    def now(self) -> datetime:
        return self.clock()

    async def load(
        self, session: AsyncSession, campaign_ids: Iterable[int] | None = None
    ) -> dict[int, WeeklySchedule]:
        """The schedules of campaigns that have one; a campaign left out is always open."""
        return await load_schedules(session, self.now(), campaign_ids)

    async def is_open(self, campaign_id: int) -> bool:
        async with self.db.session() as session:
            book = await self.load(session, [campaign_id])
        schedule = book.get(campaign_id)
        return schedule is None or _safe_open(schedule, self.now())

    async def states(self, session: AsyncSession) -> list[CampaignState]:
        """Every campaign, in schedule or not, with its held overflow count."""
        now = self.now()
        book = await self.load(session)
        held = dict(
            (
                await session.execute(
                    select(Interaction.campaign_id, func.count(Interaction.id))
                    .where(Interaction.overflow, Interaction.state == InteractionState.QUEUED)
                    .group_by(Interaction.campaign_id)
                )
            ).all()
        )
        names = await session.execute(
            select(Campaign.id, Campaign.name)
            .where(Campaign.removed_at.is_(None))  # a removed campaign is in no panel
            .order_by(Campaign.name)
        )
        states = []
        for campaign_id, name in names:
            schedule = book.get(campaign_id)
            states.append(
                CampaignState(
                    name=name,
                    in_schedule=schedule is None or _safe_open(schedule, now),
                    overflow=int(held.get(campaign_id, 0)),
                    next_change=None if schedule is None else _safe_next(schedule, now),
                )
            )
        return states


def _safe_open(schedule: WeeklySchedule, now: datetime) -> bool:
    try:
        return is_open(schedule, now)
    except ScheduleError:  # a zone removed from the system's tz database: never stop routing
        return True


def _safe_next(schedule: WeeklySchedule, now: datetime) -> datetime | None:
    try:
        return next_change(schedule, now)
    except ScheduleError:
        return None


async def load_schedules(
    session: AsyncSession, now: datetime, campaign_ids: Iterable[int] | None = None
) -> dict[int, WeeklySchedule]:
    ids = None if campaign_ids is None else list(campaign_ids)
    windows = select(Schedule.campaign_id, Schedule.weekday, Schedule.start, Schedule.end).where(
        Schedule.campaign_id.is_not(None)
    )
    today = now.date()
    first, last = today - timedelta(days=2), today + timedelta(days=HORIZON_DAYS + 3)
    exceptions = select(
        ScheduleException.campaign_id,
        ScheduleException.day,
        ScheduleException.start,
        ScheduleException.end,
    ).where(ScheduleException.day >= first, ScheduleException.day <= last)
    if ids is not None:
        windows = windows.where(Schedule.campaign_id.in_(ids))
        exceptions = exceptions.where(ScheduleException.campaign_id.in_(ids))
    by_campaign: dict[int, list[Window]] = {}
    for owner, weekday, start, end in await session.execute(windows):
        if owner is not None:
            by_campaign.setdefault(owner, []).append(Window(weekday, start, end))
    days: dict[int, dict[date, list[tuple[time, time]]]] = {}
    for campaign_id, day, opens, closes in await session.execute(exceptions):
        hours = days.setdefault(campaign_id, {}).setdefault(day, [])
        if opens is not None and closes is not None:
            hours.append((opens, closes))
    scheduled = set(by_campaign) | set(days)
    if not scheduled:
        return {}
    zones = dict(
        (
            await session.execute(
                select(Campaign.id, Campaign.time_zone).where(Campaign.id.in_(scheduled))
            )
        ).all()
    )
    return {
        campaign_id: WeeklySchedule(
            zones.get(campaign_id) or "UTC",
            tuple(by_campaign.get(campaign_id, ())),
            tuple(
                DayException(day, tuple(hours)) for day, hours in days.get(campaign_id, {}).items()
            ),
        )
        for campaign_id in scheduled
    }
