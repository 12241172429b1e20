"""The mail of one dialer record: what it says, built by the one outgoing-mail builder.

- Subject: the list's, with the row's `${variables}`.
- Body: the record's message; else the dialer's template (its HTML too, when it has one);
  else empty, as the manual says.
- Every `${name}` must be defined by the row: one that is not fails the record with the
  reason (`RecordError`); a raw `${x}` is never sent.
- The unsubscribe block (the dialer's HTML with its `<a id="unsubscribe_link">` filled), the
  `List-Unsubscribe` / `List-Unsubscribe-Post` headers and the seen image all carry the
  record's own random token (`web_links.Links`).
- With an event: the invitation as a `text/calendar; method=REQUEST` alternative and as an
  `.ics` attachment (`invitation.py`).

The message is made by `compose.build_message`, which checks every header value and reads
the result back: a CSV value cannot add a header or end a line. Pure: token, Message-ID and
the instant are given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from engine.domain.compose import AddressError, HeaderInjectionError, build_message
from engine.domain.invitation import EventSpec, InvitationError, invitation
from engine.domain.mime_headers import Address
from engine.domain.templates import render
from engine.domain.unsubscribe import fill_link, headers
from engine.domain.web_links import Links, pixel_html

__all__ = [
    "MailSpec",
    "RecordError",
    "RecordMail",
    "body_html",
    "record_content",
    "record_message",
]

INVITATION_NAME = "invitation.ics"
# Filled once per spec, then the record's URL replaces it: the HTML is parsed once, not per
# message (a marker no URL we make contains).
_LINK_MARK = "https://postdesk.invalid/unsubscribe-link-mark"


class RecordError(ValueError):
    """Why this record cannot be sent; stored as its failure reason."""


@dataclass(frozen=True)
class AnsweredMail:
    """A sent dialer mail that incoming mail answers, made again to open its thread
    (`engine.services.dialer.answers`): the record and the message it becomes."""

    record_id: int
    destination: str
    rfc_message_id: str
    subject: str
    text: str
    html: str
    raw_sha256: str
    sent_at: datetime | None


@dataclass(frozen=True)
class MailSpec:
    """What every record of one list shares."""

    sender: Address  # the campaign's From
    reply_address: str  # the campaign's address: unsubscribe mails go there
    subject: str  # the list's, may hold ${variables}
    template_text: str
    template_html: str
    unsubscribe_html: str  # holds <a id="unsubscribe_link">
    base_url: str  # the public web service, no trailing slash
    event: EventSpec | None = None

    def unsubscribe_marked(self) -> str:
        return fill_link(self.unsubscribe_html, _LINK_MARK)


@dataclass(frozen=True)
class RecordMail:
    destination: str
    message: str
    variables: Mapping[str, str]
    attachments: Sequence[tuple[str, str, bytes]] = ()  # (filename, content type, data)


def _filled(what: str, text: str, variables: Mapping[str, str]) -> str:
    rendered = render(text, variables)
    if rendered.unknown:
        names = ", ".join(f"${{{name}}}" for name in rendered.unknown)
        raise RecordError(f"{what}: the row does not define {names}")
    return rendered.text


def body_html(text: str) -> str:
    """A plain-text body as HTML (escaped, its line breaks kept)."""
    return "<div>" + escape(text).replace("\n", "<br>\n") + "</div>"


def record_content(
    spec: MailSpec, record: RecordMail, links: Links, unsubscribe_marked: str
) -> tuple[str, str, str]:
    """(subject, text, HTML) of the record's mail, links filled; `RecordError` when a
    `${variable}` is not defined by the row."""
    variables = record.variables
    subject = _filled("subject", spec.subject, variables)
    if record.message:
        text = _filled("message", record.message, variables)
        html = body_html(text)
    elif spec.template_text or spec.template_html:
        text = _filled("template", spec.template_text, variables)
        if spec.template_html:
            safe = {name: escape(value) for name, value in variables.items()}
            html = _filled("template", spec.template_html, safe)
        else:
            html = body_html(text)
    else:
        text, html = "", body_html("")
    html += unsubscribe_marked.replace(
        escape(_LINK_MARK, quote=True), escape(links.unsubscribe, quote=True)
    )
    html += pixel_html(links)
    text = (text.rstrip("\n") + "\n\n" if text else "") + (
        f"To stop receiving these messages: {links.unsubscribe}\n"
    )
    return subject, text, html


def record_message(
    spec: MailSpec,
    record: RecordMail,
    *,
    token: str,
    message_id: str,
    now: datetime,
    unsubscribe_marked: str | None = None,
) -> bytes:
    """The wire bytes of the record's mail (CRLF), or `RecordError` with the reason.

    `unsubscribe_marked`: `spec.unsubscribe_marked()`, computed once by a caller that sends
    many records of one spec."""
    variables = record.variables
    links = Links(spec.base_url, token)
    marked = unsubscribe_marked if unsubscribe_marked is not None else spec.unsubscribe_marked()
    subject, text, html = record_content(spec, record, links, marked)
    files = list(record.attachments)
    calendar: bytes | None = None
    if spec.event is not None:
        try:
            calendar = invitation(
                spec.event,
                variables,
                attendee=record.destination,
                uid=message_id.strip("<>"),
                now=now,
            )
        except InvitationError as exc:
            raise RecordError(f"event {exc}") from None
        files.append((INVITATION_NAME, "text/calendar", calendar))
    try:
        msg = build_message(
            from_=spec.sender,
            to=[Address(record.destination)],
            cc=[],
            bcc=[],
            subject=subject,
            text=text,
            html=html,
            message_id=message_id,
            extra_headers=headers(links, spec.reply_address),
            attachments=files,
            date=now,
            calendar=calendar,
        )
    except (AddressError, HeaderInjectionError) as exc:
        raise RecordError(str(exc)) from None
    except ValueError as exc:
        raise RecordError(f"cannot be sent: {exc}") from None
    return msg.as_bytes()
