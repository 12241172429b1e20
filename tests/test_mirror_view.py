"""The supervisor's picture of an agent's screen, fed frames directly: rows replaced by
changes, a change without a picture refused (the view then asks for every row), another
console's changes ignored, and hostile text and styles drawn inert."""

from __future__ import annotations

from textual.app import App, ComposeResult

from console.widgets.mirror_view import MirrorView
from engine.api.schemas import ScreenFrame, ScreenLine


def frame(
    source: str, rows: dict[int, str], *, full: bool, styles: list[str] | None = None
) -> ScreenFrame:
    return ScreenFrame(
        width=20,
        height=3,
        full=full,
        source=source,
        styles=styles or [""],
        lines=[ScreenLine(y=y, spans=[(text, 0)]) for y, text in rows.items()],
    )


class Holder(App[None]):
    def compose(self) -> ComposeResult:
        yield MirrorView(id="mirror")


async def test_changes_follow_the_console_whose_picture_is_shown() -> None:
    app = Holder()
    async with app.run_test(size=(40, 10)):
        view = app.query_one(MirrorView)
        assert not view.apply(frame("a", {1: "change"}, full=False))  # no picture yet
        assert view.apply(frame("a", {0: "inbox", 1: "row", 2: "footer"}, full=True))
        assert view.apply(frame("a", {1: "thread"}, full=False))
        assert view.apply(frame("b", {1: "other console"}, full=False))  # ignored
        assert [line.rstrip() for line in view.text().splitlines()] == [
            "inbox",
            "thread",
            "footer",
        ]
        assert view.apply(frame("b", {0: "b's", 1: "screen", 2: "now"}, full=True))
        assert [line.rstrip() for line in view.text().splitlines()] == ["b's", "screen", "now"]


async def test_hostile_text_and_styles_are_drawn_inert() -> None:
    app = Holder()
    async with app.run_test(size=(40, 10)):
        view = app.query_one(MirrorView)
        hostile = frame(
            "a",
            {0: "\x1b]52;c;cHduZWQ=\x07[b]bold?[/b]", 1: "ok", 2: "\u202eevil"},
            full=True,
            styles=["link https://evil.example @click=app.quit not-a-style!!"],
        )
        assert view.apply(hostile)
        text = view.text()
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "[b]bold?[/b]" in text  # literal, never markup
        assert all(s.style is None or s.style.link is None for s in view.rows[0])
        assert all(s.style is None or not s.style.meta for s in view.rows[0])
        assert [len(row.text) for row in view.rows] == [20, 20, 20]  # the agent's width
