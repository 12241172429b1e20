"""mime's part toolkit: one part of a MIME tree read tolerantly and in its declared charset,
the same for the parser's bodies and for classify's report parts."""

from __future__ import annotations

import base64
import email
import zlib
from email import policy
from email.message import Message
from unittest import mock

import pytest

from engine.domain import mime
from engine.domain.mime_parts import (
    content_charset,
    content_param,
    content_type,
    decode_text,
    message_tree,
    part_text,
    payload_bytes,
    subparts,
)

WORDS = "Empfänger unbekannt: Jörg Müller, 42 €"


def part(headers: str, body: bytes) -> Message:
    return email.message_from_bytes(headers.encode() + b"\r\n\r\n" + body, policy=policy.compat32)


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("iso-8859-15", "iso-8859-15"),
        ("windows-1252", "cp1252"),
        ("utf-8", "utf-8"),
        ("utf-16", "utf-16"),
        ("UTF-16BE", "utf-16-be"),
        ("utf-16le", "utf-16-le"),
        ('"koi8-r"', None),
    ],
)
def test_a_part_reads_in_its_declared_charset(label: str, codec: str | None) -> None:
    words = "Сообщение не доставлено" if codec is None else WORDS
    data = words.encode(codec or "koi8-r")
    p = part(
        f"Content-Type: text/plain; charset={label}\r\nContent-Transfer-Encoding: base64",
        base64.encodebytes(data),
    )
    assert part_text(p) == words


def test_iso_8859_1_reads_as_its_superset_windows_1252() -> None:
    """Mail labelled ISO-8859-1 is written by Windows: 0x80 is the euro sign, as browsers read
    it (mime's superset rule), not a C1 control character."""
    p = part("Content-Type: text/plain; charset=ISO-8859-1", "42 €, Müller".encode("cp1252"))
    assert part_text(p) == "42 €, Müller"


@pytest.mark.parametrize("label", ["x-no-such-charset", "", "utf-99", "base64", "zlib", "rot13"])
def test_an_unknown_or_unusable_label_falls_back_and_never_fails(label: str) -> None:
    """Labels that name no text charset (or a codec that is no charset at all, which must not
    decompress or decode anything) are ignored: UTF-8, then windows-1252."""
    for data, expected in (
        (WORDS.encode("utf-8"), WORDS),
        ("Müller".encode("cp1252"), "Müller"),
        (zlib.compress(b"x" * 1000), None),
    ):
        p = part(f"Content-Type: text/plain; charset={label}", data)
        text = part_text(p)
        assert isinstance(text, str)
        if expected is not None:
            assert text == expected
        else:
            assert "x" * 1000 not in text


def test_an_8bit_part_is_decoded_once() -> None:
    """compat32's get_payload() hands 8-bit text over already decoded (with U+FFFD); classify
    used to encode that as UTF-8 and decode it again in the declared charset: 'MÃ¼ller'."""
    for label, codec in (("iso-8859-1", "cp1252"), ("koi8-r", "koi8-r"), ("utf-8", "utf-8")):
        words = "Müller" if codec != "koi8-r" else "Мюллер"
        p = part(f"Content-Type: text/rfc822-headers; charset={label}", words.encode(codec))
        assert part_text(p) == words, label


def test_bytes_that_do_not_fit_the_label_fall_back() -> None:
    """A label that lies (UTF-8 declared, windows-1252 written) does not make mojibake or
    U+FFFD: the first charset that fits wins."""
    p = part("Content-Type: text/plain; charset=utf-8", "Müller".encode("cp1252"))
    assert part_text(p) == "Müller"


def test_a_limit_never_cuts_a_character_into_a_fallback() -> None:
    """A limit cuts the bytes decoded, maybe inside a character; that character is dropped,
    the charset kept (cut UTF-8 used to fall back to windows-1252: mojibake)."""
    for codec, label in (("utf-8", "utf-8"), ("utf-16-le", "utf-16le"), ("gb18030", "gb2312")):
        words = "ü€中" * 1000
        p = part(f"Content-Type: text/plain; charset={label}", words.encode(codec))
        for limit in (1, 7, 100, 1001):
            assert part_text(p, limit=limit) == words[:limit], (codec, limit)


def test_decode_text_drops_only_a_cut_character_when_told_the_text_was_cut() -> None:
    data = "Müller".encode()[:2]  # "M" and half of "ü"
    assert decode_text(data, "utf-8", truncated=True) == "M"
    assert decode_text(data, "utf-8") == "M\u00c3"  # whole bytes that do not fit: fallback


def test_transfer_encodings_are_undone_tolerantly() -> None:
    data = WORDS.encode("utf-8")
    unpadded = base64.b64encode(data).rstrip(b"=")
    for cte, body in (
        ("base64", base64.encodebytes(data)),
        ("base64", unpadded),
        ("quoted-printable", b"Empf=C3=A4nger unbekannt: J=C3=B6rg M=C3=BCller, =\r\n42 =E2=82=AC"),
        ("8bit", data),
        ("x-unknown", data),
    ):
        p = part(
            f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {cte}", body
        )
        assert part_text(p) == WORDS, cte
        assert payload_bytes(p) == data, cte
    broken = part("Content-Transfer-Encoding: base64", b"!!!not base64!!!")
    assert isinstance(part_text(broken), str)


def test_an_opened_message_part_reads_as_its_fields() -> None:
    """The parser opens message/delivery-status into blocks of fields and message/rfc822 into
    a message; both read back as the lines they were."""
    tree = message_tree(
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.net\r\n\r\n"
        b"Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\n\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\n\r\n"
        b"Message-ID: <1@example.com>\r\nSubject: hi\r\n\r\nbody\r\n"
        b"--B--\r\n"
    )
    assert tree is not None
    status, original = subparts(tree)
    assert part_text(status) == (
        "Reporting-MTA: dns; mx.example.net\n\n"
        "Final-Recipient: rfc822; gone@example.net\nAction: failed"
    )
    assert part_text(original).startswith("Message-ID: <1@example.com>\nSubject: hi\n\nbody")


def test_a_base64_global_delivery_status_is_undone() -> None:
    fields = "Final-Recipient: rfc822; jörg@example.net\r\nAction: failed\r\n".encode()
    p = part(
        "Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: base64",
        base64.encodebytes(fields),
    )
    assert "Final-Recipient: rfc822; jörg@example.net\nAction: failed" in part_text(p)


def test_content_type_params_and_subparts_never_fail() -> None:
    p = part(
        'Content-Type: multipart/report; report-type=" Delivery-Status";\r\n'
        " title*0*=utf-8''Empf%C3%A4nger;\r\n title*1=\" unbekannt\"; boundary=B",
        b"--B\r\n\r\none\r\n--B\r\n\r\ntwo\r\n--B--\r\n",
    )
    assert content_type(p) == "multipart/report"
    assert content_param(p, "report-type") == "Delivery-Status"  # stripped, case kept
    assert content_param(p, "title") == "Empfänger unbekannt"  # RFC 2231 continuations
    assert content_param(p, "missing") == ""
    assert [part_text(s).strip() for s in subparts(p)] == ["one", "two"]
    leaf = part("Content-Type: text", b"x")
    assert content_type(leaf) == "text/plain"  # the stdlib's reading of a broken type
    assert subparts(leaf) == []
    assert content_charset(part("Content-Type: text/plain; charset=UTF-8", b"")) == "utf-8"
    message = part("Content-Type: message/rfc822", b"Subject: inner\r\n\r\nx")
    assert subparts(message) == []  # an enclosed message is not a part of this one


def test_message_tree_is_none_when_the_stdlib_gives_up() -> None:
    with mock.patch.object(email, "message_from_bytes", side_effect=RecursionError):
        assert message_tree(b"Subject: x\r\n\r\nx") is None


def test_the_parser_reads_bodies_with_the_same_decoder() -> None:
    """parse_message's body and a report part of the same bytes read alike."""
    for label, codec in (("utf-16", "utf-16"), ("iso-8859-1", "cp1252"), ("x-nope", "utf-8")):
        body = base64.encodebytes(WORDS.encode(codec))
        headers = f"Content-Type: text/plain; charset={label}\r\nContent-Transfer-Encoding: base64"
        raw = headers.encode() + b"\r\n\r\n" + body
        assert mime.parse_message(raw).text == part_text(part(headers, body)) == WORDS
