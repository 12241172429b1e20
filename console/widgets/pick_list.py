"""`PickList`: Textual's `Select` whose option names are always plain text.

Textual reads a `str` option prompt as markup: a campaign named `Support [EU]` lost its
`[EU]`, and one named `x[/y]` raised `MarkupError` and closed the console as the screen
listing it opened (the recordings search, a new interaction). The names in our pick lists
are people's text (campaigns, agents, templates, dialers), so every pick list of the
console is this class (ruff bans `textual.widgets.Select` outside this module): a `str`
name becomes one sanitised line of `Text`, never markup, whoever builds the list.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, TypeVar

from rich.console import RenderableType
from rich.text import Text
from textual.widgets import Select

from engine.text.sanitize import one_line

SelectType = TypeVar("SelectType", bound=Hashable)

# Longer names are cut with an ellipsis: a pick list is never wider than a dialog.
NAME_WIDTH = 60


def plain(options: Iterable[tuple[RenderableType, Any]]) -> list[tuple[RenderableType, Any]]:
    """The options with every `str` name made one line of plain `Text`."""
    return [
        (Text(one_line(name, NAME_WIDTH)) if isinstance(name, str) else name, value)
        for name, value in options
    ]


class PickList(Select[SelectType]):
    """A `Select` (same arguments, messages and values) that never reads names as markup.

    Its open menu is as wide as its longest name (names are cut at NAME_WIDTH) or as the
    closed list, whichever is wider: a long campaign name wrapped to two lines in a menu
    as narrow as the closed list."""

    DEFAULT_CSS = """
    PickList > SelectOverlay {
        width: auto;
        min-width: 100%;
    }
    """

    def __init__(
        self, options: Iterable[tuple[RenderableType, SelectType]] = (), **kwargs: Any
    ) -> None:
        super().__init__(plain(options), **kwargs)

    def set_options(self, options: Iterable[tuple[RenderableType, SelectType]]) -> None:
        super().set_options(plain(options))
