"""Named points where a test can make the engine die, deterministically.

"A crash at any point loses nothing and sends nothing twice" is only tested honestly if the
crash lands where it hurts: between a commit and what follows it. Killing the process from
outside when a counter looks right races the engine (a loaded machine lets it finish first),
so the crash tests set ``POSTDESK_CRASH_AT=<point>:<n>`` and the engine SIGKILLs itself the
n-th time it passes that point: no cleanup, no flush, exactly like a power cut. Unset (always,
outside the tests) a point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

__all__ = ["reached"]


def _armed() -> dict[str, int]:
    point, _, count = os.environ.get("POSTDESK_CRASH_AT", "").partition(":")
    if not point:
        return {}
    return {point: int(count) if count.isdigit() else 1}


_REMAINING = _armed()


def reached(point: str) -> None:
    """Die here if a test asked for it (``POSTDESK_CRASH_AT``)."""
    if point not in _REMAINING:
        return
    _REMAINING[point] -= 1
    if _REMAINING[point] <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
