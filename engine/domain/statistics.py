"""The arithmetic of a contact center's numbers: service level, thresholds, agent states,
time logged in. Pure, so every rule is tested without an engine; the read models in
`engine.services.queries` count rows in one query and hand the sums here.

Service level (docs/statistics.md): an inbound interaction that reached people gets a
deadline when it arrives (arrival + the campaign's service level then). Over a period (the
interactions that arrived in it), SL% = those answered by an agent before their deadline /
those answered at all or still unanswered past their deadline. One still waiting within its
deadline can still make it and is not counted yet; one closed without an answer was not
answered and is not waiting: it is not counted either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

AgentState = Literal["offline", "free", "busy", "free_on_break", "busy_on_break", "paused"]
Level = Literal["ok", "warning", "critical"]
Outcome = Literal["within", "late", "waiting_late", "not_counted"]

AGENT_STATES: tuple[AgentState, ...] = (
    "free",
    "busy",
    "free_on_break",
    "busy_on_break",
    "paused",
    "offline",
)


def agent_state(status: str, active: int) -> AgentState:
    """The manual's states from the stored status and how many interactions the agent holds:
    Busy is Free with work, Busy on break a break taken with work still open."""
    if status == "offline":
        return "offline"
    if status == "paused":
        return "paused"
    if status == "break":
        return "busy_on_break" if active else "free_on_break"
    return "busy" if active else "free"


def outcome(
    due: datetime | None, first_response: datetime | None, *, closed: bool, now: datetime
) -> Outcome:
    """How one interaction counts for the service level (the queries count the same in SQL)."""
    if due is None:  # outbound, or automated mail nobody was to answer
        return "not_counted"
    if first_response is not None:
        return "within" if first_response <= due else "late"
    if not closed and due <= now:
        return "waiting_late"
    return "not_counted"


@dataclass(frozen=True)
class ServiceLevel:
    within: int  # answered before the deadline
    counted: int  # answered at all, or still unanswered past the deadline

    @property
    def percent(self) -> float | None:
        """None when nothing counts yet (no answer, nobody late): not 0 %, not 100 %."""
        return None if self.counted == 0 else 100.0 * self.within / self.counted


def service_level(outcomes: Iterable[Outcome]) -> ServiceLevel:
    within = counted = 0
    for o in outcomes:
        within += o == "within"
        counted += o in ("within", "late", "waiting_late")
    return ServiceLevel(within, counted)


def wait_level(seconds: float, warning: int, critical: int) -> Level:
    """A waiting time against the campaign's thresholds (0: that threshold is off)."""
    if critical > 0 and seconds >= critical:
        return "critical"
    if warning > 0 and seconds >= warning:
        return "warning"
    return "ok"


def service_level_level(longest_wait: float | None, warning: int, critical: int) -> Level:
    """SL% turns yellow or red with the longest wait in the queue: those are the mails about
    to bring it down, while the figure itself still shows the answers already given."""
    return "ok" if longest_wait is None else wait_level(longest_wait, warning, critical)


def average(total: float | None, count: int) -> float | None:
    return None if not count or total is None else total / count


def day_bounds(now: datetime, zone: tzinfo = UTC) -> tuple[datetime, datetime]:
    """Today in `zone` (UTC until campaigns have a time zone), as UTC instants."""
    local = now.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1)).replace(tzinfo=None).replace(tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class StatusSpan:
    status: str
    at: datetime


def logged_in_seconds(
    before: str | None, changes: Iterable[StatusSpan], start: datetime, now: datetime
) -> float:
    """Seconds since `start` in any status but Offline. `before` is the status in force at
    `start` (the last change before it; None: never logged in), `changes` those since."""
    total = 0.0
    status, since = before or "offline", start
    for change in sorted(changes, key=lambda c: c.at):
        at = min(max(change.at, start), now)
        if status != "offline":
            total += (at - since).total_seconds()
        status, since = change.status, at
    if status != "offline":
        total += max(0.0, (now - since).total_seconds())
    return total


def elapsed_seconds(start: datetime | None, end: datetime) -> int:
    """Whole seconds from `start` to `end`, never negative (clocks of nodes differ a little)."""
    return 0 if start is None else max(0, int((end - start).total_seconds()))
