"""SVG snapshots of the agent console at 80x24 and 160x48, from fixed hand-made data.

No engine: `FakeEngine` answers the few calls the screens make with the same objects every
time. Times shown relative to now (waiting, time in state) are made relative to now, dates
are fixed and shown in UTC, and cursors do not blink, so the pictures only change when the
console does. Review a failing snapshot's diff (the HTML report pytest writes) before
accepting it with `--snapshot-update`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from tests.console_helpers import screen_text, settle, until
from tests.fake_engine import agent_app, supervisor_app

SIZES = [(80, 24), (160, 48)]


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "UTC")
        time.tzset()
        yield
    time.tzset()


def steps(*keys: str, text: str = "") -> Callable[[Pilot[None]], object]:
    """Wait for the inbox, press `keys` (one at a time, letting workers finish), type
    `text`, then stop every cursor from blinking."""

    async def run(pilot: Pilot[None]) -> None:
        app = pilot.app
        await until(pilot, lambda: "Order 1234 missing" in screen_text(app), what="the inbox")
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        if text:
            await pilot.press(*text)
        for widget in app.screen.query("Input, TextArea"):
            assert isinstance(widget, Input | TextArea)
            widget.cursor_blink = False
        await settle(pilot)

    return run


SCENES = {
    "inbox": steps(),
    "thread": steps("enter"),
    "reply": steps("enter", "r", text="Your parcel left today."),
    "forward": steps("enter", "f", text="dave@example.org"),
    "ccbcc": steps("enter", "C"),
    "templates": steps("enter", "r", "ctrl+t"),
    "pick": steps("t"),  # Billing's queue, to take from
    # The wrap-up dialog (docs/wrapup.md): Sale's level open, a note being typed.
    "wrapup": steps("enter", "x", "enter", "ctrl+n", text="Wants a quote"),
}


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("scene", list(SCENES))
def test_agent_screens(
    snap_compare: Callable[..., bool], scene: str, size: tuple[int, int]
) -> None:
    assert snap_compare(agent_app(), terminal_size=size, run_before=SCENES[scene])


async def _monitor_ready(pilot: Pilot[None]) -> None:
    await until(pilot, lambda: "Carla Conti" in screen_text(pilot.app), what="the monitor")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_supervisor_monitor_with_statistics(
    snap_compare: Callable[..., bool], size: tuple[int, int]
) -> None:
    """The statistics panel over the grid and the queue: Support's longest wait (16 min) and
    its SL% past the critical threshold in red, a 6-minute wait in yellow."""
    assert snap_compare(supervisor_app(), terminal_size=size, run_before=_monitor_ready)
