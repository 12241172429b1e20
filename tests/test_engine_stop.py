"""An engine stop never hangs: a service that does not end when cancelled (a PostgreSQL query
whose cancel waits on a busy server did, in teardowns of the PostgreSQL pass) is named in the
log and left behind, and the stop goes on to close the socket and the database."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from engine.engine import Engine
from tests.engine_fixtures import engine_settings


async def test_a_service_that_ignores_cancellation_does_not_hold_up_the_stop(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = Engine(engine_settings(tmp_path / "home"), run_mail=False)
    await engine.start()
    engine.stop_seconds = 1.0
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                continue  # as a library that swallows the cancellation would

    engine.supervise("stubborn", stubborn)
    await asyncio.sleep(0.1)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="engine.engine"):
        await asyncio.wait_for(engine.stop(), 30)
    assert time.monotonic() - started < 30  # the stubborn service alone would never end
    assert "service stubborn did not stop within 1 s" in caplog.text
    assert not engine.socket_path.exists()  # the rest of the stop happened
    release.set()
    await asyncio.sleep(0.1)
