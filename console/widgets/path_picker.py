"""A path chosen by typing or from a directory tree: the two stay in step.

Selecting a node in the tree fills the input; submitting a directory in the input re-roots
the tree there (the tree alone cannot go above its root). `Chosen` is posted when a file is
picked (Enter on a file, or Enter in the input).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DirectoryTree, Input


class PickerTree(DirectoryTree):
    """A DirectoryTree that hides dot files and, for directory pickers, every file."""

    def __init__(self, path: Path, *, dirs_only: bool, id: str) -> None:  # noqa: A002
        super().__init__(path, id=id)
        self.dirs_only = dirs_only

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            path
            for path in paths
            if not path.name.startswith(".") and (not self.dirs_only or path.is_dir())
        ]


class PathPicker(Vertical):
    """`#path-input` over `#path-tree`."""

    DEFAULT_CSS = """
    PathPicker {
        height: 1fr;
    }
    PathPicker Input {
        margin-bottom: 1;
        background: $foreground 8%;
    }
    PathPicker DirectoryTree {
        height: 1fr;
    }
    """

    @dataclass
    class Chosen(Message):
        picker: PathPicker
        path: Path

        @property
        def control(self) -> PathPicker:
            return self.picker

    def __init__(self, start: Path, *, dirs_only: bool, id: str = "path-picker") -> None:  # noqa: A002
        super().__init__(id=id)
        self.start = start
        self.dirs_only = dirs_only

    def compose(self) -> ComposeResult:
        yield Input(str(self.start), id="path-input", compact=True)
        yield PickerTree(self.start, dirs_only=self.dirs_only, id="path-tree")

    @property
    def input(self) -> Input:
        return self.query_one("#path-input", Input)

    @property
    def path(self) -> Path:
        return Path(self.input.value.strip() or ".").expanduser()

    @on(DirectoryTree.DirectorySelected)
    def _directory(self, event: DirectoryTree.DirectorySelected) -> None:
        event.stop()
        self.input.value = str(event.path)

    @on(DirectoryTree.FileSelected)
    def _file(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.input.value = str(event.path)
        self.post_message(self.Chosen(self, event.path))

    @on(Input.Submitted, "#path-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = self.path
        if path.is_dir():
            self.query_one(PickerTree).path = path
            if not self.dirs_only:
                return
        self.post_message(self.Chosen(self, path))
