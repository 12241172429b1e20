"""The dialer's fast way of making a list's mails reads exactly like the builder's: the same
headers (values and order), the same text and HTML, the same links; and every record the
fast way cannot make as the builder would goes to the builder."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.domain.dialer_fastmail import MailMaker
from engine.domain.dialer_mail import MailSpec, RecordError, RecordMail, record_message
from engine.domain.mime_headers import Address

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
SPEC = MailSpec(
    sender=Address("news@example.com", "Postdesk News"),
    reply_address="news@example.com",
    subject="News for ${name} in ${city}",
    template_text="Dear ${name},\nyour order ${order} ships to ${city}.\n",
    template_html="",
    unsubscribe_html='<p><a id="unsubscribe_link">Unsubscribe</a></p>',
    base_url="https://web.example.com",
)
TOKEN = "AbCdEfGhIjKlMnOpQrStUv"
MID = "<1.abc@example.com>"


def read(raw: bytes) -> dict[str, object]:
    msg = email.message_from_bytes(raw, policy=policy.default)
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return {
        "headers": [(k, str(v)) for k, v in msg.items() if k.lower() != "content-type"],
        "text": text.get_content(),
        "html": html.get_content(),
        "parts": [p.get_content_type() for p in msg.walk()],
    }


def both(variables: dict[str, str], destination: str = "ana@example.org") -> tuple[bytes, bytes]:
    record = RecordMail(destination, "", variables)
    maker = MailMaker(SPEC, NOW)
    fast = maker.make(record, token=TOKEN, message_id=MID, now=NOW)
    assert maker.fast == 1
    slow = record_message(SPEC, record, token=TOKEN, message_id=MID, now=NOW)
    return fast, slow


def test_a_plain_record_is_made_fast_and_reads_as_the_builders() -> None:
    maker = MailMaker(SPEC, NOW)
    record = RecordMail("ana@example.org", "", {"name": "Ana", "city": "Rome", "order": "42"})
    fast = maker.make(record, token=TOKEN, message_id=MID, now=NOW)
    assert maker.fast == 1 and maker.slow == 0
    slow = record_message(SPEC, record, token=TOKEN, message_id=MID, now=NOW)
    assert read(fast) == read(slow)
    assert b"\r\n" in fast and b"\n" not in fast.replace(b"\r\n", b"")
    assert b"pdm" not in fast  # no marker left


def test_a_value_that_would_break_a_header_fails_the_same_both_ways() -> None:
    for odd in ("x\ny", "x\ry", "a\u2028b"):
        record = RecordMail("ana@example.org", "", {"name": odd, "city": "C", "order": "1"})
        with pytest.raises(RecordError) as fast:
            MailMaker(SPEC, NOW).make(record, token=TOKEN, message_id=MID, now=NOW)
        with pytest.raises(RecordError) as slow:
            record_message(SPEC, record, token=TOKEN, message_id=MID, now=NOW)
        assert str(fast.value) == str(slow.value)


def test_other_records_go_to_the_builder() -> None:
    maker = MailMaker(SPEC, NOW)
    values = {"name": "A", "city": "C", "order": "1"}
    for record in (
        RecordMail("ana@example.org", "Own message ${name}", values),
        RecordMail("ana@example.org", "", values, [("a.txt", "text/plain", b"x")]),
        RecordMail('"odd name"@example.org', "", values),
    ):
        maker.make(record, token=TOKEN, message_id=MID, now=NOW)
    assert (maker.fast, maker.slow) == (0, 3)


@settings(max_examples=150, deadline=None)
@given(
    name=st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=40),
    city=st.text(st.characters(min_codepoint=32, max_codepoint=126) | st.just("\t"), max_size=300),
)
def test_both_ways_read_the_same(name: str, city: str) -> None:
    """The same mail, or the same refusal."""
    try:
        fast, slow = both({"name": name, "city": city, "order": "7"})
    except RecordError as exc:
        record = RecordMail("ana@example.org", "", {"name": name, "city": city, "order": "7"})
        with pytest.raises(RecordError) as slow_refusal:
            record_message(SPEC, record, token=TOKEN, message_id=MID, now=NOW)
        assert str(slow_refusal.value) == str(exc)
        return
    assert read(fast) == read(slow)


HTML_SPEC = MailSpec(
    sender=Address("news@example.com", "Postdesk News"),
    reply_address="news@example.com",
    subject="${name}: a long subject that folds once the name is long enough to need it",
    template_text="Dear ${name},\nyour order ${order} ships to ${city}.\n",
    template_html="<p>Dear <b>${name}</b>, ${order} ships to ${city}.</p>",
    unsubscribe_html='<p><a id="unsubscribe_link">Unsubscribe</a></p>',
    base_url="https://web.example.com",
)


@settings(max_examples=150, deadline=None)
@given(
    name=st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=60),
    city=st.text(st.characters(min_codepoint=9, max_codepoint=126), max_size=120),
    html=st.booleans(),
)
def test_the_skeleton_makes_the_very_bytes_of_the_model_way(
    name: str, city: str, html: bool
) -> None:
    """A template's own record made of the skeleton's pieces: byte for byte the mail the
    model's way makes (checked against the builder above), or the same refusal."""
    spec = HTML_SPEC if html else SPEC
    maker = MailMaker(spec, NOW)
    assert maker._skeleton
    record = RecordMail("ana@example.org", "", {"name": name, "city": city, "order": "<&7>"})
    try:
        fast = maker.make(record, token=TOKEN, message_id=MID, now=NOW)
    except RecordError as exc:
        with pytest.raises(RecordError) as model:
            maker._fast(record, TOKEN, MID, NOW)
        assert str(model.value) == str(exc)
        return
    assert fast == maker._fast(record, TOKEN, MID, NOW)
    assert read(fast) == read(record_message(spec, record, token=TOKEN, message_id=MID, now=NOW))


def test_a_record_missing_a_variable_is_refused_as_the_builder_refuses_it() -> None:
    record = RecordMail("ana@example.org", "", {"name": "Ana", "city": "Rome"})
    with pytest.raises(RecordError) as fast:
        MailMaker(SPEC, NOW).make(record, token=TOKEN, message_id=MID, now=NOW)
    with pytest.raises(RecordError) as slow:
        record_message(SPEC, record, token=TOKEN, message_id=MID, now=NOW)
    assert str(fast.value) == str(slow.value)


def test_ids_and_tokens_made_by_the_batch_are_shaped_as_those_made_one_by_one() -> None:
    import re

    from engine.domain.compose import make_message_id, make_message_ids
    from engine.domain.web_links import is_token, new_tokens

    ids = make_message_ids("example.com", 500)
    shape = re.compile(r"<[0-9a-f]+\.[0-9a-f]{32}@example\.com>")
    assert shape.fullmatch(make_message_id("example.com"))
    assert all(shape.fullmatch(i) for i in ids) and len(set(ids)) == 500
    tokens = new_tokens(500)
    assert all(is_token(t) for t in tokens) and len(set(tokens)) == 500
    with pytest.raises(ValueError):
        make_message_ids("not a domain", 1)
