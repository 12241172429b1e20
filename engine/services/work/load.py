"""How loaded an agent is and how much waits for them: per campaign of theirs, the
interactions they hold against the most they may hold, and the customers waiting in its
queue. The agent's console shows it in its status bar; `WaitingChanged` events keep the
waiting figures current without polling.

Each read is one grouped query, whatever the number of campaigns, so the notifier can count
the queues on every batch that changed them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from data.models import Campaign, Interaction, InteractionState, Membership
from engine.api.schemas import CampaignLoad
from engine.domain.routing import capacity, is_pick


async def waiting_by_campaign(
    session: AsyncSession, campaign_ids: list[int] | None = None
) -> dict[int, int]:
    """Customers waiting in each campaign's queue (held overflow not counted: it is not in
    the queue yet). Campaigns with nobody waiting are absent."""
    query = (
        select(Interaction.campaign_id, func.count(Interaction.id))
        .where(Interaction.state == InteractionState.QUEUED, Interaction.overflow.is_(False))
        .group_by(Interaction.campaign_id)
    )
    if campaign_ids is not None:
        query = query.where(Interaction.campaign_id.in_(campaign_ids))
    return {campaign_id: int(n) for campaign_id, n in await session.execute(query)}


async def waiting_by_name(session: AsyncSession) -> dict[str, int]:
    """`waiting_by_campaign` of every campaign, by name, zeros included."""
    query = (
        select(Campaign.name, func.count(Interaction.id))
        .outerjoin(
            Interaction,
            (Interaction.campaign_id == Campaign.id)
            & (Interaction.state == InteractionState.QUEUED)
            & Interaction.overflow.is_(False),
        )
        .group_by(Campaign.id, Campaign.name)
    )
    return {name: int(n) for name, n in await session.execute(query)}


async def member_campaigns(session: AsyncSession, user_id: int) -> list[str]:
    """The names of the campaigns a user is a member of: whose waiting counts they hear."""
    names = await session.execute(
        select(Campaign.name).join(Membership).where(Membership.user_id == user_id)
    )
    return sorted(names.scalars())


async def campaign_load(session: AsyncSession, user_id: int) -> list[CampaignLoad]:
    """Every campaign the user is a member of, by name."""
    campaigns = (
        await session.execute(
            select(
                Campaign.id,
                Campaign.name,
                Campaign.availability,
                Campaign.max_interactions_per_agent,
            )
            .join(Membership)
            .where(Membership.user_id == user_id)
            .order_by(Campaign.name)
        )
    ).all()
    ids = [row.id for row in campaigns]
    held = {
        campaign_id: int(n)
        for campaign_id, n in await session.execute(
            select(Interaction.campaign_id, func.count(Interaction.id))
            .where(
                Interaction.agent_id == user_id,
                Interaction.state == InteractionState.ASSIGNED,
                Interaction.campaign_id.in_(ids),
            )
            .group_by(Interaction.campaign_id)
        )
    }
    waiting = await waiting_by_campaign(session, ids)
    return [
        CampaignLoad(
            name=row.name,
            open=held.get(row.id, 0),
            capacity=capacity(row.availability.value, row.max_interactions_per_agent),
            waiting=waiting.get(row.id, 0),
            pick=is_pick(row.availability.value),
        )
        for row in campaigns
    ]
