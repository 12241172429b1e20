"""SVG snapshots of the supervisor's live view of an agent's screen (issue 15) at 80x24 and
160x48: the agent's console (fake engine, fixed data, 80x24, a thread open, watched) is
captured the way the agent's console captures itself, and drawn by the mirror screen.
Review a failing snapshot's diff before accepting it with `--snapshot-update`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from textual.pilot import Pilot

from console.app import PostdeskApp
from console.screen_share import ScreenSharer
from console.screens.mirror import MirrorScreen
from engine.api.schemas import WatchOut
from tests.console_helpers import NoFrames, press, screen_text, settle, until
from tests.fake_engine import FakeSupervisorEngine, agent_app

SIZES = [(80, 24), (160, 48)]


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "UTC")
        time.tzset()
        yield
    time.tzset()


class Watching(FakeSupervisorEngine):
    async def watch(self, kind: str, agent: str, **_: object) -> WatchOut:
        return WatchOut(
            id=1,
            kind="screen",
            agent=agent,
            agent_name="Agent One",
            started_at=datetime(2026, 12, 6, 9, 0, tzinfo=UTC),
        )

    async def end_watch(self, watch_id: int) -> None:
        pass


async def _mirrored(pilot: Pilot[None]) -> None:
    app = pilot.app
    await until(pilot, lambda: "Carla Conti" in screen_text(app), what="the monitor")
    agent = agent_app()
    async with agent.run_test(size=(80, 24)) as agent_pilot:
        await until(agent_pilot, lambda: "Order 1234 missing" in screen_text(agent))
        await press(agent_pilot, "enter")
        sharer = ScreenSharer(agent, NoFrames(), agent.screen)  # frames taken, not sent
        sharer.watchers = ["Sam Supervisor"]
        agent.call_later(sharer._show)  # the agent's indicator, as the engine would set it
        await settle(agent_pilot)
        frame = sharer.frame()
    assert frame is not None and frame.full
    await press(pilot, "v")
    await until(pilot, lambda: isinstance(app.screen, MirrorScreen), what="the mirror")
    mirror = app.screen
    assert isinstance(mirror, MirrorScreen)
    app.call_later(mirror.show, frame)
    await settle(pilot)
    assert "Screen viewed by Sam Supervisor" in mirror.view.text()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_mirrored_agent_screen(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    app = PostdeskApp(lambda _user: Watching(), mode="supervisor")  # type: ignore[arg-type,return-value]
    assert snap_compare(app, terminal_size=size, run_before=_mirrored)


async def _zoomed(pilot: Pilot[None]) -> None:
    await _mirrored(pilot)
    await press(pilot, "z")
    pilot.app.clear_notifications()  # the note on how back would cover the picture's corner
    await settle(pilot)


def test_mirrored_agent_screen_full_screen_80x24(snap_compare: Callable[..., bool]) -> None:
    """`z`: the agent's 80x24 picture alone on an 80x24 terminal, whole."""
    app = PostdeskApp(lambda _user: Watching(), mode="supervisor")  # type: ignore[arg-type,return-value]
    assert snap_compare(app, terminal_size=(80, 24), run_before=_zoomed)


async def test_full_screen_fits_the_agents_picture_and_escape_comes_back_first() -> None:
    app = PostdeskApp(lambda _user: Watching(), mode="supervisor")  # type: ignore[arg-type,return-value]
    async with app.run_test(size=(80, 24)) as pilot:
        await _mirrored(pilot)
        mirror = app.screen
        assert isinstance(mirror, MirrorScreen)
        # Framed, under a header and a status line, the 80x24 picture cannot fit.
        assert mirror.view.max_scroll_y > 0 or mirror.view.max_scroll_x > 0
        await press(pilot, "z")
        assert "z, Esc or a click brings this back" in str([n.message for n in app._notifications])
        app.clear_notifications()
        await settle(pilot)
        assert mirror.view.region.size == (80, 24)
        assert (mirror.view.max_scroll_x, mirror.view.max_scroll_y) == (0, 0)
        rows = screen_text(app).splitlines()
        assert "Screen viewed by Sam Supervisor" in rows[0]  # the agent's own header, on top
        assert "LIVE" not in screen_text(app)  # none of the supervisor's lines
        await press(pilot, "escape")  # out of full screen, still watching
        assert app.screen is mirror and not mirror.zoomed
        assert "LIVE" in screen_text(app)
        await press(pilot, "z")
        await pilot.click(offset=(40, 12))  # and by mouse
        await settle(pilot)
        assert app.screen is mirror and not mirror.zoomed
        await press(pilot, "escape")
        assert not isinstance(app.screen, MirrorScreen)
