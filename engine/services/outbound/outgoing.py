"""Build one outgoing mail in full and put it in the outbox, inside the caller's transaction.

Replies, forwards, new interactions and confirmations all leave this way: headers are
validated (no CR/LF/NUL, strict addresses), threading headers point at the parent, the
subject carries the interaction's `[#id]` token, and the exact bytes to send are stored in the
blob store before the row is queued, so a retry after a restart sends the very same message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from data.db_blobs import Blobs
from data.models import (
    Attachment,
    Campaign,
    Direction,
    Interaction,
    Message,
    MessageState,
    Template,
    UploadedFile,
    User,
)
from engine.domain.compose import (
    AddressError,
    HeaderInjectionError,
    build_message,
    make_message_id,
    parse_address_list,
    references_for_reply,
    reply_subject,
)
from engine.domain.header_values import untrusted_text
from engine.domain.mime import html_to_text
from engine.domain.mime_headers import Address
from engine.domain.templates import render
from engine.domain.threading import with_subject_token
from engine.errors import Invalid, NotFound


@dataclass(frozen=True)
class FileRef:
    filename: str
    content_type: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Outgoing:
    text: str
    html: str | None = None
    kind: str = "reply"  # reply, confirmation, forward, new, dialer
    sent_by_id: int | None = None
    extra_headers: dict[str, str] | None = None
    files: list[FileRef] = field(default_factory=list)


@dataclass(frozen=True)
class Footer:
    """What goes under the signature of a reply (its rating block), in both parts. `html` is
    markup we made, every value in it escaped."""

    text: str
    html: str


@dataclass(frozen=True)
class Body:
    text: str
    html: str | None = None  # set when the signature has HTML: multipart/alternative

    def outgoing(
        self, kind: str, sent_by_id: int | None, files: list[FileRef] | None = None
    ) -> Outgoing:
        return Outgoing(
            text=self.text, html=self.html, kind=kind, sent_by_id=sent_by_id, files=files or []
        )


def template_values(interaction: Interaction | None, agent: User | None) -> dict[str, str]:
    """What `${variables}` mean in a template written for this interaction by this agent
    (see `TEMPLATE_VARIABLES`); without an interaction only `${agent}` is known."""
    values = {"agent": (agent.display_name or agent.username) if agent else ""}
    if interaction is not None:
        values |= {
            "name": interaction.client_name or interaction.client_email,
            "email": interaction.client_email,
            "campaign": interaction.campaign.name,
            "subject": interaction.subject,
        }
    return values


async def compose_body(
    session: AsyncSession,
    campaign: Campaign,
    body: str,
    *,
    interaction: Interaction,
    agent_id: int,
    after: str = "",
    footer: Footer | None = None,
) -> Body:
    """The body, the campaign's signature under the standard `-- ` line, the `footer` (a
    reply's rating block), then `after` (quoted history). With an HTML signature or a footer
    the mail also gets an HTML part showing the same. The signature's `${variables}` are
    filled like a template's (`Regards, ${agent}`)."""
    template = (
        await session.get(Template, campaign.signature_template_id)
        if campaign.signature_template_id is not None
        else None
    )
    signature_text = ""
    signature_html = ""
    if template is not None:
        values = template_values(interaction, await session.get(User, agent_id))
        signature_html = render(
            template.body_html.strip(), {k: escape(v) for k, v in values.items()}
        ).text
        signature_text = render(template.body_text.strip(), values).text or (
            html_to_text(signature_html).strip() if signature_html else ""
        )
    text = body.rstrip() + "\n"
    if signature_text:
        text += "\n-- \n" + signature_text + "\n"
    if footer is not None and footer.text:
        text += "\n" + footer.text
    if after:
        text += "\n" + after
    if not signature_html and footer is None:
        return Body(text)
    pre = '<div style="white-space: pre-wrap">{}</div>'
    html = pre.format(escape(body.rstrip()))
    if signature_html:
        html += "<br>-- <br>" + signature_html
    elif signature_text:
        html += pre.format(escape("-- \n" + signature_text))
    if footer is not None:
        html += footer.html
    if after:
        html += pre.format(escape(after))
    return Body(text, f"<html><body>{html}</body></html>")


async def uploaded_files(
    session: AsyncSession, tokens: list[str], *, uploader_id: int
) -> list[FileRef]:
    """The files behind upload tokens, only those `uploader_id` uploaded: someone else's token
    is answered like an unknown one, so it neither attaches nor tells that it exists."""
    if not tokens:
        return []
    rows = (
        (
            await session.execute(
                select(UploadedFile).where(
                    UploadedFile.token.in_(tokens), UploadedFile.uploader_id == uploader_id
                )
            )
        )
        .scalars()
        .all()
    )
    by_token = {row.token: row for row in rows}
    missing = [t for t in tokens if t not in by_token]
    if missing:
        raise NotFound(f"unknown upload {missing[0]!r}: upload the file again")
    return [
        FileRef(
            by_token[t].filename, by_token[t].content_type, by_token[t].sha256, by_token[t].size
        )
        for t in tokens
    ]


def parse_addresses(field_name: str, text: str) -> list[Address]:
    try:
        return parse_address_list(text)
    except AddressError as exc:
        raise Invalid(f"{field_name}: {exc}") from exc


async def queue_message(
    session: AsyncSession,
    blobs: Blobs,
    campaign: Campaign,
    interaction: Interaction,
    outgoing: Outgoing,
    *,
    to: list[Address],
    cc: list[Address],
    bcc: list[Address],
    subject: str,
    parent: Message | None = None,
) -> Message:
    """Build, store and queue one message on `interaction`; returns the new row."""
    now = datetime.now(UTC)
    message_id = make_message_id(campaign.domain)
    # Names of files that came with a customer's mail (forwards) are a stranger's text.
    files = [
        FileRef(untrusted_text(f.filename) or "attachment", f.content_type, f.sha256, f.size)
        for f in outgoing.files
    ]
    references = (
        references_for_reply(parent.message_id or None, parent.references) if parent else []
    )
    datas = [await blobs.get(f.sha256) for f in files]
    try:
        email = build_message(
            from_=Address(campaign.email_address, campaign.from_name),
            to=to,
            cc=cc,
            bcc=bcc,
            subject=subject,
            text=outgoing.text,
            html=outgoing.html,
            message_id=message_id,
            in_reply_to=parent.message_id if parent and parent.message_id else None,
            references=references,
            extra_headers=outgoing.extra_headers,
            attachments=[
                (f.filename, f.content_type, data) for f, data in zip(files, datas, strict=True)
            ],
            date=now,
        )
    except (HeaderInjectionError, AddressError) as exc:
        raise Invalid(str(exc)) from exc
    # The message's own policy: UTF-8 headers when an address needs SMTPUTF8.
    digest = await blobs.put(email.as_bytes())
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
        html=outgoing.html or "",
        raw_sha256=digest,
        sent_by_id=outgoing.sent_by_id,
        created_at=now,
    )
    session.add(message)
    for f in files:
        session.add(
            Attachment(
                message=message,
                filename=f.filename,
                content_type=f.content_type,
                size=f.size,
                sha256=f.sha256,
            )
        )
    return message


async def queue_reply(
    session: AsyncSession,
    blobs: Blobs,
    campaign: Campaign,
    interaction: Interaction,
    parent: Message | None,
    outgoing: Outgoing,
    *,
    copies: bool = True,
) -> Message:
    """Queue `outgoing` to the client as an answer to `parent`, with the interaction's CC/BCC
    (the manual: a reply always uses the values saved in the CC/BCC form). `copies=False`:
    to the client alone, as every automatic answer goes (anyone can put anyone in CC)."""
    return await queue_message(
        session,
        blobs,
        campaign,
        interaction,
        outgoing,
        to=[Address(interaction.client_email, untrusted_text(interaction.client_name))],
        cc=[Address(a, "") for a in interaction.cc] if copies else [],
        bcc=[Address(a, "") for a in interaction.bcc] if copies else [],
        subject=with_subject_token(
            reply_subject(interaction.subject or (parent.subject if parent else "")),
            interaction.id,
        ),
        parent=parent,
    )
