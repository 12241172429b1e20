"""Routing queues: hand queued interactions to free member agents, longest waiting first.

The router is woken whenever work appears or an agent frees up, and also sweeps every few
seconds so nothing waits on a lost wake-up. Each assignment commits before it is announced.

A campaign out of its schedule keeps its queue and gets nothing routed; the router sleeps no
longer than until the next opening or closing of any campaign, and announces the change so
supervisors see it. Interactions held over a campaign's queue limit enter its queue, oldest
first, as soon as it has room (`engine/domain/queue_limit.py`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.models import (
    AgentStatus,
    Campaign,
    Interaction,
    InteractionState,
    Membership,
    User,
)
from engine.domain import queue_limit
from engine.domain.routing import AgentLoad, choose_agent
from engine.domain.schedule import ScheduleError, is_open, next_change
from engine.services.notify import Notifier
from engine.services.work.schedules import Schedules

log = logging.getLogger(__name__)


class Router:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        sweep_seconds: float = 5.0,
        schedules: Schedules | None = None,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.sweep_seconds = sweep_seconds
        self.schedules = schedules or Schedules(db)
        self.next_schedule_change: datetime | None = None  # the earliest of every campaign
        self._open: dict[int, bool] = {}  # as last seen, to announce a change once
        self._wake = asyncio.Event()
        # Held while assigning, and by every change of an agent's status: an agent paused
        # (or gone on break) while the router works is not handed mail read as Free.
        self.status_lock = asyncio.Lock()
        notifier.on_new_work.append(self.kick)

    def kick(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the
                # cancellation of Engine.stop() when a wake-up lands at the same time.
                async with asyncio.timeout(self.sleep_seconds()):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            await self.assign_all()

    def sleep_seconds(self) -> float:
        """Until the next sweep, or the next opening or closing if that comes first."""
        if self.next_schedule_change is None:
            return self.sweep_seconds
        due = (self.next_schedule_change - self.schedules.now()).total_seconds()
        return min(self.sweep_seconds, max(0.0, due) + 0.001)

    async def assign_all(self) -> list[tuple[int, int]]:
        """Assign what can be assigned now; returns (interaction id, agent id) pairs.

        Capacity is computed first, so a long queue with nobody free costs two small
        queries, and only as many queued interactions are loaded as can be placed.
        """
        async with self.status_lock:
            return await self._assign_all()

    async def _assign_all(self) -> list[tuple[int, int]]:
        assigned: list[tuple[int, int]] = []
        async with self.db.session() as session, session.begin():
            admitted = await _admit_overflow(session)
            closed = await self._closed_campaigns(session)
            free_rows = await session.execute(
                select(
                    Membership.campaign_id,
                    User.id,
                    User.status_since,
                    Campaign.max_interactions_per_agent,
                )
                .join(User, Membership.user_id == User.id)
                .join(Campaign, Membership.campaign_id == Campaign.id)
                .where(User.status == AgentStatus.FREE, Campaign.enabled)
            )
            free: dict[int, list[tuple[int, datetime]]] = {}
            caps: dict[int, int] = {}
            for campaign_id, user_id, since, cap in free_rows:
                if campaign_id in closed:
                    continue  # out of schedule: its queue waits for the opening
                free.setdefault(campaign_id, []).append((user_id, since))
                caps[campaign_id] = cap
            if not free:
                if admitted:
                    self.notifier.queue_changed()
                return []
            active_rows = await session.execute(
                select(Interaction.agent_id, Interaction.campaign_id, func.count(Interaction.id))
                .where(
                    Interaction.state == InteractionState.ASSIGNED,
                    Interaction.campaign_id.in_(free),
                )
                .group_by(Interaction.agent_id, Interaction.campaign_id)
            )
            active: dict[tuple[int, int], int] = {
                (agent_id, campaign_id): n
                for agent_id, campaign_id, n in active_rows
                if agent_id is not None
            }
            now = datetime.now(UTC)
            for campaign_id, members in free.items():
                room = sum(
                    max(0, caps[campaign_id] - active.get((uid, campaign_id), 0))
                    for uid, _since in members
                )
                if room == 0:
                    continue
                queued = (
                    (
                        await session.execute(
                            select(Interaction)
                            .where(
                                Interaction.campaign_id == campaign_id,
                                Interaction.state == InteractionState.QUEUED,
                                Interaction.overflow.is_(False),
                            )
                            .order_by(Interaction.queued_at, Interaction.id)
                            .limit(room)
                        )
                    )
                    .scalars()
                    .all()
                )
                for interaction in queued:
                    choice = choose_agent(
                        [
                            AgentLoad(uid, active.get((uid, campaign_id), 0), since)
                            for uid, since in members
                        ],
                        caps[campaign_id],
                    )
                    if choice is None:
                        break
                    interaction.state = InteractionState.ASSIGNED
                    interaction.agent_id = choice.user_id
                    interaction.assigned_at = now
                    key = (choice.user_id, campaign_id)
                    active[key] = active.get(key, 0) + 1
                    assigned.append((interaction.id, choice.user_id))
            if assigned:
                admitted += await _admit_overflow(session)  # the queue has room again
        if admitted:
            self.notifier.queue_changed()
            self.kick()  # route the newly admitted on the next pass
        for interaction_id, agent_id in assigned:
            log.info("interaction %s assigned to agent %s", interaction_id, agent_id)
            self.notifier.interaction_changed(interaction_id, agents=(agent_id,))
        return assigned

    async def _closed_campaigns(self, session: AsyncSession) -> set[int]:
        """Campaigns out of schedule now; remembers the next change to wake for it."""
        now = self.schedules.now()
        book = await self.schedules.load(session)
        closed: set[int] = set()
        changes: list[datetime] = []
        states: dict[int, bool] = {}
        for campaign_id, schedule in book.items():
            try:
                open_now = is_open(schedule, now)
                change = next_change(schedule, now)
            except ScheduleError:
                log.warning("campaign %s: unknown time zone, routed as always open", campaign_id)
                continue
            states[campaign_id] = open_now
            if not open_now:
                closed.add(campaign_id)
            if change is not None:
                changes.append(change)
        self.next_schedule_change = min(changes, default=None)
        if states != self._open:
            self._open = states
            self.notifier.queue_changed()  # supervisors see in / out of schedule
        return closed


async def _admit_overflow(session: AsyncSession) -> int:
    """Let held interactions into their queues where there is room, oldest first."""
    held = (
        await session.execute(
            select(Interaction.campaign_id, func.count(Interaction.id))
            .where(Interaction.overflow, Interaction.state == InteractionState.QUEUED)
            .group_by(Interaction.campaign_id)
        )
    ).all()
    admitted = 0
    for campaign_id, n_held in held:
        limit = await session.scalar(
            select(Campaign.max_interactions_in_queue).where(Campaign.id == campaign_id)
        )
        queued = await session.scalar(
            select(func.count(Interaction.id)).where(
                Interaction.campaign_id == campaign_id,
                Interaction.state == InteractionState.QUEUED,
                Interaction.overflow.is_(False),
            )
        )
        load = queue_limit.QueueLoad(int(queued or 0), int(n_held), int(limit or 0))
        n = queue_limit.room(load)
        if n <= 0:
            continue
        oldest = (
            select(Interaction.id)
            .where(
                Interaction.campaign_id == campaign_id,
                Interaction.state == InteractionState.QUEUED,
                Interaction.overflow,
            )
            .order_by(Interaction.queued_at, Interaction.id)
            .limit(n)
        )
        await session.execute(
            update(Interaction).where(Interaction.id.in_(oldest)).values(overflow=False)
        )
        admitted += n
        log.info("campaign %s: %s held interactions entered the queue", campaign_id, n)
    return admitted
