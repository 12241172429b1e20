"""`f` forward: a message of the thread to any number of recipients, with its files.

The agent's text goes on top, the original (shown read-only under it) is quoted by the
engine, and the original's attachments are carried unless unticked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rich.filesize import decimal
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from engine.api.schemas import ForwardIn, InteractionDetail, MessageOut
from engine.client.client import EngineClient
from engine.text.sanitize import one_line, safe_text

from ..timefmt import local_stamp
from ..widgets.form import FormField
from .compose_base import ComposeScreen, labelled
from .compose_drafts import Kept

_FORWARD_PREFIX = re.compile(r"^(?:fwd?\s*:\s*)+", re.IGNORECASE)


def forward_subject(subject: str) -> str:
    """`FWD: subject`, as the engine writes it (no stacked Fwd:/FW:/FWD: prefixes)."""
    rest = _FORWARD_PREFIX.sub("", subject.strip())
    return f"FWD: {rest}" if rest else "FWD:"


def sender(message: MessageOut) -> str:
    name = message.from_name.strip()
    return f"{name} <{message.from_email}>" if name else message.from_email


def original_text(message: MessageOut) -> Text:
    """The forwarded message as the recipient will see it under the agent's text."""
    text = Text("---------- Forwarded message ----------\n", style="dim")
    for label, value in (
        ("From", sender(message)),
        ("Date", local_stamp(message.created_at)),
        ("Subject", message.subject),
        ("To", ", ".join(message.to)),
    ):
        text.append(f"{label}: ", style="bold")
        text.append(one_line(value) + "\n")
    if message.cc:
        text.append("Cc: ", style="bold")
        text.append(one_line(", ".join(message.cc)) + "\n")
    text.append("\n")
    text.append_text(safe_text(message.text.rstrip()))
    return text


class ForwardScreen(ComposeScreen):
    BODY_ID = "forward-body"
    BODY_PLACEHOLDER = "Your text, above the forwarded message (optional)."

    def __init__(
        self,
        api: EngineClient,
        *,
        detail: InteractionDetail,
        message: MessageOut,
        max_attachment_bytes: int | None = None,
        on_draft: Callable[[str], None] | None = None,
        kept: Kept | None = None,
    ) -> None:
        super().__init__(
            api,
            interaction_id=detail.id,
            max_attachment_bytes=max_attachment_bytes,
            on_draft=on_draft,
            kept=kept,
        )
        self.detail = detail
        self.message = message

    def title_text(self) -> Text:
        title = Text("Forward the message from ", style="bold")
        title.append(one_line(sender(self.message), 60))
        return title

    def compose_fields(self) -> Iterable[Widget]:
        yield FormField(
            "To", input_id="forward-to", placeholder="one or more addresses, comma-separated"
        )
        yield FormField("CC", input_id="forward-cc")
        yield FormField("BCC", input_id="forward-bcc")
        subject = forward_subject(self.message.subject or self.detail.subject)
        yield Static(labelled("Subject", subject), id="forward-subject", markup=False)

    def compose_below(self) -> Iterable[Widget]:
        preview = VerticalScroll(
            Static(original_text(self.message), id="forward-original", markup=False),
            id="forward-original-pane",
        )
        preview.border_title = "Forwarded below your text"
        yield preview
        if self.message.attachments:
            files = SelectionList[int](
                *(
                    Selection(
                        Text.assemble(
                            one_line(a.filename, 50),
                            (f" ({decimal(a.size)})", "dim"),
                            (" too large to forward" if a.over_limit else "", "yellow"),
                        ),
                        a.id,
                        not a.over_limit,
                        disabled=a.over_limit,
                    )
                    for a in self.message.attachments
                ),
                id="forward-files",
                compact=True,
            )
            files.border_title = "Carry the original's files"
            yield files

    def initial_focus(self) -> Widget:
        return self.query_one("#forward-to")

    def value(self, input_id: str) -> str:
        return self.query_one(f"#{input_id}-field", FormField).input.value.strip()

    def problem(self) -> str | None:
        if not self.value("forward-to"):
            self.query_one("#forward-to-field", FormField).show_error("Who should receive it?")
            return "Add at least one recipient."
        return None

    @property
    def carried(self) -> list[int]:
        if not self.message.attachments:
            return []
        return list(self.query_one("#forward-files", SelectionList).selected)

    async def submit(self) -> InteractionDetail:
        assert self.interaction_id is not None
        return await self.api.forward(
            self.interaction_id,
            ForwardIn(
                to=self.value("forward-to"),
                cc=self.value("forward-cc"),
                bcc=self.value("forward-bcc"),
                text=self.draft,
                message_id=self.message.id,
                attachment_ids=self.carried,
                uploads=self.uploads.tokens,
            ),
        )
