"""Prepare a batch of inbound mail before its transaction: parse, classify, store the blobs.

A module of its own because this half of ingestion runs in a worker thread with no database
(`Ingestor.prepare` hands it to `asyncio.to_thread`), while `engine.services.inbound.ingest`
is the transaction that follows: a prepared batch is plain values (`Prepared`) plus blobs
already durable on disk, so the commit that names them can never point at a missing file.

The raw bytes of every mail are stored, also when they cannot be parsed (the quarantine row
names them). An attachment over the inbound size limit gets no blob of its own: the raw
message holds it, and its row records its size, content hash and that it was over the limit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from data.db_blobs import Batch
from engine.domain.classify import Classification, classify
from engine.domain.mime import MimeError, ParsedMessage, parse_message

__all__ = ["Position", "Prepared", "StoredAttachment", "prepare_batch"]


@dataclass(frozen=True)
class Position:
    """Where a mail sits in its source, committed as the mailbox checkpoint."""

    folder: str
    uidvalidity: int = 0
    uid: int = 0


class StoredAttachment(NamedTuple):
    digest: str  # the content's sha256, also when no blob was written
    over_limit: bool = False  # too large for a blob of its own: only in the raw message


@dataclass
class Prepared:
    """One mail of a batch, parsed, classified and its blobs stored: what the commit reads."""

    digest: str
    parsed: ParsedMessage | str  # str: why it could not be parsed
    position: Position
    attachments: list[StoredAttachment] = field(default_factory=list)
    classification: Classification | None = None
    # Blobs the database stores in the ingest transaction (data/db_blobs.py); files: none.
    blobs: dict[str, bytes] = field(default_factory=dict)


class BlobSink(Protocol):
    def batch(self, size_hint: int) -> Batch: ...


def prepare_batch(
    blobs: BlobSink,
    items: list[tuple[bytes, Position]],
    ours: set[str],
    max_attachment_bytes: int,
) -> list[Prepared]:
    """Parse and classify mails, and store their blobs (raw and attachments) durably.

    An attachment over `max_attachment_bytes` is not written as a blob of its own: the raw
    message holding it is always stored, so nothing is lost, and its row records its size,
    content hash and that it was over the limit.
    """
    prepared: list[Prepared] = []
    batch = blobs.batch(len(items))
    try:
        for raw, position in items:
            digest = batch.write(raw)  # a mail that cannot be parsed is kept too
            try:
                parsed = parse_message(raw)
            except MimeError as exc:
                failed = Prepared(digest, str(exc) or exc.__class__.__name__, position)
                failed.blobs = batch.take()
                prepared.append(failed)
                continue
            attachments = [
                StoredAttachment(hashlib.sha256(a.data).hexdigest(), over_limit=True)
                if len(a.data) > max_attachment_bytes
                else StoredAttachment(batch.write(a.data))
                for a in parsed.attachments
            ]
            # Our own mail is recognised by its Message-ID in our outbox (see ingest's _Batch),
            # not by domain: an internal helpdesk's customers share the company's domain.
            classification = classify(raw, parsed, our_addresses=ours)
            prepared.append(
                Prepared(digest, parsed, position, attachments, classification, batch.take())
            )
        # All the batch's blobs behind one durability barrier: every one is on disk before
        # any row naming it can commit.
        batch.commit()
    finally:
        batch.abort()  # what was written, after a failure; a no-op once committed
    return prepared
