"""Telling the garbage collector that start-up is over.

What the console built to show its first screen (modules, styles, widgets, the inbox's rows)
lives as long as the console does. Frozen out of the collector, the full collections that
come every few hundred allocations stop walking all of it: they were the 60-150 ms pauses
that now and then made opening a thread slow (bench/console, GC off: no such outliers).
"""

from __future__ import annotations

import gc

_settled = False


def settled() -> None:
    """Once per process, when the first screen has its data (later calls do nothing, so
    objects of later screens can still be collected)."""
    global _settled
    if not _settled:
        _settled = True
        gc.freeze()
