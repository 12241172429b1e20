"""The queue as a routing pass reads it: which campaigns have work waiting, the longest
waiting interactions each has room for, and interactions held over a campaign's queue
limit let in as room appears (`engine/domain/queue_limit.py`). Apart from the router's
decisions (`router.py`) so each reads in one piece; the pass calls these inside its write
turn, on a plain (not async) session: the whole pass is one trip to the database's thread
(`Database.write_at_once`)."""

from __future__ import annotations

import logging

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from data.models import Campaign, Interaction, InteractionState
from engine.domain import queue_limit

__all__ = ["admit_overflow", "holds_overflow", "waiting", "with_waiting_work"]

log = logging.getLogger(__name__)


def with_waiting_work(session: Session) -> set[int]:
    """The campaigns with an interaction queued for routing (not held over a limit).

    A pass reads the free members of these only: reading every free member of every
    campaign (1,500 rows for 500 agents in 3 campaigns each) for a few mails was most of a
    pass. One index probe per campaign (`ix_interactions_queue`), however long the queues."""
    waiting = (
        select(Interaction.id)
        .where(
            Interaction.campaign_id == Campaign.id,
            Interaction.state == InteractionState.QUEUED,
            Interaction.overflow.is_(False),
        )
        .exists()
    )
    return set(session.execute(select(Campaign.id).where(waiting)).scalars())


def waiting(session: Session, rooms: dict[int, int]) -> dict[int, list[int]]:
    """Per campaign, its longest-waiting queued interactions' ids, as many as it has room
    for."""
    if not rooms:
        return {}
    ranked = (
        select(
            Interaction.id,
            func.row_number()
            .over(
                partition_by=Interaction.campaign_id,
                order_by=(Interaction.queued_at, Interaction.id),
            )
            .label("place"),
        )
        .where(
            Interaction.state == InteractionState.QUEUED,
            Interaction.overflow.is_(False),
            Interaction.campaign_id.in_(rooms),
        )
        .subquery()
    )
    rows = session.execute(
        select(Interaction.id, Interaction.campaign_id)
        .join(ranked, ranked.c.id == Interaction.id)
        .where(ranked.c.place <= max(rooms.values()))
        .order_by(Interaction.queued_at, Interaction.id)
        # PostgreSQL: the rows this pass assigns are its own until it commits; one that
        # another writer holds (a transfer, a close) is left for the next pass.
        .with_for_update(skip_locked=True, of=Interaction)
    )
    waiting: dict[int, list[int]] = {}
    for interaction_id, campaign_id in rows:
        mine = waiting.setdefault(campaign_id, [])
        if len(mine) < rooms[campaign_id]:
            mine.append(interaction_id)
    return waiting


def holds_overflow(session: Session) -> bool:
    """Whether any interaction is held over a queue limit (one index probe)."""
    held = select(Interaction.id).where(
        Interaction.overflow, Interaction.state == InteractionState.QUEUED
    )
    return bool(session.scalar(select(held.exists())))


def admit_overflow(session: Session, only: set[int] | None = None) -> int:
    """Let held interactions into their queues where there is room, oldest first (`only`
    these campaigns: those this node's pass holds)."""
    if only is not None and not only:
        return 0
    mine = () if only is None else (Interaction.campaign_id.in_(only),)
    held = (
        session.execute(
            select(Interaction.campaign_id, func.count(Interaction.id))
            .where(Interaction.overflow, Interaction.state == InteractionState.QUEUED, *mine)
            .group_by(Interaction.campaign_id)
        )
    ).all()
    admitted = 0
    for campaign_id, n_held in held:
        limit = session.scalar(
            select(Campaign.max_interactions_in_queue).where(Campaign.id == campaign_id)
        )
        queued = session.scalar(
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
        session.execute(
            update(Interaction).where(Interaction.id.in_(oldest)).values(overflow=False)
        )
        admitted += n
        log.info("campaign %s: %s held interactions entered the queue", campaign_id, n)
    return admitted
