"""An interaction as a plain-text recording: what a supervisor prints or files.

Everything the thread shows, in reading order, with the headers a reader needs (who, when,
to whom, delivery state, attachments). Mail text is untrusted: it goes through the same
sanitiser as the screen, so `cat`-ing the file cannot drive the terminal either.
"""

from __future__ import annotations

from engine.api.schemas import InteractionDetail, MessageOut
from engine.text.sanitize import one_line, sanitize

from .timefmt import local_stamp

RULE = "-" * 72


def _address(name: str, email: str) -> str:
    return f"{one_line(name)} <{one_line(email)}>" if name.strip() else one_line(email)


def _message(message: MessageOut) -> list[str]:
    inbound = message.direction == "inbound"
    state = "" if inbound else f" · {message.state}"
    if message.state == "failed" and message.error:
        state += f": {one_line(message.error, 200)}"
    elif not inbound and message.state != "sent" and message.error:
        state += f", not sent yet: {one_line(message.error, 200)}"
    lines = [
        f"{'← In ' if inbound else '→ Out'} · {local_stamp(message.created_at)}{state}",
        f"From: {_address(message.from_name, message.from_email)}",
    ]
    if message.to:
        lines.append("To: " + ", ".join(one_line(a) for a in message.to))
    if message.cc:
        lines.append("Cc: " + ", ".join(one_line(a) for a in message.cc))
    if message.bcc:
        lines.append("Bcc: " + ", ".join(one_line(a) for a in message.bcc))
    lines.append(f"Subject: {one_line(message.subject)}")
    for attachment in message.attachments:
        kept = " (only in the original mail)" if attachment.over_limit else ""
        lines.append(f"Attachment: {one_line(attachment.filename)}, {attachment.size} bytes{kept}")
    # Every body line behind a bar: a customer cannot forge headers or a reply in the file.
    body = sanitize(message.text).rstrip().splitlines() or [""]
    lines += ["", *(f"│ {line}".rstrip() for line in body), ""]
    return lines


def recording(detail: InteractionDetail) -> str:
    client = _address(detail.client_name, detail.client_email)
    closed = f" · closed {local_stamp(detail.closed_at)}" if detail.closed_at else ""
    lines = [
        f"Postdesk interaction #{detail.id} · {one_line(detail.campaign_name)} · {detail.state}",
        f"Client: {client}",
        f"Subject: {one_line(detail.subject)}",
        f"Agent: {one_line(detail.agent or '(none)')}",
        f"Arrived: {local_stamp(detail.arrived_at)}{closed} · {len(detail.messages)} messages",
    ]
    if detail.cc or detail.bcc:
        cc = ", ".join(one_line(a) for a in detail.cc) or "-"
        bcc = ", ".join(one_line(a) for a in detail.bcc) or "-"
        lines.append(f"CC: {cc} · BCC: {bcc}")
    lines.append("=" * 72)
    for message in detail.messages:
        lines += _message(message)
        lines.append(RULE)
    return "\n".join(lines) + "\n"


def recording_name(detail: InteractionDetail) -> str:
    """`interaction-12 Order 1234 missing.txt` (the saver cleans and uniquifies it)."""
    subject = one_line(detail.subject, 60).replace("/", "-").strip() or "no subject"
    return f"interaction-{detail.id} {subject}.txt"
