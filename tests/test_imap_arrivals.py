"""Mail that arrives while the mailbox reader is fetching is read at once, not at the next
push: the server tells of it (`* N EXISTS`) inside the answer to a command of the fetch, where
the IDLE that follows never sees it. Found by dialer bounce tests that appended reports one
at a time and waited 15 to 106 s for the last few."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from engine.api.schemas import RecordingQuery
from engine.engine import Engine
from engine.services.inbound.imap import exists_count
from tests.engine_fixtures import World, engine_settings
from tests.patience import PATIENCE


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    """The engine of `world`, without its own checks during IDLE (every minute by default):
    they would read a missed mail too, and hide the miss this file is about."""
    eng = Engine(engine_settings(tmp_path / "home", idle_check_seconds=25 * 60.0))
    await eng.start()
    try:
        yield eng
    finally:
        await eng.stop()


def _mail(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <arrival{n}@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = f"Arrival {n}"
    msg["Message-ID"] = f"<arrival-{n}@example.net>"
    msg.set_content(f"Mail number {n}.\n" * (1 + 2000 * (n % 3)))
    return msg.as_bytes()


async def _stored(world: World) -> int:
    return (await world.operator.recordings(RecordingQuery(subject="Arrival"))).total


async def test_mail_appended_one_at_a_time_is_all_read_within_seconds(world: World) -> None:
    count = 60
    for n in range(count):
        # One at a time, as mail really comes: each may land while the last is fetched.
        await asyncio.to_thread(world.dovecot.append, world.mailbox, _mail(n))
        await asyncio.sleep(0.01 * (n % 4))
    last_append = time.monotonic()
    while await _stored(world) < count:
        # A missed mail waits for the next push: none comes until Dovecot's keepalive (up to
        # two minutes), so PATIENCE (generous for a loaded machine) mostly tells a miss.
        waited = time.monotonic() - last_append
        assert waited < PATIENCE, f"{await _stored(world)} of {count} read"
        await asyncio.sleep(0.1)


def test_the_count_the_server_tells_with_its_answers() -> None:
    assert exists_count([b"SEARCH 4 5", b"OK"]) is None
    assert exists_count([b"12 EXISTS", b"1 RECENT", b"SEARCH"]) == 12
    assert exists_count([b"12 EXISTS", b"14 EXISTS"]) == 14
    assert exists_count([b"3 EXPUNGE", b"3 EXPUNGE"], known=10) == 8  # then "9 EXISTS" is news
    assert exists_count([bytearray(b"99 EXISTS")]) is None  # a literal's bytes, not the server
