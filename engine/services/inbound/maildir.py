"""Inbound from a local Maildir (delivery by a local MTA, and the demo's mail world).

New files are ingested oldest first, in batches as IMAP's are: up to `BATCH_FILES` files (or
`BATCH_BYTES` of mail, a large file alone) are parsed and stored in one worker-thread pass and
committed in one transaction, then moved to cur/. One commit (and one durability barrier for
the blobs) per batch instead of per file: a burst of local mail is stored at the rate IMAP's
is (one file per transaction managed ~110 mails a second).

Nothing is lost and nothing is stored twice: a file leaves new/ only after the transaction
naming it committed, and a crash between the commit and the move ingests the batch again on
restart, where the ingestor's content-hash check (`raw_sha256`, per campaign) skips every mail
already stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

from engine.services.inbound.ingest import Ingestor
from engine.services.inbound.prepare import Position

log = logging.getLogger(__name__)

BATCH_FILES = 200  # as IMAP's FETCH_BATCH
BATCH_BYTES = 32 * 1024 * 1024  # a batch's mail held in memory at once; a larger file alone


def ensure_maildir(path: Path) -> None:
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)


def batches(sizes: list[int]) -> list[list[int]]:
    """Consecutive runs of indexes of at most BATCH_FILES files and BATCH_BYTES bytes (a file
    larger than that is a batch of its own)."""
    runs: list[list[int]] = []
    current: list[int] = []
    held = 0
    for index, size in enumerate(sizes):
        if current and (len(current) == BATCH_FILES or held + size > BATCH_BYTES):
            runs.append(current)
            current, held = [], 0
        current.append(index)
        held += size
    if current:
        runs.append(current)
    return runs


def _read(paths: list[str]) -> list[tuple[str, bytes]]:
    """The files' bytes; a file gone meanwhile (another reader moved it) is skipped."""
    read: list[tuple[str, bytes]] = []
    for path in paths:
        try:
            read.append((path, Path(path).read_bytes()))
        except FileNotFoundError:
            log.info("maildir file %s vanished before it was read", path)
    return read


class MaildirMailbox:
    def __init__(
        self,
        campaign_id: int,
        path: Path,
        ingestor: Ingestor,
        *,
        poll_seconds: float = 0.5,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.campaign_id = campaign_id
        self.on_connected = on_connected  # told after each scan that worked (health.py)
        self.path = path
        self.ingestor = ingestor
        self.poll_seconds = poll_seconds

    async def run(self) -> None:
        ensure_maildir(self.path)
        while True:
            await self.ingest_new()
            if self.on_connected is not None:
                self.on_connected()
            await asyncio.sleep(self.poll_seconds)

    async def ingest_new(self) -> int:
        """Ingest every file in new/, oldest first, a batch per transaction; returns how many
        files were ingested (duplicates of stored mail included)."""
        entries = await asyncio.to_thread(self._scan)
        if not entries:
            return 0
        ours = await self.ingestor.own_addresses()
        done = 0
        for run in batches([size for _path, size in entries]):
            read = await asyncio.to_thread(_read, [entries[i][0] for i in run])
            if not read:
                continue
            prepared = await self.ingestor.prepare(
                [(raw, Position("maildir")) for _path, raw in read], ours
            )
            await self.ingestor.commit(self.campaign_id, prepared, fenced=True)
            # Committed: only now may the files leave new/ (a crash before this line ingests
            # them again, as duplicates the content hash skips).
            await asyncio.to_thread(self._move, [path for path, _raw in read])
            done += len(read)
        return done

    def _scan(self) -> list[tuple[str, int]]:
        """The files in new/ with their sizes, oldest first (name breaks ties)."""
        found = []
        with os.scandir(self.path / "new") as entries:
            for entry in entries:
                try:
                    if entry.is_file():
                        stat = entry.stat()
                        found.append((stat.st_mtime, entry.name, entry.path, stat.st_size))
                except FileNotFoundError:
                    continue
        found.sort()
        return [(path, size) for _mtime, _name, path, size in found]

    def _move(self, paths: list[str]) -> None:
        cur = self.path / "cur"
        for path in paths:
            name = os.path.basename(path)
            try:
                os.replace(path, cur / f"{name}:2,S")
            except FileNotFoundError:  # moved by someone else meanwhile: it is stored
                log.info("maildir file %s vanished before it was moved", path)
