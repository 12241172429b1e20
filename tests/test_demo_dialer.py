"""The demo runs a dialer on a small list: a newcomer sees it send within the demo's first
minute (`ctl dialer status Welcome`), and a recipient's answer lands in the queue threaded
after the mail the dialer sent."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from data.models import DialerRecord
from engine.demo import DemoWorld
from engine.demo_cast import DIALER_RECIPIENTS
from engine.engine import Engine
from tests.engine_fixtures import eventually


async def test_the_demo_dialer_sends_its_list_and_answers_thread_back(
    engine: Engine, tmp_path: Path
) -> None:
    world = DemoWorld(engine, tmp_path / "demo", pace=0.05)  # the demo's minute, sped up
    await world.start()
    try:
        status = await eventually(
            lambda: engine.dialer_runner.status("Welcome"),
            lambda s: s.lists[0].sent == len(DIALER_RECIPIENTS),
            what="the demo dialer's whole list sent",
        )
        assert status.running and status.on_schedule and status.lists[0].failed == 0

        async def dialer_threads() -> int:
            async with engine.db.session() as session:
                return int(
                    await session.scalar(
                        select(func.count()).where(DialerRecord.outgoing_message_id.is_not(None))
                    )
                    or 0
                )

        await eventually(dialer_threads, lambda n: n >= 1, what="an answer to dialer mail")
    finally:
        await world.stop()
