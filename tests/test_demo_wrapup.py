"""The demo's campaigns have wrap-up codes and its simulated agents (Ben Bot, Carla Bot) close
with one, so a newcomer sees dispositions on threads, in search and in the statistics within
the demo's first minute (docs/wrapup.md)."""

from __future__ import annotations

from pathlib import Path

from engine.demo import DemoWorld
from engine.demo_cast import BOT_NOTES, DEMO_CODES
from engine.engine import Engine
from tests.engine_fixtures import eventually


async def test_the_demo_bots_close_with_a_code_of_their_campaign(
    engine: Engine, tmp_path: Path
) -> None:
    world = DemoWorld(engine, tmp_path / "demo", pace=0.05)  # the demo's minute, sped up
    await world.start()
    try:
        support = await engine.wrapups.tree("Support")
        assert support.required and len(support.codes) == 4
        counted = await eventually(
            lambda: engine.wrapups.stats(None, None),
            lambda s: sum(c.closed for c in s.campaigns) >= 3,
            what="three closes by the bots",
        )
        shown = {"Support": {p.replace("/", " > ") for p in DEMO_CODES["Support"]}}
        for campaign in counted.campaigns:
            for count in campaign.counts:
                assert count.disposition in shown.get(campaign.campaign, {count.disposition})
                assert count.disposition  # every close had a code: the campaign asks for one
        # Some closes carry one of the bots' internal notes, shown on the thread.
        noted = await eventually(
            lambda: _notes(engine),
            lambda notes: bool(notes),
            what="a note left by a bot",
        )
        assert set(noted) <= set(BOT_NOTES)
    finally:
        await world.stop()


async def _notes(engine: Engine) -> list[str]:
    closed = await engine.queries.interactions(agent_id=None, agent=None, state="closed")
    notes: list[str] = []
    for item in closed:
        notes += [w.note for w in (await engine.queries.detail(item.id)).wrapups if w.note]
    return notes
