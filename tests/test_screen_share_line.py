"""The "viewed" indicator's own line (console/screen_share.py): on a screen that has no header
to carry it in its title, never on one that has, only while watched, and one sharer never
takes away another's. The engine is not the subject here: the frames go nowhere."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Label

from console.screen_share import ScreenSharer, WatchedLine
from engine.api.schemas import ScreenWatchers
from tests.console_helpers import NoFrames, screen_text, settle, until


class Plain(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Label("a screen without a header")
        yield Footer()


class Headed(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("a screen with a header")


class Console(App[None]):
    def on_mount(self) -> None:
        self.push_screen(Plain())


def watched(generation: int, *names: str) -> ScreenWatchers:
    return ScreenWatchers(agent="ana", generation=generation, watchers=list(names))


def lines(app: App[None]) -> list[WatchedLine]:
    return list(app.screen.query(WatchedLine))


async def test_the_line_goes_where_no_header_carries_the_mark() -> None:
    app = Console()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        sharer = ScreenSharer(app, NoFrames(), app.screen)
        assert lines(app) == []
        sharer.told(watched(1, "Sam Supervisor"))
        await settle(pilot)
        assert "◉ Screen viewed by Sam Supervisor" in screen_text(app)
        assert len(lines(app)) == 1

        headed = Headed()
        app.push_screen(headed)  # pushed while watched: its header says it, no line
        app.push_screen(Plain())  # pushed while watched, no header: a line
        await until(pilot, lambda: len(lines(app)) == 1, what="a line on the screen without")
        app.pop_screen()  # each screen is marked in turn: the one with a header had its turn
        await until(pilot, lambda: app.screen is headed)
        assert lines(app) == [] and "Screen viewed by Sam Supervisor" in screen_text(app)

        # Another sharer (a console's earlier agent screen) never takes the line away.
        other = ScreenSharer(app, NoFrames(), app.screen)
        other.told(watched(1))
        app.push_screen(Plain())
        await until(pilot, lambda: len(lines(app)) == 1, what="the line, whatever the other")
        await settle(pilot)
        assert len(lines(app)) == 1

        sharer.told(watched(2))  # nobody watches now
        await until(pilot, lambda: "Screen viewed" not in screen_text(app), what="unwatched")
        assert lines(app) == []
