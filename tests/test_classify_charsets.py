"""Reports in other charsets than ASCII and UTF-8: classify reads their parts with mime's
decoding (declared charset, then UTF-8, then windows-1252), so a report in ISO-8859-1, UTF-16
or under a charset label nobody knows is still read, and never makes classify raise."""

from __future__ import annotations

import base64
import quopri

import pytest

from engine.domain.classify import Classification, classify
from engine.domain.mime import parse_message

ORIGINAL_ID = "orig.4711@desk.example.com"

# The returned original's headers: what a text/rfc822-headers part (or a message/rfc822 one)
# carries, with a subject that is not ASCII.
ORIGINAL_HEADERS = (
    "From: Kundendienst <desk@example.com>\r\n"
    "To: Jörg Müller <gone@example.net>\r\n"
    "Subject: Ihre Bestellung über 42 €\r\n"
    f"Message-ID: <{ORIGINAL_ID}>\r\n"
)

# Charset labels a real report may carry, and how the part's bytes are then written.
CHARSETS = [
    pytest.param("iso-8859-1", "latin-1", "8bit", id="iso-8859-1"),
    pytest.param("iso-8859-15", "iso-8859-15", "quoted-printable", id="iso-8859-15-qp"),
    pytest.param("windows-1252", "cp1252", "base64", id="windows-1252-base64"),
    pytest.param("utf-16", "utf-16", "base64", id="utf-16-bom"),
    pytest.param("utf-16be", "utf-16-be", "base64", id="utf-16be"),
    pytest.param("utf-16le", "utf-16-le", "base64", id="utf-16le"),
    pytest.param("x-no-such-charset", "utf-8", "8bit", id="unknown-label-utf8"),
    pytest.param("x-no-such-charset", "latin-1", "8bit", id="unknown-label-latin1"),
    pytest.param("base64", "utf-8", "8bit", id="codec-that-is-no-charset"),
    pytest.param("zlib", "utf-8", "8bit", id="compression-codec-label"),
]


def encoded(text: str, codec: str, transfer: str) -> bytes:
    """``text`` in ``codec`` under the transfer encoding ``transfer``."""
    if codec == "latin-1":
        text = text.replace("€", "EUR")  # ISO-8859-1 has no euro sign
    data = text.encode(codec)
    if transfer == "base64":
        return base64.encodebytes(data).replace(b"\n", b"\r\n")
    if transfer == "quoted-printable":
        return quopri.encodestring(data)  # keeps the CRLF line ends
    return data


def run(raw: bytes) -> Classification:
    return classify(raw, parse_message(raw), our_addresses={"desk@example.com"})


def dsn_with_headers_part(charset: str, codec: str, transfer: str) -> bytes:
    """A Postfix-like delivery report whose human-readable part is ISO-8859-1 and whose
    returned headers are written in ``codec`` and labelled ``charset``."""
    human = encoded(
        "Dies ist das Mailsystem.\r\n\r\nIhre Nachricht konnte nicht zugestellt werden:\r\n"
        "<gone@example.net>: Empfänger unbekannt\r\n",
        "latin-1",
        "quoted-printable",
    )
    return (
        b"From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        b"To: desk@example.com\r\n"
        b"Subject: Unzustellbar: Ihre Bestellung\r\n"
        b"Auto-Submitted: auto-replied\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        b"--B\r\n"
        b"Content-Type: text/plain; charset=ISO-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + human + b"\r\n"
        b"--B\r\n"
        b"Content-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.net\r\n\r\n"
        b"Final-Recipient: rfc822; gone@example.net\r\n"
        b"Action: failed\r\n"
        b"Status: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        b"--B\r\n"
        b"Content-Type: text/rfc822-headers; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: "
        + transfer.encode()
        + b"\r\n\r\n"
        + encoded(ORIGINAL_HEADERS, codec, transfer)
        + b"\r\n--B--\r\n"
    )


@pytest.mark.parametrize(("charset", "codec", "transfer"), CHARSETS)
def test_a_delivery_report_returns_its_original_in_any_charset(
    charset: str, codec: str, transfer: str
) -> None:
    result = run(dsn_with_headers_part(charset, codec, transfer))
    assert result.kind == "bounce"
    assert result.bounce is not None
    assert result.bounce.recipient == "gone@example.net"
    assert result.bounce.status == "5.1.1"
    assert result.bounce.hard is True
    # Only the returned headers name the original: read in their charset, or not at all.
    assert result.bounce.original_message_id == ORIGINAL_ID


def test_utf16_headers_read_as_utf8_would_lose_the_original() -> None:
    """The UTF-16 cases above prove the label is honoured: the same bytes read as UTF-8
    (what an undeclared part gets) name no original at all."""
    raw = dsn_with_headers_part("utf-16", "utf-16", "base64").replace(
        b"text/rfc822-headers; charset=utf-16", b"text/rfc822-headers"
    )
    result = run(raw)
    assert result.kind == "bounce"
    assert result.bounce is not None and result.bounce.original_message_id is None


@pytest.mark.parametrize(("charset", "codec", "transfer"), CHARSETS)
def test_a_feedback_report_names_the_original_in_any_charset(
    charset: str, codec: str, transfer: str
) -> None:
    raw = (
        b"From: Feedback Loop <fbl@isp.example.net>\r\n"
        b"To: desk@example.com\r\n"
        b"Subject: Beschwerde\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=feedback-report; boundary=F\r\n\r\n"
        b"--F\r\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: "
        + transfer.encode()
        + b"\r\n\r\n"
        + encoded("Beschwerde über eine Nachricht.\r\n", codec, transfer)
        + b"\r\n--F\r\n"
        b"Content-Type: message/feedback-report\r\n\r\n"
        b"Feedback-Type: abuse\r\nUser-Agent: FBL/1.0\r\nVersion: 1\r\n\r\n"
        b"--F\r\n"
        b"Content-Type: text/rfc822-headers; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: "
        + transfer.encode()
        + b"\r\n\r\n"
        + encoded(ORIGINAL_HEADERS, codec, transfer)
        + b"\r\n--F--\r\n"
    )
    result = run(raw)
    assert result.kind == "complaint"
    assert result.complaint is not None
    assert result.complaint.feedback_type == "abuse"
    assert result.complaint.original_message_id == ORIGINAL_ID
    assert result.complaint.original_recipient == "gone@example.net"


@pytest.mark.parametrize(("charset", "codec", "transfer"), CHARSETS)
def test_a_plain_text_bounce_is_read_in_any_charset(
    charset: str, codec: str, transfer: str
) -> None:
    """No report at all: the body is the bounce, in the charset its label says (or the
    fallbacks when the label means nothing), with the original attached."""
    body = encoded(
        "This is the mail system at host mx.example.net.\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients (Empfänger unbekannt).\r\n\r\n"
        "<gone@example.net>: host mx.example.net said: 550 5.1.1 user unknown\r\n",
        codec,
        transfer,
    )
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        b"To: desk@example.com\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=M\r\n\r\n"
        b"--M\r\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: " + transfer.encode() + b"\r\n\r\n" + body + b"\r\n"
        b"--M\r\n"
        b"Content-Type: message/rfc822\r\n\r\n"
        + ORIGINAL_HEADERS.replace("ö", "o").replace("ü", "u").replace("€", "EUR").encode()
        + b"\r\nIhre Bestellung.\r\n"
        b"--M--\r\n"
    )
    result = run(raw)
    assert result.kind == "bounce"
    assert result.bounce is not None
    assert result.bounce.recipient == "gone@example.net"
    assert result.bounce.original_message_id == ORIGINAL_ID
    assert result.bounce.hard is True


def test_a_global_delivery_report_is_utf8_and_may_be_base64() -> None:
    """RFC 6533: message/global-delivery-status is UTF-8 and may be transfer-encoded."""
    fields = (
        "Reporting-MTA: dns; mx.bücher.example\r\n\r\n"
        "Final-Recipient: rfc822; gone@example.net\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 Empfänger unbekannt\r\n"
    ).encode()
    raw = (
        b"From: MAILER-DAEMON@mx.example.net\r\nTo: desk@example.com\r\n"
        b"Subject: Unzustellbar\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/report; report-type=global-delivery-status; boundary=G\r\n\r\n"
        b"--G\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsorry\r\n"
        b"--G\r\nContent-Type: message/global-delivery-status\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(fields).replace(b"\n", b"\r\n")
        + b"--G--\r\n"
    )
    result = run(raw)
    assert result.kind == "bounce"
    assert result.bounce is not None
    assert result.bounce.recipient == "gone@example.net"
    assert result.bounce.diagnostic == "550 5.1.1 Empfänger unbekannt"
