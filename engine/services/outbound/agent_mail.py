"""An agent's mail beyond replies: forwards, new interactions, files, search and templates.

Role checks are the API's; ownership (the interaction is assigned to this agent) is checked
here, since supervisors may read but only the assigned agent writes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from data.db import Database
from data.db_blobs import Blobs
from data.models import (
    Attachment,
    Campaign,
    Direction,
    Interaction,
    InteractionState,
    Membership,
    Message,
    Template,
    UploadedFile,
    User,
)
from engine.api.schemas import ForwardIn, NewInteractionIn, RenderOut, UploadOut
from engine.domain.compose import forward_subject
from engine.domain.header_values import untrusted_text
from engine.domain.mime_headers import Address
from engine.domain.templates import render
from engine.domain.threading import with_subject_token
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.services import queries
from engine.services.notify import Notifier
from engine.services.outbound.outgoing import (
    FileRef,
    compose_body,
    parse_addresses,
    queue_message,
    template_values,
    uploaded_files,
)


def forwarded_text(added: str, original: Message) -> str:
    sender = (
        f"{original.from_name} <{original.from_email}>"
        if original.from_name
        else (original.from_email)
    )
    header = [
        "---------- Forwarded message ----------",
        f"From: {untrusted_text(sender)}",
        f"Date: {original.created_at:%a, %d %b %Y %H:%M %Z}",
        f"Subject: {untrusted_text(original.subject)}",
        f"To: {untrusted_text(', '.join(original.to))}",
    ]
    if original.cc:
        header.append(f"Cc: {untrusted_text(', '.join(original.cc))}")
    top = added.rstrip() + "\n\n" if added.strip() else ""
    return top + "\n".join(header) + "\n\n" + original.text.rstrip() + "\n"


def _over_limit(attachment: Attachment) -> str:
    return (
        f"{attachment.filename} ({attachment.size} bytes) exceeded the inbound attachment "
        "size limit when it arrived, so it was not stored on its own; it is kept in the "
        "original message"
    )


def _recipients(to: str, cc: str, bcc: str) -> tuple[list[Address], ...]:
    parsed_to = parse_addresses("to", to)
    if not parsed_to:
        raise Invalid("to: give at least one address")
    return parsed_to, parse_addresses("cc", cc), parse_addresses("bcc", bcc)


class AgentMail:
    def __init__(
        self,
        db: Database,
        blobs: Blobs,
        notifier: Notifier,
        wake_outbox: Callable[[], None],
        *,
        max_attachment_bytes: int,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.notifier = notifier
        self.wake_outbox = wake_outbox
        self.max_attachment_bytes = max_attachment_bytes

    # ---- files ----
    async def upload(
        self, uploader_id: int | None, filename: str, content_type: str, data: bytes
    ) -> UploadOut:
        """Keep a file for `uploader_id` to attach; the token works for them alone."""
        # Bidi overrides (U+202E "exe.pdf") and controls never make it into a name we send.
        name = untrusted_text(filename.replace("\\", "/").rsplit("/", 1)[-1])
        if not name or name in (".", "..") or any(ord(c) < 32 for c in name):
            raise Invalid(f"not a usable file name: {filename!r}")
        if len(data) > self.max_attachment_bytes:
            raise Invalid(
                f"{name} is {len(data)} bytes; the limit is {self.max_attachment_bytes} bytes"
            )
        digest = await self.blobs.put(data)
        token = secrets.token_urlsafe(24)
        # A file has no parts and no boundary: one labelled multipart (the system's type for
        # some voice-message files is) goes out as the opaque bytes it is.
        if not content_type or content_type.lower().startswith("multipart/"):
            content_type = "application/octet-stream"
        async with self.db.session() as session, session.begin():
            session.add(
                UploadedFile(
                    token=token,
                    uploader_id=uploader_id,
                    filename=name,
                    content_type=content_type,
                    size=len(data),
                    sha256=digest,
                )
            )
        return UploadOut(token=token, filename=name, size=len(data), content_type=content_type)

    async def attachment(
        self, attachment_id: int, viewer_id: int | None, *, sees_all: bool
    ) -> tuple[Attachment, bytes]:
        """The attachment and its bytes, when `viewer_id` may see its interaction (its agent,
        or anyone when `sees_all`). One they may not see is answered exactly like one that
        does not exist: ids are sequential, and a difference would tell which exist (and an
        over-limit one its name and size)."""
        async with self.db.session() as session:
            found = (
                await session.execute(
                    select(Attachment, Interaction.agent_id)
                    .join(Message, Attachment.message_id == Message.id)
                    .join(Interaction, Message.interaction_id == Interaction.id)
                    .where(Attachment.id == attachment_id)
                )
            ).first()
        if found is None or not (sees_all or (found[1] is not None and found[1] == viewer_id)):
            raise NotFound("no such attachment")
        attachment = found[0]
        if attachment.over_limit:
            raise Conflict(_over_limit(attachment))
        return attachment, await self.blobs.get(attachment.sha256)

    # ---- forward and new interactions ----
    async def forward(self, user_id: int, interaction_id: int, data: ForwardIn) -> int:
        to, cc, bcc = _recipients(data.to, data.cc, data.bcc)
        async with self.db.session() as session, session.begin():
            interaction = await session.get(Interaction, interaction_id)
            if interaction is None:
                raise NotFound(f"no interaction {interaction_id}")
            if interaction.agent_id != user_id:
                raise Forbidden(f"interaction {interaction_id} is not assigned to you")
            query = (
                select(Message)
                .where(Message.interaction_id == interaction_id)
                .options(selectinload(Message.attachments))
                .order_by(Message.id.desc())
            )
            if data.message_id is not None:
                query = query.where(Message.id == data.message_id)
            else:
                query = query.where(Message.direction == Direction.INBOUND)
            original = (await session.execute(query.limit(1))).scalar_one_or_none()
            if original is None:
                raise NotFound("no message to forward in this interaction")
            if data.attachment_ids is None:
                # "All of them": those kept only inside the original mail cannot be carried.
                carried = [a for a in original.attachments if not a.over_limit]
            else:
                carried = [a for a in original.attachments if a.id in data.attachment_ids]
            if too_large := next((a for a in carried if a.over_limit), None):
                raise Invalid(_over_limit(too_large))
            files = [FileRef(a.filename, a.content_type, a.sha256, a.size) for a in carried]
            files += await uploaded_files(session, data.uploads, uploader_id=user_id)
            campaign = await session.get_one(Campaign, interaction.campaign_id)
            composed = await compose_body(
                session,
                campaign,
                forwarded_text(data.text, original),
                interaction=interaction,
                agent_id=user_id,
            )
            message = await queue_message(
                session,
                self.blobs,
                campaign,
                interaction,
                composed.outgoing("forward", user_id, files),
                to=to,
                cc=cc,
                bcc=bcc,
                subject=forward_subject(original.subject or interaction.subject),
            )
            # The client is still waiting: a forward asks someone else, it answers nobody,
            # so the interaction's waiting time (last_message_at) stays where it was.
            await session.flush()
            new_id = message.id
        self.notifier.message_added(interaction_id, new_id)
        self.wake_outbox()
        return new_id

    async def new_interaction(self, user_id: int, data: NewInteractionIn) -> int:
        to, cc, bcc = _recipients(data.to, data.cc, data.bcc)
        now = datetime.now(UTC)
        async with self.db.session() as session, session.begin():
            campaign = await session.scalar(
                select(Campaign).where(
                    Campaign.name == data.campaign, Campaign.removed_at.is_(None)
                )
            )
            if campaign is None:
                raise NotFound(f"no campaign {data.campaign!r}")
            member = await session.scalar(
                select(Membership.id).where(
                    Membership.campaign_id == campaign.id, Membership.user_id == user_id
                )
            )
            if member is None:
                raise Forbidden(f"you are not a member of {campaign.name!r}")
            interaction = Interaction(
                campaign=campaign,
                agent_id=user_id,
                state=InteractionState.ASSIGNED,
                direction=Direction.OUTBOUND,
                client_email=to[0].email.lower(),
                client_name=to[0].name,
                subject=data.subject,
                cc=[a.email.lower() for a in cc],
                bcc=[a.email.lower() for a in bcc],
                unread=False,
                queued_at=now,
                assigned_at=now,
                last_message_at=now,
            )
            session.add(interaction)
            await session.flush()
            composed = await compose_body(
                session, campaign, data.body, interaction=interaction, agent_id=user_id
            )
            files = await uploaded_files(session, data.uploads, uploader_id=user_id)
            await queue_message(
                session,
                self.blobs,
                campaign,
                interaction,
                composed.outgoing("new", user_id, files),
                to=to,
                cc=cc,
                bcc=bcc,
                subject=with_subject_token(data.subject, interaction.id),
            )
            await session.flush()
            interaction_id = interaction.id
        self.notifier.interaction_changed(interaction_id, queue=False, agents=(user_id,))
        self.wake_outbox()
        return interaction_id

    # ---- search and templates ----
    async def render(
        self, user_id: int | None, template_id: int, interaction_id: int | None, *, sees_all: bool
    ) -> RenderOut:
        """A template filled in for the interaction (if any), which the caller must see."""
        async with self.db.session() as session:
            if interaction_id is not None:
                await queries.check_visible(session, interaction_id, user_id, sees_all=sees_all)
            template = await session.get(Template, template_id)
            if template is None:
                raise NotFound(f"no template {template_id}")
            user = await session.get(User, user_id) if user_id is not None else None
            if user is not None and template.campaign_id is not None:
                if template.campaign_id not in await queries.working_campaigns(session, user.id):
                    raise Forbidden("that template belongs to a campaign you are not in")
            interaction = None
            if interaction_id is not None:
                interaction = await session.get(Interaction, interaction_id)
                if interaction is None:
                    raise NotFound(f"no interaction {interaction_id}")
            values = template_values(interaction, user)
        rendered = render(template.body_text, values)
        return RenderOut(text=rendered.text, unknown=rendered.unknown)
