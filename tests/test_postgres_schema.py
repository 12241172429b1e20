"""The same Alembic migrations build the same schema on PostgreSQL as on SQLite (issue 16's
first step): from an empty database to head, the models and the migrated tables agree, and the
engine's database layer reads and writes through asyncpg. Against a real throwaway cluster."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, select, text

from data.db import Database
from data.models import Base, BlacklistEntry, Campaign
from tests.postgres_server import PostgresServer
from tests.schema_compare import not_a_search_index


async def test_migrations_build_the_models_schema_on_postgresql(postgres: PostgresServer) -> None:
    db = Database(postgres.new_database())
    try:
        assert db.engine.dialect.name == "postgresql"
        await db.upgrade()
        assert await db.at_head()

        def differences(connection: Connection) -> list[object]:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": not_a_search_index}
            )
            return list(compare_metadata(context, Base.metadata))

        async with db.engine.connect() as conn:
            assert await conn.run_sync(differences) == []
        # A row in and out, with the timestamp type and the enum columns.
        async with db.session() as session, session.begin():
            session.add(Campaign(name="Support", email_address="support@example.test"))
            session.add(BlacklistEntry(email="a@example.net", reason="r", source="manual"))
        async with db.session() as session:
            campaign = await session.scalar(select(Campaign))
            assert campaign is not None and campaign.created_at.tzinfo is not None
        await db.upgrade()  # at head: nothing to do, nothing breaks
    finally:
        await db.close()


async def test_nodes_starting_together_migrate_once(postgres: PostgresServer) -> None:
    """Several engine nodes started at once on one empty database: one migrates, the others
    wait for it and find the database at head (issue 16: one migrator at a time)."""
    url = postgres.new_database()
    nodes = [Database(url) for _ in range(3)]
    try:
        await asyncio.gather(*(db.upgrade() for db in nodes))
        assert all([await db.at_head() for db in nodes])
        async with nodes[0].session() as session:
            versions = await session.execute(text("SELECT version_num FROM alembic_version"))
            assert len(versions.all()) == 1
    finally:
        for db in nodes:
            await db.close()
