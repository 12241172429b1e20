"""Ratings as people read them: the list (`ctl ratings`, its CSV) and per agent."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from data.db import Database
from data.models import Campaign, Interaction, Message, MessageLink, Rating, User
from engine.api.schemas import AgentRatings, CampaignRatings, MessageOut, RatingOut, RatingsQuery


async def with_customer_feedback(
    session: AsyncSession, interaction_id: int, messages: list[MessageOut]
) -> None:
    """Fill in what customers did with the interaction's outgoing mail on the public web
    service: the rating (and when), and the tracking image's count (and first time)."""
    if len(messages) <= 50:  # a few (an event's): by id; a long thread: by interaction
        await fill_customer_feedback(session, messages)
        return
    ratings = {
        message_id: (score, at)
        for message_id, score, at in await session.execute(
            select(Rating.message_id, Rating.score, Rating.created_at)
            .join(Message, Rating.message_id == Message.id)
            .where(Message.interaction_id == interaction_id)
        )
    }
    seen = {
        message_id: (count, at)
        for message_id, count, at in await session.execute(
            select(MessageLink.message_id, MessageLink.seen_count, MessageLink.first_seen_at)
            .join(Message, MessageLink.message_id == Message.id)
            .where(Message.interaction_id == interaction_id, MessageLink.seen_count > 0)
        )
    }
    for message in messages:
        if message.id in ratings:
            message.rating, message.rated_at = ratings[message.id]
        if message.id in seen:
            message.seen_count, message.seen_at = seen[message.id]


async def fill_customer_feedback(session: AsyncSession, messages: list[MessageOut]) -> None:
    """`with_customer_feedback` for any messages, by their ids (the notifier's events)."""
    await session.run_sync(fill_customer_feedback_sync, messages)


def fill_customer_feedback_sync(session: Session, messages: list[MessageOut]) -> None:
    """`fill_customer_feedback` on a plain session (the notifier reads in the database's
    thread)."""
    ids = [m.id for m in messages if m.direction == "outbound"]
    if not ids:
        return
    ratings = {
        message_id: (score, at)
        for message_id, score, at in session.execute(
            select(Rating.message_id, Rating.score, Rating.created_at).where(
                Rating.message_id.in_(ids)
            )
        )
    }
    seen = {
        message_id: (count, at)
        for message_id, count, at in session.execute(
            select(MessageLink.message_id, MessageLink.seen_count, MessageLink.first_seen_at).where(
                MessageLink.message_id.in_(ids), MessageLink.seen_count > 0
            )
        )
    }
    for message in messages:
        if message.id in ratings:
            message.rating, message.rated_at = ratings[message.id]
        if message.id in seen:
            message.seen_count, message.seen_at = seen[message.id]


def _utc(moment: datetime) -> datetime:
    """A time without an offset is UTC (as the API documents)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _within(wanted: RatingsQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if wanted.campaign:
        conditions.append(Campaign.name == wanted.campaign)
    if wanted.since is not None:
        conditions.append(Rating.created_at >= _utc(wanted.since))
    if wanted.until is not None:
        conditions.append(Rating.created_at < _utc(wanted.until))
    return conditions


class Ratings:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def listing(self, wanted: RatingsQuery) -> list[RatingOut]:
        query = (
            select(
                Rating.created_at,
                Rating.score,
                Campaign.name,
                User.username,
                Rating.interaction_id,
                Rating.message_id,
                Interaction.client_email,
            )
            .join(Campaign, Rating.campaign_id == Campaign.id)
            .join(Interaction, Rating.interaction_id == Interaction.id)
            .outerjoin(User, Rating.agent_id == User.id)
            .order_by(Rating.created_at, Rating.id)
        )
        async with self.db.session() as session:
            rows = await session.execute(query.where(*_within(wanted)))
            return [
                RatingOut(
                    rated_at=at,
                    score=score,
                    campaign=campaign,
                    agent=agent,
                    interaction_id=interaction_id or 0,
                    message_id=message_id,
                    client_email=client,
                )
                for at, score, campaign, agent, interaction_id, message_id, client in rows
            ]

    async def by_agent(self, wanted: RatingsQuery) -> list[AgentRatings]:
        query = (
            select(User.username, User.display_name, func.count(Rating.id), func.avg(Rating.score))
            .join(User, Rating.agent_id == User.id)
            .join(Campaign, Rating.campaign_id == Campaign.id)
            .group_by(User.id, User.username, User.display_name)
            .order_by(User.username)
        )
        async with self.db.session() as session:
            rows = await session.execute(query.where(*_within(wanted)))
            return [
                AgentRatings(
                    agent=username,
                    display_name=name,
                    count=count,
                    average=round(float(average), 2),
                )
                for username, name, count, average in rows
            ]

    async def by_campaign(self, wanted: RatingsQuery) -> list[CampaignRatings]:
        query = (
            select(Campaign.name, func.count(Rating.id), func.avg(Rating.score))
            .join(Campaign, Rating.campaign_id == Campaign.id)
            .group_by(Campaign.id, Campaign.name)
            .order_by(Campaign.name)
        )
        async with self.db.session() as session:
            rows = await session.execute(query.where(*_within(wanted)))
            return [
                CampaignRatings(campaign=name, count=count, average=round(float(average), 2))
                for name, count, average in rows
            ]
