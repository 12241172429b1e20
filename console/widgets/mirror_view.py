"""A read-only picture of another console's screen, drawn from the frames the engine relays
(`ScreenFrame`): at that console's size and in its colours, scrolled when this terminal is
smaller.

The frames are untrusted text: every span goes through the terminal sanitiser and becomes a
plain `Segment` (never markup), and a style that does not parse is dropped, not guessed."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine.api.schemas import ScreenFrame
from engine.text.sanitize import sanitize


def parse_style(text: str, cache: dict[str, Style]) -> Style:
    known = cache.get(text)
    if known is None:
        try:
            known = Style.parse(text) if text else Style()
        except Exception:  # noqa: BLE001 - untrusted: anything that does not parse is plain
            known = Style()
        # Only looks: an action or link arriving in a frame must do nothing here.
        known = Style(
            color=known.color,
            bgcolor=known.bgcolor,
            bold=known.bold,
            dim=known.dim,
            italic=known.italic,
            underline=known.underline,
            strike=known.strike,
            reverse=known.reverse,
        )
        if len(cache) < 4096:
            cache[text] = known
    return known


class MirrorView(ScrollView, can_focus=True):
    # As large as the agent's screen, framed so the eye sees where it ends; scrolled (both
    # ways) when this terminal is smaller.
    DEFAULT_CSS = """
    MirrorView {
        width: auto;
        height: auto;
        max-width: 100%;
        max-height: 100%;
        border: round $accent;
        border-title-align: left;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.rows: list[Strip] = []
        self.shown_size: tuple[int, int] = (0, 0)
        self.frames = 0
        self.source = ""  # the console whose screen this is (ScreenFrame.source)
        self._styles: dict[str, Style] = {}

    @property
    def has_picture(self) -> bool:
        return bool(self.rows)

    def apply(self, frame: ScreenFrame) -> bool:
        """Draw a frame; False when it is a change to a picture we do not have (wait for the
        next full frame)."""
        width, height = frame.width, frame.height
        if not frame.full and self.rows and frame.source != self.source:
            return True  # the agent's other console: this view follows the one it showed
        if frame.full or (width, height) != self.shown_size:
            if not frame.full:
                return False
            self.source = frame.source
            self.rows = [Strip.blank(width) for _ in range(height)]
            self.shown_size = (width, height)
            self.virtual_size = Size(width, height)
            self.refresh(layout=True)  # its size follows the agent's
        styles = [parse_style(text, self._styles) for text in frame.styles]
        plain = Style()
        for line in frame.lines:
            if line.y >= height:
                continue
            segments = [
                Segment(
                    sanitize(text, multiline=False),
                    styles[index] if 0 <= index < len(styles) else plain,
                )
                for text, index in line.spans
            ]
            self.rows[line.y] = Strip(segments).adjust_cell_length(width)
        self.frames += 1
        self.refresh()
        return True

    def text(self) -> str:
        """What the picture says, row by row (for tests and the bench)."""
        return "\n".join(row.text for row in self.rows)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = y + scroll_y
        width = self.size.width
        if row >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        return (
            self.rows[row]
            .crop(scroll_x, scroll_x + width)
            .adjust_cell_length(width, self.rich_style)
        )
