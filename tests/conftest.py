"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres_server import PostgresServer
from tests.servers import DovecotServer, SmtpSink, start_dovecot, start_smtp_sink

pytest_plugins = ["tests.engine_fixtures", "tests.web_helpers"]

# What runs again on PostgreSQL in `make test` (`pytest -m database`): every test that drives
# an engine or its database, except the consoles' rendering tests (test_console_*), which
# see the engine only through its API and gain nothing from a second database. Found by what
# a test uses, so a new engine test is in without anyone remembering to mark it; a test can
# also be marked by hand.
DATABASE_FIXTURES = {"engine", "operator", "world", "postgres"}
DATABASE_NAMES = {"Engine", "engine_settings", "provision", "Database"}
# Files whose engines are their own SQLite data dirs whatever the run (`postdesk` subprocesses
# with a cleaned environment, Settings built by hand, the file's modes and bytes): on the
# PostgreSQL pass they would only run on SQLite again (test_cli alone is ~8 minutes of it).
SQLITE_DATA_DIR_FILES = {
    "test_cli",
    "test_private_files",
    "test_provisioning_doc",
    "test_recordings_upkeep",  # SQLite's FTS5 upkeep, on a database of its own
}
# Files that are always on PostgreSQL whatever the run (several engine nodes need it): the
# first pass runs them, the PostgreSQL pass would only run them again.
POSTGRESQL_ONLY_FILES = {
    "test_engine_nodes",
    "test_nodes_events",
    "test_nodes_routing",
    "test_nodes_dialer",
    "test_nodes_presence",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "database: drives an engine or its database; run again on PostgreSQL"
    )


def uses_database(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    name = "" if module is None else module.__name__.rsplit(".", 1)[-1]
    if not name or name.startswith("test_console_") or name in SQLITE_DATA_DIR_FILES:
        return False
    if name in POSTGRESQL_ONLY_FILES:
        return False
    if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    return bool(DATABASE_NAMES & set(vars(module)))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if uses_database(item):
            item.add_marker(pytest.mark.database)


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotServer]:
    """A real Dovecot IMAP server for the whole session; use ``dovecot.new_mailbox()``."""
    server = start_dovecot(tmp_path_factory.mktemp("dovecot"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A fresh recording SMTP server on loopback for one test."""
    sink = start_smtp_sink()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster for the whole session; ``postgres.new_database()``."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()
