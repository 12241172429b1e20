"""The Alembic migrations build exactly the schema the models declare.

A column added to `data/models.py` without a migration (or the other way round) would work in
tests that create tables from the models and break every existing installation on upgrade.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from data.db import Database, sqlite_url
from data.models import Attachment, Base, BlacklistEntry, BreakReason, Campaign, Interaction
from tests.postgres_server import PostgresServer
from tests.schema_compare import not_a_search_index


async def test_migrated_database_matches_the_models(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "schema.db"))
    await db.upgrade()

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": not_a_search_index}
        )
        return list(compare_metadata(context, Base.metadata))

    try:
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(differences)
    finally:
        await db.close()
    assert diff == []


# Every column the models declare as a reference to another row.
MODEL_KEYS = {
    (table.name, column.name)
    for table in Base.metadata.tables.values()
    for column in table.columns
    if column.foreign_keys
}

# Columns a migration replaced on purpose: 0011 turned `strategy` into availability + delivery.
DROPPED = {"campaigns": ("strategy",)}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each backend the engine supports."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "old.db")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


async def test_an_installation_with_data_upgrades_without_losing_any(database_url: str) -> None:
    """Rows written under revision 0003 (the first release's schema) survive every later
    migration unchanged, and the new columns and tables get their defaults. Only the columns
    a migration replaced on purpose (`DROPPED`) are gone. On SQLite and on PostgreSQL."""
    from alembic import command
    from sqlalchemy import JSON, MetaData, func, insert, select

    from data.db import alembic_config

    db = Database(database_url)
    # memberships and schedules: a migration that rebuilds `campaigns` or `users` must not
    # cascade into the rows that reference them.
    tables = [
        "users",
        "campaigns",
        "memberships",
        "schedules",
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

    def fill(connection: Connection) -> dict[str, list[dict[str, object]]]:
        """One row per table with every column set; required foreign keys point at row 1."""
        meta = MetaData()
        meta.reflect(connection, only=tables)
        written: dict[str, list[dict[str, object]]] = {}
        for name in tables:
            table = meta.tables[name]
            row: dict[str, object] = {}
            for column in table.columns:
                python_type = list if isinstance(column.type, JSON) else column.type.python_type
                # A reference by the models' account too: PostgreSQL's 0001 lacked two keys.
                refers = column.foreign_keys or (name, column.name) in MODEL_KEYS
                if column.primary_key or (refers and not column.nullable):
                    row[column.name] = 1
                elif refers:
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
                elif python_type is time:
                    row[column.name] = time(9, 30)
                else:
                    row[column.name] = f"{name}.{column.name}"[: column.type.length or 100]
            connection.execute(insert(table).values(**row))
            written[name] = [dict(r._mapping) for r in connection.execute(select(table))]
        return written

    def read(connection: Connection) -> dict[str, list[dict[str, object]]]:
        meta = MetaData()
        meta.reflect(connection, only=tables)
        return {
            name: [dict(r._mapping) for r in connection.execute(select(meta.tables[name]))]
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
            zones = (await conn.execute(select(Campaign.time_zone))).scalars().all()
            held = (await conn.execute(select(Interaction.overflow))).scalars().all()
            messages = (await conn.execute(select(Interaction.message_count))).scalars().all()
    finally:
        await db.close()
    assert all(len(before[name]) == 1 for name in tables)
    for name in tables:
        old = [
            {k: v for k, v in row.items() if k not in DROPPED.get(name, ())} for row in before[name]
        ]
        new = [{k: row[k] for k in old[0]} for row in after[name]]
        assert new == old, name
    assert over_limit == [False]
    assert track == [False]  # 0013: no tracking image unless the admin asks for one
    assert sources == ["complaint"]  # 0013: every entry before sources was a complaint
    assert zones == ["UTC"] and held == [False]
    assert messages == [1]  # 0041: counted from the messages already there
    assert reasons == 5


async def test_the_old_strategy_becomes_availability_and_delivery(tmp_path: Path) -> None:
    """0011: least_active -> up-to-max + least-active, round_robin -> up-to-max + round-robin;
    existing members keep the order they were added in."""
    from alembic import command
    from sqlalchemy import text

    from data.db import alembic_config

    db = Database(sqlite_url(tmp_path / "strategy.db"))

    def at_0010(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0010")

    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(at_0010)
            await conn.execute(
                text(
                    "INSERT INTO users (id, username, display_name, roles, status,"
                    " status_reason, status_since, screen_monitoring_allowed, created_at)"
                    " VALUES (:id, :u, '', '[]', 'offline', '', '2026-01-01', 0, '2026-01-01')"
                ),
                [{"id": 1, "u": "ann"}, {"id": 2, "u": "bob"}],
            )
            columns = (await conn.execute(text("PRAGMA table_info(campaigns)"))).all()
            names = [c[1] for c in columns if c[1] != "id"]
            for campaign_id, strategy in ((1, "least_active"), (2, "round_robin")):
                values = {n: 0 for n in names}
                values.update(
                    {n: f"{n}{campaign_id}" for n in names if "name" in n or "email" in n}
                )
                values.update(
                    strategy=strategy,
                    inbound="imap",
                    imap_security="tls",
                    smtp_security="tls",
                    created_at="2026-01-01",
                    imap_password_enc=None,
                    smtp_password_enc=None,
                    signature_template_id=None,
                    confirmation_template_id=None,
                    out_of_hours_template_id=None,
                    busy_template_id=None,
                    overflow_campaign_id=None,
                    time_zone="UTC",
                )
                await conn.execute(
                    text(
                        f"INSERT INTO campaigns (id, {', '.join(names)})"
                        f" VALUES ({campaign_id}, {', '.join(':' + n for n in names)})"
                    ),
                    values,
                )
            await conn.execute(
                text(
                    "INSERT INTO memberships (id, campaign_id, user_id) VALUES"
                    " (5, 2, 2), (9, 2, 1), (7, 1, 1)"
                )
            )
        await db.upgrade()
        async with db.engine.connect() as conn:
            campaigns = (
                await conn.execute(
                    text("SELECT id, availability, delivery FROM campaigns ORDER BY id")
                )
            ).all()
            members = (
                await conn.execute(
                    text(
                        "SELECT campaign_id, user_id, position, penalty FROM memberships"
                        " ORDER BY campaign_id, position"
                    )
                )
            ).all()
    finally:
        await db.close()
    assert [tuple(c) for c in campaigns] == [
        (1, "up-to-max", "least-active"),
        (2, "up-to-max", "round-robin"),
    ]
    assert [tuple(m) for m in members] == [(1, 1, 1, 0), (2, 2, 1, 0), (2, 1, 2, 0)]
