"""A stopped aiohttp server keeps nothing of itself alive (the control API and the web service).

aiohttp caches each route's middleware chain in a module-level LRU cache of up to 1,024
entries (`aiohttp.web_app._cached_build_middleware`, since 3.11), keyed by the handler and the
tuple of applications that answered. The key holds our `web.Application`, which holds the
`Engine` (`app[ENGINE]`, and the `_identify` middleware bound to the server): after `stop()`
every engine that had answered a request stayed reachable, with its database engine, caches
and services. The tests start an engine per test, so one process kept the last few hundred
of them (+13 MB and 60,000 objects a test) and each full garbage collection walked them all:
its pauses stopped the event loop for 0.2 s at first, 6.6 s sixty tests later (a loop under
load), longer than a 5 s toast lives, so a console test missed its refusal (CI,
tests/test_console_transfer.py). Emptied when a server stops, the cache is filled again by
the next request, once per route.
"""

from __future__ import annotations

from aiohttp import web_app


def release_middleware_chains() -> None:
    """Forget every cached middleware chain, and with them the applications in their keys."""
    cache = getattr(web_app, "_cached_build_middleware", None)  # absent before aiohttp 3.11
    if cache is not None:
        cache.cache_clear()
