"""Raw asyncpg connections outside SQLAlchemy's pool, for what must live on one connection of
its own for as long as it is needed: a LISTEN (events across engine nodes) and session
advisory locks (a dialer run by one node at a time). A pooled connection would be handed to
other work, or kept busy by it."""

from __future__ import annotations

from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url


def asyncpg_dsn(url: str) -> str:
    """SQLAlchemy's postgresql+asyncpg:// URL as asyncpg's own DSN."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def connect(url: str, *, timeout: float = 10.0) -> Any:
    """A new connection of its own (asyncpg.Connection) to the database of `url`."""
    return await asyncpg.connect(asyncpg_dsn(url), timeout=timeout)
