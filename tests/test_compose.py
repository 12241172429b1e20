"""Tests for outgoing-mail construction: injection refusal, Bcc privacy, threading, round trips."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email import policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.domain.compose import (
    MAX_REFERENCES,
    AddressError,
    HeaderInjectionError,
    build_message,
    check_header_value,
    envelope_recipients,
    format_address,
    forward_subject,
    make_message_id,
    parse_address_list,
    quote_history,
    references_for_reply,
    reply_subject,
)
from engine.domain.mime import parse_message
from engine.domain.mime_headers import Address

# Display names as people type them: no controls or line separators.
_NAME_CHARS = st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"])


DESK = Address("desk@example.com", "Help Desk")
ANN = Address("ann@example.org", "Ann Example")
WHEN = datetime(2025, 2, 3, 10, 0, tzinfo=UTC)


def build(**overrides: object) -> bytes:
    kwargs: dict[str, object] = {
        "from_": DESK,
        "to": [ANN],
        "cc": [],
        "bcc": [],
        "subject": "Hello",
        "text": "Body text\n",
        "message_id": "<own@example.com>",
        "date": WHEN,
    }
    kwargs.update(overrides)
    return build_message(**kwargs).as_bytes()  # type: ignore[arg-type]


def header_block(raw: bytes) -> str:
    return raw.split(b"\r\n\r\n", 1)[0].decode("ascii")


# -- header injection -------------------------------------------------------------------


def test_check_header_value_passes_clean_values() -> None:
    assert check_header_value("Subject", "Quite normal: ümlaut") == "Quite normal: ümlaut"


@pytest.mark.parametrize(("value", "label"), [("a\rb", "CR"), ("a\nb", "LF"), ("a\x00b", "NUL")])
def test_check_header_value_refuses_line_breaks_and_nul(value: str, label: str) -> None:
    with pytest.raises(HeaderInjectionError, match=rf"'X-Thing'.*{label}"):
        check_header_value("X-Thing", value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"subject": "hi\r\nBcc: victim@example.net"},
        {"subject": "hi\nX-Evil: 1"},
        {"to": [Address("ann@example.org", "Ann\r\nBcc: victim@example.net")]},
        {"from_": Address("desk@example.com", "Desk\n")},
        {"in_reply_to": "<a@b.c>\r\nX-Evil: 1"},
        {"references": ["<a@b.c>", "<d@e.f>\nX-Evil: 1"]},
        {"extra_headers": {"X-Campaign": "one\r\nBcc: victim@example.net"}},
        {"extra_headers": {"X-Bad\r\nBcc": "x"}},
        {"extra_headers": {"X-Bad: Name": "x"}},
        {"attachments": [("a\r\nb.txt", "text/plain", b"x")]},
        {"message_id": "<a@b.c>\r\nBcc: victim@example.net"},
    ],
)
def test_build_message_refuses_injection(overrides: dict[str, object]) -> None:
    with pytest.raises(HeaderInjectionError):
        build(**overrides)


def test_extra_headers_cannot_set_managed_headers() -> None:
    for name in ("Bcc", "To", "Content-Type", "message-id"):
        with pytest.raises(ValueError, match="set by build_message"):
            build(extra_headers={name: "x"})


def test_extra_headers_are_written() -> None:
    raw = build(extra_headers={"Auto-Submitted": "auto-replied", "X-Postdesk": "Grüße"})
    parsed = parse_message(raw)
    assert parsed.headers["auto-submitted"] == "auto-replied"
    assert parsed.headers["x-postdesk"] == "Grüße"


# -- Bcc privacy ------------------------------------------------------------------------


def test_bcc_never_serialised() -> None:
    secret = Address("hidden.person@secret.example", "Hidden Person")
    message = build_message(
        from_=DESK,
        to=[ANN],
        cc=[Address("carol@example.org")],
        bcc=[secret],
        subject="s",
        text="t",
        message_id="<own@example.com>",
        date=WHEN,
    )
    assert "Bcc" not in message
    for raw in (message.as_bytes(), message.as_bytes(policy=policy.SMTP)):
        assert b"secret.example" not in raw
        assert b"Hidden" not in raw
        assert b"bcc" not in raw.lower()


def test_bcc_only_message_is_allowed_and_no_recipients_is_not() -> None:
    raw = build(to=[], bcc=[Address("b@example.org")])
    assert b"To:" not in raw
    with pytest.raises(AddressError, match="no recipients"):
        build(to=[])


def test_invalid_bcc_is_still_rejected() -> None:
    with pytest.raises(AddressError, match="not-an-address"):
        build(bcc=[Address("not-an-address")])


def test_envelope_recipients_dedupes_case_insensitively() -> None:
    to = [Address("Ann@Example.org"), Address("bob@example.org")]
    cc = [Address("ann@example.org"), Address("carol@example.org")]
    bcc = [Address("BOB@EXAMPLE.ORG"), Address("dave@example.org"), Address("j@müller.de")]
    assert envelope_recipients(to, cc, bcc) == [
        "Ann@Example.org",
        "bob@example.org",
        "carol@example.org",
        "dave@example.org",
        "j@xn--mller-kva.de",
    ]


# -- addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("  , ; ", []),
        ("ann@example.org", [Address("ann@example.org")]),
        ('"Ann" <ann@x.org>', [Address("ann@x.org", "Ann")]),
        ("Ann Example <ann@x.org>", [Address("ann@x.org", "Ann Example")]),
        (
            '"Doe, Ann" <ann@x.org>; bob@y.co.uk, ',
            [Address("ann@x.org", "Doe, Ann"), Address("bob@y.co.uk")],
        ),
        ('"Semi; colon" <s@x.org>', [Address("s@x.org", "Semi; colon")]),
        ("=?utf-8?q?J=C3=B6rg?= <j@x.org>", [Address("j@x.org", "Jörg")]),
        ("Jörg <j@müller.de>", [Address("j@müller.de", "Jörg")]),
        ("root@localhost", [Address("root@localhost")]),
        # Valid RFC 5322 / RFC 6531 local parts (issue 9, item 6).
        ('"a b"@example.org', [Address('"a b"@example.org')]),
        ('"system administrator"@example.com', [Address('"system administrator"@example.com')]),
        ("jörg@example.org", [Address("jörg@example.org")]),
        # A pasted encoded word only ever names someone; it never becomes an address.
        ("=?utf-8?q?a@evil.example?= <j@x.org>", [Address("j@x.org", "a@evil.example")]),
    ],
)
def test_parse_address_list_valid(text: str, expected: list[Address]) -> None:
    assert parse_address_list(text) == expected


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("ann", "ann"),
        ("ann@", "ann@"),
        ("@example.org", "@example.org"),
        ("ann@example", "ann@example"),
        ("a b@example.org", "a b@example.org"),
        ("good@example.org, broken", "broken"),
        ("good@example.org; <x@y.org> <z@y.org>", "<x@y.org> <z@y.org>"),
        ("Team: a@example.org", "Team: a@example.org"),
        ("alice@example.org)<bob@example.org>", "alice@example.org)<bob@example.org>"),
        ("ann@-bad-.org", "ann@-bad-.org"),
        ("ann@1.2.3.4", "ann@1.2.3.4"),
        ('"unterminated@example.org', '"unterminated@example.org'),
        (
            "=?utf-8?q?x=0D=0ABcc:_v@bank.example?= <j@x.org>",
            "=?utf-8?q?x=0D=0ABcc:_v@bank.example?= <j@x.org>",
        ),
        ("=?utf-8?q?victim?=@bank.example", "=?utf-8?q?victim?=@bank.example"),
        ("ann@example.org\r\nBcc: x@y.org", "ann@example.org\r\nBcc: x@y.org"),
    ],
)
def test_parse_address_list_rejects_and_names_entry(text: str, bad: str) -> None:
    with pytest.raises(AddressError) as info:
        parse_address_list(text)
    assert repr(bad) in str(info.value)


_ADDRESSISH = st.text(alphabet=st.sampled_from(list('ab@.,;<>"() \\:\r\nxé')) | st.characters())


@given(_ADDRESSISH)
def test_parse_address_list_only_raises_address_error(text: str) -> None:
    try:
        addresses = parse_address_list(text)
    except AddressError:
        return
    for addr in addresses:
        assert "@" in addr.email
        assert check_header_value("To", addr.name) == addr.name


@given(st.text(_NAME_CHARS, max_size=40).map(lambda s: " ".join(s.split())))
def test_format_then_parse_round_trip(name: str) -> None:
    addr = Address("ann.example+tag@sub.example.org", name)
    assert parse_address_list(format_address(addr)) == [addr]


def test_format_address() -> None:
    assert format_address(Address("ann@x.org")) == "ann@x.org"
    assert format_address(Address("ann@x.org", "Ann")) == "Ann <ann@x.org>"
    assert format_address(Address("ann@x.org", "Doe, Ann")) == '"Doe, Ann" <ann@x.org>'
    encoded = format_address(Address("j@müller.de", "Jörg"))
    assert encoded.isascii()
    assert encoded.startswith("=?utf-8?")
    assert encoded.endswith("?= <j@xn--mller-kva.de>")
    with pytest.raises(HeaderInjectionError):
        format_address(Address("ann@x.org", "Ann\nBcc: x"))


# -- subjects ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Hello", "Re: Hello"),
        ("Re: Hello", "Re: Hello"),
        ("RE: Hello", "Re: Hello"),
        ("re:Hello", "Re: Hello"),
        ("Re: Re: RE: Hello", "Re: Hello"),
        ("Re[2]: Hello", "Re: Hello"),
        ("Re(3): Re : Hello", "Re: Hello"),
        ("Fwd: Hello", "Re: Fwd: Hello"),
        ("  Hello \r\n world  ", "Re: Hello world"),
        ("", "Re:"),
        ("Re:", "Re:"),
        ("Regarding: x", "Re: Regarding: x"),
    ],
)
def test_reply_subject(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Hello", "FWD: Hello"),
        ("Fwd: Hello", "FWD: Hello"),
        ("FW: Hello", "FWD: Hello"),
        ("FWD: fw: Hello", "FWD: Hello"),
        ("Re: Hello", "FWD: Re: Hello"),
        ("", "FWD:"),
    ],
)
def test_forward_subject(subject: str, expected: str) -> None:
    assert forward_subject(subject) == expected


@given(st.text())
def test_reply_subject_idempotent_and_header_safe(subject: str) -> None:
    once = reply_subject(subject)
    assert reply_subject(once) == once
    assert once.startswith("Re:")
    assert check_header_value("Subject", once) == once


@given(st.text())
def test_forward_subject_idempotent_and_header_safe(subject: str) -> None:
    once = forward_subject(subject)
    assert forward_subject(once) == once
    assert check_header_value("Subject", once) == once


# -- message ids and threading ----------------------------------------------------------


def test_make_message_id() -> None:
    first = make_message_id("example.com")
    assert re.fullmatch(r"<[0-9a-f]+\.[0-9a-f]{32}@example\.com>", first)
    assert make_message_id("example.com") != first
    assert make_message_id("müller.de").endswith("@xn--mller-kva.de>")
    for bad in ("", "localhost\r\n", "no spaces.org", "single", "a..b.org", "<x>.org"):
        with pytest.raises(ValueError):
            make_message_id(bad)


def test_references_for_reply() -> None:
    assert references_for_reply(None, []) == []
    assert references_for_reply("p@x", []) == ["p@x"]
    assert references_for_reply("<p@x>", ["<r@x>", "m@x", "<r@x>"]) == ["r@x", "m@x", "p@x"]
    # The parent always ends the chain, even if it was listed earlier.
    assert references_for_reply("p@x", ["p@x", "r@x"]) == ["r@x", "p@x"]
    # Ids from strangers that cannot be msg-ids are dropped.
    assert references_for_reply("p@x", ["has space@x", "", "<>", "ok@x"]) == ["ok@x", "p@x"]


def test_references_for_reply_is_capped_keeping_root() -> None:
    history = [f"m{i}@x" for i in range(50)]
    refs = references_for_reply("parent@x", history)
    assert len(refs) == MAX_REFERENCES
    assert refs[0] == "m0@x"
    assert refs[-1] == "parent@x"
    assert refs[1:-1] == history[-(MAX_REFERENCES - 2) :]


def test_long_message_ids_are_folded_not_encoded() -> None:
    long_ids = [f"{'x' * 90}.{i}@example.org" for i in range(3)]
    for serialise in (lambda m: m.as_bytes(), lambda m: m.as_bytes(policy=policy.SMTP)):
        message = build_message(
            from_=DESK,
            to=[ANN],
            cc=[],
            bcc=[],
            subject="s",
            text="t",
            message_id="<own@example.com>",
            in_reply_to=long_ids[-1],
            references=long_ids,
            date=WHEN,
        )
        headers = header_block(serialise(message))
        assert "=?" not in headers
        for line in headers.split("\r\n"):
            # Only a line holding a single over-long id may exceed the folding width.
            assert len(line) <= 78 or len(re.findall("<", line)) == 1
        parsed = parse_message(serialise(message))
        assert parsed.references == long_ids
        assert parsed.in_reply_to == long_ids[-1]


def test_invalid_in_reply_to_is_dropped_and_own_id_must_be_valid() -> None:
    parsed = parse_message(build(in_reply_to="not an id"))
    assert parsed.in_reply_to is None
    with pytest.raises(ValueError, match="Message-ID"):
        build(message_id="no-at-sign")


# -- structure --------------------------------------------------------------------------


def test_plain_message_structure() -> None:
    raw = build()
    parsed = parse_message(raw)
    assert parsed.text == "Body text\n"
    assert parsed.html is None
    assert b"Content-Type: text/plain" in raw
    assert b"multipart" not in raw
    assert parsed.date == WHEN


def test_html_makes_multipart_alternative_and_attachments_keep_names() -> None:
    raw = build(
        html="<p>Body <b>text</b></p>",
        attachments=[
            ("Résumé.pdf", "application/pdf", b"%PDF-1.4"),
            ("invite.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
            ("original.eml", "message/rfc822", b"Subject: old\r\n\r\nold body\r\n"),
        ],
    )
    assert b"multipart/alternative" in raw
    assert b"multipart/mixed" in raw
    parsed = parse_message(raw)
    assert parsed.text == "Body text\n"
    assert parsed.html is not None and "<b>text</b>" in parsed.html
    found = {a.filename: a for a in parsed.attachments}
    assert found["Résumé.pdf"].data == b"%PDF-1.4"
    assert found["Résumé.pdf"].content_type == "application/pdf"
    assert found["invite.ics"].content_type == "text/calendar"
    assert found["original.eml"].content_type == "message/rfc822"
    assert parse_message(found["original.eml"].data).subject == "old"


def test_bad_attachment_content_type() -> None:
    with pytest.raises(ValueError, match="content type"):
        build(attachments=[("a.bin", "nonsense", b"x")])


def test_date_defaults_to_now_and_must_be_aware() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    parsed = parse_message(build(date=None))
    assert parsed.date is not None and parsed.date >= before
    with pytest.raises(ValueError, match="timezone"):
        build(date=datetime(2025, 1, 1, 12, 0))


def test_round_trip_through_parser() -> None:
    to = [Address("ann@example.org", "Ann Ünïcode"), Address("bob@example.net", "Doe, Bob")]
    cc = [Address("carol@example.org", "")]
    raw = build(
        to=to,
        cc=cc,
        bcc=[Address("hidden@example.org")],
        subject=reply_subject("Ünïcode question about order #42 " * 3),
        in_reply_to="parent@example.org",
        references=references_for_reply("parent@example.org", ["<root@example.org>"]),
    )
    parsed = parse_message(raw)
    assert parsed.subject == reply_subject("Ünïcode question about order #42 " * 3)
    assert parsed.from_ == DESK
    assert parsed.to == to
    assert parsed.cc == cc
    assert parsed.message_id == "own@example.com"
    assert parsed.in_reply_to == "parent@example.org"
    assert parsed.references == ["root@example.org", "parent@example.org"]
    assert "hidden" not in str(parsed.headers)


@given(
    subject=st.text(),
    name=st.text(_NAME_CHARS, max_size=30).map(lambda s: " ".join(s.split())),
    parent=st.from_regex(r"[a-z0-9.]{1,40}@[a-z]{1,20}\.org", fullmatch=True),
)
def test_round_trip_property(subject: str, name: str, parent: str) -> None:
    to = [Address("ann@example.org", name)]
    raw = build(to=to, subject=reply_subject(subject), in_reply_to=parent, references=[parent])
    parsed = parse_message(raw)
    assert parsed.subject == reply_subject(subject)
    assert parsed.to == to
    assert parsed.in_reply_to == parent
    assert parsed.references == [parent]


# -- quoting ----------------------------------------------------------------------------


def test_quote_history() -> None:
    when = datetime(2025, 2, 3, 9, 5, tzinfo=timezone(timedelta(hours=1)))
    quoted = quote_history("Hi,\r\n\r\n> earlier\nthanks\n\n", author="Ann  Example", date=when)
    assert quoted == (
        "On Mon, 3 Feb 2025 at 09:05 +0100, Ann Example wrote:\n> Hi,\n>\n>> earlier\n> thanks\n"
    )


def test_quote_history_without_date() -> None:
    assert quote_history("x", author="ann@example.org", date=None) == (
        "ann@example.org wrote:\n> x\n"
    )
    naive = datetime(2025, 2, 3, 9, 5)
    expected = "On Mon, 3 Feb 2025 at 09:05, Someone wrote:\n"
    assert quote_history("", author="", date=naive) == expected
