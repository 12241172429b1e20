"""A close of a thread (docs/wrapup.md): its disposition, internal note, who and when, shown
among the messages where it happened, marked internal: never part of a mail (the engine
quotes and forwards messages only).

Notes and code names are people's text: sanitised, shown as plain text, never markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from engine.api.schemas import WrapupOut
from engine.text.sanitize import one_line, sanitize

from ..timefmt import local_stamp


def wrapups_text(wrapups: list[WrapupOut]) -> Text:
    text = Text()
    text.append("Wrap-up · internal, never sent to the client", style="bold magenta")
    for wrapup in wrapups:
        text.append("\n")
        text.append("✔ Closed ", style="bold")
        text.append(local_stamp(wrapup.closed_at), style="dim")
        text.append(" by ", style="dim")
        text.append(one_line(wrapup.agent_name or wrapup.agent or "—", 40))
        text.append("\n  Disposition: ", style="dim")
        if wrapup.disposition:
            text.append(one_line(wrapup.disposition, 90), style="bold")
        else:
            text.append("none", style="dim italic")
        if wrapup.note:
            for n, line in enumerate(sanitize(wrapup.note).splitlines()):
                text.append("\n  Note: " if n == 0 else "\n        ", style="dim")
                text.append(line, style="italic")
    return text


class WrapupsView(Static):
    DEFAULT_CSS = """
    WrapupsView {
        height: auto;
        margin: 0 0 1 0;
        padding: 0 1;
        border-left: thick $secondary;
        background: $boost;
    }
    """

    def __init__(self, wrapups: list[WrapupOut]) -> None:
        super().__init__(wrapups_text(wrapups), markup=False, classes="thread-wrapup")

    def show(self, wrapups: list[WrapupOut]) -> None:
        self.update(wrapups_text(wrapups))
