"""Fixtures that run a real engine in the test's event loop, on a temp data dir.

The engine listens on its real Unix socket; tests talk to it through the real client, as the
operator (the test process's own OS user) acting as the Postdesk users they create.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from engine.api.schemas import CampaignOut, CampaignPatch, TemplateIn, UserIn
from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine
from tests import db_probe
from tests.patience import PATIENCE
from tests.postgres_server import PostgresServer
from tests.servers import DovecotServer, Mailbox, SmtpSink

T = TypeVar("T")


# `POSTDESK_TEST_DATABASE=postgresql` runs every engine of the tests on a database of the
# session's throwaway PostgreSQL cluster instead of SQLite in the data dir: one database per
# data dir, so an engine restarted on the same home finds its rows again.
TEST_DATABASE = os.environ.get("POSTDESK_TEST_DATABASE", "sqlite")
if TEST_DATABASE not in ("sqlite", "postgresql"):
    raise RuntimeError(f"POSTDESK_TEST_DATABASE={TEST_DATABASE!r}: sqlite or postgresql")
_cluster: list[PostgresServer] = []  # set by the session fixture `test_database`
_databases: dict[Path, str] = {}


def database_url_for(home: Path) -> str:
    """The database URL an engine on `home` uses in this run ("" for SQLite in `home`)."""
    if TEST_DATABASE == "sqlite":
        return ""
    if not _cluster:
        raise RuntimeError("the PostgreSQL cluster of the session is not started")
    home = home.resolve()
    if home not in _databases:
        _databases[home] = _cluster[0].new_database()
    return _databases[home]


@pytest.fixture(scope="session", autouse=True)
def test_database(request: pytest.FixtureRequest) -> str:
    """Starts the session's PostgreSQL cluster when the run is on PostgreSQL."""
    if TEST_DATABASE == "postgresql" and not _cluster:
        _cluster.append(request.getfixturevalue("postgres"))
    return TEST_DATABASE


def engine_settings(home: Path, **changes: Any) -> Settings:
    changes.setdefault("database_url", database_url_for(home))
    return Settings(home=home, poll_seconds=0.5, outbox_retry_base=0.2, **changes)


def with_database(home: Path, env: dict[str, str]) -> dict[str, str]:
    """`env` for an engine process (or `postdesk ctl`) on `home`: on PostgreSQL runs, the
    variable that points it at the database of `home`."""
    url = database_url_for(home)
    return {**env, "POSTDESK_DATABASE_URL": url} if url else env


def database_for(request: pytest.FixtureRequest) -> dict[str, str]:
    """Kept for callers that pass it on; engine_settings already chooses the database."""
    return {}


@pytest.fixture
async def engine(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Engine]:
    eng = Engine(engine_settings(tmp_path / "home"))
    await eng.start()
    try:
        yield eng
    finally:
        await eng.stop()


@pytest.fixture
async def operator(engine: Engine) -> AsyncIterator[EngineClient]:
    async with EngineClient(engine.socket_path) as client:
        yield client


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    timeout: float = PATIENCE,
    what: str = "condition",
) -> T:
    """Poll `probe` until `until(result)` holds; fail with the last result if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: T = await probe()
    while not until(last):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")
        await asyncio.sleep(0.05)
        last = await probe()
    return last


@dataclass
class World:
    """A provisioned installation: one campaign on a Dovecot mailbox, sending to a sink."""

    engine: Engine
    operator: EngineClient
    mailbox: Mailbox
    dovecot: DovecotServer
    sink: SmtpSink
    campaign: CampaignOut

    def client(self, username: str) -> EngineClient:
        return EngineClient(self.engine.socket_path, act_as=username)


async def provision(
    engine: Engine,
    operator: EngineClient,
    dovecot: DovecotServer,
    sink: SmtpSink,
    *,
    agents: tuple[str, ...] = ("agent1",),
    supervisors: tuple[str, ...] = ("super1",),
    max_per_agent: int = 5,
) -> World:
    mailbox = dovecot.new_mailbox("support")
    for name in agents:
        await operator.add_user(UserIn(username=name, display_name=name.title(), roles=["agent"]))
    for name in supervisors:
        await operator.add_user(
            UserIn(username=name, display_name=name.title(), roles=["supervisor"])
        )
    campaign = await operator.add_campaign(
        mailbox.campaign(
            "Support",
            smtp_host=sink.host,
            smtp_port=sink.port,
            from_name="Postdesk Support",
            inbound="imap",
            max_interactions_per_agent=max_per_agent,
        )
    )
    for name in agents:
        campaign = await operator.add_member("Support", name)
    return World(engine, operator, mailbox, dovecot, sink, campaign)


@pytest.fixture
async def world(
    engine: Engine, operator: EngineClient, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> World:
    return await provision(engine, operator, dovecot, smtp_sink)


async def enable_confirmation(world: World) -> None:
    await world.operator.add_template(
        TemplateIn(
            name="Got it",
            campaign="Support",
            kind="confirmation",
            body_text="Hello ${name}, we received your mail about ${subject}.",
        )
    )
    campaign = await world.operator.update_campaign(
        "Support", CampaignPatch(confirmation_enabled=True, confirmation_template="Got it")
    )
    assert campaign.confirmation_template == "Got it" and campaign.confirmation_enabled


def stored_message_ids(engine: Engine) -> list[str]:
    """Message-IDs of every stored message, straight from the database (WAL: safe to read)."""
    return [
        row[0]
        for row in db_probe.rows(engine.settings, "SELECT message_id FROM messages ORDER BY id")
    ]
