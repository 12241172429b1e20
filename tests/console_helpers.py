"""Drive and read a real console under Pilot: what a person would see on the screen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot

from console.app import PostdeskApp
from engine.client import EngineClient
from engine.engine import Engine


def screen_text(app: App[object]) -> str:
    """The characters currently painted on the terminal, row by row."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def until(
    pilot: Pilot[object], check: Callable[[], bool], *, timeout: float = 20.0, what: str = ""
) -> None:
    """Let the app run until `check()` holds; fail with the screen if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(
                f"timed out waiting for {what or check}; screen:\n{screen_text(pilot.app)}"
            )
        await pilot.pause(0.05)


async def type_text(pilot: Pilot[object], text: str) -> None:
    keys = {" ": "space", "\n": "enter", ".": "full_stop", ",": "comma", "!": "exclamation_mark"}
    await pilot.press(*(keys.get(ch, ch) for ch in text))


def console_for(engine: Engine, username: str, mode: str) -> PostdeskApp:
    return PostdeskApp(lambda _u: EngineClient(engine.socket_path, act_as=username), mode=mode)
