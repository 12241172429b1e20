"""The demo shows a campaign closing for the night and opening again: mail to the night desk
waits while it is closed (stored, not routed, the monitor marks it out of schedule), and is
routed to its member when it opens."""

from __future__ import annotations

from pathlib import Path

from engine.api.schemas import CampaignPatch
from engine.client import EngineClient
from engine.demo import DemoWorld
from engine.demo_cast import NIGHT, NIGHT_ADDRESS
from engine.engine import Engine
from tests.engine_fixtures import eventually


async def test_the_night_desk_holds_mail_while_closed_and_routes_it_when_open(
    engine: Engine, tmp_path: Path
) -> None:
    world = DemoWorld(engine, tmp_path / "demo", pace=10_000)  # the demo's cycle stands still
    await world.start()
    try:
        operator = EngineClient(engine.socket_path, act_as="sam")
        monitor = await operator.monitor()
        night = next(s for s in monitor.campaigns if s.name == NIGHT)
        assert not night.in_schedule
        world.night_customer_writes()
        rows = await eventually(
            lambda: operator.interactions(scope="all"),
            lambda rows: any(r.campaign_name == NIGHT for r in rows),
            what="the night desk's mail stored",
        )
        waiting = next(r for r in rows if r.campaign_name == NIGHT)
        assert waiting.state == "queued" and waiting.agent is None  # closed: not routed

        # What the demo does every NIGHT_CYCLE seconds: the window moves around now.
        hours = world._night_hours(open_now=True)
        await engine.admin.patch_campaign(NIGHT, CampaignPatch(schedule=hours))
        assigned = await eventually(
            lambda: operator.interactions(scope="all"),
            lambda rows: any(r.id == waiting.id and r.state == "assigned" for r in rows),
            what="the mail routed once the night desk opens",
        )
        assert next(r for r in assigned if r.id == waiting.id).agent == "carla"
        monitor = await operator.monitor()
        assert next(s for s in monitor.campaigns if s.name == NIGHT).in_schedule
        assert NIGHT_ADDRESS in {c.email_address for c in await operator.campaigns()}
    finally:
        await world.stop()
