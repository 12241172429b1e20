"""Who a login name is: the Postdesk user behind an OS user (or the one an operator acts as),
with their roles, as the server needs it on every connection and request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from data.db import Database
from data.models import User


@dataclass(frozen=True)
class KnownUser:
    id: int
    username: str
    roles: tuple[str, ...]


class Identity:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def user(self, username: str) -> KnownUser | None:
        async with self.db.session() as session:
            row = (
                await session.execute(
                    select(User.id, User.username, User.roles).where(User.username == username)
                )
            ).first()
        return None if row is None else KnownUser(row[0], row[1], tuple(row[2]))
