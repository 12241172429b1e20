"""A dialer's records one by one: the dashboard's numbers opened up (issue 14's drill-down).

Which records of a list failed and why, which bounced or were reported as spam, found by
state and by any part of the address or the reason, a page at a time with the total, and the
same for `ctl dialer records --csv` (every page). Reads only; the list and line order is the
order the records came in.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select

from data.db import Database
from data.models import DialerList, DialerRecord, DialerRecordState
from engine.api.schemas import DialerRecordPage, DialerRecordQuery, DialerRecordRow
from engine.errors import NotFound
from engine.services.dialer.records import find_dialer
from engine.services.recordings.search import like_pattern

__all__ = ["DialerRecords"]


class DialerRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(self, dialer_name: str, query: DialerRecordQuery) -> DialerRecordPage:
        async with self.db.session() as session:
            dialer = await find_dialer(session, dialer_name)
            where = [DialerList.dialer_id == dialer.id, DialerList.importing.is_(False)]
            if query.list:
                list_id = await session.scalar(
                    select(DialerList.id).where(*where, DialerList.name == query.list)
                )
                if list_id is None:
                    raise NotFound(f"dialer {dialer_name!r} has no list {query.list!r}")
                where.append(DialerList.id == list_id)
            if query.state:
                where.append(DialerRecord.state == DialerRecordState(query.state))
            if needle := query.search.strip():
                pattern = like_pattern(needle)  # the recordings search's: text, never a pattern
                where.append(
                    or_(
                        DialerRecord.destination.ilike(pattern, escape="\\"),
                        DialerRecord.error.ilike(pattern, escape="\\"),
                    )
                )
            joined = select(DialerRecord).join(DialerList, DialerRecord.list_id == DialerList.id)
            total = int(
                await session.scalar(
                    select(func.count()).select_from(joined.where(*where).subquery())
                )
                or 0
            )
            rows = await session.execute(
                select(DialerRecord, DialerList.name)
                .join(DialerList, DialerRecord.list_id == DialerList.id)
                .where(*where)
                .order_by(DialerList.id, DialerRecord.line_number, DialerRecord.id)
                .offset((query.page - 1) * query.page_size)
                .limit(query.page_size)
            )
            items = [
                DialerRecordRow(
                    list=list_name,
                    line=record.line_number,
                    destination=record.destination,
                    state=record.state.value,
                    error=record.error,
                    priority=record.priority,
                    attempts=record.attempts,
                    sent_at=record.sent_at,
                    seen_at=record.seen_at,
                )
                for record, list_name in rows.all()
            ]
        return DialerRecordPage(
            total=total, page=query.page, page_size=query.page_size, items=items
        )
