"""Publish API events after commits, coalesced, built from fresh reads of what was committed.

Services report what changed (an interaction, a message, an agent) right after their
transaction ends, so a console never hears of a change that was rolled back. The reports are
collected and published by one background task in small batches: a burst of 500 ingested
mails costs a handful of queue snapshots, not 500. The router is woken at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from data.db import Database
from data.models import Interaction, Message, User
from engine.api.schemas import (
    AgentChanged,
    CampaignState,
    Event,
    InteractionChanged,
    MessageChanged,
    PickQueueChanged,
    QueueChanged,
)
from engine.bus import EventBus
from engine.domain.routing import is_pick
from engine.services import queries


class Notifier:
    def __init__(self, db: Database, bus: EventBus, *, batch_delay: float = 0.05) -> None:
        self.db = db
        self.bus = bus
        self.batch_delay = batch_delay
        self.on_new_work: list[Callable[[], None]] = []  # the router's kick
        # In schedule / overflow per campaign, sent with every queue event (set by the engine).
        self.campaign_states: Callable[[AsyncSession], Awaitable[list[CampaignState]]] | None = None
        self._interactions: set[int] = set()
        self._messages: set[int] = set()
        self._agents: set[int] = set()
        self._queue = False
        self._ready: list[Event] = []
        self._dirty = asyncio.Event()

    def _wake(self) -> None:
        self._dirty.set()
        for kick in self.on_new_work:
            kick()

    def interaction_changed(
        self, interaction_id: int, *, queue: bool = True, agents: tuple[int | None, ...] = ()
    ) -> None:
        self._interactions.add(interaction_id)
        self._agents.update(a for a in agents if a is not None)
        self._queue = self._queue or queue
        self._wake()

    def message_added(self, interaction_id: int, message_row_id: int | None) -> None:
        if message_row_id is not None:
            self._messages.add(message_row_id)
        self.interaction_changed(interaction_id)

    def outbound_changed(self, message_row_id: int) -> None:
        """One of our sent messages changed (e.g. a bounce marked it failed)."""
        self._messages.add(message_row_id)
        self._wake()

    def queue_changed(self) -> None:
        """The queue's picture changed without any one interaction changing (a campaign
        opened or closed, held interactions entered the queue)."""
        self._queue = True
        self._dirty.set()

    def agent_changed(self, user_id: int) -> None:
        self._agents.add(user_id)
        self._wake()

    def announce(self, event: Event) -> None:
        """An event complete in itself (a chat line, a log-out): published with the next
        batch, after the changes reported before it (a logged-out agent is Offline first)."""
        self._ready.append(event)
        self._dirty.set()

    async def run(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self.batch_delay)
            self._dirty.clear()
            await self.flush()

    async def flush(self) -> None:
        messages, self._messages = self._messages, set()
        interactions, self._interactions = self._interactions, set()
        agents, self._agents = self._agents, set()
        queue, self._queue = self._queue, False
        ready, self._ready = self._ready, []
        if not self.bus.has_subscribers:
            return  # nobody is watching: a console loads fresh data when it connects
        async with self.db.session() as session:
            if messages:
                rows = await session.execute(
                    select(Message, Interaction)
                    .join(Interaction)
                    # Threads of unassigned interactions are on nobody's screen: during a
                    # backlog this skips thousands of events (the queue event covers them).
                    .where(Message.id.in_(messages), Interaction.agent_id.is_not(None))
                    .options(selectinload(Message.attachments))
                    .order_by(Message.id)
                    .execution_options(populate_existing=True)
                )
                for message, interaction in rows:
                    self.bus.publish(
                        MessageChanged(
                            interaction_id=interaction.id,
                            agent=interaction.agent.username if interaction.agent else None,
                            message=queries.message_out(message),
                        )
                    )
            if interactions:
                rows_i = (
                    (
                        await session.execute(
                            select(Interaction)
                            .where(Interaction.id.in_(interactions))
                            .order_by(Interaction.id)
                            .execution_options(populate_existing=True)
                        )
                    )
                    .scalars()
                    .all()
                )
                for summary in await queries.summaries(session, rows_i):
                    self.bus.publish(InteractionChanged(interaction=summary))
                # Agents who take their work themselves reload what waits for them.
                if any(is_pick(row.campaign.availability.value) for row in rows_i):
                    self.bus.publish(PickQueueChanged())
            if agents:
                users = (
                    await session.execute(
                        select(User)
                        .where(User.id.in_(agents))
                        .execution_options(populate_existing=True)
                    )
                ).scalars()
                for user in users:
                    self.bus.publish(AgentChanged(agent=await queries.agent_row(session, user)))
            if queue:
                shown, total = await queries.queue_rows(session)
                states = await self.campaign_states(session) if self.campaign_states else []
                self.bus.publish(QueueChanged(queue=shown, total=total, campaigns=states))
        for event in ready:
            self.bus.publish(event)
