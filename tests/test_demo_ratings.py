"""The demo's customers open and rate replies through the real public web service, so the
ratings and seen counts show in the consoles within the demo's first minute."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.api.schemas import RatingsQuery
from engine.demo import DemoWorld
from engine.engine import Engine
from engine.services.customer.feedback import CustomerFeedback
from engine.web.app import WebService, build_app
from tests.engine_fixtures import engine_settings, eventually
from tests.servers import free_port


@pytest.fixture
async def demo_engine(tmp_path: Path) -> AsyncIterator[Engine]:
    port = free_port()
    engine = Engine(engine_settings(tmp_path / "home", web_bind=f"127.0.0.1:{port}"))
    await engine.start()
    feedback = await CustomerFeedback.open(engine.settings.db_url)
    web = WebService(build_app(feedback, base_url=engine.settings.web_url, rate=100, burst=100))
    await web.start("127.0.0.1", port)
    try:
        yield engine
    finally:
        await web.stop()
        await feedback.close()
        await engine.stop()


async def test_demo_customers_rate_replies_on_the_web_service(
    demo_engine: Engine, tmp_path: Path
) -> None:
    world = DemoWorld(demo_engine, tmp_path / "demo", pace=0.05)  # the demo's minute, sped up
    await world.start()
    try:
        ratings = await eventually(
            lambda: demo_engine.ratings.listing(RatingsQuery()),
            lambda rows: len(rows) >= 2,
            what="two ratings from the demo's customers",
        )
        [first, *_] = ratings
        detail = await demo_engine.queries.detail(first.interaction_id)
        rated = next(m for m in detail.messages if m.id == first.message_id)
        assert rated.kind == "reply" and rated.rating == first.score
        assert first.agent in ("ben", "carla", "ana")

        async def seen() -> int:
            rows = await demo_engine.ratings.listing(RatingsQuery())
            details = [await demo_engine.queries.detail(r.interaction_id) for r in rows]
            return sum(m.seen_count for d in details for m in d.messages)

        await eventually(seen, lambda count: count > 0, what="a rated reply seen")
    finally:
        await world.stop()
