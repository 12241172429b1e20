"""A widget that left the screen is garbage again (Textual's StylesCache.get_inner_outer).

Textual (8.2.8 and earlier, upstream issue Textualize/textual#6665) decorates the instance
method `StylesCache.get_inner_outer` with `@lru_cache(1024)`, so each cache key holds the
`StylesCache` of the widget that asked, and with it every line that widget last rendered
(`Strip`s, each with eight `FIFOCache`s of cropped and styled copies). A module-level cache:
up to 1,024 widgets that were removed, or whose app has exited, stay reachable until newer
widgets push them out. A console that opens and closes screens kept tens of megabytes that
way; the test suite, which runs an App per console test, kept ~14,000 objects per test in
each full garbage collection.

The result depends only on the two colours, so the fix keeps the same cache keyed on them
alone. Applied once, on import of the console, and only while Textual still has the bug.
"""

from __future__ import annotations

import functools
from typing import Any

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style


@functools.lru_cache(1024)
def _inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
    return Style(background=base_background + background), Style(background=base_background)


def _get_inner_outer(
    self: StylesCache, base_background: Color, background: Color
) -> tuple[Style, Style]:
    return _inner_outer(base_background, background)


def release_styles_caches() -> None:
    """Make `StylesCache.get_inner_outer` cache by colours only, if Textual caches by widget."""
    current: Any = StylesCache.__dict__.get("get_inner_outer")
    if isinstance(current, functools._lru_cache_wrapper):  # the method itself is cached
        current.cache_clear()
        StylesCache.get_inner_outer = _get_inner_outer  # type: ignore[method-assign,assignment]
