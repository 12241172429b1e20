"""The history the dashboard's progress graph draws: one list's counts as they arrived.

Pure arithmetic, no widget: each `DialerProgress` of a list adds a sample (the time it came,
processed, records, sent). The graph asks for the percentage processed and the send rate at
evenly spaced times between the first sample and the last. Time only moves when an event
comes, so a dashboard with no dialer running draws nothing new and costs nothing.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

MAX_SAMPLES = 4000  # past this, every other old sample goes: hours of history, bounded memory
RATE_WINDOW = 5.0  # seconds: the shortest span a rate is measured over (events are coalesced)


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # seconds (time.time() when the event came)
    processed: int
    records: int
    sent: int

    @property
    def percent(self) -> float:
        return 100.0 * self.processed / self.records if self.records else 0.0


class History:
    """One list's samples, oldest first; a sample equal in counts to the last is not kept."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []

    def add(self, at: float, processed: int, records: int, sent: int) -> bool:
        """Keep a sample; False when nothing changed (another list of the dialer moved)."""
        last = self.samples[-1] if self.samples else None
        if last is not None and (last.processed, last.records, last.sent) == (
            processed,
            records,
            sent,
        ):
            return False
        self.samples.append(Sample(max(at, last.at) if last else at, processed, records, sent))
        if len(self.samples) > MAX_SAMPLES:
            half = len(self.samples) // 2
            self.samples[:half] = self.samples[:half:2]
        return True

    @property
    def last(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    @property
    def span(self) -> float:
        return self.samples[-1].at - self.samples[0].at if len(self.samples) > 1 else 0.0

    def _at(self, moment: float) -> Sample:
        """The sample in force at `moment` (the last one that came at or before it)."""
        times = [s.at for s in self.samples]
        index = bisect.bisect_right(times, moment) - 1
        return self.samples[max(index, 0)]

    def _sent_at(self, moment: float) -> float:
        """Messages sent by `moment`, drawn straight between samples: events come every
        half second or so, and a rate taken between steps would jitter."""
        times = [s.at for s in self.samples]
        index = bisect.bisect_right(times, moment)
        if index == 0:
            return float(self.samples[0].sent)
        if index == len(self.samples):
            return float(self.samples[-1].sent)
        before, after = self.samples[index - 1], self.samples[index]
        share = (moment - before.at) / (after.at - before.at) if after.at > before.at else 1.0
        return before.sent + (after.sent - before.sent) * share

    def moments(self, columns: int) -> list[float]:
        """`columns` evenly spaced times from the first sample to the last (the last is the
        newest sample's time, so the newest counts are always drawn)."""
        if not self.samples or columns <= 0:
            return []
        first, span = self.samples[0].at, self.span
        if columns == 1:
            return [first + span]
        return [first + span * i / (columns - 1) for i in range(columns)]

    def percents(self, columns: int) -> list[float]:
        return [self._at(moment).percent for moment in self.moments(columns)]

    def rates(self, columns: int) -> list[float]:
        """Messages sent per minute around each moment (over max(column, RATE_WINDOW))."""
        if not self.samples:
            return []
        first = self.samples[0].at
        width = max(2 * self.span / max(columns, 1), RATE_WINDOW)
        found = []
        for moment in self.moments(columns):
            since = max(moment - width, first)
            elapsed = moment - since
            sent = self._sent_at(moment) - self._sent_at(since)
            found.append(60.0 * sent / elapsed if elapsed > 0 else 0.0)
        return found

    def rate_now(self, window: float = 60.0) -> float:
        """Messages per minute over the last `window` seconds before the newest sample."""
        if len(self.samples) < 2:
            return 0.0
        newest = self.samples[-1]
        since = max(newest.at - window, self.samples[0].at)
        elapsed = newest.at - since
        if elapsed <= 0:
            return 0.0
        return 60.0 * (newest.sent - self._at(since).sent) / elapsed
