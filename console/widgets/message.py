"""One message of a thread: direction, sender, date, recipients, delivery state, attachments, body.

All text in a message came from strangers, so it goes through `engine.text.sanitize` into
`rich.text.Text` and the widget is built with `markup=False`. The quoted history that ends most
replies (see `console.quoting`) is folded into one dim line until the agent unfolds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from rich.filesize import decimal
from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from engine.api.schemas import MessageOut
from engine.text.sanitize import one_line, sanitize

from ..quoting import Folded, split_history
from ..timefmt import local_stamp

STATE_STYLES = {
    "queued": "yellow",
    "sending": "yellow",
    "sent": "green",
    "failed": "bold red",
}


# The first word of an outgoing message's line, by the kind the engine gave it.
OUT_LABELS = {"forward": "→ Fwd", "confirmation": "→ Auto"}


def _sender(message: MessageOut) -> str:
    # Our own mail always comes from the campaign's address: its name says enough, and the
    # header line (direction, sender, date, state) then fits 80 columns.
    if message.direction == "outbound" and message.from_name.strip():
        return message.from_name
    if message.from_name.strip():
        return f"{message.from_name} <{message.from_email}>"
    return message.from_email


# A sanitised body, and the quoted history split off it (see `message_body`).
Body: TypeAlias = tuple[str, Folded | None]


def newest_inbound(messages: Sequence[MessageOut]) -> MessageOut | None:
    """The client's last message, else the newest of any (None when there are none): what
    an agent answers, forwards or starts from unless they point at another."""
    inbound = [m for m in messages if m.direction == "inbound"]
    return (inbound or messages or [None])[-1]


# What answers the client: an agent's reply or the first message of an interaction they
# started. A forward asks someone else, a confirmation is automatic, a failed one never left.
ANSWERS = frozenset({"reply", "new"})


def unanswered(messages: Sequence[MessageOut]) -> MessageOut | None:
    """The client's oldest message that no answer has followed yet (None: all answered)."""
    waiting: MessageOut | None = None
    for message in messages:
        if message.direction == "inbound":
            if message.kind == "customer" and waiting is None:
                waiting = message
        elif message.kind in ANSWERS and message.state != "failed":
            waiting = None
    return waiting


def message_body(message: MessageOut) -> Body:
    """The sanitised body, and its quoted history split off when there is one to fold."""
    body = sanitize(message.text.strip("\n"))
    return body, split_history(body)


def fold_line(folded: Folded, *, expanded: bool) -> Text:
    """The one line that stands for the quoted history; a click on it toggles it."""
    noun = "quoted line" if folded.lines == 1 else "quoted lines"
    mark, verb = ("▾", "hide") if expanded else ("▸", "show")
    return Text(
        f"{mark} {folded.lines} {noun} (z to {verb})",
        style=Style(dim=True, meta={"@click": "toggle_quotes"}),
    )


def held_back(message: MessageOut) -> Text:
    """Why an outgoing message is still in the outbox (the server put it off) and when it is
    tried again: without it a message merely says `queued` for hours."""
    tries = "1 try" if message.attempts == 1 else f"{message.attempts} tries"
    text = Text("\n")
    text.append("Not sent yet ", style="bold yellow")
    when = f", next at {local_stamp(message.next_attempt_at)}" if message.next_attempt_at else ""
    text.append(f"({tries}{when}): ", style="yellow")
    text.append(one_line(message.error, 300), style="yellow")
    return text


def customer_feedback(message: MessageOut) -> Text:
    """What the customer did with an outgoing message on the public web service: their
    rating (1-5, stars) and how often its tracking image was fetched (an image proxy or a
    privacy feature fetches it too: "seen" is a hint, not proof)."""
    text = Text("\n")
    if message.rating is not None:
        text.append("Rated ", style="bold")
        stars = "★" * message.rating + "☆" * (5 - message.rating)
        text.append(f"{stars} {message.rating}/5", style="yellow")
        if message.rated_at is not None:
            text.append(f"  {local_stamp(message.rated_at)}", style="dim")
        if message.seen_count:
            text.append("   ")
    if message.seen_count:
        text.append("Seen ", style="bold")
        times = "once" if message.seen_count == 1 else f"{message.seen_count} times"
        first = f", first {local_stamp(message.seen_at)}" if message.seen_at else ""
        text.append(f"{times}{first}", style="dim")
    return text


def message_text(message: MessageOut, *, expanded: bool = False, body: Body | None = None) -> Text:
    """One message: direction, sender, date, CC, delivery state, attachments, body (with its
    quoted history folded unless `expanded`). `body` is `message_body(message)` when the
    caller already has it."""
    inbound = message.direction == "inbound"
    text = Text()
    if inbound:
        text.append("← In ", style="bold cyan")
    else:
        text.append(OUT_LABELS.get(message.kind, "→ Out"), style="bold magenta")
    text.append("  ")
    text.append(one_line(_sender(message)), style="bold")
    moment = message.created_at if inbound else (message.sent_at or message.created_at)
    text.append(f"  {local_stamp(moment)}", style="dim")
    if not inbound:
        text.append("  ")
        text.append(message.state, style=STATE_STYLES.get(message.state, ""))
    # Whom an outgoing message went to tells a forward to a third party from an answer to
    # the client; a received one was to us, so only its CC says something.
    recipients = (
        [("CC", message.cc)]
        if inbound
        else [("To", message.to), ("CC", message.cc), ("BCC", message.bcc)]
    )
    for label, addresses in recipients:
        if addresses:
            text.append("\n")
            text.append(f"{label:<4}", style="bold")
            text.append(one_line(", ".join(addresses)))
    if not inbound and (message.rating is not None or message.seen_count):
        text.append_text(customer_feedback(message))
    if message.state == "failed" and message.error:
        text.append("\n")
        text.append("Error ", style="bold red")
        text.append(one_line(message.error), style="red")
    elif not inbound and message.state != "sent" and message.error:
        text.append_text(held_back(message))
    for attachment in message.attachments:
        text.append("\n")
        text.append("Attached ", style="bold")
        text.append(one_line(attachment.filename), style="underline")
        text.append(f" ({decimal(attachment.size)})", style="dim")
        if attachment.over_limit:
            text.append("  too large: only in the original mail", style="yellow")
    text.append("\n\n")
    if not message.text.strip():
        text.append("(no text)", style="dim italic")
        return text
    body_text, folded = message_body(message) if body is None else body
    if folded is None:
        text.append(body_text)
        return text
    text.append(folded.reply)
    text.append("\n\n")
    text.append_text(fold_line(folded, expanded=expanded))
    if expanded:
        text.append("\n")
        text.append(folded.history, style="dim")
    return text


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

    @dataclass
    class QuotesToggled(Message):
        """The quoted history of this message was folded or unfolded."""

        view: MessageView
        expanded: bool

        @property
        def control(self) -> MessageView:
            return self.view

    def __init__(self, message: MessageOut, *, expanded: bool = False) -> None:
        # Classes given here, not set after: on a widget not yet mounted, set_class restyles.
        super().__init__(markup=False, classes=" ".join(self._classes_for(message)))
        self.expanded = expanded
        # The body split once per text (sanitising and finding the quoted history read the
        # whole mail, on the UI loop): renders, refolds and state updates reuse it.
        self._body_source: str | None = None
        self._body: Body = ("", None)
        self.show(message)

    @staticmethod
    def _classes_for(message: MessageOut) -> list[str]:
        outbound, failed = message.direction == "outbound", message.state == "failed"
        return [name for name, on in (("-outbound", outbound), ("-failed", failed)) if on]

    def show(self, message: MessageOut, *, expanded: bool | None = None) -> None:
        """Show `message` (an update of the same one, or another when the view is reused)."""
        self.message = message
        if expanded is not None:
            self.expanded = expanded
        if message.text != self._body_source:
            self._body = message_body(message)
            self._body_source = message.text
        self.has_history = self._body[1] is not None
        self.set_class(message.direction == "outbound", "-outbound")
        self.set_class(message.state == "failed", "-failed")
        self._render_text()

    def _render_text(self) -> None:
        text = message_text(self.message, expanded=self.expanded, body=self._body)
        # Lines before wrapping, and the margin: a lower bound of the height on screen.
        self.height_floor = text.plain.count("\n") + 2
        self.update(text)

    def set_expanded(self, expanded: bool) -> None:
        if expanded != self.expanded:
            self.expanded = expanded
            self._render_text()

    def action_toggle_quotes(self) -> None:
        """Run by `z` on the thread, and by a click on the fold line (its `@click` meta)."""
        if self.has_history:
            self.set_expanded(not self.expanded)
            self.post_message(self.QuotesToggled(self, self.expanded))
