"""What was typed in a compose screen the agent left with Esc, to give back when they open it
again: every field (addresses, subject, campaign, which files to carry), the text and the
files already uploaded.

A reply's text is also saved in the engine (it outlives the console); forwards and new
interactions have no place there, so what was typed in them lives in the agent's console
until it is sent, cleared or the agent logs out. Reopening the same forward (same message)
or a new interaction from the same place brings it all back, so Esc is never a loss.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from textual.screen import Screen
from textual.widgets import Input, SelectionList, TextArea
from textual.widgets.select import InvalidSelectValueError

from engine.api.schemas import UploadOut

from ..widgets.pick_list import PickList

if TYPE_CHECKING:
    from .compose_base import ComposeScreen

# Whose draft it is: ("forward", interaction id, message id), ("new",) for `c`,
# ("new", interaction id, message id) for `s`, ("reply", interaction id) for a reply's files.
DraftKey = tuple[object, ...]


@dataclass(frozen=True)
class Kept:
    """Field values by widget id, the body (None: kept elsewhere), the uploaded files."""

    values: dict[str, Any] = field(default_factory=dict)
    body: str | None = None
    uploads: tuple[UploadOut, ...] = ()

    def without_body(self) -> Kept:
        return replace(self, body=None)


class KeptDrafts:
    """The agent's kept drafts, by whose draft it is (`DraftKey`), while their console runs."""

    def __init__(self) -> None:
        self._kept: dict[DraftKey, Kept] = {}

    def __iter__(self) -> Iterator[DraftKey]:
        return iter(self._kept)

    def get(self, key: DraftKey) -> Kept | None:
        return self._kept.get(key)

    def put(self, key: DraftKey, kept: Kept) -> None:
        self._kept[key] = kept

    def forget(self, key: DraftKey) -> None:
        self._kept.pop(key, None)

    def left(self, key: DraftKey, screen: ComposeScreen) -> bool:
        """After Esc: keep what was typed in `screen` (or forget a draft emptied back to
        where it started). Whether something was kept."""
        if screen.left is None or not screen.changed:
            self.forget(key)
            return False
        self._kept[key] = screen.left
        return True


def typed(screen: Screen[Any], uploads: list[UploadOut]) -> Kept:
    """Everything the agent can change on `screen`, by widget id."""
    values: dict[str, Any] = {}
    for widget in screen.query(Input):
        if widget.id:
            values[widget.id] = widget.value
    for select in screen.query(PickList):
        if select.id:
            values[select.id] = select.value
    for selection in screen.query(SelectionList):
        if selection.id:
            values[selection.id] = frozenset(selection.selected)
    body = next(iter(screen.query(".compose-body").results(TextArea)), None)
    return Kept(values, body.text if body is not None else None, tuple(uploads))


def restore_fields(screen: Screen[Any], kept: Kept) -> None:
    """Put the kept field values back (the body and files are given back by the screen)."""
    for widget_id, value in kept.values.items():
        found = screen.query(f"#{widget_id}")
        if not found:
            continue
        widget = found.first()
        if isinstance(widget, Input):
            widget.value = value
            widget.cursor_position = len(widget.value)
        elif isinstance(widget, PickList):
            # A campaign the agent is no longer a member of is not offered again.
            with suppress(InvalidSelectValueError):
                widget.value = value
        elif isinstance(widget, SelectionList):
            widget.deselect_all()
            for chosen in value:
                widget.select(chosen)
