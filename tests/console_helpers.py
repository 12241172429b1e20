"""Drive and read a real console under Pilot: what a person would see on the screen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from textual.app import App
from textual.message_pump import MessagePump
from textual.messages import Prompt
from textual.pilot import Pilot
from textual.screen import Screen
from textual.worker import WorkerState

from console.app import PostdeskApp
from console.screens.agent import AgentScreen
from engine.api.schemas import FrameAck, ScreenFrame
from engine.client import EngineClient
from engine.engine import Engine
from tests.patience import PATIENCE


@contextmanager
def as_app(app: App[object]) -> Iterator[None]:
    """Run the enclosed code as `app`, for Textual. Textual finds "the app" in a context
    variable, which `run_test` sets for the test's own code to the console started last: in
    a test that drives two, what a helper did for the other one ran as the wrong app.
    `Pilot.pause()` refreshing the other console's screen found it not current (nothing
    painted) and, when that was the first call to need the screen's refresh timer, created
    the timer as the wrong app for good: the screen never laid out again
    (tests/test_pilot_two_apps.py)."""
    with app._context():
        yield


def screen_text(app: App[object]) -> str:
    """The characters currently painted on the terminal, row by row."""
    with as_app(app):
        strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def until(
    pilot: Pilot[object], check: Callable[[], bool], *, timeout: float = PATIENCE, what: str = ""
) -> None:
    """Let the app run until `check()` holds and the screen on top is ready (composed and
    mounted: a screen is current as soon as it is pushed, before it has any widgets to query
    or type into); fail with the screen if that never happens."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    with as_app(pilot.app):
        while not (check() and pilot.app.screen.is_mounted):
            if loop.time() > deadline:
                raise AssertionError(
                    f"timed out waiting for {what or check}; screen:\n{screen_text(pilot.app)}"
                )
            await pilot.pause(0.05)


def _nodes(app: App[object]) -> list[MessagePump]:
    nodes: list[MessagePump] = [app]
    for screen in app.screen_stack:
        nodes.extend(screen.walk_children(with_self=True))
    return nodes


async def _drain(nodes: list[MessagePump]) -> None:
    """Return once each node has handled every message it had when called: a callback
    queued behind them runs only after they are all done (not merely taken off the queue)."""
    pending = 0
    drained = asyncio.Event()

    def one_done() -> None:
        nonlocal pending
        pending -= 1
        if pending == 0:
            drained.set()

    for node in nodes:
        if node.call_later(one_done):
            pending += 1
    if pending:
        await drained.wait()


def _waiting(node: MessagePump) -> bool:
    """Not mounted yet, or messages to handle. A `Prompt` alone is only a wake-up (idle
    processing asked for): one can stay queued behind a pump that is already idle."""
    queued = node._message_queue.values  # type: ignore[attr-defined]
    return not node.is_mounted or any(not isinstance(m, Prompt) for m in queued)


def _unpainted(screen: Screen[object]) -> bool:
    return bool(
        screen._layout_required
        or screen._scroll_required
        or screen._repaint_required
        or screen._recompose_required
        or screen._dirty_widgets
    )


async def settle(pilot: Pilot[object], *, workers: bool = True, timeout: float = PATIENCE) -> None:
    """Wait until the app has done everything it was asked so far: every message of the app
    and of the widgets of its screens handled, every screen mounted, and no worker pending or
    running but the event bridge (it runs as long as its screen). A condition, where
    `pilot.pause()` waits until the process *looks* idle by its CPU time (or for a fixed
    time), which a loaded machine fools both ways. Use it before asserting what the app did,
    or did not do. `workers=False`: a test holds a worker back on purpose; do not wait for
    workers."""
    app = pilot.app
    busy = (WorkerState.PENDING, WorkerState.RUNNING)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        nodes = _nodes(app)
        try:
            async with asyncio.timeout(max(deadline - loop.time(), 0.01)):
                await _drain(nodes)
        except TimeoutError:
            pass
        if _unpainted(app.screen):
            # What the screen's refresh timer does next, as `pilot.pause()` does: the timer
            # only starts when the screen handles an idle event, which can wait for the next
            # message to reach the screen. As its own app (`as_app`), not the last started.
            with as_app(app):
                app.screen._on_timer_update()
        unpainted = _unpainted(app.screen)
        working = [w for w in app.workers if workers and w.state in busy and w.group != "bridge"]
        if not unpainted and not working and not any(_waiting(n) for n in nodes):
            return
        if loop.time() > deadline:
            waiting = [n for n in nodes if _waiting(n)]
            raise AssertionError(
                f"the app never settled (workers: {working}, unpainted: {unpainted}, "
                f"waiting: {waiting[:5]}); screen:\n{screen_text(app)}"
            )
        await asyncio.sleep(0.01)


async def press(pilot: Pilot[object], *keys: str, workers: bool = True) -> None:
    """Press each key once the app has settled from the one before (see `settle`): Pilot's
    own press returns when the process looks idle, which under load can be before the key
    was handled."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot, workers=workers)


async def type_text(pilot: Pilot[object], text: str) -> None:
    keys = {" ": "space", "\n": "enter", ".": "full_stop", ",": "comma", "!": "exclamation_mark"}
    await pilot.press(*(keys.get(ch, ch) for ch in text))


def console_for(engine: Engine, username: str, mode: str) -> PostdeskApp:
    return PostdeskApp(lambda _u: EngineClient(engine.socket_path, act_as=username), mode=mode)


async def open_thread(pilot: Pilot[None], app: PostdeskApp, subject: str, text: str) -> AgentScreen:
    """Wait for `subject` in the inbox, open it, wait for `text` in the thread."""
    await until(pilot, lambda: subject in screen_text(app), what=f"{subject!r} in the inbox")
    screen = app.screen
    assert isinstance(screen, AgentScreen)
    await pilot.press("enter")
    await until(pilot, lambda: text in screen_text(app), what=f"{text!r} in the thread")
    return screen


class NoFrames:
    """A screen sharer's frames going nowhere: for tests of what the agent's console shows
    (the engine's side of screen sharing is not their subject)."""

    async def send_screen(self, frame: ScreenFrame) -> FrameAck:
        return FrameAck(watched=True)
