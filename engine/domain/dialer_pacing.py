"""How fast a dialer may send: its own pace and its SMTP account's caps, on a given clock.

- A dialer's pace: at most one message per `seconds_between_messages` (0: no pace of its
  own, only the account's caps).
- An account's caps (messages per minute, hour and day; 0 = none) are sliding windows shared
  by every dialer on the account: a message counts against each window for that long after
  it was sent. Sends are counted per second (a day is at most 86,400 buckets, whatever the
  volume), so a cap may be off by the messages of one second at a window's edge, never more.
- What an SMTP reply means for a record: 2xx sent, 4xx (and a dropped connection) retried
  after a backoff, 5xx failed with the server's words.

Pure: the instant is always given, so tests move a clock instead of waiting.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "MAX_ATTEMPTS",
    "AccountGate",
    "Caps",
    "Pace",
    "retry_delay",
]

# A record whose server keeps saying "later" is given up after this many attempts (about a
# day at the capped backoff), failed with the last answer.
MAX_ATTEMPTS = 12
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=2)

_WINDOWS = (("per_minute", 60), ("per_hour", 3600), ("per_day", 86400))


def retry_delay(attempts: int, base: timedelta = RETRY_BASE) -> timedelta:
    """The wait before attempt `attempts + 1` after a 4xx: doubling, capped."""
    delay: timedelta = base * (2 ** max(0, attempts - 1))
    return min(delay, RETRY_MAX)


@dataclass(frozen=True)
class Caps:
    per_minute: int = 0
    per_hour: int = 0
    per_day: int = 0
    connections: int = 0  # 0: the runner's default


@dataclass
class AccountGate:
    """The caps of one SMTP account and what was sent through it lately."""

    caps: Caps
    # (epoch second, messages sent in it), oldest first; kept for a day at most.
    _buckets: deque[list[int]] = field(default_factory=deque)

    def allowance(self, now: datetime) -> int:
        """How many messages may go at `now` (a large number when uncapped)."""
        second = int(now.timestamp())
        left = 1 << 30
        for name, span in _WINDOWS:
            cap = getattr(self.caps, name)
            if cap:
                left = min(left, cap - self._used(second, span))
        return max(0, left)

    def _used(self, second: int, span: int) -> int:
        used = 0
        for at, count in reversed(self._buckets):  # newest first: stop at the window's edge
            if at <= second - span:
                break
            used += count
        return used

    def wait(self, now: datetime) -> float:
        """Seconds until one more message may go (0: now)."""
        if self.allowance(now) > 0:
            return 0.0
        second = int(now.timestamp())
        waits = []
        for name, span in _WINDOWS:
            cap = getattr(self.caps, name)
            if not cap:
                continue
            inside = [(at, c) for at, c in self._buckets if at > second - span]
            if sum(c for _, c in inside) < cap:
                continue
            # The window frees a message when its oldest bucket leaves it.
            waits.append(inside[0][0] + span - now.timestamp() if inside else 0.0)
        return max(0.0, max(waits, default=0.0))

    def took(self, now: datetime, count: int = 1) -> None:
        second = int(now.timestamp())
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += count
        else:
            self._buckets.append([second, count])
        while self._buckets and self._buckets[0][0] <= second - 86400:
            self._buckets.popleft()


@dataclass
class Pace:
    """One dialer's own pace: `every` seconds between two of its messages."""

    every: float
    last: datetime | None = None

    def wait(self, now: datetime) -> float:
        if self.every <= 0 or self.last is None:
            return 0.0
        return max(0.0, (self.last + timedelta(seconds=self.every) - now).total_seconds())

    def took(self, now: datetime) -> None:
        self.last = now
