"""Header injection and spoofing, in the shapes tests/test_header_injection.py does not build.

That module sends (double-)encoded UTF-8 words through every path; this one varies how the
hostile text is wrapped, since real senders wrap it every way the RFCs allow: the line break
split across two folded encoded words, encoded words in odd charsets (ISO-2022-JP, UTF-16,
GB18030, windows-1252's NEL), an RFC 2231 language tag in the word, RFC 2231 attachment
names (percent-encoded, continued over several parameters, or holding an encoded word),
addresses hidden in encoded words of Reply-To, Cc and X-Failed-Recipients, and a campaign's
own display name that looks like an encoded word.  Real engine, Dovecot and SMTP sink:
whatever comes in, what reaches the sink has exactly our headers, goes to the sender alone
(or the agent's chosen recipient) and shows the text one level decoded, never two.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.utils import make_msgid

import pytest

from engine.api.schemas import CampaignPatch, ForwardIn
from engine.client import EngineClient
from engine.domain.compose import HeaderInjectionError
from engine.domain.dialer_fastmail import MailMaker
from engine.domain.dialer_mail import MailSpec, RecordError, RecordMail
from engine.domain.mime import parse_message
from engine.domain.mime_headers import Address
from engine.text.sanitize import one_line
from tests.engine_fixtures import World, enable_confirmation, eventually
from tests.servers import ReceivedMail

VICTIM = "victim@bank.example"
HIDDEN = f"x\r\nBcc: {VICTIM}\r\nX-Evil: 1"

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


def b_word(text: str, charset: str) -> str:
    return f"=?{charset}?b?{base64.b64encode(text.encode(charset)).decode()}?="


def q_word(data: bytes, charset: str = "utf-8") -> str:
    return f"=?{charset}?q?" + "".join(f"={b:02X}" for b in data) + "?="


# Each decodes, one level down, to an encoded word that hides a line break and headers.
INNER = [
    b_word(HIDDEN, "iso-2022-jp"),
    b_word(HIDDEN, "utf-16"),
    b_word(HIDDEN, "gb18030"),
    q_word(b"x\x85X-Evil: nel", "windows-1252"),
    "=?utf-8*en?q?x=0D=0ABcc:_victim@bank.example?=",  # RFC 2231 language tag
    "=?utf-8?q?x=0D?= =?utf-8?q?=0ABcc:_victim@bank.example?=",  # the CRLF split in two
]


def wrapped(word: str) -> str:
    """``word`` encoded once more (what ingest decodes), folded as a long header is."""
    half = len(word) // 2
    first, second = (base64.b64encode(p.encode()).decode() for p in (word[:half], word[half:]))
    return f"=?utf-8?b?{first}?=\r\n =?utf-8?b?{second}?="


def assert_only_our_headers(mail: ReceivedMail) -> None:
    head = mail.raw.split(b"\r\n\r\n", 1)[0]
    names = [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n") if line[:1] != b" "]
    assert {n.decode() for n in names} <= OURS, names
    assert len(names) == len(set(names)), names
    assert VICTIM not in mail.rcpt_tos
    assert b"\r\nbcc:" not in head.lower() and b"\r\nx-evil" not in head.lower()
    for part in mail.message.walk():
        for name in part.keys():
            assert name.lower() in OURS | {"content-disposition"}, name


def inbound(
    *,
    subject: str = "Question",
    from_: str = "Carol Customer <carol@example.net>",
    extra: list[str] | None = None,
    disposition: str | None = None,
    attachment_type: str = "application/pdf",
) -> bytes:
    lines = [
        f"From: {from_}",
        "To: support@postdesk.test",
        f"Subject: {subject}",
        f"Message-ID: {make_msgid(domain='example.net')}",
        "MIME-Version: 1.0",
        *(extra or []),
    ]
    if disposition is None:
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
            f"Content-Type: {attachment_type}",
            f"Content-Disposition: attachment; {disposition}",
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


@pytest.mark.parametrize("word", INNER, ids=range(len(INNER)))
async def test_a_folded_double_encoded_subject_in_any_charset_is_answered_literally(
    world: World, word: str
) -> None:
    async with world.client("agent1") as agent:
        interaction_id = await assigned(world, agent, inbound(subject=wrapped(word)))
        detail = await agent.interaction(interaction_id)
        assert "\r" not in detail.subject and "\n" not in detail.subject
        await agent.reply(interaction_id, "We are on it.")
        await agent.forward(interaction_id, ForwardIn(to="billing@example.org"))
        reply, forward = await world.sink.await_count(2)
    for mail in (reply, forward):
        assert_only_our_headers(mail)
        # The reader gets back the text ingest stored (one level decoded), never a second one.
        assert one_line(detail.subject) in parse_message(mail.raw).subject
    assert reply.rcpt_tos == ["carol@example.net"]
    assert forward.rcpt_tos == ["billing@example.org"]


async def test_confirmations_to_subjects_wrapped_every_way_add_no_header(world: World) -> None:
    await enable_confirmation(world)
    for n, word in enumerate(INNER):
        world.dovecot.append(
            world.mailbox,
            inbound(
                subject=wrapped(word),
                from_=f"{wrapped(word)} <c{n}@example.net>",
                extra=[f"Reply-To: {word} <r{n}@example.net>", f"Cc: {word}"],
            ),
        )
    received = await world.sink.await_count(len(INNER))
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(
        f"c{n}@example.net" for n in range(len(INNER))
    )
    for mail in received:
        assert_only_our_headers(mail)
        assert len(mail.rcpt_tos) == 1 and mail.message["Cc"] is None


@pytest.mark.parametrize(
    "disposition",
    [
        "filename*=utf-8''inv%0D%0ABcc%3A%20victim%40bank.example%0D%0AX-Evil%3A%201.pdf",
        "filename*0*=utf-8''inv%0D%0A; filename*1*=Bcc%3A%20victim%40bank.example.pdf",
        "filename*=utf-8''" + "".join(f"%{b:02X}" for b in INNER[5].encode()) + ".pdf",
        'filename="' + wrapped(INNER[0]).replace("\r\n", "") + '.pdf"',
        "filename*=iso-8859-1'en'inv%85X-Evil%3A%201.pdf",
    ],
    ids=["percent-crlf", "continued", "2231-holding-word", "word-in-quotes", "latin1-nel"],
)
async def test_an_rfc_2231_attachment_name_is_forwarded_with_our_headers_only(
    world: World, disposition: str
) -> None:
    async with world.client("agent1") as agent:
        interaction_id = await assigned(world, agent, inbound(disposition=disposition))
        detail = await agent.interaction(interaction_id)
        [stored] = [a for m in detail.messages for a in m.attachments]
        assert not any(c in stored.filename for c in "\r\n\x85")
        await agent.forward(interaction_id, ForwardIn(to="billing@example.org"))
        [forward] = await world.sink.await_count(1)
    assert_only_our_headers(forward)
    assert forward.rcpt_tos == ["billing@example.org"]
    [part] = list(forward.message.iter_attachments())
    assert part.get_filename() == stored.filename  # as the agent saw it, decoded no further


async def test_addresses_hidden_in_encoded_words_of_any_header_are_never_used(
    world: World,
) -> None:
    """From's, Reply-To's and Cc's encoded words name nobody: the interaction is the real
    sender's, its CC list holds only written-out addresses, and the reply reaches them."""
    word = "=?utf-8?q?victim@bank.example?="
    raw = inbound(
        from_=f"{q_word(b'Ann <' + VICTIM.encode() + b'>')} <ann@example.net>",
        extra=[
            f"Reply-To: {word}",
            f"Cc: {word}, Real Person <real@example.org>, {q_word(VICTIM.encode())} <>",
            f"Sender: {word}",
            f"Return-Path: <{word}>",
        ],
    )
    async with world.client("agent1") as agent:
        interaction_id = await assigned(world, agent, raw)
        detail = await agent.interaction(interaction_id)
        assert detail.client_email == "ann@example.net"
        assert detail.cc == ["real@example.org"]
        await agent.reply(interaction_id, "Hello")
        [reply] = await world.sink.await_count(1)
    assert_only_our_headers(reply)
    assert sorted(reply.rcpt_tos) == ["ann@example.net", "real@example.org"]
    sent = parse_message(reply.raw)  # the name is quoted text; no reader finds an address in it
    assert [a.email for a in sent.to] == ["ann@example.net"]
    assert [a.email for a in sent.cc] == ["real@example.org"]


async def test_a_campaign_name_that_looks_like_an_encoded_word_is_sent_as_text(
    world: World,
) -> None:
    """An admin's from_name is shown as typed: an encoded word in it is not decoded by
    anyone (it would hide a Bcc), in the automatic confirmation as in replies."""
    name = "=?utf-8?q?Desk=0D=0ABcc:_victim@bank.example?="
    campaign = await world.operator.update_campaign("Support", CampaignPatch(from_name=name))
    assert campaign.from_name == name
    await enable_confirmation(world)
    world.dovecot.append(world.mailbox, inbound())
    [confirmation] = await world.sink.await_count(1)
    assert_only_our_headers(confirmation)
    assert confirmation.rcpt_tos == ["carol@example.net"]
    sender = parse_message(confirmation.raw).from_
    assert sender is not None and sender.name == name


async def test_bidi_overrides_and_controls_from_a_stranger_stay_out_of_replies_and_forwards(
    world: World,
) -> None:
    """Item 7 on the agent's paths (the confirmation's is in test_confirmation_safety): a
    subject and an attachment name with RLO, ESC and BEL, encoded every way, are answered and
    forwarded without them."""
    subject = q_word("Order \u202egpj.exe\x1b[31m\x07 late".encode())
    disposition = "filename*=utf-8''inv%E2%80%AEfdp%1B%07.exe"
    async with world.client("agent1") as agent:
        raw = inbound(subject=subject, disposition=disposition)
        interaction_id = await assigned(world, agent, raw)
        await agent.reply(interaction_id, "On its way.")
        await agent.forward(interaction_id, ForwardIn(to="billing@example.org"))
        reply, forward = await world.sink.await_count(2)
    for mail in (reply, forward):
        assert_only_our_headers(mail)
        sent = parse_message(mail.raw)
        names = [a.filename for a in sent.attachments]
        for bad in ("\u202e", "\x1b", "\x07"):
            assert bad not in sent.subject, (bad, sent.subject)
            assert all(bad not in name for name in names), (bad, names)
        assert "gpj.exe" in sent.subject and "late" in sent.subject
    assert [a.filename for a in parse_message(forward.raw).attachments] == ["invfdp.exe"]


# -- the dialer's subject is a template rendered with a CSV row's values ----------------------


@pytest.mark.parametrize("value", [wrapped(w) for w in INNER] + INNER + [HIDDEN, "a\u2028b"])
def test_a_csv_value_in_a_dialer_subject_never_adds_a_header(value: str) -> None:
    """Both ways a dialer mail is made (the builder and the fast model) write the value as
    text, or refuse the record; neither lets a reader decode it into a header."""
    spec = MailSpec(
        sender=Address("desk@example.com", "Desk"),
        reply_address="desk@example.com",
        subject="Offer for ${name}",
        template_text="Hello ${name}",
        template_html="",
        unsubscribe_html='<a id="unsubscribe_link">stop</a>',
        base_url="https://web.example.com",
    )
    now = datetime(2026, 1, 2, tzinfo=UTC)
    maker = MailMaker(spec, now)
    for n in range(2):  # the first record may build the model; the second is made from it
        record = RecordMail("zoe@example.org", "", {"name": value})
        try:
            raw = maker.make(record, token="t" * 22, message_id=f"<d{n}@example.com>", now=now)
        except (RecordError, HeaderInjectionError):
            assert any(c in value for c in "\r\n\u2028"), value
            continue
        head = raw.split(b"\r\n\r\n", 1)[0]
        names = [ln.split(b":", 1)[0].lower() for ln in head.split(b"\r\n") if ln[:1] != b" "]
        assert b"bcc" not in names and b"x-evil" not in names, names
        assert len(names) == len(set(names))
        assert parse_message(raw).subject == f"Offer for {value}"


@pytest.mark.parametrize(
    "written",
    [
        "=?utf-8?q?application/pdf=0D=0ABcc:_victim@bank.example?=",
        "application/x-a=?utf-8?q?=0D=0AX-Evil:_1?=",
        "application/x-\x1b[31mred",
        "application/x y",
        'application/x"y',
        "application/x-\u202eexe",
    ],
)
async def test_an_attachment_type_that_is_no_media_type_is_kept_and_forwarded_as_octets(
    world: World, written: str
) -> None:
    """A part's Content-Type is a media type (type/subtype of tokens) or it is read as
    `application/octet-stream`: the agent sees no controls, and the attachment still forwards
    (it was refused as an invalid type before), with our headers only."""
    raw = inbound(disposition='filename="scan.pdf"', attachment_type=written)
    async with world.client("agent1") as agent:
        interaction_id = await assigned(world, agent, raw)
        detail = await agent.interaction(interaction_id)
        [stored] = [a for m in detail.messages for a in m.attachments]
        assert stored.content_type == "application/octet-stream"
        await agent.forward(interaction_id, ForwardIn(to="billing@example.org"))
        [forward] = await world.sink.await_count(1)
    assert_only_our_headers(forward)
    [part] = list(forward.message.iter_attachments())
    assert part.get_content_type() == "application/octet-stream"
    assert part.get_filename() == "scan.pdf"
