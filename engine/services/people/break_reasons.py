"""The break reasons the admin defines; agents pick one of them when they go on break.

The list is ordered (the agent's picker shows it as the admin wrote it) and replaced as a
whole, so an admin console can edit it as one form. Names are shown on every supervisor's grid,
so they are short, single-line and unique regardless of case.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import delete, select

from data.db import Database
from data.models import BreakReason
from engine.errors import Invalid

MAX_REASONS = 20
MAX_LENGTH = 40


def clean_reasons(names: list[str]) -> list[str]:
    """The list as stored, or `Invalid` naming the first bad entry (1-based, as shown)."""
    if len(names) > MAX_REASONS:
        raise Invalid(f"at most {MAX_REASONS} break reasons, got {len(names)}", field="reasons")
    cleaned: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(names, start=1):
        name = raw.strip()
        if not name:
            raise Invalid(f"break reason {number} is empty", field=f"reasons.{number - 1}")
        if any(unicodedata.category(ch).startswith("C") for ch in name):
            raise Invalid(
                f"break reason {number} contains a control character", field=f"reasons.{number - 1}"
            )
        if len(name) > MAX_LENGTH:
            raise Invalid(
                f"break reason {number} is longer than {MAX_LENGTH} characters",
                field=f"reasons.{number - 1}",
            )
        key = name.casefold()
        if key in seen:
            raise Invalid(
                f"break reason {number} repeats reason {seen[key]} ({name!r})",
                field=f"reasons.{number - 1}",
            )
        seen[key] = number
        cleaned.append(name)
    return cleaned


class BreakReasons:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def names(self) -> list[str]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(BreakReason.name).order_by(BreakReason.position, BreakReason.id)
            )
            return list(rows)

    async def replace(self, names: list[str]) -> list[str]:
        cleaned = clean_reasons(names)
        async with self.db.session() as session, session.begin():
            await session.execute(delete(BreakReason))
            session.add_all(BreakReason(name=name, position=i) for i, name in enumerate(cleaned))
        return cleaned

    async def check(self, reason: str) -> None:
        """An agent's reason must be on the list; with no list, a break has no reason."""
        names = await self.names()
        if not names and reason:
            raise Invalid("no break reasons are defined: take a break without one", field="reason")
        if names and reason not in names:
            raise Invalid(
                f"{reason!r} is not a break reason; choose one of: {', '.join(names)}",
                field="reason",
            )
