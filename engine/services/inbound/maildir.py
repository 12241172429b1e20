"""Inbound from a local Maildir (delivery by a local MTA, and the demo's mail world).

New files are ingested oldest first, then moved to cur/. A crash between the commit and the
move ingests the file again on restart; the ingestor's content-hash check makes that harmless.
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


def ensure_maildir(path: Path) -> None:
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)


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
        new_dir = self.path / "new"
        entries = sorted(os.scandir(new_dir), key=lambda e: (e.stat().st_mtime, e.name))
        for entry in entries:
            if not entry.is_file():
                continue
            raw = Path(entry.path).read_bytes()
            await self.ingestor.ingest(self.campaign_id, raw, Position("maildir"))
            os.replace(entry.path, self.path / "cur" / f"{entry.name}:2,S")
        return len(entries)
