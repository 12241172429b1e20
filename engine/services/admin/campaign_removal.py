"""Removing a campaign (the manual's Remove button), softly.

The campaign's row stays, marked `removed_at`: its interactions and messages hang on it, and
the recordings must still find them under its name. Everything that makes it a working
campaign goes: its mailbox stops being read (at once, without an engine restart), its members
are taken off (so the router, pick lists and agents' campaigns leave it), campaigns that
overflowed into it hold their own overflow, and it is in no list, form or monitor panel. Its
name is free for a new campaign. Mail already in its outbox is still sent with its servers.

Removing is refused while the campaign has open interactions (waiting, or assigned to an
agent), unless the admin names a live campaign to move them to: waiting ones enter that
campaign's queue, assigned ones stay with their agent, in that campaign.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from data.db import Database
from data.models import Campaign, Interaction, InteractionState, Membership, User
from engine.api.schemas import CampaignRemoved, RemovalPlan
from engine.errors import Conflict, Invalid, NotFound
from engine.services.admin.campaign_rules import named
from engine.services.notify import Notifier

log = logging.getLogger(__name__)

OPEN = (InteractionState.QUEUED, InteractionState.ASSIGNED)


class CampaignRemoval:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        *,
        stop_mailbox: Callable[[int], Awaitable[None]],
        campaign_changed: Callable[[int], Awaitable[None]],
        routing_changed: Callable[[], None],
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.stop_mailbox = stop_mailbox
        self.campaign_changed = campaign_changed  # restarts (or forgets) its mailbox
        self.routing_changed = routing_changed

    async def plan(self, name: str) -> RemovalPlan:
        async with self.db.session() as session:
            campaign = await _live(session, name)
            queued, assigned = await _open_counts(session, campaign.id)
            targets = (
                await session.execute(
                    select(Campaign.name)
                    .where(Campaign.removed_at.is_(None), Campaign.id != campaign.id)
                    .order_by(Campaign.name)
                )
            ).scalars()
            return RemovalPlan(
                campaign=campaign.name, queued=queued, assigned=assigned, targets=list(targets)
            )

    async def remove(self, name: str, move_to: str | None) -> CampaignRemoved:
        plan = await self.plan(name)  # refused here, with the mailbox still running
        _refuse_unmoved(plan, move_to)
        if move_to is not None and move_to not in plan.targets:
            raise NotFound(f"move_to: no campaign {move_to!r} to move them to", field="move_to")
        async with self.db.session() as session:
            campaign_id = (await _live(session, name)).id
        # The mailbox first: mail it fetched after the move would land in a removed campaign.
        await self.stop_mailbox(campaign_id)
        try:
            removed, moved = await self._remove(campaign_id, move_to)
        except BaseException:
            await self.campaign_changed(campaign_id)  # not removed: it reads mail again
            raise
        await self.campaign_changed(campaign_id)  # its mailbox leaves the admin's list
        for interaction_id, agent_id in moved:
            self.notifier.interaction_changed(interaction_id, agents=(agent_id,))
        self.notifier.queue_changed()
        self.routing_changed()
        log.info("campaign %s removed; %s open interactions moved to %s", name, len(moved), move_to)
        return removed

    async def _remove(
        self, campaign_id: int, move_to: str | None
    ) -> tuple[CampaignRemoved, list[tuple[int, int | None]]]:
        async with self.db.session() as session, session.begin():
            campaign = await session.get_one(Campaign, campaign_id)
            queued, assigned = await _open_counts(session, campaign_id)
            plan = RemovalPlan(campaign=campaign.name, queued=queued, assigned=assigned, targets=[])
            _refuse_unmoved(plan, move_to)  # mail that came in meanwhile
            moved: list[tuple[int, int | None]] = []
            if move_to is not None and queued + assigned:
                target = await _live(session, move_to, field="move_to")
                moved = list(
                    (
                        await session.execute(
                            update(Interaction)
                            .where(
                                Interaction.campaign_id == campaign_id,
                                Interaction.state.in_(OPEN),
                            )
                            # Held overflow enters the new queue like the rest.
                            .values(campaign_id=target.id, overflow=False)
                            .returning(Interaction.id, Interaction.agent_id)
                        )
                    ).all()
                )
            members = sorted(
                (
                    await session.execute(
                        select(User.username)
                        .join(Membership, Membership.user_id == User.id)
                        .where(Membership.campaign_id == campaign_id)
                    )
                ).scalars()
            )
            await session.execute(delete(Membership).where(Membership.campaign_id == campaign_id))
            cleared = sorted(
                (
                    await session.execute(
                        update(Campaign)
                        .where(Campaign.overflow_campaign_id == campaign_id)
                        .values(overflow_campaign_id=None)
                        .returning(Campaign.name)
                    )
                ).scalars()
            )
            campaign.removed_at = datetime.now(UTC)
            campaign.overflow_campaign_id = None
            return (
                CampaignRemoved(
                    campaign=campaign.name,
                    moved=len(moved),
                    moved_to=move_to if moved else None,
                    members=members,
                    overflow_cleared=cleared,
                ),
                moved,
            )


def _refuse_unmoved(plan: RemovalPlan, move_to: str | None) -> None:
    if move_to is not None and move_to == plan.campaign:
        raise Invalid("move_to: choose another campaign than the one removed", field="move_to")
    if move_to is None and plan.queued + plan.assigned:
        raise Conflict(
            f"move_to: campaign {plan.campaign!r} has {plan.queued} waiting and "
            f"{plan.assigned} assigned interactions; choose a campaign to move them to",
            field="move_to",
        )


async def _live(session: AsyncSession, name: str, *, field: str | None = None) -> Campaign:
    campaign = await session.scalar(select(Campaign).where(named(name)))
    if campaign is None:
        raise NotFound(f"no campaign {name!r}", field=field)
    return campaign


async def _open_counts(session: AsyncSession, campaign_id: int) -> tuple[int, int]:
    counts = dict(
        (
            await session.execute(
                select(Interaction.state, func.count(Interaction.id))
                .where(Interaction.campaign_id == campaign_id, Interaction.state.in_(OPEN))
                .group_by(Interaction.state)
            )
        ).all()
    )
    return counts.get(InteractionState.QUEUED, 0), counts.get(InteractionState.ASSIGNED, 0)
