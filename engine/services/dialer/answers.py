"""A recipient answers dialer mail: the answer threads into the dialer's campaign as a customer
interaction whose first message is the mail we sent.

Dialer mail is not stored as messages when it is sent (a list of a million would be a million
rows and blobs nobody reads). When an incoming mail names a sent record's Message-ID
(In-Reply-To or References), ingest calls `open_threads` inside its transaction, before it
looks threads up: the record's mail is made again from the record (its Message-ID, link
token, variables and send time, by the same builder; only the MIME boundary differs) and
stored as the first, outbound message of a closed interaction of the dialer's campaign.
Ingest then finds that thread by the Message-ID like any other: the answer joins it and
reopens it into the queue, and the agent sees what the customer answers to. Done once per
record (`outgoing_message_id` remembers it). A template changed since the send shows as it
is now: the record keeps its own message and variables, not the template's old text.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from data.db_blobs import Blobs
from data.models import (
    Campaign,
    Dialer,
    DialerList,
    DialerRecord,
    DialerRecordState,
    Direction,
    Interaction,
    InteractionState,
    Message,
    MessageState,
)
from engine.domain.dialer_mail import RecordError
from engine.domain.threading import thread_candidates
from engine.services.dialer.runner import DialerRunner

__all__ = ["DialerAnswers"]

log = logging.getLogger(__name__)
S = DialerRecordState
_WERE_SENT = (S.SENT, S.SEEN, S.REJECTED, S.SPAM)


class DialerAnswers:
    def __init__(self, runner: DialerRunner, blobs: Blobs) -> None:
        self.runner = runner
        self.blobs = blobs

    async def open_threads(
        self,
        session: AsyncSession,
        campaign_id: int,
        replies: Iterable[tuple[str | None, list[str]]],
    ) -> int:
        """For the (In-Reply-To, References) of a batch of incoming mail of `campaign_id`:
        the interactions of the dialer mails they answer, made if not yet. How many made."""
        candidates = {
            mid.strip("<>")
            for in_reply_to, references in replies
            for mid in thread_candidates(in_reply_to, references)
        }
        if not candidates:
            return 0
        rows = (
            await session.execute(
                select(DialerRecord)
                .join(DialerList, DialerList.id == DialerRecord.list_id)
                .join(Dialer, Dialer.id == DialerList.dialer_id)
                .where(
                    DialerRecord.rfc_message_id.in_(candidates),
                    DialerRecord.outgoing_message_id.is_(None),
                    DialerRecord.state.in_(_WERE_SENT),
                    Dialer.campaign_id == campaign_id,
                )
            )
        ).scalars()
        made = 0
        for record in rows:
            try:
                raw, subject, text, html = await self.runner.mails.rebuild(session, record)
            except RecordError as exc:  # the dialer changed so much it cannot be made again
                log.warning("dialer record %s answered, not shown: %s", record.id, exc)
                continue
            campaign = await session.get_one(Campaign, campaign_id)
            sent = record.sent_at
            interaction = Interaction(
                campaign_id=campaign_id,
                state=InteractionState.CLOSED,
                direction=Direction.OUTBOUND,
                client_email=record.destination,
                subject=subject,
                unread=False,
                closed_at=sent,
                last_message_at=sent,
                queued_at=sent,
            )
            message = Message(
                interaction=interaction,
                direction=Direction.OUTBOUND,
                state=MessageState.SENT,
                kind="dialer",
                message_id=record.rfc_message_id,
                from_email=campaign.email_address,
                from_name=campaign.from_name,
                to=[record.destination],
                subject=subject,
                text=text,
                html=html,
                raw_sha256=await self.blobs.put(raw),
                created_at=sent,
                sent_at=sent,
            )
            session.add_all([interaction, message])
            await session.flush()
            record.outgoing_message_id = message.id
            made += 1
        return made
