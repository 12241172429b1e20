"""The agent's side of "Monitor screen": while a supervisor watches (the engine says so with
`ScreenWatchers` on the event stream), send what this console shows to the engine, which
relays it to the watchers only; while nobody watches, nothing runs and nothing is sent.

What is sent is what Textual composed for the terminal (the screen on top, over the screens
it lets show through), as rows of `[text, style]` spans at the console's size: a full frame
first and after any change of size or watchers, then only the rows that changed, at most
`FRAME_RATE` times a second. Password fields (`Input(password=True)`) are overwritten with
dots over their whole width before a frame is built, whatever they show, so neither a
password nor its length ever leaves the console.

While watched, the header says so and who watches (workplace privacy rules in many countries
require that a monitored person can tell: docs/supervisor.md); a screen without a header (the
reply window, which covers the whole terminal) gets a line of its own that says the same.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Protocol

from rich.segment import Segment
from rich.style import Style
from textual._context import visible_screen_stack
from textual.screen import Screen
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets import Header, Input, Static

from engine.api.schemas import FrameAck, ScreenFrame, ScreenLine, ScreenWatchers
from engine.client.client import EngineError
from engine.text.sanitize import one_line

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode

log = logging.getLogger(__name__)

FRAME_RATE = 4  # frames a second at most: "within a second" with room to spare
MASK = "•"
TITLE_MARK = "◉ Screen viewed by "

Spans = list[tuple[str, int]]


class FrameSink(Protocol):
    """Where frames go: the engine's client (`EngineClient.send_screen`)."""

    async def send_screen(self, frame: ScreenFrame) -> FrameAck: ...


class WatchedLine(Static):
    """The indicator on a screen that has no header to carry it in its title."""

    DEFAULT_CSS = """
    WatchedLine {
        dock: top;
        height: 1;
        width: 100%;
        padding: 0 1;
        background: $warning;
        color: $text;
        text-style: bold;
    }
    """


def style_text(style: Style | None, cache: dict[Style | None, str]) -> str:
    """A style as text `Style.parse` reads back: colours and attributes only (no links, no
    Textual meta, which carry actions)."""
    known = cache.get(style)
    if known is not None:
        return known
    text = ""
    if style is not None:
        plain = Style(
            color=style.color,
            bgcolor=style.bgcolor,
            bold=style.bold,
            dim=style.dim,
            italic=style.italic,
            underline=style.underline,
            strike=style.strike,
            reverse=style.reverse,
        )
        text = str(plain) if plain else ""
    cache[style] = text
    return text


def password_regions(app: App[object]) -> list[tuple[int, int, int, int]]:
    """(x, y, width, height) on the terminal of every password field of the visible screens."""
    regions = []
    for screen in [*app._background_screens, app.screen]:
        for field in screen.query(Input):
            if field.password and field.display:
                region = field.content_region
                if region.width and region.height:
                    regions.append((region.x, region.y, region.width, region.height))
    return regions


def mask(strips: list[Strip], regions: list[tuple[int, int, int, int]]) -> list[Strip]:
    for x, y, width, height in regions:
        for row in range(max(y, 0), min(y + height, len(strips))):
            strip = strips[row]
            end = min(x + width, strip.cell_length)
            if end <= x:
                continue
            # The field's own look, without its text.
            style = next(iter(strip.crop(x, x + 1)), Segment(" ")).style
            strips[row] = Strip.join(
                [strip.crop(0, x), Strip([Segment(MASK * (end - x), style)]), strip.crop(end)]
            )
    return strips


def capture(app: App[object]) -> list[Strip]:
    """The rows the terminal shows now, password fields masked."""
    visible_screen_stack.set(app._background_screens)
    strips = app.screen._compositor.render_strips()
    return mask(strips, password_regions(app))


def spans_of(strip: Strip, styles: dict[str, int], cache: dict[Style | None, str]) -> Spans:
    spans: Spans = []
    for text, style, control in strip:
        if control or not text:
            continue
        key = style_text(style, cache)
        index = styles.setdefault(key, len(styles))
        if spans and spans[-1][1] == index:
            spans[-1] = (spans[-1][0] + text, index)
        else:
            spans.append((text, index))
    return spans


class ScreenSharer:
    """One per agent console: sends frames while watched, and shows that it is watched."""

    def __init__(self, app: App[object], client: FrameSink, owner: DOMNode) -> None:
        self.app = app
        self.client = client
        self.watchers: list[str] = []
        self.generation = -1
        self.frames_sent = 0
        self.bytes_sent = 0
        self._timer: Timer | None = None
        self._sent: list[tuple[str, ...]] = []  # the rows as last sent (a key per row)
        self._size: tuple[int, int] = (0, 0)
        self._full = True
        self._sending = False
        self._title = ""
        self._style_cache: dict[Style | None, str] = {}
        self.source = secrets.token_hex(4)  # tells this console's frames from another's
        self._lines: list[WatchedLine] = []  # the indicator lines this sharer mounted
        # Each screen shown from now on gets the indicator too, if it has no header; once it
        # is composed (the signal comes before its widgets). Tied to `owner` (the agent's
        # screen): a sharer whose screen is gone stops hearing it.
        app.screen_change_signal.subscribe(
            owner,
            lambda screen: screen.call_after_refresh(self._mark, screen),
            immediate=True,
        )

    @property
    def watched(self) -> bool:
        return bool(self.watchers)

    def reset(self) -> None:
        """The event stream (re)started: the engine says again whether anyone watches."""
        self.generation = -1
        self._set_watchers([])

    def told(self, event: ScreenWatchers) -> None:
        if event.generation <= self.generation:
            return  # older than what we know
        self.generation = event.generation
        self._set_watchers(event.watchers)

    def _set_watchers(self, names: list[str]) -> None:
        before = self.watchers
        self.watchers = list(names)
        if names:
            self._full = True  # a new watcher needs every row
            if self._timer is None:
                self._timer = self.app.set_interval(1 / FRAME_RATE, self._tick, name="share")
            newcomers = [n for n in names if n not in before]
            if newcomers:
                who = ", ".join(one_line(n, 30) for n in newcomers)
                self.app.notify(
                    f"{who} is now viewing your screen.",
                    title="Screen monitoring",
                    markup=False,
                    timeout=8,
                )
        else:
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            self._sent = []
            if before:
                self.app.notify("Nobody views your screen now.", markup=False, timeout=4)
        self._show()

    def _show(self) -> None:
        """The indicator: in the title, so every screen with a header shows it."""
        title = self.app.title
        if self._title and title.endswith(self._title):
            title = title[: -len(self._title)]
        self._title = f" · {self._mark_text()}" if self.watchers else ""
        self.app.title = title + self._title
        for screen in self.app.screen_stack:
            self._mark(screen)

    def _mark_text(self) -> str:
        return TITLE_MARK + ", ".join(one_line(n, 30) for n in self.watchers)

    def _mark(self, screen: Screen[object]) -> None:
        """The indicator's own line on `screen` while watched, if no header shows the title
        there (and no line when unwatched). Only this sharer's lines are touched."""
        self._lines = [line for line in self._lines if line.is_attached]
        mine = [line for line in self._lines if line.screen is screen]
        if not self.watchers or any(h.display for h in screen.query(Header)):
            for line in mine:
                line.remove()
            return
        if mine:
            mine[0].update(self._mark_text())
        else:
            line = WatchedLine(self._mark_text(), markup=False)
            self._lines.append(line)
            screen.mount(line)

    def frame(self) -> ScreenFrame | None:
        """The rows changed since the last frame sent (all of them when `_full`); None when
        nothing changed."""
        width, height = self.app.size
        strips = capture(self.app)
        cache = self._style_cache
        if len(cache) > 4096:
            cache.clear()
        full = self._full or (width, height) != self._size
        keys = [tuple(f"{s.text}\0{style_text(s.style, cache)}" for s in st) for st in strips]
        changed = [
            y for y, key in enumerate(keys) if full or y >= len(self._sent) or self._sent[y] != key
        ]
        if not changed:
            return None
        styles: dict[str, int] = {}
        lines = [ScreenLine(y=y, spans=spans_of(strips[y], styles, cache)) for y in changed]
        self._sent = keys
        self._size = (width, height)
        self._full = False
        return ScreenFrame(
            width=width,
            height=height,
            full=full,
            source=self.source,
            styles=list(styles),
            lines=lines,
        )

    def _tick(self) -> None:
        if self._sending or not self.watchers:
            return  # the last frame is still on its way: the next tick sends what changed
        try:
            frame = self.frame()
        except Exception:  # never fail open: no frame rather than an unmasked one
            log.exception("could not capture the screen")
            self._full = True
            return
        if frame is not None:
            self._sending = True
            self.app.run_worker(self._send(frame), group="screen-share", exit_on_error=False)

    async def _send(self, frame: ScreenFrame) -> None:
        try:
            ack = await self.client.send_screen(frame)
        except EngineError as exc:  # the engine is away: every row again when it is back
            log.info("screen frame not sent: %s", exc)
            self._full = True
            return
        finally:
            self._sending = False
        self.frames_sent += 1
        if not ack.watched:
            self._set_watchers([])
