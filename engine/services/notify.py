"""Publish API events after a commit, built from fresh reads of what was committed.

Services call these after their transaction ends, so a console never hears of a change that was
rolled back. The router and outbox are kicked from here too: new work wakes them at once.
"""

from __future__ import annotations

from collections.abc import Callable

from data.db import Database
from data.models import Interaction, User
from engine.api.schemas import AgentChanged, InteractionChanged, MessageChanged, QueueChanged
from engine.bus import EventBus
from engine.services import views


class Notifier:
    def __init__(self, db: Database, bus: EventBus) -> None:
        self.db = db
        self.bus = bus
        self.on_new_work: list[Callable[[], None]] = []  # the router's kick

    def _wake(self) -> None:
        for kick in self.on_new_work:
            kick()

    async def interaction_changed(
        self, interaction_id: int, *, queue: bool = True, agents: tuple[int | None, ...] = ()
    ) -> None:
        async with self.db.session() as session:
            summary = await views.summary_of(session, interaction_id)
            self.bus.publish(InteractionChanged(interaction=summary))
            for user_id in {a for a in agents if a is not None}:
                user = await session.get_one(User, user_id, populate_existing=True)
                self.bus.publish(AgentChanged(agent=await views.agent_row(session, user)))
            if queue:
                self.bus.publish(QueueChanged(queue=await views.queue_rows(session)))
        self._wake()

    async def message_added(self, interaction_id: int, message_row_id: int | None) -> None:
        async with self.db.session() as session:
            interaction = await session.get_one(Interaction, interaction_id)
            agent = interaction.agent.username if interaction.agent else None
            if message_row_id is not None:
                message = await views.load_message(session, message_row_id)
                self.bus.publish(
                    MessageChanged(
                        interaction_id=interaction_id,
                        agent=agent,
                        message=views.message_out(message),
                    )
                )
        await self.interaction_changed(interaction_id)

    async def agent_changed(self, user_id: int) -> None:
        async with self.db.session() as session:
            user = await session.get_one(User, user_id, populate_existing=True)
            self.bus.publish(AgentChanged(agent=await views.agent_row(session, user)))
        self._wake()
