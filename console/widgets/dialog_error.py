"""The line under a dialog that says what went wrong, hidden while there is nothing to say.

Messages often quote what a person or a mail wrote (an address, a template name): shown as
one line of plain text, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from engine.text.sanitize import one_line


class DialogError(Static):
    def __init__(self, *, id: str) -> None:  # noqa: A002
        super().__init__("", id=id, classes="dialog-error", markup=False)

    def say(self, message: str) -> None:
        """Show `message`, or hide the line when it is empty."""
        self.update(Text(one_line(message, 300)))
        self.set_class(bool(message), "-shown")
