"""An SMTP account's caps counted in the database, for engine nodes sharing PostgreSQL.

One engine counts what it sent through an account in memory (`AccountGate`); dialers on
several nodes sending through one account would each stay under the caps and together pass
them. On PostgreSQL, a claim through a capped account takes the account's turn (an advisory
lock for the claim's transaction), reads what every node claimed within each capped window
(`smtp_sends`, one row per account and second), claims no more than is left and adds what it
claimed, then commits: the next node's claim sees it. A message counts when claimed, as it
does in memory. Cheap: one locked read of at most a window of rows and one upsert per batch,
only for accounts that have caps; uncapped accounts cost nothing.

SQLite has one engine per database: its in-memory count is the whole truth, nothing here runs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from engine.domain.dialer_pacing import Caps

# The advisory lock of an account's claims: ("caps", smtp_limits.id).
CAPS_LOCK = 0x63617073
_WINDOWS = (("per_minute", 60), ("per_hour", 3600), ("per_day", 86400))
UNCAPPED = 1 << 30


def capped(caps: Caps) -> bool:
    return bool(caps.per_minute or caps.per_hour or caps.per_day)


async def take_turn(session: AsyncSession, limit_id: int, caps: Caps, now: datetime) -> int:
    """Inside the claim's transaction: the account's turn, and how many messages it may
    still send at `now` across every node."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:key, :id)"), {"key": CAPS_LOCK, "id": limit_id}
    )
    second = int(now.timestamp())
    spans = [(getattr(caps, name), span) for name, span in _WINDOWS if getattr(caps, name)]
    widest = max(span for _, span in spans)
    sums = ", ".join(
        f"coalesce(sum(sent) FILTER (WHERE second > :s{i}), 0)" for i in range(len(spans))
    )
    params: dict[str, int] = {"id": limit_id, "from": second - widest}
    params |= {f"s{i}": second - span for i, (_, span) in enumerate(spans)}
    row = (
        await session.execute(
            text(
                f"SELECT {sums} FROM smtp_sends WHERE limit_id = :id AND second > :from"  # noqa: S608 - only placeholders
            ),
            params,
        )
    ).one()
    left = UNCAPPED
    for (cap, _), used in zip(spans, row, strict=True):
        left = min(left, cap - int(used))
    return max(0, left)


async def took(session: AsyncSession, limit_id: int, now: datetime, count: int) -> None:
    """Inside the same transaction: `count` messages claimed at `now`; a day's old rows go."""
    second = int(now.timestamp())
    await session.execute(
        text(
            "INSERT INTO smtp_sends (limit_id, second, sent) VALUES (:id, :second, :n)"
            " ON CONFLICT (limit_id, second) DO UPDATE SET sent = smtp_sends.sent + :n"
        ),
        {"id": limit_id, "second": second, "n": count},
    )
    if second % 60 == 0:  # about once a minute per sending account
        await session.execute(
            text("DELETE FROM smtp_sends WHERE limit_id = :id AND second <= :old"),
            {"id": limit_id, "old": second - 86400},
        )
