"""The thread of one interaction: a fixed header, then every message, scrollable.

All text in an interaction came from strangers, so it goes through `engine.api.sanitize`
into `rich.text.Text` and every Static here is built with `markup=False`.
"""

from __future__ import annotations

from rich.filesize import decimal
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from engine.api.sanitize import one_line, safe_text
from engine.api.schemas import AttachmentOut, InteractionDetail, MessageOut

from ..timefmt import local_stamp

STATE_STYLES = {
    "queued": "yellow",
    "sending": "yellow",
    "sent": "green",
    "failed": "bold red",
}


def _label(text: Text, label: str, value: str, *, width: int = 9) -> None:
    text.append(f"{label:<{width}}", style="bold")
    text.append(one_line(value))


def header_text(detail: InteractionDetail) -> Text:
    """Campaign, client email and client name, labelled, the subject, then CC/BCC if any."""
    text = Text()
    _label(text, "Campaign", detail.campaign_name)
    if detail.state == "closed":
        text.append("  closed", style="bold yellow")
    text.append("\n")
    _label(text, "Client", detail.client_email)
    text.append("\n")
    _label(text, "Name", detail.client_name or "—")
    text.append("\n")
    _label(text, "Subject", detail.subject or "(no subject)")
    for label, addresses in (("CC", detail.cc), ("BCC", detail.bcc)):
        if addresses:
            text.append("\n")
            _label(text, label, ", ".join(addresses))
    if detail.draft.strip():
        text.append("\n")
        text.append(f"{'Draft':<9}", style="bold yellow")
        text.append(one_line(detail.draft, 60), style="italic")
    return text


def _sender(message: MessageOut) -> str:
    if message.from_name.strip():
        return f"{message.from_name} <{message.from_email}>"
    return message.from_email


def message_text(message: MessageOut) -> Text:
    """One message: direction, sender, date, CC, delivery state, attachments, body."""
    inbound = message.direction == "inbound"
    text = Text()
    text.append("← In " if inbound else "→ Out", style="bold cyan" if inbound else "bold magenta")
    text.append("  ")
    text.append(one_line(_sender(message)), style="bold")
    moment = message.created_at if inbound else (message.sent_at or message.created_at)
    text.append(f"  {local_stamp(moment)}", style="dim")
    if not inbound:
        text.append("  ")
        text.append(message.state, style=STATE_STYLES.get(message.state, ""))
    if message.cc:
        text.append("\n")
        text.append("CC ", style="bold")
        text.append(one_line(", ".join(message.cc)))
    if message.state == "failed" and message.error:
        text.append("\n")
        text.append("Error ", style="bold red")
        text.append(one_line(message.error), style="red")
    for attachment in message.attachments:
        text.append("\n")
        text.append("Attached ", style="bold")
        text.append(one_line(attachment.filename), style="underline")
        text.append(f" ({decimal(attachment.size)})", style="dim")
    text.append("\n\n")
    body = safe_text(message.text.strip("\n")) if message.text.strip() else None
    text.append_text(body if body is not None else Text("(no text)", style="dim italic"))
    return text


class ThreadHeader(Static):
    DEFAULT_CSS = """
    ThreadHeader {
        height: auto;
        padding: 0 1;
        border-bottom: solid $primary;
    }
    """


class MessageView(Static, can_focus=True):
    """Focusable (tab, click) so that `f`, `s` and `v` can act on one message."""

    DEFAULT_CSS = """
    MessageView {
        height: auto;
        margin: 0 0 1 0;
        padding: 0 1;
        border-left: thick $secondary;
    }
    MessageView.-outbound { border-left: thick $primary; }
    MessageView.-failed { border-left: thick $error; }
    MessageView:focus { border-left: thick $accent; background: $boost; }
    """

    def __init__(self, message: MessageOut) -> None:
        super().__init__(markup=False)
        self.show(message)

    def show(self, message: MessageOut) -> None:
        self.message = message
        self.set_class(message.direction == "outbound", "-outbound")
        self.set_class(message.state == "failed", "-failed")
        self.update(message_text(message))


class ThreadView(Vertical, can_focus=False):
    """`#thread`: header `#thread-header` over the scrollable `#thread-messages`."""

    EMPTY = "Select an interaction in the inbox."

    def __init__(self, *, id: str = "thread") -> None:  # noqa: A002
        super().__init__(id=id)
        self.detail: InteractionDetail | None = None
        self._views: dict[int, MessageView] = {}

    def compose(self) -> ComposeResult:
        yield ThreadHeader(self.EMPTY, id="thread-header", markup=False)
        yield VerticalScroll(id="thread-messages")

    @property
    def interaction_id(self) -> int | None:
        return self.detail.id if self.detail is not None else None

    @property
    def messages(self) -> VerticalScroll:
        return self.query_one("#thread-messages", VerticalScroll)

    @property
    def current_message(self) -> MessageOut | None:
        """The focused message, else the newest inbound one, else the newest."""
        focused = self.app.focused
        if isinstance(focused, MessageView) and focused.message.id in self._views:
            return focused.message
        if self.detail is None or not self.detail.messages:
            return None
        inbound = [m for m in self.detail.messages if m.direction == "inbound"]
        return (inbound or self.detail.messages)[-1]

    @property
    def attachments(self) -> list[AttachmentOut]:
        """Every attachment of the thread, newest message first."""
        if self.detail is None:
            return []
        views = [view.message for view in self._views.values()]
        return [a for m in reversed(views) for a in m.attachments]

    @property
    def current_attachment(self) -> AttachmentOut | None:
        focused = self.app.focused
        if isinstance(focused, MessageView) and focused.message.attachments:
            return focused.message.attachments[0]
        return None

    def show(self, detail: InteractionDetail | None) -> None:
        """Show `detail` (None: nothing selected). Scrolls to the newest message."""
        same = detail is not None and detail.id == self.interaction_id
        self.detail = detail
        header = self.query_one(ThreadHeader)
        header.update(header_text(detail) if detail is not None else self.EMPTY)
        if same and detail is not None:
            for message in detail.messages:
                self.upsert_message(message)
            return
        self._views = {}
        self.messages.remove_children()
        if detail is None:
            return
        self._views = {m.id: MessageView(m) for m in detail.messages}
        self.messages.mount_all(self._views.values())
        self.messages.scroll_end(animate=False, immediate=False)

    def set_draft(self, text: str) -> None:
        """The agent's unsent reply changed: show it in the header."""
        if self.detail is not None and self.detail.draft != text:
            self.detail = self.detail.model_copy(update={"draft": text})
            self.query_one(ThreadHeader).update(header_text(self.detail))

    def upsert_message(self, message: MessageOut) -> None:
        """Add a new message at the end, or update one (e.g. its delivery state)."""
        view = self._views.get(message.id)
        if view is not None:
            view.show(message)
            return
        view = self._views[message.id] = MessageView(message)
        self.messages.mount(view)
        self.messages.scroll_end(animate=False, immediate=False)
