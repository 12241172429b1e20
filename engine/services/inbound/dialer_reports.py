"""The ingest's lookups and writes for dialer mail: the records that bounces and complaints
name by Message-ID, and the records whose unsubscribe tokens mails to the unsubscribe address
carry. What a report does to a record is decided by `engine.domain.inbound.decide` (rules in
`engine.domain.dialer_tracking`); this module finds the records and writes the change, in the
ingest's transaction, with the `customer_events` row the engine's watcher tells the dialer's
dashboard from.

A dialer mail has no message row (a list of a million records would need a million), so the
existing lookups of our sent messages never find one; these do, by `rfc_message_id`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from data.models import DIALER_ID_GIVEN, CustomerEvent, Dialer, DialerList, DialerRecord
from data.models import DialerRecordState as State
from engine.domain.dialer_tracking import DialerChange, DialerSent
from engine.services.customer import dialer_tracking

_EVENT = {"rejected": dialer_tracking.REJECTED, "spam": dialer_tracking.SPAM}


def records_by_message_id(session: Session, message_ids: Iterable[str]) -> dict[str, DialerRecord]:
    """The records whose mail carried one of these Message-IDs, keyed without brackets
    (the sender may store its Message-ID either way)."""
    bare = {mid.strip().strip("<>") for mid in message_ids if mid and mid.strip("<> ")}
    if not bare:
        return {}
    wanted = sorted(bare | {f"<{mid}>" for mid in bare})
    found = session.scalars(
        select(DialerRecord).where(
            DialerRecord.rfc_message_id.in_(wanted), text(f"dialer_records.{DIALER_ID_GIVEN}")
        )
    )
    return {record.rfc_message_id.strip("<>"): record for record in found}


def view(record: DialerRecord) -> DialerSent:
    return DialerSent(record.id, record.destination.lower(), State(record.state).value)


def apply(session: Session, record: DialerRecord, change: DialerChange) -> None:
    """Carry out `change` on `record` (rejected or spam, with its reason), and say so."""
    record.state = State(change.state)
    record.error = change.reason
    session.add(CustomerEvent(kind=_EVENT[change.state], dialer_record_id=record.id))


def unsubscribe_tokens(session: Session, tokens: Iterable[str]) -> dict[str, tuple[str, int, int]]:
    """token -> (address, campaign, record) for the dialer records these tokens belong to."""
    wanted = sorted(set(tokens))
    if not wanted:
        return {}
    rows = session.execute(
        select(
            DialerRecord.link_token, DialerRecord.destination, Dialer.campaign_id, DialerRecord.id
        )
        .join(DialerList, DialerRecord.list_id == DialerList.id)
        .join(Dialer, DialerList.dialer_id == Dialer.id)
        .where(DialerRecord.link_token.in_(wanted))
    )
    return {
        token: (email.lower(), campaign_id, record_id)
        for token, email, campaign_id, record_id in rows
        if token and email
    }


def unsubscribed(session: Session, record_id: int) -> None:
    session.add(CustomerEvent(kind=dialer_tracking.UNSUBSCRIBE, dialer_record_id=record_id))
