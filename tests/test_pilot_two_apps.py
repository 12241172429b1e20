"""A test that drives two consoles at once (an agent and a colleague, an agent and a
supervisor) must see each one's screen as it is painted: the helpers act as the app of the
pilot they are given.

Textual finds "the app" in a context variable, and `run_test` sets it for the test's own code:
to the console started last. `Pilot.pause()` ends by refreshing `app.screen`, whose refresh
asks that variable whether the screen is current; for the other console's screen the answer
was no, and when that call was the first to need the screen's refresh timer (a screen just
pushed, not yet laid out) the timer was created with the wrong app and kept it: the screen
never laid out again. Seen in test_console_transfer under load: the thread opened (classes,
focus and thread all right) while the screen went on showing the inbox for a minute.
"""

from __future__ import annotations

import asyncio

from textual import on
from textual.app import App, ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from tests.console_helpers import screen_text, settle, until


class _Bare(App[None]):
    pass


class _Hold(Message):
    """Queued before the screen is pushed: handled first, it keeps the screen from laying
    itself out (`ScreenResume` comes next) until the test releases it."""


class _Held(Screen[None]):
    def __init__(self, release: asyncio.Event) -> None:
        super().__init__()
        self.release = release
        self.post_message(_Hold())

    def compose(self) -> ComposeResult:
        yield Static("first line", id="first")
        yield Static("second line", id="second")

    def on_mount(self) -> None:
        self.query_one("#second").display = False

    def swap(self) -> None:
        """A layout change, which only the screen's refresh timer lays out."""
        self.query_one("#first").display = False
        self.query_one("#second").display = True

    @on(_Hold)
    async def _held(self) -> None:
        await self.release.wait()


async def test_the_first_of_two_apps_keeps_painting_a_screen_pushed_while_a_helper_waits() -> None:
    outer, inner = _Bare(), _Bare()
    release = asyncio.Event()
    held = _Held(release)
    async with outer.run_test(size=(40, 6)) as outer_pilot, inner.run_test(size=(40, 6)):
        calls = 0

        def push() -> None:
            outer.push_screen(held)  # not awaited: the app goes on while it mounts

        def pushed_then_shown() -> bool:
            nonlocal calls
            calls += 1
            if calls == 1:
                # Pushed by the app itself, after the helper's pause has looked at the
                # screens: on top but not laid out when the pause refreshes `app.screen`.
                outer.call_later(push)
            elif calls == 2:
                release.set()
            return outer.screen is held and "first line" in screen_text(outer)

        await until(outer_pilot, pushed_then_shown, timeout=10, what="the held screen")
        held.call_later(held.swap)
        await until(
            outer_pilot, lambda: "second line" in screen_text(outer), timeout=5, what="relaid"
        )
        await settle(outer_pilot, timeout=5)
        assert "first line" not in screen_text(outer)
