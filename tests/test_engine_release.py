"""A stopped engine is garbage once nobody refers to it: the test suite starts one per test,
and each one kept alive (aiohttp's middleware cache held them: engine/aiohttp_release.py)
made every full garbage collection of the run longer, up to seconds with the event loop
stopped, in which a console's 5 s toast could come and go unseen."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from sqlalchemy.engine import Dialect

from engine.api.schemas import UserIn
from engine.client import EngineClient
from engine.engine import Engine
from tests.engine_fixtures import engine_settings


async def _answered_and_stopped(home: Path) -> weakref.ref[Engine]:
    engine = Engine(engine_settings(home))
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            assert await operator.campaigns() == []  # a request through every middleware
    finally:
        await engine.stop()
    return weakref.ref(engine)


async def test_a_stopped_engine_that_answered_requests_is_collected(tmp_path: Path) -> None:
    gone = await _answered_and_stopped(tmp_path / "home")
    gc.collect()
    assert gone() is None


async def _wrote_and_stopped(home: Path) -> weakref.ref[Dialect]:
    engine = Engine(engine_settings(home))
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            # An ORM flush: the users mapper caches its INSERT under this database's dialect.
            await operator.add_user(UserIn(username="ada", display_name="Ada", roles=["agent"]))
        dialect = weakref.ref(engine.db.engine.dialect)
    finally:
        await engine.stop()
    return dialect


async def test_a_stopped_engine_leaves_its_database_behind_in_no_model(tmp_path: Path) -> None:
    """The mappers' statement caches (module-level, as the models) held the dialect of every
    database that flushed a row, and through it the migrations' whole schema
    (data/sqlalchemy_release.py)."""
    gone = await _wrote_and_stopped(tmp_path / "home")
    gc.collect()
    assert gone() is None
