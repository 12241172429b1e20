"""The engine process's garbage collector, set for a long-running server.

A full collection walks every object the collector tracks. What the engine builds while
starting (modules, classes, SQLAlchemy's mappings and compiled statements, the services)
lives as long as the process, yet every full collection walked it again: with 500 consoles
connected those pauses stopped the event loop for 150-700 ms, the worst routing delays of
bench/routing.py. Frozen once started, they are left out of every collection (Python's
`gc.freeze`, meant for this); the young generation is also collected less often, since a
burst of mail allocates many short-lived objects in a few milliseconds.

Only for an engine that owns its process (`Engine.serve_forever`): the tests run many
engines in one process, and freezing each one's start would keep their garbage for good.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # allocations between collections of the youngest generation (700)


def settle_after_start() -> None:
    gc.collect()  # the start's garbage goes first, so none of it is frozen
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
