"""The agent's status line: status, time in it, name, and per campaign how much they hold
against the most they may hold and how many customers wait (a contact-center agent's first
question: can more come to me, and is the queue growing)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from engine.api.schemas import CampaignLoad
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
    # The agent's campaigns (capacity, waiting), and what they hold in each: set by the
    # screen from `Me`, `WaitingChanged` events and the inbox.
    load: reactive[tuple[CampaignLoad, ...]] = reactive(())
    held: reactive[dict[str, int]] = reactive(dict, always_update=True)

    def __init__(self, *, id: str = "status-bar") -> None:  # noqa: A002
        super().__init__(id=id, markup=False)

    def on_mount(self) -> None:
        self.set_interval(1, self._tick)

    def _tick(self) -> None:
        self.update(self.build())

    # Any attribute change redraws at once rather than at the next tick.
    watch_status = watch_reason = watch_status_since = _tick
    watch_display_name = watch_open_count = watch_load = watch_held = _tick

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
        self._load(text)
        return text

    def _load(self, text: Text) -> None:
        """`· 2/5 open · 3 waiting` for one campaign; with several, the totals and then
        each campaign's `name held/capacity` (yellow when full)."""
        if not self.load:
            text.append(f" · {self.open_count} open", style="dim")
            return
        waiting = sum(c.waiting for c in self.load)
        word = "to take (t)" if all(c.pick for c in self.load) else "waiting"
        if len(self.load) == 1:
            text.append(" · ")
            text.append_text(self._held(self.load[0], " open"))
        else:
            text.append(f" · {self.open_count} open", style="dim")
        text.append(f" · {waiting} {word}", style="bold" if waiting else "dim")
        if len(self.load) > 1:
            for campaign in self.load:
                text.append(f" · {one_line(campaign.name, 20)} ", style="dim")
                text.append_text(self._held(campaign, ""))

    def _held(self, campaign: CampaignLoad, suffix: str) -> Text:
        held = self.held.get(campaign.name, 0)
        full = held >= campaign.capacity
        return Text(f"{held}/{campaign.capacity}{suffix}", style="yellow" if full else "dim")
