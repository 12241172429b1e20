"""The mails of many records of one list, made fast without a second MIME builder.

`record_message` (the one outgoing-mail builder, with its read-back check) costs a few
milliseconds a message: a list of 100,000 would spend minutes in it. So once per list the
builder makes a MODEL mail (marker values); each record's mail is then the model with:

- its To, Subject, Date, Message-ID and List-Unsubscribe headers made again by
  `header_values` (the one header-checking path: each value is checked and folded there,
  exactly as `build_message` does it), the model's other headers as they are;
- its text and HTML, made by `dialer_mail.record_content` (the same function the builder's
  path uses), each quoted-printable encoded into the model's part, under the model's part
  headers and MIME boundary.

Only for the model's shape: a multipart/alternative of text and HTML (a record with its own
message, attachments or an event goes to the builder, as does every record when the model
has another shape). A value that cannot go in a header fails in `header_values` as it would
in the builder. tests/test_dialer_fastmail.py checks that both ways read the same.

The template's own records (no message of their own, the common case of a big list) go a
shorter way still, the SKELETON: the subject, text and HTML templates are split once into
their literal pieces and `${names}`, the unsubscribe block and image once around the token;
a record's mail is then %-formats of its values (HTML-escaped for the HTML) and its token. Its
headers keep the same checks in cheaper forms that give the same bytes: a subject of
printable ASCII short enough never to fold is written as it is (anything else goes through
`text_header`), the To of a plain ASCII address is that address, and List-Unsubscribe is
the model's line with the model's token replaced by the record's (a token is 22 URL-safe
characters: same length, nothing to quote, the same folding). About 4x less work a mail.
"""

from __future__ import annotations

import binascii
import operator
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from email import policy as email_policy
from email import utils as email_utils
from html import escape

from engine.domain.dialer_mail import (
    MailSpec,
    RecordError,
    RecordMail,
    body_html,
    record_content,
    record_message,
)
from engine.domain.dialer_vars import referenced
from engine.domain.header_values import HeaderInjectionError, address_header, text_header
from engine.domain.templates import VARIABLE
from engine.domain.unsubscribe import headers as unsubscribe_headers
from engine.domain.web_links import Links, is_token

__all__ = ["MailMaker"]

_ASCII_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_BOUNDARY = re.compile(rb'boundary="([^"\r\n]+)"')
_POLICY = email_policy.SMTP
_QP = b"Content-Transfer-Encoding: quoted-printable"
# A subject written as it is: printable ASCII (a tab too) that never folds ("Subject: " is 9
# of the 78 columns), the same bytes `text_header` writes for it (it has no "=?", checked).
_SHORT_PLAIN = re.compile(r"[\t\x20-\x7e]{0,69}")


def _pieces(template: str) -> tuple[list[str], list[str]]:
    """A template split once: its literal pieces (one more than its names) and its names."""
    literals, names = [], []
    at = 0
    for found in VARIABLE.finditer(template):
        literals.append(template[at : found.start()])
        names.append(found.group(1))
        at = found.end()
    literals.append(template[at:])
    return literals, names


def _format_of(
    pieces: tuple[list[str], list[str]],
) -> tuple[str, Callable[[Mapping[str, str]], tuple[str, ...]]]:
    """A split template as a %-format and the getter of its values (a tuple, in order)."""
    literals, names = pieces
    fmt = "%s".join(literal.replace("%", "%%") for literal in literals)
    if not names:
        return fmt, lambda _variables: ()
    if len(names) == 1:
        name = names[0]
        return fmt, lambda variables: (variables[name],)
    return fmt, operator.itemgetter(*names)


def _qp(text: str) -> bytes:
    """The part's content as the builder lays it out (lines split as `bytes.splitlines`
    does, one newline at the end), quoted-printable, CRLF."""
    data = text.replace("\x00", "").encode("utf-8")
    if b"\r" in data:
        data = b"\n".join(data.splitlines()) + b"\n"
    elif not data.endswith(b"\n"):  # without a CR, the same bytes as the split and join
        data += b"\n"
    encoded = binascii.b2a_qp(data, istext=True)
    return encoded.replace(b"\n", b"\r\n")


class MailMaker:
    """Makes the mails of one list (one `MailSpec`)."""

    def __init__(self, spec: MailSpec, now: datetime) -> None:
        self.spec = spec
        self.marked = spec.unsubscribe_marked()
        self.fast = 0  # mails made from the model (the bench reads it)
        self.slow = 0
        self._names = sorted(referenced([spec.subject, spec.template_text, spec.template_html]))
        nonce = secrets.token_hex(6)
        self._marks = {name: f"pdm{nonce}v{i}x" for i, name in enumerate(self._names)}
        self._token_mark = f"pdm{nonce}tokenx1"  # 22 characters, shaped like a token
        self._headers: list[tuple[bytes, bytes]] = []
        self._delimiter = b""
        self._part_heads: list[bytes] = []
        self._ready = False
        self._skeleton = False
        self._date: tuple[datetime, bytes] | None = None
        self._model(nonce, now)
        if self._ready:
            self._skeleton_of(now)

    def _model(self, nonce: str, now: datetime) -> None:
        if self.spec.event is not None:
            return
        try:
            raw = record_message(
                self.spec,
                RecordMail(f"pdm{nonce}to@example.invalid", "", self._marks),
                token=self._token_mark,
                message_id=f"<pdm{nonce}mid@example.invalid>",
                now=now,
                unsubscribe_marked=self.marked,
            )
        except RecordError:
            return  # the builder refuses the model: every record says why on its own
        head, _, body = raw.partition(b"\r\n\r\n")
        found = _BOUNDARY.search(head)
        if found is None or b"multipart/alternative" not in head:
            return
        delimiter = b"--" + found.group(1)
        chunks = body.split(delimiter)
        # "", text part, HTML part, "--" epilogue: nothing else is this shape.
        if len(chunks) != 4 or chunks[0] or not chunks[3].startswith(b"--"):
            return
        part_heads = []
        for chunk, kind in ((chunks[1], b"text/plain"), (chunks[2], b"text/html")):
            part_head = chunk.partition(b"\r\n\r\n")[0]
            if kind not in part_head:
                return
            kept = [
                line
                for line in part_head.split(b"\r\n")
                if line and not line.lower().startswith(b"content-transfer-encoding:")
            ]
            part_heads.append(b"\r\n".join([b"", *kept, _QP, b"", b""]))
        lines: list[tuple[bytes, bytes]] = []
        for line in head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t") and lines:
                name, text = lines[-1]
                lines[-1] = (name, text + b"\r\n" + line)
            else:
                lines.append((line.partition(b":")[0].lower(), line))
        self._headers = lines
        self._delimiter = delimiter
        self._part_heads = part_heads
        self._ready = True

    def _skeleton_of(self, now: datetime) -> None:
        """The pieces of the template's own mails (see the module's docstring)."""
        spec = self.spec
        if not (spec.template_text or spec.template_html):
            return  # an empty body: rare, the model's way makes it
        mark = self._token_mark
        links = Links(spec.base_url, mark)
        self._subject = _pieces(spec.subject)
        self._text = _pieces(spec.template_text)
        self._html = _pieces(spec.template_html) if spec.template_html else None
        # What follows the body, around the token (a token needs no escaping: URL-safe): the
        # content of an empty template is that and an empty body.
        _, tail_text, tail_html = record_content(
            MailSpec(
                spec.sender, spec.reply_address, "", "", "", spec.unsubscribe_html, spec.base_url
            ),
            RecordMail("", "", {}),
            links,
            self.marked,
        )
        empty = body_html("")
        if not tail_html.startswith(empty) or mark in empty or escape(mark) != mark:
            return
        self._html_tail = tail_html[len(empty) :].split(mark)
        self._text_tail = tail_text.split(mark)
        listed = [line for name, line in self._headers if name == b"list-unsubscribe"]
        if len(listed) != 1 or listed[0].count(mark.encode()) != 2:
            return
        # Each template once as a %-format and a getter of its values in order (a missing
        # name: KeyError), the whole mail's bytes as one %-format of its slots: a mail is
        # then three or four C-speed formats and two quoted-printable encodings.
        self._subject_fmt = _format_of(self._subject)
        self._text_fmt = _format_of(self._text)
        self._html_fmt = _format_of(self._html) if self._html is not None else None
        slots = {
            b"to": b"To: %(to)s",
            b"subject": b"%(subject)s",
            b"date": b"%(date)s",
            b"message-id": b"Message-ID: %(mid)s",
        }
        head = []
        for name, line in self._headers:
            if name == b"list-unsubscribe":
                head.append(line.replace(b"%", b"%%").replace(mark.encode(), b"%(token)s"))
            else:
                head.append(slots.get(name, line.replace(b"%", b"%%")))
        d = self._delimiter.replace(b"%", b"%%")
        text_head, html_head = (h.replace(b"%", b"%%") for h in self._part_heads)
        self._mail_fmt = b"".join(
            [
                b"\r\n".join(head),
                b"\r\n\r\n",
                d,
                text_head,
                b"%(text)s\r\n",
                d,
                html_head,
                b"%(html)s\r\n",
                d,
                b"--\r\n",
            ]
        )
        self._skeleton = True

    def make(self, record: RecordMail, *, token: str, message_id: str, now: datetime) -> bytes:
        """The record's mail; `RecordError` (from the builder) when it cannot be made."""
        if self._skeleton and not record.message and not record.attachments:
            made = self._from_skeleton(record, token, message_id, now)
            if made is not None:
                self.fast += 1
                return made
        fast = self._fast(record, token, message_id, now)
        if fast is not None:
            self.fast += 1
            return fast
        self.slow += 1
        return record_message(
            self.spec,
            record,
            token=token,
            message_id=message_id,
            now=now,
            unsubscribe_marked=self.marked,
        )

    def _from_skeleton(
        self, record: RecordMail, token: str, message_id: str, now: datetime
    ) -> bytes | None:
        """The template's own mail of a record made of the skeleton's pieces; None: the
        other ways make it (they also say which `${name}` a record lacks)."""
        variables = record.variables
        if not is_token(token) or not _ASCII_ADDRESS.fullmatch(record.destination):
            return None
        try:
            fmt, get = self._subject_fmt
            subject = fmt % get(variables)
            fmt, get = self._text_fmt
            text = fmt % get(variables)
            if self._html_fmt is not None:
                fmt, get = self._html_fmt
                html = fmt % tuple(map(escape, get(variables)))
            else:
                html = body_html(text)
        except KeyError:
            return None  # undefined: `record_content` raises the reason
        html += token.join(self._html_tail)
        text = (text.rstrip("\n") + "\n\n" if text else "") + token.join(self._text_tail)
        if _SHORT_PLAIN.fullmatch(subject) and "=?" not in subject:
            subject_line = b"Subject: " + subject.encode("ascii")
        else:
            try:
                made = text_header("Subject", subject)
            except HeaderInjectionError as exc:
                raise RecordError(str(exc)) from None
            subject_line = made.fold(policy=_POLICY).encode().rstrip(b"\r\n")
        date = self._date
        if date is None or date[0] != now:
            date = self._date = (now, f"Date: {email_utils.format_datetime(now)}".encode())
        wire_token = token.encode("ascii")
        return self._mail_fmt % {
            b"to": record.destination.encode("ascii"),
            b"subject": subject_line,
            b"date": date[1],
            b"mid": message_id.encode(),
            b"token": wire_token,
            b"text": _qp(text),
            b"html": _qp(html),
        }

    def _fast(self, record: RecordMail, token: str, message_id: str, now: datetime) -> bytes | None:
        if not self._ready or record.message or record.attachments:
            return None
        if not _ASCII_ADDRESS.fullmatch(record.destination):
            return None  # quoting, IDNA, SMTPUTF8: the builder knows them
        links = Links(self.spec.base_url, token)
        subject, text, html = record_content(self.spec, record, links, self.marked)
        try:
            made = {
                b"to": address_header("To", [("", record.destination)]),
                b"subject": text_header("Subject", subject),
                b"list-unsubscribe": text_header(
                    "List-Unsubscribe",
                    unsubscribe_headers(links, self.spec.reply_address)["List-Unsubscribe"],
                ),
            }
        except HeaderInjectionError as exc:
            raise RecordError(str(exc)) from None
        fixed = {
            b"date": f"Date: {email_utils.format_datetime(now)}".encode(),
            b"message-id": f"Message-ID: {message_id}".encode(),
        }
        head = []
        for name, line in self._headers:
            if name in made:
                head.append(made[name].fold(policy=_POLICY).encode().rstrip(b"\r\n"))
            else:
                head.append(fixed.get(name, line))
        d = self._delimiter
        text_head, html_head = self._part_heads
        return b"".join(
            [
                b"\r\n".join(head),
                b"\r\n\r\n",
                d,
                text_head,
                _qp(text),
                b"\r\n",  # the line break before a delimiter is the delimiter's
                d,
                html_head,
                _qp(html),
                b"\r\n",
                d,
                b"--\r\n",
            ]
        )
