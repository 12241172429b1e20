"""Quarantined inbound mail: listed and shown to admins, and retried after a parser fix.

A mail the parser refused is never lost: its raw bytes are in the blob store and its row here
says why. Retrying runs the ingestor again; the content-hash check makes a retry that already
succeeded harmless.
"""

from __future__ import annotations

from msgspec.structs import asdict
from sqlalchemy import delete, select

from data.db import Database
from data.db_blobs import Blobs
from data.models import Campaign, Quarantine
from engine.api.schemas import QuarantineDetail, QuarantineOut, RetryOut
from engine.domain.mime import MimeError, parse_message
from engine.errors import NotFound
from engine.services.inbound.ingest import Ingestor
from engine.services.inbound.prepare import Position


class QuarantineService:
    def __init__(self, db: Database, blobs: Blobs, ingestor: Ingestor) -> None:
        self.db = db
        self.blobs = blobs
        self.ingestor = ingestor

    async def _out(self, row: Quarantine, campaign: str | None) -> QuarantineOut:
        size = await self.blobs.size(row.raw_sha256)
        return QuarantineOut(
            id=row.id,
            campaign=campaign,
            error=row.error,
            size=size,
            imap_uid=row.imap_uid,
            created_at=row.created_at,
        )

    async def list(self) -> list[QuarantineOut]:
        async with self.db.session() as session:
            rows = await session.execute(
                select(Quarantine, Campaign.name)
                .outerjoin(Campaign, Quarantine.campaign_id == Campaign.id)
                .order_by(Quarantine.id)
            )
            return [await self._out(row, name) for row, name in rows]

    async def _get(self, quarantine_id: int) -> tuple[Quarantine, str | None]:
        async with self.db.session() as session:
            found = (
                await session.execute(
                    select(Quarantine, Campaign.name)
                    .outerjoin(Campaign, Quarantine.campaign_id == Campaign.id)
                    .where(Quarantine.id == quarantine_id)
                )
            ).first()
        if found is None:
            raise NotFound(f"no quarantined mail {quarantine_id}")
        return found[0], found[1]

    async def show(self, quarantine_id: int) -> QuarantineDetail:
        row, campaign = await self._get(quarantine_id)
        raw = (await self.blobs.get(row.raw_sha256)).decode("utf-8", "replace")
        return QuarantineDetail(**asdict(await self._out(row, campaign)), raw=raw)

    async def retry(self, quarantine_id: int) -> RetryOut:
        row, _campaign = await self._get(quarantine_id)
        raw = await self.blobs.get(row.raw_sha256)
        try:
            parse_message(raw)
        except MimeError as exc:
            return RetryOut(
                quarantine_id=quarantine_id, ingested=False, interaction_id=None, error=str(exc)
            )
        if row.campaign_id is None:
            return RetryOut(
                quarantine_id=quarantine_id,
                ingested=False,
                interaction_id=None,
                error="its campaign was deleted",
            )
        result = await self.ingestor.ingest(row.campaign_id, raw, Position("quarantine"))
        async with self.db.session() as session, session.begin():
            await session.execute(delete(Quarantine).where(Quarantine.id == quarantine_id))
        return RetryOut(
            quarantine_id=quarantine_id,
            ingested=True,
            interaction_id=result.interaction_id,
            error="",
        )
