"""Store one inbound mail: blob, rows and mailbox checkpoint in a single transaction.

Both IMAP and Maildir transports call `Ingestor.ingest`. The raw bytes are written to the blob
store first (idempotent), then the message row, its attachments, the threading decision and the
checkpoint commit together; only after the commit is the mail routed or announced. A crash at
any point therefore either leaves nothing (the mail is fetched again) or everything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from data.blobs import BlobStore
from data.db import Database
from data.models import (
    Attachment,
    Campaign,
    Direction,
    Interaction,
    InteractionState,
    MailboxCheckpoint,
    Message,
    MessageState,
    Quarantine,
)
from engine.domain.mime import MimeError, ParsedMessage, parse_message
from engine.domain.threading import is_participant, thread_candidates
from engine.services.notify import Notifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Position:
    """Where a mail sits in its source, committed as the mailbox checkpoint."""

    folder: str
    uidvalidity: int = 0
    uid: int = 0


@dataclass(frozen=True)
class Ingested:
    interaction_id: int | None
    message_row_id: int | None
    new_interaction: bool = False
    duplicate: bool = False
    quarantined: bool = False


class Ingestor:
    def __init__(self, db: Database, blobs: BlobStore, notifier: Notifier) -> None:
        self.db = db
        self.blobs = blobs
        self.notifier = notifier

    async def ingest(self, campaign_id: int, raw: bytes, position: Position) -> Ingested:
        return (await self.ingest_batch(campaign_id, [(raw, position)]))[0]

    async def ingest_batch(
        self, campaign_id: int, items: list[tuple[bytes, Position]]
    ) -> list[Ingested]:
        """Store mails in source order in one transaction, with the checkpoint of the last."""
        prepared: list[tuple[str, ParsedMessage | str, list[str], Position]] = []
        for raw, position in items:
            digest = self.blobs.put(raw)
            try:
                parsed = parse_message(raw)
            except MimeError as exc:
                prepared.append((digest, str(exc) or exc.__class__.__name__, [], position))
                continue
            attachment_digests = [self.blobs.put(a.data) for a in parsed.attachments]
            prepared.append((digest, parsed, attachment_digests, position))
        results: list[Ingested] = []
        async with self.db.session() as session, session.begin():
            for digest, parsed_or_error, attachment_digests, position in prepared:
                if isinstance(parsed_or_error, str):
                    session.add(
                        Quarantine(
                            campaign_id=campaign_id,
                            raw_sha256=digest,
                            error=parsed_or_error,
                            imap_uid=position.uid or None,
                        )
                    )
                    log.warning(
                        "quarantined mail %s of campaign %s: %s",
                        digest[:12],
                        campaign_id,
                        parsed_or_error,
                    )
                    results.append(Ingested(None, None, quarantined=True))
                    continue
                results.append(
                    await self._store(
                        session,
                        campaign_id,
                        raw_digest=digest,
                        parsed=parsed_or_error,
                        position=position,
                        attachment_digests=attachment_digests,
                    )
                )
            if items:
                await _checkpoint(session, campaign_id, items[-1][1])
        for result in results:
            if not result.duplicate and result.interaction_id is not None:
                self.notifier.message_added(result.interaction_id, result.message_row_id)
        return results

    async def _store(
        self,
        session: AsyncSession,
        campaign_id: int,
        *,
        raw_digest: str,
        parsed: ParsedMessage,
        position: Position,
        attachment_digests: list[str],
    ) -> Ingested:
        # The same bytes seen again (UIDVALIDITY reset, a Maildir file not yet moved): skip.
        dup = await session.scalar(
            select(Message.id)
            .join(Interaction)
            .where(
                Interaction.campaign_id == campaign_id,
                Message.raw_sha256 == raw_digest,
                Message.direction == Direction.INBOUND,
            )
            .limit(1)
        )
        if dup is not None:
            return Ingested(None, dup, duplicate=True)

        campaign = await session.get_one(Campaign, campaign_id)
        sender = parsed.from_.email.lower() if parsed.from_ else ""
        sender_name = parsed.from_.name if parsed.from_ else ""
        now = datetime.now(UTC)
        cc = [a.email.lower() for a in parsed.cc]
        interaction = await _thread_of(session, campaign_id, parsed, sender)
        new_interaction = interaction is None
        if interaction is None:
            interaction = Interaction(
                campaign_id=campaign.id,
                client_email=sender,
                client_name=sender_name,
                subject=parsed.subject,
                cc=[c for c in cc if c != campaign.email_address.lower()],
                queued_at=now,
                last_message_at=now,
            )
            session.add(interaction)
        else:
            # The manual's rule: the interaction's CC follows the last received message.
            interaction.cc = [c for c in cc if c != campaign.email_address.lower()]
            interaction.unread = True
            interaction.last_message_at = now
            if interaction.state == InteractionState.CLOSED:
                interaction.state = InteractionState.QUEUED
                interaction.agent_id = None
                interaction.queued_at = now
                interaction.closed_at = None
        message = Message(
            interaction=interaction,
            direction=Direction.INBOUND,
            state=MessageState.RECEIVED,
            message_id=parsed.message_id or "",
            in_reply_to=parsed.in_reply_to or "",
            references=parsed.references,
            from_email=sender,
            from_name=sender_name,
            to=[a.email for a in parsed.to],
            cc=cc,
            subject=parsed.subject,
            text=parsed.text,
            html=parsed.html or "",
            raw_sha256=raw_digest,
            imap_uid=position.uid or None,
            created_at=now,
        )
        session.add(message)
        for part, digest in zip(parsed.attachments, attachment_digests, strict=True):
            session.add(
                Attachment(
                    message=message,
                    filename=part.filename,
                    content_type=part.content_type,
                    size=len(part.data),
                    sha256=digest,
                    inline=part.inline,
                )
            )
        await session.flush()
        return Ingested(interaction.id, message.id, new_interaction=new_interaction)


async def _thread_of(
    session: AsyncSession, campaign_id: int, parsed: ParsedMessage, sender: str
) -> Interaction | None:
    candidates = thread_candidates(parsed.in_reply_to, parsed.references)
    if not candidates:
        return None
    rows = await session.execute(
        select(Message.message_id, Interaction)
        .join(Interaction)
        .where(Interaction.campaign_id == campaign_id, Message.message_id.in_(candidates))
    )
    by_mid = {mid: interaction for mid, interaction in rows}
    for mid in candidates:
        interaction = by_mid.get(mid)
        if interaction is not None and is_participant(
            sender, interaction.client_email, interaction.cc
        ):
            return interaction
    return None


async def _checkpoint(session: AsyncSession, campaign_id: int, position: Position) -> None:
    if not position.uid:
        return
    checkpoint = await session.scalar(
        select(MailboxCheckpoint).where(
            MailboxCheckpoint.campaign_id == campaign_id,
            MailboxCheckpoint.folder == position.folder,
        )
    )
    if checkpoint is None:
        session.add(
            MailboxCheckpoint(
                campaign_id=campaign_id,
                folder=position.folder,
                uidvalidity=position.uidvalidity,
                last_uid=position.uid,
            )
        )
    elif checkpoint.uidvalidity != position.uidvalidity:
        checkpoint.uidvalidity = position.uidvalidity
        checkpoint.last_uid = position.uid
    else:
        checkpoint.last_uid = max(checkpoint.last_uid, position.uid)
