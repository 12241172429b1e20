"""A console's widgets are garbage once their app has exited: Textual's
`StylesCache.get_inner_outer` cache held each widget's styles cache and the lines it rendered
(console/textual_release.py), ~14,000 objects per console test in every full garbage
collection of the run, whose pauses grew long enough to hide a 5 s toast."""

from __future__ import annotations

import asyncio
import gc
import weakref

from textual.app import App, ComposeResult
from textual.widgets import Static

import console.app  # noqa: F401  (applies console.textual_release)


class _OneLine(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("Lost parcel", id="line")


async def _shown_and_exited() -> tuple[weakref.ref[Static], weakref.ref[object]]:
    app = _OneLine()
    async with app.run_test(size=(40, 5)) as pilot:
        await pilot.pause()
        line = app.query_one("#line", Static)
        assert "Lost parcel" in str(line.render())
        return weakref.ref(line), weakref.ref(line._styles_cache)


async def test_a_widget_is_collected_after_its_app_exits() -> None:
    line, styles_cache = await _shown_and_exited()
    for _ in range(20):  # the app's last callbacks run on the loop's next turns
        await asyncio.sleep(0.01)
        gc.collect()
        if line() is None:
            break
    assert styles_cache() is None
    assert line() is None
