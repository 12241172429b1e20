"""In the demo, Sam can view an agent's screen without a second terminal: Ben Bot's console
runs headless beside the demo's own (postdesk/demo.py), at 80x24, and the demo's agents allow
it. This drives that console and a supervisor's watch through the real engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

from console.screens.agent import AgentScreen
from engine.api.schemas import ScreenChanged, encode
from engine.client import EngineClient
from engine.demo import DemoWorld
from engine.engine import Engine
from postdesk.demo import WATCHED_BOT, WATCHED_SIZE, bot_console
from tests.engine_fixtures import eventually
from tests.patience import PATIENCE


async def test_sam_views_ben_bots_screen_as_the_bot_works(engine: Engine, tmp_path: Path) -> None:
    world = DemoWorld(engine, tmp_path / "demo", pace=0.05)  # the demo's minute, sped up
    await world.start()
    try:
        async with (
            bot_console(engine.socket_path) as bot,
            EngineClient(engine.socket_path, act_as="sam") as sam,
        ):
            await eventually(
                lambda: asyncio.sleep(0, bot.is_running and isinstance(bot.screen, AgentScreen)),
                bool,
                what="Ben's console on his inbox",
            )
            async with engine.bus.subscribe() as tap:
                # Refused unless Ben allows it: the demo's agents do.
                watch = await sam.watch("screen", WATCHED_BOT)
                frames: list[ScreenChanged] = []
                loop = asyncio.get_running_loop()
                deadline = loop.time() + PATIENCE
                while len(frames) < 3 and loop.time() < deadline:  # a picture, then changes
                    got, event = await tap.next(0.5)
                    if got and isinstance(event, ScreenChanged) and event.agent == WATCHED_BOT:
                        frames.append(event)
                assert len(frames) >= 3, f"{len(frames)} frames of Ben's screen"
                first = frames[0].frame
                assert first.full and (first.width, first.height) == WATCHED_SIZE
                assert frames[0].to == ["sam"]
                pictured = b"".join(encode(f) for f in frames)
                assert b"Screen viewed by Sam Supervisor" in pictured  # Ben is told, as anyone
                await sam.end_watch(watch.id)
    finally:
        await world.stop()
