"""A recorded interaction as files: a PDF to print, its mails as `.eml` files or one mbox.

Who may have them is decided here, as for opening the thread: supervisors and admins any
interaction, an agent only one assigned to them (`Queries.check_visible`).

The `.eml` files are the stored raw messages, byte for byte: what arrived (the blob ingest
kept before anything else) and what we sent (the blob the outbox sent). A message with no
raw blob (none of ours today; a row from an import, or a blob lost from the store) is
rebuilt from its stored fields and marked `original=False`, so an export never passes a
rebuilt mail off as the original.
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from sqlalchemy import select

from data.db import Database
from data.db_blobs import Blobs
from data.models import Message
from engine.api.schemas import InteractionDetail, RecordingMail, RecordingMails
from engine.domain.mbox import MboxEntry, mboxrd
from engine.services.queries import Queries
from engine.text.sanitize import one_line

log = logging.getLogger(__name__)


class RecordingFiles:
    def __init__(self, db: Database, blobs: Blobs, queries: Queries) -> None:
        self.db = db
        self.blobs = blobs
        self.queries = queries

    async def _detail(
        self, interaction_id: int, viewer_id: int | None, *, sees_all: bool
    ) -> InteractionDetail:
        await self.queries.check_visible(interaction_id, viewer_id, sees_all=sees_all)
        return await self.queries.detail(interaction_id)

    async def pdf(
        self, interaction_id: int, viewer_id: int | None, *, sees_all: bool
    ) -> tuple[str, bytes]:
        """The file name and the PDF. Laid out in a thread: a long thread takes a second of
        CPU, which the engine's loop (every console's events) must not wait for."""
        # Imported on the first print: fpdf2 and its font tools took seconds off every
        # engine start (and every process that imports the engine) for a rare action.
        from engine.services.recordings.printout import pdf_name, thread_pdf

        detail = await self._detail(interaction_id, viewer_id, sees_all=sees_all)
        return pdf_name(detail), await asyncio.to_thread(thread_pdf, detail)

    async def mails(
        self, interaction_id: int, viewer_id: int | None, *, sees_all: bool
    ) -> RecordingMails:
        """Every message of the thread, oldest first, as the bytes we hold."""
        await self.queries.check_visible(interaction_id, viewer_id, sees_all=sees_all)
        async with self.db.session() as session:
            rows = (
                (
                    await session.execute(
                        select(Message)
                        .where(Message.interaction_id == interaction_id)
                        .order_by(Message.id)
                    )
                )
                .scalars()
                .all()
            )
        raws = [await self._raw(row) for row in rows]
        mails = await asyncio.to_thread(
            lambda: [self._mail(n, row, raws[n]) for n, row in enumerate(rows)]
        )
        return RecordingMails(interaction_id=interaction_id, mails=mails)

    def _mail(self, index: int, row: Message, raw: bytes | None) -> RecordingMail:
        direction = "in" if row.direction.value == "inbound" else "out"
        name = f"{index + 1:04d}-{direction}-{row.id}.eml"
        return RecordingMail(
            message_id=row.id,
            direction=row.direction.value,
            name=name,
            sender=row.from_email,
            at=row.sent_at or row.created_at,
            original=raw is not None,
            data=raw if raw is not None else rebuilt(row),
        )

    async def _raw(self, row: Message) -> bytes | None:
        if not row.raw_sha256:
            return None
        try:
            return await self.blobs.get(row.raw_sha256)
        except FileNotFoundError:
            log.warning("message %s: raw blob %s missing; exported rebuilt", row.id, row.raw_sha256)
            return None

    async def mbox(
        self, interaction_id: int, viewer_id: int | None, *, sees_all: bool
    ) -> tuple[str, bytes]:
        mails = await self.mails(interaction_id, viewer_id, sees_all=sees_all)
        entries = [MboxEntry(m.sender, m.at, m.data) for m in mails.mails]
        return f"interaction-{interaction_id}.mbox", await asyncio.to_thread(mboxrd, entries)


def rebuilt(row: Message) -> bytes:
    """A message from its stored fields: headers we can vouch for and the text body."""
    message = EmailMessage(policy=SMTP)
    sender = one_line(row.from_email)
    message["From"] = f"{one_line(row.from_name)} <{sender}>" if row.from_name else sender
    if row.to:
        message["To"] = ", ".join(one_line(a) for a in row.to)
    if row.cc:
        message["Cc"] = ", ".join(one_line(a) for a in row.cc)
    message["Subject"] = one_line(row.subject)
    message["Date"] = format_datetime(row.sent_at or row.created_at)
    if row.message_id:
        message["Message-ID"] = one_line(row.message_id)
    message["X-Postdesk-Rebuilt"] = "yes; the original message was not stored"
    message.set_content(row.text or "")
    return message.as_bytes()
