"""The recording viewer's line over the thread: what the thread's own header leaves out.

The thread header (console/widgets/thread.py) is the agent's: campaign, client, subject,
copies. A supervisor reading a recording also needs whose it was and when: the agent, the
state, when it arrived and closed, how many messages and attachments, the last wrap-up code
(the manual's "Email recording viewer"). Names are untrusted text: sanitised, no markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from engine.api.schemas import InteractionDetail
from engine.text.sanitize import one_line

from ..timefmt import local_stamp

Parts = list[tuple[str, str, str]]  # (label, value, the value's style)


def recording_info(detail: InteractionDetail) -> Text:
    """Two lines, who and what, then when (and the code): at 80 columns one line wrapped
    in the middle of a date."""
    attachments = sum(len(m.attachments) for m in detail.messages)
    noun = "message" if len(detail.messages) == 1 else "messages"
    who: Parts = [
        ("Agent", one_line(detail.agent or "(none)", 30), ""),
        ("State", str(detail.state), "yellow" if detail.state == "closed" else "green"),
        ("Mail", f"{len(detail.messages)} {noun}, {attachments} attached", ""),
    ]
    when: Parts = [("Arrived", local_stamp(detail.arrived_at), "")]
    if detail.closed_at is not None:
        when.append(("Closed", local_stamp(detail.closed_at), ""))
    if detail.disposition:
        when.append(("Code", one_line(detail.disposition, 40), ""))
    return Text("\n").join([_line(who), _line(when)])


def _line(parts: Parts) -> Text:
    """`Label value · Label value`."""
    text = Text()
    for label, value, style in parts:
        if text.plain:
            text.append(" · ", style="dim")
        text.append(f"{label} ", style="bold")
        text.append(value, style=style)
    return text


class RecordingInfo(Static):
    """`#recording-info`: two lines (a long wrap-up code may wrap to a third)."""

    DEFAULT_CSS = """
    RecordingInfo {
        height: auto;
        padding: 0 1;
        color: $text-muted;
        background: $boost;
    }
    """

    def __init__(self) -> None:
        super().__init__("", id="recording-info", markup=False)

    def show(self, detail: InteractionDetail) -> None:
        self.update(recording_info(detail))
