"""The dashboard's progress graph: the percentage of a list processed over time, as columns of
block characters, with the send rate (messages a minute) as a one-line sparkline under it.

Drawn by hand rather than with Textual's Sparkline so both share one time axis, the
percentage has a 0-100% scale, and the picture fits 80x24 as well as 160x48 (as many columns
as the widget is wide, as many rows as it is tall). Colours come from the theme, so it reads
in light and dark. Names (from admins, CSV) are shown as plain text, never markup.
"""

from __future__ import annotations

import re
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from engine.text.sanitize import one_line

from ..dialer_history import History

BLOCKS = " ▁▂▃▄▅▆▇█"
_RUNS = re.compile(r" +|[^ ]+")
AXIS = 5  # "100%┤"


def clock(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%H:%M:%S")


def rate_text(per_minute: float) -> str:
    return f"{per_minute:,.0f} msg/min" if per_minute >= 10 else f"{per_minute:.1f} msg/min"


class DialerGraph(Widget):
    COMPONENT_CLASSES = {
        "dialer-graph--title",
        "dialer-graph--bar",
        "dialer-graph--done",
        "dialer-graph--rate",
        "dialer-graph--axis",
    }
    DEFAULT_CSS = """
    DialerGraph { height: 10; padding: 0 1; }
    DialerGraph > .dialer-graph--title { text-style: bold; }
    DialerGraph > .dialer-graph--bar { color: $primary; }
    DialerGraph > .dialer-graph--done { color: $success; }
    DialerGraph > .dialer-graph--rate { color: $accent; }
    DialerGraph > .dialer-graph--axis { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self.title = ""
        self.history: History | None = None
        self.running = False
        self.counts = ""  # the highlighted row's counts in words (at 80 columns the table
        # cannot show them all)

    def show(self, title: str, history: History | None, running: bool, counts: str = "") -> None:
        self.title, self.history, self.running, self.counts = title, history, running, counts
        self._drawn = ((-1, -1), [])
        self.refresh()

    @property
    def percent(self) -> float:
        last = self.history.last if self.history else None
        return last.percent if last else 0.0

    def caption(self) -> str:
        """What the graph says in words (the tests read it too)."""
        last = self.history.last if self.history else None
        if last is None:
            return "no records yet"
        done = last.records > 0 and last.processed == last.records
        rate = self.history.rate_now() if self.history and self.running and not done else 0.0
        state = "done" if done else rate_text(rate)
        return f"{last.percent:.0f}% processed ({last.processed:,}/{last.records:,}) · {state}"

    def lines(self, width: int, height: int) -> list[list[tuple[str, Style]]]:
        """The picture, line by line, as (text, style) runs: drawn as strips, so no space
        is ever collapsed or wrapped away."""
        style = self.get_component_rich_style
        base = self.rich_style
        title, axis = base + style("dialer-graph--title"), base + style("dialer-graph--axis")
        head = [(one_line(self.title, max(width - 44, 10)), title), ("  " + self.caption(), base)]
        out: list[list[tuple[str, Style]]] = [head]
        if self.counts:
            out.append([(self.counts, axis)])
        history = self.history
        if history is None or history.last is None:
            return out
        columns = max(width - AXIS, 1)
        rows = max(height - len(out) - 2, 1)  # the time axis and the rate line below
        percents = history.percents(columns)
        last = history.last
        done = last.records > 0 and last.processed == last.records
        bar = base + style("dialer-graph--done" if done else "dialer-graph--bar")
        middle = (rows - 1) // 2 if rows > 2 else -1
        for row in range(rows - 1, -1, -1):
            label = "    │"
            if row == rows - 1:
                label = "100%┤"
            elif row == 0:
                label = "  0%┤"
            elif row == middle:
                label = " 50%┤"
            out.append([(label, axis), (self._bar_row(percents, row, rows), bar)])
        left, right = clock(history.samples[0].at), clock(last.at)
        if history.span == 0:  # one count so far: nothing moved since the dashboard opened
            left, right = f"since {left}", "no change yet"
        gap = max(columns - len(left) - len(right), 1)
        out.append([(" " * AXIS + left + " " * gap + right, axis)])
        rates = history.rates(max(columns - 20, 4))
        out.append(
            [
                ("rate▕", axis),
                (self._sparkline(rates), base + style("dialer-graph--rate")),
                (f" peak {rate_text(max(rates, default=0.0))}", axis),
            ]
        )
        return out

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        if y == 0 or not hasattr(self, "_drawn") or self._drawn[0] != (width, height):
            self._drawn = ((width, height), self.lines(width, height))
        lines = self._drawn[1]
        if y >= len(lines):
            return Strip.blank(width, self.rich_style)
        blank = Style(bgcolor=self.rich_style.bgcolor)
        # Runs of spaces get a style of their own: an SVG export then starts every drawn run at
        # its own x (rsvg-convert drops a text element's leading spaces).
        strip = Strip(
            [
                Segment(part, blank if part.isspace() else style)
                for text, style in lines[y]
                for part in _RUNS.findall(text)
            ]
        )
        return strip.crop_extend(0, width, self.rich_style)

    @staticmethod
    def _bar_row(percents: list[float], row: int, rows: int) -> str:
        cells = []
        for value in percents:
            fill = min(max(value / 100.0 * rows - row, 0.0), 1.0)
            cells.append(BLOCKS[round(fill * 8)])
        return "".join(cells)

    @staticmethod
    def _sparkline(rates: list[float]) -> str:
        top = max(rates, default=0.0)
        if top <= 0:
            return " " * len(rates)
        return "".join(BLOCKS[max(1, round(r / top * 8))] if r > 0 else " " for r in rates)


__all__ = ["DialerGraph"]
