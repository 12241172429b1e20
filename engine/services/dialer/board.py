"""What the supervisor's dialer dashboard opens on: every dialer, its campaign and its lists'
counts, in one read.

The dialer's configuration (`GET /dialers`) is the admins'; a supervisor watching the
dashboard needs only names, campaigns and counts. The counts are the same `count_progress`
the `DialerProgress` events carry, so the first picture and the live ones agree; after this
read the dashboard lives on those events alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from data.db import Database
from data.models import Campaign, Dialer
from engine.api.schemas import DialerBoardRow
from engine.domain.dialer_schedule import on_schedule
from engine.services.dialer.progress import count_progress, weekly_of

__all__ = ["DialerBoard"]


class DialerBoard:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    async def rows(self) -> list[DialerBoardRow]:
        """Every dialer by name, each with one entry per list (none while it has no list)."""
        async with self.db.session() as session:
            found = (
                await session.execute(
                    select(Dialer, Campaign.name)
                    .join(Campaign, Campaign.id == Dialer.campaign_id)
                    .order_by(Dialer.name)
                )
            ).all()
            now = self.clock()
            progress = await count_progress(session, [d.id for d, _ in found], now)
            return [
                DialerBoardRow(
                    dialer=dialer.name,
                    campaign=campaign,
                    running=dialer.running,
                    on_schedule=on_schedule(
                        await weekly_of(session, dialer), dialer.starts_on, dialer.ends_on, now
                    ),
                    lists=progress.get(dialer.id, []),
                )
                for dialer, campaign in found
            ]
