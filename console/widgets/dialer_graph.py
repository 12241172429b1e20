"""The dashboard's progress graph: the percentage of a list processed over time, as columns of
block characters, with the send rate (messages a minute) as a one-line sparkline under it.

Drawn by hand rather than with Textual's Sparkline so both share one time axis, the
percentage has a 0-100% scale, and the picture fits 80x24 as well as 160x48 (as many columns
as the widget is wide, as many rows as it is tall). Colours come from the theme, so it reads
in light and dark. Names (from admins, CSV) are shown as plain text, never markup.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widget import Widget

from engine.text.sanitize import one_line

from ..dialer_history import History

BLOCKS = " ▁▂▃▄▅▆▇█"
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

    def show(self, title: str, history: History | None, running: bool) -> None:
        self.title, self.history, self.running = title, history, running
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

    def render(self) -> Text:
        width = max(self.size.width, 20)
        height = max(self.size.height, 4)
        style = self.get_component_rich_style
        title, axis = style("dialer-graph--title"), style("dialer-graph--axis")
        out = Text(no_wrap=True, overflow="crop")
        out.append(one_line(self.title, max(width - 40, 10)), title)
        out.append("  ")
        out.append(self.caption())
        history = self.history
        if history is None or history.last is None:
            return out
        columns = width - AXIS
        rows = max(height - 3, 1)  # title, time axis, rate line
        percents = history.percents(columns)
        last = history.last
        bar = style(
            "dialer-graph--done"
            if last.records and last.processed == last.records
            else "dialer-graph--bar"
        )
        for row in range(rows - 1, -1, -1):
            label = (
                "100%┤"
                if row == rows - 1
                else " 50%┤"
                if row == (rows - 1) // 2 and rows > 2
                else "    │"
            )
            if row == 0 and rows > 1:
                label = "  0%┤"
            out.append("\n")
            out.append(label, axis)
            out.append(self._bar_row(percents, row, rows), bar)
        out.append("\n")
        left, right = clock(history.samples[0].at), clock(last.at)
        gap = max(columns - len(left) - len(right), 1)
        out.append(" " * AXIS + left + " " * gap + right, axis)
        out.append("\n")
        out.append("rate▕", axis)
        rates = history.rates(max(columns - 16, 4))
        out.append(self._sparkline(rates), style("dialer-graph--rate"))
        out.append(f" ≤{rate_text(max(rates, default=0.0))}", axis)
        return out

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
