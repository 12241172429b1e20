"""The same Alembic migrations build the same schema on PostgreSQL as on SQLite (issue 16's
first step): from an empty database to head, the models and the migrated tables agree, and the
engine's database layer reads and writes through asyncpg. Against a real throwaway cluster."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, select

from data.db import Database
from data.models import Base, BlacklistEntry, Campaign
from tests.postgres_server import PostgresServer
from tests.test_migrations import not_a_search_index


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
