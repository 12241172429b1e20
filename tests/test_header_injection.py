"""Header injection through encoded words, and sender spoofing through encoded names.

Every path on which a stranger's (or an agent's) text becomes a header of our mail, end to
end: the mail arrives in Dovecot, the engine ingests it, an agent (or nobody: the automatic
confirmation) answers, and what reaches the SMTP sink has exactly the headers we set, with
the customer's text shown literally, one level decoded, never two.  Then a property test
over arbitrary (double-)encoded words, also sent to a real SMTP server.
"""

from __future__ import annotations

import smtplib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import make_msgid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.api.schemas import ForwardIn, NewInteractionIn
from engine.client import EngineClient, Invalid
from engine.domain.compose import HeaderInjectionError, build_message
from engine.domain.mime import parse_message
from engine.domain.mime_headers import Address
from tests.engine_fixtures import World, enable_confirmation, eventually
from tests.servers import ReceivedMail, SmtpSink, start_smtp_sink

# Each decodes (one level) to a line break followed by a header of the attacker's choice.
EVIL_WORDS = [
    "=?utf-8?q?hi=0D=0AReply-To:_pay@evil.example?=",
    "=?UTF-8?B?aGkNCkJjYzogdmljdGltQGJhbmsuZXhhbXBsZQ==?=",  # hi\r\nBcc: victim@bank.example
    "=?iso-8859-1?q?x=0ASubject:_second?=",
    "=?utf-8?q?a=0D=0A=0D=0A<b>body</b>?=",  # ends the header block
    "=?utf-8?q?=C2=85X-Evil:_nel?=",  # NEL, which str.splitlines() breaks on
]

# The headers any message of ours may carry at the top level.
OURS = {
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "auto-submitted",
    "x-auto-response-suppress",
}


def double_encoded(word: str) -> str:
    """``word`` wrapped in one more encoded word, as a sender double-encodes a header."""
    return f"=?utf-8?b?{__import__('base64').b64encode(word.encode()).decode()}?="


def assert_only_our_headers(mail: ReceivedMail) -> None:
    top = Counter(name.lower() for name in mail.message.keys())
    assert set(top) <= OURS, f"headers we did not set: {set(top) - OURS}"
    assert all(count == 1 for count in top.values()), top
    for line in mail.raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        assert not line.lower().startswith((b"reply-to", b"bcc", b"x-evil")), line
    assert b"evil.example" not in b" ".join(mail.rcpt_tos and [r.encode() for r in mail.rcpt_tos])
    assert "victim@bank.example" not in mail.rcpt_tos


def inbound(
    *,
    subject: str = "Question",
    from_: str = "Carol Customer <carol@example.net>",
    cc: str | None = None,
    filename: str | None = None,
) -> bytes:
    lines = [
        f"From: {from_}",
        "To: support@postdesk.test",
        f"Subject: {subject}",
        f"Message-ID: {make_msgid(domain='example.net')}",
        "MIME-Version: 1.0",
    ]
    if cc:
        lines.append(f"Cc: {cc}")
    if filename is None:
        lines += ["Content-Type: text/plain; charset=utf-8", "", "Hello, please help.", ""]
    else:
        lines += [
            'Content-Type: multipart/mixed; boundary="b1"',
            "",
            "--b1",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "See attached.",
            "--b1",
            f'Content-Type: application/pdf; name="{filename}"',
            f'Content-Disposition: attachment; filename="{filename}"',
            "Content-Transfer-Encoding: base64",
            "",
            "JVBERi0xLjQ=",
            "--b1--",
            "",
        ]
    return "\r\n".join(lines).encode()


async def assigned(world: World, agent: EngineClient, raw: bytes) -> int:
    world.dovecot.append(world.mailbox, raw)
    await agent.set_status("free")
    [row] = await eventually(agent.interactions, lambda rows: len(rows) == 1, what="assigned")
    return row.id


@pytest.mark.parametrize("word", EVIL_WORDS)
async def test_a_double_encoded_subject_is_answered_literally(world: World, word: str) -> None:
    async with world.client("agent1") as agent:
        interaction_id = await assigned(world, agent, inbound(subject=double_encoded(word)))
        detail = await agent.interaction(interaction_id)
        assert detail.subject == word  # one level decoded, shown as it came
        await agent.reply(interaction_id, "We are on it.")
        await agent.forward(interaction_id, ForwardIn(to="billing@example.org"))
        reply, forward = await world.sink.await_count(2)
    for mail in (reply, forward):
        assert_only_our_headers(mail)
        assert word in str(mail.message["Subject"])  # the reader sees the text, not its decoding
    assert reply.rcpt_tos == ["carol@example.net"]
    assert forward.rcpt_tos == ["billing@example.org"]


async def test_the_automatic_confirmation_to_a_double_encoded_subject_injects_nothing(
    world: World,
) -> None:
    await enable_confirmation(world)
    for n, word in enumerate(EVIL_WORDS):
        raw = inbound(
            subject=double_encoded(word),
            from_=f"Customer {n} <c{n}@example.net>",
            cc="Third Party <third@example.org>, other@example.com",
        )
        world.dovecot.append(world.mailbox, raw)
    received = await world.sink.await_count(len(EVIL_WORDS))
    for mail in received:
        assert_only_our_headers(mail)
        # An automatic answer goes to the sender alone, never to the CCs (item 4).
        assert len(mail.rcpt_tos) == 1 and mail.rcpt_tos[0].startswith("c")
        assert mail.message["Cc"] is None
        assert mail.message["Auto-Submitted"] == "auto-replied"
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(
        f"c{n}@example.net" for n in range(len(EVIL_WORDS))
    )


async def test_a_double_encoded_display_name_stays_a_name(world: World) -> None:
    word = EVIL_WORDS[1]
    async with world.client("agent1") as agent:
        raw = inbound(from_=f"{double_encoded(word)} <carol@example.net>")
        interaction_id = await assigned(world, agent, raw)
        await agent.reply(interaction_id, "Hello")
        [reply] = await world.sink.await_count(1)
    assert_only_our_headers(reply)
    assert reply.rcpt_tos == ["carol@example.net"]
    # Read as RFC 2047 says (CPython keeps the space between encoded words in names).
    assert parse_message(reply.raw).to == [Address("carol@example.net", word)]


async def test_a_double_encoded_attachment_name_is_forwarded_literally(world: World) -> None:
    word = EVIL_WORDS[0]
    async with world.client("agent1") as agent:
        raw = inbound(filename=double_encoded(word) + ".pdf")
        interaction_id = await assigned(world, agent, raw)
        await agent.forward(interaction_id, ForwardIn(to="billing@example.org"))
        [forward] = await world.sink.await_count(1)
    assert_only_our_headers(forward)
    [part] = list(forward.message.iter_attachments())
    assert part.get_filename() == word + ".pdf"
    assert set(k.lower() for k in part.keys()) <= {
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "mime-version",
    }


async def test_an_agent_typed_encoded_word_goes_out_as_typed(world: World) -> None:
    word = EVIL_WORDS[0]
    async with world.client("agent1") as agent:
        detail = await agent.new_interaction(
            NewInteractionIn(
                campaign="Support", to="dana@example.com", cc="", subject=word, body="Hi"
            )
        )
        upload = await agent.upload(word + ".txt", b"notes", "text/plain")
        await agent.reply(detail.id, "Files", uploads=[upload.token])
        new, reply = await world.sink.await_count(2)
    for mail in (new, reply):
        assert_only_our_headers(mail)
        assert mail.rcpt_tos == ["dana@example.com"]
        assert word in str(mail.message["Subject"])
    [part] = list(reply.message.iter_attachments())
    assert part.get_filename() == word + ".txt"


async def test_agent_text_that_breaks_a_header_line_is_refused_with_nothing_sent(
    world: World,
) -> None:
    async with world.client("agent1") as agent:
        for subject in ("a\x0bb", "a\x0cb", "a\x1cb", "a\x85b", "a\u2028b", "a\u2029b"):
            with pytest.raises(Invalid):
                await agent.new_interaction(
                    NewInteractionIn(
                        campaign="Support", to="dana@example.com", cc="", subject=subject, body=""
                    )
                )
    assert world.sink.messages == []


async def test_a_spoofed_sender_hidden_in_an_encoded_name_joins_nothing(world: World) -> None:
    """Item 2: the victim's thread is not joined and the victim gets no mail from us."""
    await enable_confirmation(world)
    victim = inbound(from_="Victim <victim@bank.example>", subject="My account")
    world.dovecot.append(world.mailbox, victim)
    [first] = await world.sink.await_count(1)
    assert first.rcpt_tos == ["victim@bank.example"]
    [row] = await eventually(
        lambda: world.operator.interactions(scope="all"), lambda rows: len(rows) == 1
    )
    spoof = inbound(
        from_="=?utf-8?q?x=0D=0ABcc:_victim@bank.example?= <attacker@evil.example>",
        subject=f"Re: My account [#{row.id}]",
    )
    world.dovecot.append(world.mailbox, spoof)
    rows = await eventually(
        lambda: world.operator.interactions(scope="all"), lambda rows: len(rows) == 2
    )
    attacker = next(r for r in rows if r.id != row.id)
    assert attacker.client_email == "attacker@evil.example"
    victim_thread = await world.operator.interaction(row.id)
    assert len(victim_thread.messages) == 2  # the victim's mail and our confirmation only
    second = (await world.sink.await_count(2))[1]
    assert second.rcpt_tos == ["attacker@evil.example"]


# -- property: arbitrary (double-)encoded words, built and sent to a real SMTP server --------

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


# Charsets senders really label words with, a language tag (RFC 2231) and ones no decoder
# knows: each decodes to something else, or is left as it is, by some reader.
_CHARSETS = ["utf-8", "iso-2022-jp", "utf-16", "gb18030", "windows-1252", "koi8-r", "utf-7"]


@st.composite
def encoded_words(draw: st.DrawFn) -> str:
    inner = draw(_TEXT)
    charset = draw(st.sampled_from(_CHARSETS))
    try:
        data = inner.encode(charset)
    except UnicodeError:
        charset, data = "utf-8", inner.encode()
    label = draw(st.sampled_from([charset, charset.upper(), f"{charset}*en", "x-unknown"]))
    word = f"=?{label}?{draw(st.sampled_from('bqBQ'))}?"
    if word[-2] in "bB":
        word += __import__("base64").b64encode(data).decode()
    else:
        word += "".join(f"={b:02X}" for b in data)
    word += "?="
    return double_encoded(word) if draw(st.booleans()) else word


_PIECES = st.lists(st.one_of(encoded_words(), _TEXT), max_size=4).map(" ".join)


@pytest.fixture(scope="module")
def module_sink() -> Iterator[SmtpSink]:
    sink = start_smtp_sink()
    try:
        yield sink
    finally:
        sink.stop()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=_PIECES, name=_PIECES, filename=_PIECES)
def test_whatever_the_words_the_sink_gets_exactly_our_headers(
    module_sink: SmtpSink, subject: str, name: str, filename: str
) -> None:
    try:
        msg = build_message(
            from_=Address("desk@example.com", "Desk"),
            to=[Address("ann@example.org", name)],
            cc=[],
            bcc=[Address("audit@example.org")],
            subject=subject,
            text="Body\n",
            message_id="<own@example.com>",
            attachments=[(filename or "file", "text/plain", b"x")],
            date=datetime(2026, 1, 2, tzinfo=UTC),
        )
    except HeaderInjectionError:
        return  # refused before anything was stored or sent: that is allowed
    raw = msg.as_bytes()
    module_sink.clear()
    with smtplib.SMTP(module_sink.host, module_sink.port) as client:
        client.sendmail("desk@example.com", ["ann@example.org", "audit@example.org"], raw)
    [mail] = module_sink.wait_for(1)
    got = message_from_bytes(mail.raw, policy=policy.compat32)
    assert sorted(k.lower() for k in got.keys()) == sorted(
        ["from", "to", "subject", "date", "message-id", "mime-version", "content-type"]
    )
    parsed = parse_message(mail.raw)
    assert [a.email for a in parsed.to] == ["ann@example.org"]
    assert parsed.from_ is not None and parsed.from_.email == "desk@example.com"
    assert " ".join(parsed.subject.split()) == " ".join(subject.split())
    assert b"audit@" not in mail.raw


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(encoded_words(), min_size=1, max_size=3),
    local=st.sampled_from(["carol", "c.r", '"a b"']),
    form=st.sampled_from(["{n} <{a}>", '"{n}" <{a}>', "{n} {a}", "{a} ({n})", "{n}, {a}"]),
)
def test_received_addresses_come_from_the_structure_only(
    words: list[str], local: str, form: str
) -> None:
    """Whatever the encoded words decode to (CR/LF, Bcc:, other addresses), the only
    address read is the one written outside them."""
    address = f"{local}@example.net"
    header = form.format(n=" ".join(words), a=address)
    raw = f"From: {header}\r\nTo: {header}\r\nCc: {header}\r\nSubject: s\r\n\r\nb\r\n"
    parsed = parse_message(raw.encode())
    found = [a.email for a in [parsed.from_, *parsed.to, *parsed.cc] if a is not None]
    assert set(found) <= {address}, (header, found)


def test_a_bounce_names_a_failed_recipient_only_from_the_header_structure() -> None:
    """X-Failed-Recipients is read like an address header: an encoded word in it (which
    could decode to anyone) names nobody; a plain address is still read."""
    from engine.domain.classify import classify

    for value, expected in (
        ("=?utf-8?q?victim@bank.example?=", None),
        ("=?utf-8?q?x?= <=?utf-8?q?victim?=@bank.example>", None),
        ("carol@example.net", "carol@example.net"),
    ):
        raw = (
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
            "To: support@postdesk.test\r\n"
            f"X-Failed-Recipients: {value}\r\n"
            "Subject: Mail delivery failed: returning message to sender\r\n\r\n"
            "This message was created automatically by mail delivery software.\r\n"
            "A message that you sent could not be delivered. This is a permanent error.\r\n"
        ).encode()
        result = classify(raw, parse_message(raw), our_addresses=set())
        assert result.kind == "bounce" and result.bounce is not None
        recipient = result.bounce.recipient
        assert recipient is None or "victim" not in recipient, value
        if expected:
            assert recipient == expected


# -- what a review of the fix found (each failed before its fix) ----------------------------


def test_an_encoded_word_with_spaces_in_its_charset_never_makes_an_address() -> None:
    """The stdlib decodes "=?x y?q?...?=" too (with an ASCII fallback), even in an addr-spec."""
    for header in (
        "=?x y?q?victim?=@=?x y?q?bank.example?=",
        "Ann <=? utf-8?q?victim?=@bank.example>",
        "=?utf-8 ?q?victim@bank.example?=",
        "x <a@=?x\ty?q?bank.example?=>",
    ):
        raw = f"From: {header}\r\nCc: {header}\r\nSubject: [#42] hi\r\n\r\nb\r\n".encode()
        parsed = parse_message(raw)
        for found in [parsed.from_, *parsed.cc]:
            assert found is None or "bank.example" not in found.email, (header, found)


def test_a_megabyte_of_unclosed_encoded_words_is_read() -> None:
    """One hostile header must not stall a mailbox: the masking is linear (it was quadratic,
    ~15 minutes for this header)."""
    header = "=?a?b?x" * 150_000
    raw = f"From: {header} <a@example.net>\r\nTo: {header}\r\n\r\nb\r\n".encode()
    assert parse_message(raw).from_ is not None


def _reply(**overrides: object) -> bytes:
    kwargs: dict[str, object] = {
        "from_": Address("desk@example.com", "Desk"),
        "to": [Address("ann@example.org", "Ann")],
        "cc": [],
        "bcc": [],
        "subject": "Hello",
        "text": "Body\n",
        "message_id": "<own@example.com>",
        "date": datetime(2026, 1, 2, tzinfo=UTC),
    }
    kwargs.update(overrides)
    return build_message(**kwargs).as_bytes()  # type: ignore[arg-type]


def test_a_forwarded_mail_with_lf_line_ends_and_a_body_with_nul_are_sent() -> None:
    attached = b"From: a@example.org\nSubject: inner\n\nline one\nline two\n"
    raw = _reply(
        text="quoted: AB\x00CD\n",
        attachments=[("inner.eml", "message/rfc822", attached)],
    )
    assert b"\x00" not in raw
    assert b"line one\r\nline two" in raw
    [part] = [p for p in message_from_bytes(raw, policy=policy.default).iter_attachments()]
    assert part.get_content_type() == "message/rfc822"


def test_no_header_line_is_longer_than_998_and_no_fold_is_blank() -> None:
    raw = _reply(
        subject="x" * 1200 + "   end   ",
        to=[Address("ann@example.org", "y" * 1100)],
        attachments=[('"quoted"', "text/plain", b"x")],
        references=["<" + "a" * 950 + "@example.org>", "<ok@example.org>"],
    )
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert all(line.strip() for line in head.split(b"\r\n"))
    parsed = parse_message(raw)
    assert parsed.subject.startswith("x" * 1200) and parsed.to[0].name == "y" * 1100
    assert parsed.references == ["ok@example.org"]


# Addr-specs a sender can write (quoted local parts take almost anything) that are no
# address of a person: terminal controls, NUL, line separators, bidi overrides and
# zero-width characters (which would also pass `\u200bhelp@shop.example` off as ours).
NOT_ADDRESSES = [
    b'"a\x1b]52;c;QUFB\x07b"@evil.example',
    b'"x\x00y"@evil.example',
    b'"a\x1b[2Jb"@evil.example',
    b'"a\xc2\x9bb"@evil.example',
    "a\u202e@evil.example".encode(),
    "\u200bhelp@shop.example".encode(),
    "a\u2028b@evil.example".encode(),
    "Bob <a\u2066b@evil.example>".encode(),
    b"x" * 400 + b"@evil.example",  # longer than any mail system (or our column) takes
]


@pytest.mark.parametrize("written", NOT_ADDRESSES)
def test_an_address_holding_controls_or_invisible_characters_is_nobody(written: bytes) -> None:
    """Such an address never becomes the client, a CC (to copy our answers to) or a failed
    recipient; the mail itself is still read, and a plain address beside it still counts."""
    raw = (
        b"From: "
        + written
        + b"\r\nTo: help@shop.example\r\nCc: "
        + written
        + b", carol@example.net\r\nX-Failed-Recipients: "
        + written
        + b"\r\nSubject: s\r\n\r\nbody\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.from_ is None
    assert [a.email for a in parsed.cc] == ["carol@example.net"]
    assert parsed.failed_recipients == []
    assert parsed.text.strip() == "body"
