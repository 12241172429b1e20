"""The engine's blobs (raw mail, attachments) behind one async interface, on files or in the
database.

One engine node keeps its blobs as files under its data dir (`data/blobs.py`). Several nodes
must all read every blob, so on PostgreSQL the blobs live in the database's `blobs` table
(bytea, by sha256, like the files), unless an operator sets a shared blob directory
(`POSTDESK_BLOB_DIR`, e.g. an NFS mount every node has), which keeps the file store there.

Written in or before the transaction of the rows naming them: inbound mail's blobs are
inserted by the ingest transaction itself (`save`, with `INSERT ... ON CONFLICT DO NOTHING`,
so the same bytes twice are one row); a file an agent uploads is inserted in its own
transaction before the row that names it. A digest missing from the table is looked for in
the node's old file store, so an installation that ran on PostgreSQL before blobs moved into
it still reads its files (`postdesk ctl db migrate-to` moves them).
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from data.blobs import BlobStore
from data.db import Database
from data.models import StoredBlob


class Batch(Protocol):
    """Blobs of one inbound batch (see `data.blobs.BlobBatch`)."""

    def write(self, data: bytes) -> str: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...
    def take(self) -> dict[str, bytes]: ...


class Blobs:
    """Blobs as files (one node, or a shared directory)."""

    def __init__(self, files: BlobStore) -> None:
        self.files = files

    async def get(self, digest: str) -> bytes:
        """The blob's bytes; FileNotFoundError when it is not stored."""
        return self.files.get(digest)

    async def put(self, data: bytes) -> str:
        return self.files.put(data)

    async def size(self, digest: str) -> int:
        return self.files.path_for(digest).stat().st_size

    async def exists(self, digest: str) -> bool:
        return self.files.exists(digest)

    def batch(self, size_hint: int) -> Batch:
        """For a worker thread: files are written (durably) there; see `BlobBatch`."""
        return self.files.batch(size_hint)

    def save(self, session: Session, blobs: dict[str, bytes]) -> None:
        """Store what a batch held back, in the caller's transaction (files: nothing held).
        On a plain session: ingest's transaction runs in the database's thread."""


class _Held:
    """A batch for the database: digests now, bytes inserted by the ingest transaction."""

    def __init__(self) -> None:
        self._pending: dict[str, bytes] = {}

    def write(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self._pending[digest] = data
        return digest

    def commit(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def take(self) -> dict[str, bytes]:
        taken, self._pending = self._pending, {}
        return taken


class DatabaseBlobs(Blobs):
    """Blobs in the database's `blobs` table (PostgreSQL, several nodes)."""

    def __init__(self, db: Database, old_files: BlobStore | None = None) -> None:
        self.db = db
        self.old_files = old_files  # this node's file store from before, read as a fallback

    async def get(self, digest: str) -> bytes:
        async with self.db.session() as session:
            data = await session.scalar(select(StoredBlob.data).where(StoredBlob.sha256 == digest))
        if data is not None:
            return bytes(data)
        if self.old_files is not None:
            return self.old_files.get(digest)
        raise FileNotFoundError(f"no blob {digest}")

    async def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        async with self.db.session() as session, session.begin():
            await session.run_sync(self.save, {digest: data})
        return digest

    async def size(self, digest: str) -> int:
        async with self.db.session() as session:
            size = await session.scalar(
                select(func.octet_length(StoredBlob.data)).where(StoredBlob.sha256 == digest)
            )
        if size is not None:
            return int(size)
        if self.old_files is not None:
            return self.old_files.path_for(digest).stat().st_size
        raise FileNotFoundError(f"no blob {digest}")

    async def exists(self, digest: str) -> bool:
        async with self.db.session() as session:
            found = await session.scalar(
                select(StoredBlob.sha256).where(StoredBlob.sha256 == digest)
            )
        return found is not None or (self.old_files is not None and self.old_files.exists(digest))

    def batch(self, size_hint: int) -> Batch:
        return _Held()

    def save(self, session: Session, blobs: dict[str, bytes]) -> None:
        if not blobs:
            return
        # Only the bytes the table lacks travel (a mail fetched again, a common attachment).
        have = set(
            (
                session.execute(select(StoredBlob.sha256).where(StoredBlob.sha256.in_(list(blobs))))
            ).scalars()
        )
        missing = [{"sha256": d, "data": b} for d, b in blobs.items() if d not in have]
        if missing:
            session.execute(
                pg_insert(StoredBlob).on_conflict_do_nothing(index_elements=["sha256"]), missing
            )
