"""The recordings search's filter fields: one line of "anything", one of address, subject and
message text, one of dates and pick lists (campaign, agent, state, direction).

Compact fields (one row each) so the filters and a page of results fit 80x24. The widget only
holds values; the search screen decides when to ask the engine (on Enter, a pause in typing,
or a pick)."""

from __future__ import annotations

import re
from datetime import date

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input

from engine.api.schemas import RecordingChoices

from .pick_list import PickList

TEXT_FIELDS = ("any", "email", "subject", "text")
DATE_FIELDS = ("start", "end")
PICKS = ("campaign", "agent", "state", "direction")


# The fields' names as the screen shows them (placeholders, prompts), and in its messages.
LABELS = {
    "start": "From date",
    "end": "To date",
    "email": "Email or name",
    "subject": "Subject",
    "text": "Words in the messages",
    "any": "Search",
    "campaign": "Campaign",
    "agent": "Agent",
    "state": "State",
    "direction": "In/out",
}


class BadDate(ValueError):
    """A date field that does not hold a day, or an end before the start; `field` is its wire
    name, the message says what is wrong in the screen's words."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{LABELS[field]}: {problem}")
        self.field = field


def day(field: str, text: str) -> date:
    """`text` as a day, or BadDate saying whether its form or its day is wrong."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise BadDate(field, f"there is no day {text}") from None
        raise BadDate(field, "a date is YYYY-MM-DD, e.g. 2026-03-31") from None


class RecordingFilters(Vertical):
    """Inputs `#search-<field>` and selects `#search-<pick>`, named as the wire's fields."""

    DEFAULT_CSS = """
    RecordingFilters { height: auto; }
    RecordingFilters Horizontal { height: 1; margin-bottom: 0; }
    RecordingFilters Input, RecordingFilters PickList { width: 1fr; margin-right: 1; }
    RecordingFilters Input { background: $boost; }
    RecordingFilters #search-start, RecordingFilters #search-end { width: 12; }
    RecordingFilters #search-state { width: 10; }
    RecordingFilters #search-direction { width: 11; margin-right: 0; }
    RecordingFilters .-invalid { background: $error 30%; }
    """

    def __init__(self, *, any_text: str = "", agents: bool = True) -> None:
        super().__init__(id="search-filters")
        self.any_text = any_text
        self.agents = agents  # an agent's own search has no agent to pick

    def compose(self) -> ComposeResult:
        def field(name: str, hint: str, **extra: object) -> Input:
            return Input(placeholder=hint, id=f"search-{name}", compact=True, **extra)  # type: ignore[arg-type]

        with Horizontal():
            yield Input(
                self.any_text,
                placeholder="Search: address, name, subject or words of the mail",
                id="search-any",
                compact=True,
            )
        with Horizontal():
            yield field("email", LABELS["email"])
            yield field("subject", LABELS["subject"])
            yield field("text", LABELS["text"])
        with Horizontal():
            yield field("start", LABELS["start"], restrict=r"[0-9-]*", max_length=10)
            yield field("end", LABELS["end"], restrict=r"[0-9-]*", max_length=10)
            yield PickList[str]([], prompt=LABELS["campaign"], id="search-campaign", compact=True)
            if self.agents:
                yield PickList[str]([], prompt=LABELS["agent"], id="search-agent", compact=True)
            yield PickList[str](
                [("open", "open"), ("closed", "closed")],
                prompt=LABELS["state"],
                id="search-state",
                compact=True,
            )
            yield PickList[str](
                [("inbound", "inbound"), ("outbound", "outbound")],
                prompt=LABELS["direction"],
                id="search-direction",
                compact=True,
            )

    def set_choices(self, choices: RecordingChoices) -> None:
        self.query_one("#search-campaign", PickList).set_options((c, c) for c in choices.campaigns)
        if self.agents:
            self.query_one("#search-agent", PickList).set_options((a, a) for a in choices.agents)

    def values(self) -> dict[str, object]:
        """The filled fields as wire values; raises BadDate for a date not yet a day."""
        given: dict[str, object] = {}
        for name in TEXT_FIELDS:
            if text := self.query_one(f"#search-{name}", Input).value.strip():
                given[name] = text
        for name in DATE_FIELDS:
            widget = self.query_one(f"#search-{name}", Input)
            widget.remove_class("-invalid")
            if text := widget.value.strip():
                try:
                    given[name] = day(name, text)
                except BadDate:
                    widget.add_class("-invalid")
                    raise
        start, end = given.get("start"), given.get("end")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            self.query_one("#search-end", Input).add_class("-invalid")
            raise BadDate("end", "before the From date")
        for name in PICKS:
            for select in self.query(f"#search-{name}").results(PickList):
                if isinstance(select.value, str):
                    given[name] = select.value
        return given

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # A pick list's pop-up counts as its pick list (the pop-up hides when it closes).
        fields = [n for n in event.widget.ancestors_with_self if isinstance(n, (Input, PickList))]
        if fields:
            self._last: Widget = fields[0]

    def last_focused(self) -> Widget:
        """The filter that had the focus last (the search box at first)."""
        last = getattr(self, "_last", None)
        if isinstance(last, Widget) and last.is_attached and last.display:
            return last
        return self.query_one("#search-any")

    def mark(self, field: str | None) -> None:
        """Show which field the engine refused (None: none)."""
        for widget in self.query(".-invalid"):
            widget.remove_class("-invalid")
        if field:
            for widget in self.query(f"#search-{field}"):
                widget.add_class("-invalid")
