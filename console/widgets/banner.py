"""The banner shown while the engine connection is lost."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from engine.text.sanitize import one_line

LOST_TEXT = "Engine connection lost — reconnecting…"


class EngineBanner(Static):
    """Hidden while connected; one line across the top while the bridge reconnects."""

    DEFAULT_CSS = """
    EngineBanner {
        display: none;
        height: 1;
        width: 1fr;
        padding: 0 1;
        background: $error;
        color: $text;
        text-style: bold;
    }
    EngineBanner.-lost {
        display: block;
    }
    """

    def __init__(self, *, id: str = "engine-banner") -> None:  # noqa: A002
        super().__init__(LOST_TEXT, id=id, markup=False)

    def show_lost(self, reason: str) -> None:
        # The reason can quote a socket path or exception text: keep it out of markup.
        self.tooltip = Text(one_line(reason, 300))  # a str tooltip is read as markup
        self.add_class("-lost")

    def show_back(self) -> None:
        self.tooltip = None
        self.remove_class("-lost")

    @property
    def lost(self) -> bool:
        return self.has_class("-lost")
