"""Pick modes: agents of a `pick-one` / `pick-many` campaign see its queue and take work
themselves (the router pushes them nothing).

A take is one conditional UPDATE: the interaction is still queued, its campaign is in a pick
mode, the agent is a Free member with room under the campaign's limit. Two agents taking the
same interaction at once both send it; the database applies one, and the other is told it was
taken. Nothing is assigned twice, and an agent taking from two consoles at once never goes
over the limit.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, case, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from data.db import Database
from data.models import (
    AgentStatus,
    Availability,
    Campaign,
    Interaction,
    InteractionState,
    Membership,
    User,
)
from engine.api.schemas import QUEUE_VIEW_LIMIT, PickQueue
from engine.domain.routing import PICK_MODES, take_refusal
from engine.errors import Conflict, Forbidden, NotFound
from engine.services import queries
from engine.services.notify import Notifier

_PICK = [Availability(m) for m in PICK_MODES]


class Picking:
    def __init__(self, db: Database, notifier: Notifier) -> None:
        self.db = db
        self.notifier = notifier

    async def queue(self, user_id: int) -> PickQueue:
        """What waits in the agent's pick-mode campaigns, longest waiting first."""
        async with self.db.session() as session:
            mine = (
                await session.execute(
                    select(Campaign.id, Campaign.name)
                    .join(Membership, Membership.campaign_id == Campaign.id)
                    .where(
                        Membership.user_id == user_id,
                        Campaign.enabled,
                        Campaign.availability.in_(_PICK),
                    )
                )
            ).all()
            if not mine:
                return PickQueue(campaigns=[], waiting=[], total=0)
            ids = [campaign_id for campaign_id, _name in mine]
            waiting = and_(
                Interaction.campaign_id.in_(ids), Interaction.state == InteractionState.QUEUED
            )
            rows = (
                (
                    await session.execute(
                        select(Interaction)
                        .where(waiting)
                        .order_by(Interaction.queued_at, Interaction.id)
                        .limit(QUEUE_VIEW_LIMIT)
                    )
                )
                .scalars()
                .all()
            )
            total = len(rows)
            if total == QUEUE_VIEW_LIMIT:
                total = int(
                    await session.scalar(select(func.count(Interaction.id)).where(waiting)) or 0
                )
            return PickQueue(
                campaigns=sorted(name for _id, name in mine),
                waiting=await queries.summaries(session, rows),
                total=total,
            )

    async def take(self, user_id: int, interaction_id: int) -> None:
        """Assign a queued interaction of a pick-mode campaign to the agent asking."""
        now = datetime.now(UTC)
        async with self.db.session() as session, session.begin():
            # One take of an agent at a time: on PostgreSQL two consoles' UPDATEs would each
            # count the agent's open work in their own snapshot and both pass the limit. The
            # agent's row lock orders them, and each statement after it sees the other's
            # commit. (SQLite writes one transaction at a time already; it has no FOR UPDATE.)
            await session.execute(select(User.id).where(User.id == user_id).with_for_update())
            row = (
                await session.execute(
                    select(Interaction.state, Interaction.agent_id, Campaign)
                    .join(Campaign, Interaction.campaign_id == Campaign.id)
                    .where(Interaction.id == interaction_id)
                )
            ).first()
            if row is None:
                raise NotFound(f"no interaction {interaction_id}", field="interaction_id")
            state, agent_id, campaign = row
            membership_id = await session.scalar(
                select(Membership.id).where(
                    Membership.campaign_id == campaign.id, Membership.user_id == user_id
                )
            )
            if membership_id is None:
                raise Forbidden(
                    f"you are not a member of {campaign.name!r}", field="interaction_id"
                )
            active = await _active(session, user_id, campaign.id)
            refusal = take_refusal(
                campaign.availability.value, active, campaign.max_interactions_per_agent
            )
            if refusal is not None:
                raise Conflict(refusal, field="interaction_id")
            status = await session.scalar(select(User.status).where(User.id == user_id))
            if status != AgentStatus.FREE:
                raise Conflict("you take work when Free (a makes you Free)", field="status")
            if state != InteractionState.QUEUED:
                raise Conflict(_gone(state, agent_id, user_id), field="interaction_id")
            # Everything checked above, again in the one statement that decides. (The open
            # count correlates with `campaigns`: a subquery two levels down does not
            # correlate with the UPDATE's own table.)
            mine = aliased(Interaction)
            limit = case(
                (Campaign.availability == Availability.PICK_ONE, 1),
                else_=Campaign.max_interactions_per_agent,
            )
            open_now = (
                select(func.count(mine.id))
                .where(
                    mine.agent_id == user_id,
                    mine.campaign_id == Campaign.id,
                    mine.state == InteractionState.ASSIGNED,
                )
                .scalar_subquery()
            )
            room = exists().where(
                Campaign.id == Interaction.campaign_id,
                Campaign.availability.in_(_PICK),
                open_now < limit,
            )
            member = exists().where(
                and_(
                    Membership.campaign_id == Interaction.campaign_id,
                    Membership.user_id == user_id,
                )
            )
            free = exists().where(User.id == user_id, User.status == AgentStatus.FREE)
            result = await session.execute(
                update(Interaction)
                .where(
                    Interaction.id == interaction_id,
                    Interaction.state == InteractionState.QUEUED,
                    room,
                    member,
                    free,
                )
                .values(state=InteractionState.ASSIGNED, agent_id=user_id, assigned_at=now)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                # Something changed since the checks: another agent took it, or this agent
                # took another one from a second console at the same moment.
                now_state, now_agent = (
                    await session.execute(
                        select(Interaction.state, Interaction.agent_id).where(
                            Interaction.id == interaction_id
                        )
                    )
                ).one()
                if now_state != InteractionState.QUEUED:
                    raise Conflict(_gone(now_state, now_agent, user_id), field="interaction_id")
                raise Conflict(
                    "you took another one at the same moment; this one still waits",
                    field="interaction_id",
                )
            await session.execute(
                update(Membership)
                .where(Membership.id == membership_id)
                .values(last_assigned_at=now)
            )
        self.notifier.interaction_changed(interaction_id, agents=(user_id,))


async def _active(session: AsyncSession, user_id: int, campaign_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count(Interaction.id)).where(
                Interaction.agent_id == user_id,
                Interaction.campaign_id == campaign_id,
                Interaction.state == InteractionState.ASSIGNED,
            )
        )
        or 0
    )


def _gone(state: InteractionState, agent_id: int | None, user_id: int) -> str:
    if state == InteractionState.ASSIGNED and agent_id == user_id:
        return "it is already yours"
    if state == InteractionState.ASSIGNED:
        return "another agent took it a moment ago; pick another"
    return "it is closed"
