"""The queue limit applied to new interactions, in the transaction that stores them.

Over `max_interactions_in_queue`, a new interaction still is stored and searchable; it goes
to the campaign's overflow campaign (whose own limit may hold it there) or is held in its
own campaign (`Interaction.overflow`) until the router lets it in (`route_queue.admit_overflow`).
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from data.models import Campaign, Interaction, InteractionState
from engine.domain.queue_limit import QueueLoad, places

log = logging.getLogger(__name__)


def queue_load(session: Session, campaign: Campaign, *, besides: list[int]) -> QueueLoad:
    rows = dict(
        (
            session.execute(
                select(Interaction.overflow, func.count(Interaction.id))
                .where(
                    Interaction.campaign_id == campaign.id,
                    Interaction.state == InteractionState.QUEUED,
                    Interaction.id.not_in(besides),
                )
                .group_by(Interaction.overflow)
            )
        ).all()
    )
    return QueueLoad(
        queued=int(rows.get(False, 0)),
        held=int(rows.get(True, 0)),
        limit=campaign.max_interactions_in_queue,
    )


def apply_queue_limit(session: Session, campaign: Campaign, new_ids: list[int]) -> set[int]:
    """Move or hold the new interactions (in arrival order) over the campaign's limit;
    returns the ids that overflowed, for the "we are busy" answer."""
    if not new_ids or campaign.max_interactions_in_queue == 0:
        return set()
    load = queue_load(session, campaign, besides=new_ids)
    entering = places(load, len(new_ids))
    over = new_ids[entering:]
    if not over:
        return set()
    target = (
        session.get(Campaign, campaign.overflow_campaign_id)
        if campaign.overflow_campaign_id
        else None
    )
    if target is None or target.id == campaign.id:
        session.execute(update(Interaction).where(Interaction.id.in_(over)).values(overflow=True))
        log.info("campaign %s: %s interactions held over the queue limit", campaign.id, len(over))
        return set(over)
    # One hop only: the overflow campaign's own limit holds what it cannot take, and its
    # own overflow campaign is not followed (two campaigns overflowing into each other
    # would pass mail back and forth).
    there = queue_load(session, target, besides=over)
    held_there = over[places(there, len(over)) :]
    session.execute(
        update(Interaction).where(Interaction.id.in_(over)).values(campaign_id=target.id)
    )
    if held_there:
        session.execute(
            update(Interaction).where(Interaction.id.in_(held_there)).values(overflow=True)
        )
    log.info(
        "campaign %s: %s interactions overflowed to campaign %s",
        campaign.id,
        len(over),
        target.id,
    )
    return set(over)
