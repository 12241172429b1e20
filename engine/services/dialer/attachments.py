"""Dialer attachments ("Attach file" in the manual): a file uploaded once, named in a list's
attachments column by its token.

The token is random (`secrets.token_urlsafe`), not a row id: it is pasted into CSV files that
travel by mail and spreadsheets, and must not let anyone enumerate the others. Unlike an
agent's upload, a dialer attachment belongs to the dialers, not to the admin who uploaded it:
any admin may name it in a list. It can be removed only while no list names it
(`dialer_list_attachments`, filled by the import). The bytes live in the blob store.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

from sqlalchemy import func, select

from data.db import Database
from data.db_blobs import Blobs
from data.models import DialerListAttachment, UploadedFile
from engine.api.schemas import DialerAttachmentOut
from engine.domain.header_values import untrusted_text
from engine.errors import Conflict, Invalid, NotFound
from engine.services.dialer.lists import ATTACHMENT_PURPOSE

__all__ = ["DialerAttachments"]


class DialerAttachments:
    def __init__(self, db: Database, blobs: Blobs, *, max_bytes: int) -> None:
        self.db = db
        self.blobs = blobs
        self.max_bytes = max_bytes

    async def attach(
        self,
        uploader_id: int | None,
        filename: str,
        content_type: str,
        chunks: AsyncIterator[bytes],
        declared_length: int | None = None,
    ) -> DialerAttachmentOut:
        name = untrusted_text(filename.replace("\\", "/").rsplit("/", 1)[-1])
        if not name or name in (".", "..") or any(ord(c) < 32 for c in name):
            raise Invalid(f"filename: not a usable file name: {filename!r}", field="filename")
        too_large = f"file: {name} is larger than the {self.max_bytes:,} bytes limit"
        if declared_length is not None and declared_length > self.max_bytes:
            raise Invalid(too_large, field="file")
        parts: list[bytes] = []
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > self.max_bytes:
                raise Invalid(too_large, field="file")
            parts.append(chunk)
        if not size:
            raise Invalid(f"file: {name} is empty", field="file")
        digest = await self.blobs.put(b"".join(parts))
        if not content_type or content_type.lower().startswith("multipart/"):
            content_type = "application/octet-stream"
        row = UploadedFile(
            token=secrets.token_urlsafe(24),
            uploader_id=uploader_id,
            filename=name,
            content_type=content_type,
            size=size,
            sha256=digest,
            purpose=ATTACHMENT_PURPOSE,
        )
        async with self.db.session() as session, session.begin():
            session.add(row)
            await session.flush()
            return _out(row, 0)

    async def all(self) -> list[DialerAttachmentOut]:
        async with self.db.session() as session:
            uses = (
                select(DialerListAttachment.file_id, func.count().label("n"))
                .group_by(DialerListAttachment.file_id)
                .subquery()
            )
            rows = await session.execute(
                select(UploadedFile, uses.c.n)
                .outerjoin(uses, uses.c.file_id == UploadedFile.id)
                .where(UploadedFile.purpose == ATTACHMENT_PURPOSE)
                .order_by(UploadedFile.created_at, UploadedFile.id)
            )
            return [_out(f, int(n or 0)) for f, n in rows]

    async def remove(self, token: str) -> None:
        async with self.db.session() as session, session.begin():
            found = await session.scalar(
                select(UploadedFile).where(
                    UploadedFile.token == token, UploadedFile.purpose == ATTACHMENT_PURPOSE
                )
            )
            if found is None:
                raise NotFound("no dialer attachment with that token")
            used = await session.scalar(
                select(func.count())
                .select_from(DialerListAttachment)
                .where(DialerListAttachment.file_id == found.id)
            )
            if used:
                raise Conflict(
                    f"{found.filename} is named by {used} list{'s' if used != 1 else ''}:"
                    " remove those lists first"
                )
            await session.delete(found)


def _out(row: UploadedFile, lists: int) -> DialerAttachmentOut:
    return DialerAttachmentOut(
        token=row.token,
        filename=row.filename,
        size=row.size,
        content_type=row.content_type,
        created_at=row.created_at,
        lists=lists,
    )
