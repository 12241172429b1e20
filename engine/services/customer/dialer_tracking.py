"""What happens to a dialer mail after it is sent: the tracking image seen, the unsubscribe
link used, a bounce or a complaint naming it. The web service's half is here (the ingest's
half is `engine.services.inbound.ingest`, the rules `engine.domain.dialer_tracking`).

A dialer record carries its own token (`dialer_records.link_token`, the same shape as a
message's, minted by the sender) rather than a `message_links` row: a list of a million
records needs no message rows to be tracked. The web service looks a token up among
message links first and here second, so its routes and pages are the same for both.

Every change of a record writes a `customer_events` row (kind below, `dialer_record_id`) in
its transaction; the engine's watcher reads them and tells the dialer's dashboard
(`engine.services.customer.watch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from data.models import Campaign, CustomerEvent, Dialer, DialerList, DialerRecord
from data.models import DialerRecordState as State
from engine.domain.dialer_tracking import SEEN_FROM

# The kinds of `customer_events` rows about dialer records; the watcher knows them all.
SEEN = "dialer-seen"
UNSUBSCRIBE = "dialer-unsubscribe"
REJECTED = "dialer-rejected"
SPAM = "dialer-spam"
KINDS = frozenset({SEEN, UNSUBSCRIBE, REJECTED, SPAM})


@dataclass(frozen=True)
class Recipient:
    """A dialer record's address and the campaign its mail went out for."""

    record_id: int
    email: str
    campaign_id: int
    campaign: str


async def recipient(session: AsyncSession, token: str) -> Recipient | None:
    """The record whose token this is (any record once sent: its mail carries the link)."""
    found = (
        await session.execute(
            select(DialerRecord.id, DialerRecord.destination, Campaign.id, Campaign.name)
            .join(DialerList, DialerRecord.list_id == DialerList.id)
            .join(Dialer, DialerList.dialer_id == Dialer.id)
            .join(Campaign, Dialer.campaign_id == Campaign.id)
            .where(DialerRecord.link_token == token)
        )
    ).first()
    if found is None or not found[1]:
        return None
    record_id, email, campaign_id, campaign = found
    return Recipient(record_id, email.lower(), campaign_id, campaign)


async def mark_seen(connection: AsyncConnection, tokens: set[str], now: datetime) -> set[str]:
    """Mark the records of these tokens seen, in the caller's transaction; the tokens that are
    dialer records'. Only a sent record becomes seen, once: a second fetch, a record already
    rejected or spam, changes nothing (and writes no event).

    One read finds the tokens and their states, so a repeat fetch (image proxies, every
    later open) costs that read alone; the records still `sent` are updated on the condition
    that they still are, so two web processes counting one record's first fetch at once
    write one change and one event."""
    found = (
        await connection.execute(
            select(DialerRecord.id, DialerRecord.link_token, DialerRecord.state).where(
                DialerRecord.link_token.in_(sorted(tokens))
            )
        )
    ).all()
    unseen = [rid for rid, _token, state in found if State(state).value in SEEN_FROM]
    if unseen:
        changed = (
            await connection.execute(
                update(DialerRecord)
                .where(
                    DialerRecord.id.in_(unseen),
                    DialerRecord.state.in_([State(s) for s in SEEN_FROM]),
                )
                .values(state=State.SEEN, seen_at=func.coalesce(DialerRecord.seen_at, now))
                .returning(DialerRecord.id)
            )
        ).scalars()
        events = [{"kind": SEEN, "dialer_record_id": rid, "created_at": now} for rid in changed]
        if events:
            await connection.execute(insert(CustomerEvent), events)
    return {token for _rid, token, _state in found if token is not None}
