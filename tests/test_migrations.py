"""The Alembic migrations build exactly the schema the models declare.

A column added to `data/models.py` without a migration (or the other way round) would work in
tests that create tables from the models and break every existing installation on upgrade.
"""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from data.db import Database, sqlite_url
from data.models import Base


async def test_migrated_database_matches_the_models(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "schema.db"))
    await db.upgrade()

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    try:
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(differences)
    finally:
        await db.close()
    assert diff == []
