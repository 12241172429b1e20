"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres_server import PostgresServer
from tests.servers import DovecotServer, SmtpSink, start_dovecot, start_smtp_sink

pytest_plugins = ["tests.engine_fixtures", "tests.web_helpers"]


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
