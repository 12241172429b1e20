"""The Alembic migrations build exactly the schema the models declare.

A column added to `data/models.py` without a migration (or the other way round) would work in
tests that create tables from the models and break every existing installation on upgrade.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from data.db import Database, sqlite_url
from data.models import Attachment, Base, BlacklistEntry, BreakReason, Campaign


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


async def test_an_installation_with_data_upgrades_without_losing_any(tmp_path: Path) -> None:
    """Rows written under revision 0003 (the first release's schema) survive every later
    migration unchanged, and the new columns and tables get their defaults."""
    from alembic import command
    from sqlalchemy import JSON, MetaData, func, insert, select

    from data.db import alembic_config

    db = Database(sqlite_url(tmp_path / "old.db"))
    tables = [
        "users",
        "campaigns",
        "interactions",
        "messages",
        "attachments",
        "quarantine",
        "ratings",
        "blacklist",
    ]

    def at_0003(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0003")

    def fill(connection: Connection) -> dict[str, list[tuple[object, ...]]]:
        """One row per table with every column set; required foreign keys point at row 1."""
        meta = MetaData()
        meta.reflect(connection, only=tables)
        written: dict[str, list[tuple[object, ...]]] = {}
        for name in tables:
            table = meta.tables[name]
            row: dict[str, object] = {}
            for column in table.columns:
                python_type = list if isinstance(column.type, JSON) else column.type.python_type
                if column.primary_key or (column.foreign_keys and not column.nullable):
                    row[column.name] = 1
                elif column.foreign_keys:
                    row[column.name] = None
                elif python_type is bool:
                    row[column.name] = True
                elif python_type is int:
                    row[column.name] = 7
                elif python_type is datetime:
                    row[column.name] = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
                elif python_type in (dict, list):
                    row[column.name] = []
                elif python_type is bytes:
                    row[column.name] = b"raw"
                else:
                    row[column.name] = f"{name}.{column.name}"[: column.type.length or 100]
            connection.execute(insert(table).values(**row))
            written[name] = [tuple(r) for r in connection.execute(select(table))]
        return written

    def read(connection: Connection) -> dict[str, list[tuple[object, ...]]]:
        meta = MetaData()
        meta.reflect(connection, only=tables)
        return {
            name: [tuple(r) for r in connection.execute(select(meta.tables[name]))]
            for name in tables
        }

    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(at_0003)
            before = await conn.run_sync(fill)
        await db.upgrade()
        async with db.engine.connect() as conn:
            after = await conn.run_sync(read)
            reasons = (
                await conn.execute(select(func.count()).select_from(BreakReason))
            ).scalar_one()
            over_limit = (await conn.execute(select(Attachment.over_limit))).scalars().all()
            track = (await conn.execute(select(Campaign.track_replies))).scalars().all()
            sources = (await conn.execute(select(BlacklistEntry.source))).scalars().all()
    finally:
        await db.close()
    assert all(len(before[name]) == 1 for name in tables)
    for name in tables:
        old = before[name]
        new = [row[: len(old[0])] for row in after[name]]  # new columns are added at the end
        assert new == old, name
    assert over_limit == [False]
    assert track == [False]  # 0013: no tracking image unless the admin asks for one
    assert sources == ["complaint"]  # 0013: every entry before sources was a complaint
    assert reasons == 5
