"""Routing queues: hand queued interactions to free member agents, longest waiting first.

The router is woken whenever work appears or an agent frees up, and also sweeps every few
seconds so nothing waits on a lost wake-up. Each assignment commits before it is announced.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy import func, select

from data.db import Database
from data.models import (
    AgentStatus,
    Campaign,
    Interaction,
    InteractionState,
    Membership,
    User,
)
from engine.domain.routing import AgentLoad, choose_agent
from engine.services.notify import Notifier

log = logging.getLogger(__name__)


class Router:
    def __init__(self, db: Database, notifier: Notifier, sweep_seconds: float = 5.0) -> None:
        self.db = db
        self.notifier = notifier
        self.sweep_seconds = sweep_seconds
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
                async with asyncio.timeout(self.sweep_seconds):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            await self.assign_all()

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
                free.setdefault(campaign_id, []).append((user_id, since))
                caps[campaign_id] = cap
            if not free:
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
        for interaction_id, agent_id in assigned:
            log.info("interaction %s assigned to agent %s", interaction_id, agent_id)
            self.notifier.interaction_changed(interaction_id, agents=(agent_id,))
        return assigned
