"""Alembic environment: runs on the connection the engine hands over (see data/db.py)."""

from alembic import context
from sqlalchemy import create_engine

from data.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        # `alembic revision --autogenerate` from a maintainer's shell: a sync URL is given.
        url = config.get_main_option("sqlalchemy.url") or "sqlite:///autogen.db"
        with create_engine(url).connect() as conn:
            context.configure(
                connection=conn, target_metadata=target_metadata, render_as_batch=True
            )
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
