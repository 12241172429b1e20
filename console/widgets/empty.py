"""A table with no rows says what it is for and what to do, instead of showing nothing.

A mixin for `DataTable`s: while `row_count` is 0 the lines under the header carry
`empty_note`, wrapped to the table's width (set it with `say_when_empty`). Drawn by the
table itself, so no widget swaps places in a layout and the header stays where it was.
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip
from textual.widgets import DataTable


class EmptyNote(DataTable[Any]):
    empty_note: Text = Text()
    _wrapped: tuple[int, list[Strip]] | None = None

    def say_when_empty(self, note: Text | str) -> None:
        note = note if isinstance(note, Text) else Text(note)
        if note.plain != self.empty_note.plain or note.spans != self.empty_note.spans:
            self.empty_note = note
            self._wrapped = None
            self.refresh()

    def _note_lines(self, width: int) -> list[Strip]:
        if self._wrapped is None or self._wrapped[0] != width:
            console = self.app.console
            base = self.rich_style
            strips = []
            for line in self.empty_note.wrap(console, max(10, width - 2)):
                segments = [Segment(" ", base), *line.render(console)]
                segments = list(Segment.apply_style(segments, base))
                strips.append(Strip(segments).extend_cell_length(width, base).crop(0, width))
            self._wrapped = (width, strips)
        return self._wrapped[1]

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if self.row_count or not self.empty_note.plain:
            return strip
        top = self.header_height if self.show_header else 0
        lines = self._note_lines(self.size.width)
        index = y - top - 1  # one blank line under the header first
        if 0 <= index < len(lines):
            return lines[index]
        return strip
