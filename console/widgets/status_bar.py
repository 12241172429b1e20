"""The agent's status line: status, time in it, name and open interaction count."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from engine.text.sanitize import one_line

from ..timefmt import since

STATUS_COLOURS = {"free": "green", "break": "yellow", "paused": "yellow"}


class StatusBar(Static):
    """Ticks once a second from `status_since`; the parent sets the attributes."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        width: 1fr;
        padding: 0 1;
        background: $panel;
    }
    """

    status: reactive[str] = reactive("offline")
    reason: reactive[str] = reactive("")
    status_since: reactive[datetime | None] = reactive(None)
    display_name: reactive[str] = reactive("")
    open_count: reactive[int] = reactive(0)

    def __init__(self, *, id: str = "status-bar") -> None:  # noqa: A002
        super().__init__(id=id, markup=False)

    def on_mount(self) -> None:
        self.set_interval(1, self._tick)

    def _tick(self) -> None:
        self.update(self.build())

    # Any attribute change redraws at once rather than at the next tick.
    watch_status = watch_reason = watch_status_since = _tick
    watch_display_name = watch_open_count = _tick

    def build(self) -> Text:
        """The bar's text: `● Free 3m · Break reason · Alice · 4 open`."""
        style = STATUS_COLOURS.get(self.status, "dim")
        text = Text()
        text.append("● ", style=style)
        text.append(self.status.capitalize(), style=f"bold {style}")
        if self.status_since is not None:
            text.append(f" {since(self.status_since)}")
        if self.reason:
            text.append(" · ")
            text.append(one_line(self.reason, 30), style="italic")
        if self.display_name:
            text.append(" · ")
            text.append(one_line(self.display_name, 40))
        text.append(f" · {self.open_count} open", style="dim")
        return text
