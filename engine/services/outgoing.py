"""Build one outgoing mail in full and put it in the outbox, inside the caller's transaction.

Replies, confirmations (and later forwards and dialer mail) all leave this way: headers are
validated (no CR/LF/NUL, strict addresses), threading headers point at the parent, and the
exact bytes to send are stored in the blob store before the row is queued, so a retry after
a restart sends the very same message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy

from sqlalchemy.ext.asyncio import AsyncSession

from data.blobs import BlobStore
from data.models import Campaign, Direction, Interaction, Message, MessageState
from engine.domain.compose import (
    AddressError,
    HeaderInjectionError,
    build_message,
    make_message_id,
    references_for_reply,
    reply_subject,
)
from engine.domain.mime import Address
from engine.domain.threading import with_subject_token
from engine.errors import Invalid


@dataclass(frozen=True)
class Outgoing:
    text: str
    kind: str = "reply"  # reply, confirmation, forward, dialer
    sent_by_id: int | None = None
    extra_headers: dict[str, str] | None = None


def queue_reply(
    session: AsyncSession,
    blobs: BlobStore,
    campaign: Campaign,
    interaction: Interaction,
    parent: Message | None,
    outgoing: Outgoing,
) -> Message:
    """Queue `outgoing` as an answer to `parent` on `interaction`; returns the new row."""
    now = datetime.now(UTC)
    message_id = make_message_id(campaign.domain)
    references = references_for_reply(
        parent.message_id if parent else None, parent.references if parent else []
    )
    to = [Address(interaction.client_email, interaction.client_name)]
    cc = [Address(a, "") for a in interaction.cc]
    bcc = [Address(a, "") for a in interaction.bcc]
    try:
        email = build_message(
            from_=Address(campaign.email_address, campaign.from_name),
            to=to,
            cc=cc,
            bcc=bcc,
            subject=with_subject_token(
                reply_subject(interaction.subject or (parent.subject if parent else "")),
                interaction.id,
            ),
            text=outgoing.text,
            message_id=message_id,
            in_reply_to=parent.message_id if parent and parent.message_id else None,
            references=references,
            extra_headers=outgoing.extra_headers,
            date=now,
        )
    except (HeaderInjectionError, AddressError) as exc:
        raise Invalid(str(exc)) from exc
    digest = blobs.put(email.as_bytes(policy=policy.SMTP))
    message = Message(
        interaction=interaction,
        direction=Direction.OUTBOUND,
        state=MessageState.QUEUED,
        kind=outgoing.kind,
        auto_submitted=outgoing.kind == "confirmation",
        message_id=message_id.strip("<>"),
        in_reply_to=parent.message_id if parent else "",
        references=references,
        from_email=campaign.email_address,
        from_name=campaign.from_name,
        to=[a.email for a in to],
        cc=[a.email for a in cc],
        bcc=[a.email for a in bcc],
        subject=str(email["Subject"]),
        text=outgoing.text,
        raw_sha256=digest,
        sent_by_id=outgoing.sent_by_id,
        created_at=now,
    )
    session.add(message)
    return message
