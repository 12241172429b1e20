"""The mail a dialer record carries: its template, event and attachments, made or made again.

A module of its own because two callers make the same mail from a record: the runner's claim
(`engine.services.dialer.runner`, before any SMTP command) and the thread an answer opens
(`engine.services.dialer.answers`, which rebuilds the mail that was sent from the record's
Message-ID, link token, variables and send time). Both read the dialer's `MailSpec` and the
uploaded files from here, with the caches a large list needs (one `MailMaker` per spec).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from data.db_blobs import Blobs
from data.models import Campaign, Dialer, DialerList, DialerRecord, Template, UploadedFile
from engine.domain.dialer_fastmail import MailMaker
from engine.domain.dialer_mail import MailSpec, RecordMail, record_content, record_message
from engine.domain.invitation import DATE_FORMAT, EventSpec
from engine.domain.mime_headers import Address
from engine.domain.schedule import zone
from engine.domain.web_links import Links

__all__ = ["DialerMails"]


class DialerMails:
    """Dialer mail made from records; caches the uploaded files and one maker per spec."""

    def __init__(
        self, blobs: Blobs, *, clock: Callable[[], datetime], base_url: Callable[[], str]
    ) -> None:
        self.blobs = blobs
        self.clock = clock
        self.base_url = base_url  # the public web service's address (links in the mail)
        self._files: dict[str, tuple[str, str, bytes]] = {}
        self._makers: dict[MailSpec, MailMaker] = {}

    async def rebuild(
        self, session: AsyncSession, record: DialerRecord
    ) -> tuple[bytes, str, str, str]:
        """The mail a sent record carried, made again from the record (its Message-ID, token,
        variables and send time): (wire bytes, subject, text, HTML). For the thread an
        answer opens (`answers.py`)."""
        lst = await session.get_one(DialerList, record.list_id)
        dialer = await session.get_one(Dialer, lst.dialer_id)
        campaign = await session.get_one(Campaign, dialer.campaign_id)
        template = await session.get(Template, dialer.template_id) if dialer.template_id else None
        spec = self.spec(dialer, campaign, template, lst)
        files = []
        for name in record.attachments:
            found = await self.file(session, name)
            if found is not None:
                files.append(found)
        mail = RecordMail(record.destination, record.message, record.variables, files)
        token = record.link_token or ""
        sent = record.sent_at or self.clock()
        raw = record_message(
            spec, mail, token=token, message_id=f"<{record.rfc_message_id}>", now=sent
        )
        subject, text, html = record_content(
            spec, mail, Links(spec.base_url, token), spec.unsubscribe_marked()
        )
        return raw, subject, text, html

    def maker(self, spec: MailSpec, now: datetime) -> MailMaker:
        maker = self._makers.get(spec)
        if maker is None:
            if len(self._makers) > 32:
                self._makers.clear()
            maker = self._makers[spec] = MailMaker(spec, now)
        return maker

    def spec(
        self, dialer: Dialer, campaign: Campaign, template: Template | None, lst: DialerList
    ) -> MailSpec:
        event = None
        if dialer.attach_event:

            def fixed(moment: datetime | None) -> str:
                # Stored in UTC; the invitation reads it in the dialer's zone.
                local = moment.astimezone(zone(dialer.time_zone)) if moment else None
                return local.strftime(DATE_FORMAT) if local else ""

            event = EventSpec(
                title=dialer.event_title,
                organizer=dialer.event_organizer or campaign.email_address,
                start=dialer.event_start_var or fixed(dialer.event_start),
                end=dialer.event_end_var or fixed(dialer.event_end),
                time_zone=dialer.time_zone,
            )
        return MailSpec(
            sender=Address(campaign.email_address, campaign.from_name),
            reply_address=campaign.email_address,
            subject=lst.subject,
            template_text=template.body_text if template else "",
            template_html=template.body_html if template else "",
            unsubscribe_html=dialer.unsubscribe_html,
            base_url=self.base_url(),
            event=event,
        )

    async def file(self, session: AsyncSession, token: str) -> tuple[str, str, bytes] | None:
        found = self._files.get(token)
        if found is None:
            row = await session.scalar(select(UploadedFile).where(UploadedFile.token == token))
            if row is None:
                return None
            found = (row.filename, row.content_type, await self.blobs.get(row.sha256))
            if len(self._files) < 64:
                self._files[token] = found
        return found
