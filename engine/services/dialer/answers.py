"""A recipient answers dialer mail: the answer threads into the dialer's campaign as a customer
interaction whose first message is the mail we sent.

Dialer mail is not stored as messages when it is sent (a list of a million would be a million
rows and blobs nobody reads). When an incoming mail names a sent record's Message-ID
(In-Reply-To or References), ingest calls `prepare` before its transaction and `open` in it,
before it looks threads up: the record's mail is made again from the record (its Message-ID,
link token, variables and send time, by the same builder; only the MIME boundary differs) and
stored as the first, outbound message of a closed interaction of the dialer's campaign.
Ingest then finds that thread by the Message-ID like any other: the answer joins it and
reopens it into the queue, and the agent sees what the customer answers to. Done once per
record (`outgoing_message_id` remembers it). A template changed since the send shows as it
is now: the record keeps its own message and variables, not the template's old text.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from data.db import Database
from data.db_blobs import Blobs
from data.models import (
    DIALER_ID_GIVEN,
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
from engine.domain.dialer_mail import AnsweredMail, RecordError
from engine.domain.threading import thread_candidates
from engine.services.dialer.runner import DialerRunner

__all__ = ["DialerAnswers"]

log = logging.getLogger(__name__)
S = DialerRecordState
_WERE_SENT = (S.SENT, S.SEEN, S.REJECTED, S.SPAM)


class DialerAnswers:
    def __init__(self, db: Database, runner: DialerRunner, blobs: Blobs) -> None:
        self.db = db
        self.runner = runner
        self.blobs = blobs

    async def prepare(
        self, campaign_id: int, replies: list[tuple[str | None, list[str]]]
    ) -> list[AnsweredMail]:
        """For the (In-Reply-To, References) of a batch of incoming mail of `campaign_id`:
        the dialer mails they answer whose thread is not made yet, made again (their raw
        mail stored as a blob). Read before ingest's transaction, which `open`s them."""
        candidates = {
            mid.strip("<>")
            for in_reply_to, references in replies
            for mid in thread_candidates(in_reply_to, references)
        }
        if not candidates:
            return []
        answered: list[AnsweredMail] = []
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(DialerRecord)
                    .join(DialerList, DialerList.id == DialerRecord.list_id)
                    .join(Dialer, Dialer.id == DialerList.dialer_id)
                    .where(
                        DialerRecord.rfc_message_id.in_(candidates),
                        sql_text(f"dialer_records.{DIALER_ID_GIVEN}"),  # its partial index
                        DialerRecord.outgoing_message_id.is_(None),
                        DialerRecord.state.in_(_WERE_SENT),
                        Dialer.campaign_id == campaign_id,
                    )
                )
            ).scalars()
            for record in rows:
                try:
                    raw, subject, text, html = await self.runner.mails.rebuild(session, record)
                except RecordError as exc:  # the dialer changed so much it cannot be made again
                    log.warning("dialer record %s answered, not shown: %s", record.id, exc)
                    continue
                answered.append(
                    AnsweredMail(
                        record_id=record.id,
                        destination=record.destination,
                        rfc_message_id=record.rfc_message_id,
                        subject=subject,
                        text=text,
                        html=html,
                        raw_sha256=await self.blobs.put(raw),  # content-addressed: idempotent
                        sent_at=record.sent_at,
                    )
                )
        return answered

    def open(self, session: Session, campaign_id: int, answered: list[AnsweredMail]) -> int:
        """In ingest's transaction: the interactions of the `prepare`d answered mails, made
        unless another transaction made one meanwhile. How many made."""
        made = 0
        campaign = session.get_one(Campaign, campaign_id)
        for mail in answered:
            record = session.get(DialerRecord, mail.record_id, with_for_update=True)
            if record is None or record.outgoing_message_id is not None:
                continue
            sent = mail.sent_at
            interaction = Interaction(
                campaign_id=campaign_id,
                state=InteractionState.CLOSED,
                direction=Direction.OUTBOUND,
                client_email=mail.destination,
                subject=mail.subject,
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
                message_id=mail.rfc_message_id,
                from_email=campaign.email_address,
                from_name=campaign.from_name,
                to=[mail.destination],
                subject=mail.subject,
                text=mail.text,
                html=mail.html,
                raw_sha256=mail.raw_sha256,
                created_at=sent,
                sent_at=sent,
            )
            session.add_all([interaction, message])
            session.flush()
            record.outgoing_message_id = message.id
            made += 1
        return made
