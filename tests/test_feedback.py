"""What bounces and complaints do to our message and to the address (engine/domain/feedback).

Each case says what must happen *and* what must not: a delayed notice blacklisted customers
as complainers while every test that looked only for the expected effect passed.
"""

from __future__ import annotations

import pytest

from engine.domain.classify import Classification, classify
from engine.domain.feedback import COMPLAINT_ARF, COMPLAINT_PLAIN, Effects, effects
from engine.domain.mime import parse_message
from tests.mailcorpus import (
    arf_complaint,
    delivery_report,
    failed_recipients_bounce,
    hotmail_complaint,
)

OURS = "reply.1@desk.example.com"
CAROL = "carol@example.net"


def classified(raw: bytes) -> Classification:
    return classify(raw, parse_message(raw), our_addresses={"desk@example.com"})


def test_a_delayed_4_4_7_notice_only_notes_the_delay_on_our_message() -> None:
    raw = delivery_report(
        OURS, CAROL, action="delayed", status="4.4.7", diagnostic="451 4.4.7 delivery expired"
    )
    effect = effects(classified(raw), [CAROL])
    assert effect.message_error.startswith("delivery delayed: 4.4.7")
    assert effect.fail_message is False
    assert effect.blacklist is None
    assert effect.bouncing is None


def test_a_soft_bounce_for_a_full_mailbox_neither_fails_nor_marks() -> None:
    raw = delivery_report(OURS, CAROL, status="5.2.2", diagnostic="552 5.2.2 Mailbox full")
    effect = effects(classified(raw), [CAROL])
    assert effect.message_error.startswith("soft bounce: 5.2.2")
    assert (effect.fail_message, effect.blacklist, effect.bouncing) == (False, None, None)


def test_a_hard_bounce_fails_the_message_and_marks_the_address_bouncing_not_blacklisted() -> None:
    effect = effects(classified(delivery_report(OURS, CAROL)), ["Carol@Example.net"])
    assert effect.fail_message is True
    assert effect.message_error.startswith("bounced: 5.1.1 550 5.1.1 Recipient address rejected")
    assert effect.bouncing == CAROL
    assert effect.bouncing_reason.startswith("hard bounce: 5.1.1")
    assert effect.blacklist is None and effect.blacklist_reason == ""


def test_a_bounce_naming_only_the_failed_address_fails_what_it_is_linked_to() -> None:
    effect = effects(classified(failed_recipients_bounce(CAROL)), [CAROL])
    assert (effect.fail_message, effect.bouncing, effect.blacklist) == (True, CAROL, None)


def test_a_bounce_of_none_of_our_messages_changes_nothing() -> None:
    assert effects(classified(delivery_report(OURS, CAROL)), None) == Effects()


def test_an_address_we_never_sent_to_is_not_marked_bouncing() -> None:
    effect = effects(classified(delivery_report(OURS, "victim@example.org")), [CAROL])
    assert effect.fail_message is True
    assert effect.bouncing is None and effect.blacklist is None


def test_an_arf_complaint_blacklists_the_complainer_and_leaves_the_message() -> None:
    effect = effects(classified(arf_complaint(OURS, CAROL)), [CAROL])
    assert (effect.blacklist, effect.blacklist_reason) == (CAROL, COMPLAINT_ARF)
    assert (effect.fail_message, effect.message_error, effect.bouncing) == (False, "", None)


def test_a_hotmail_complaint_without_a_feedback_report_blacklists_too() -> None:
    result = classified(hotmail_complaint(OURS, "dan@hotmail.com"))
    assert result.kind == "complaint"
    effect = effects(result, ["dan@hotmail.com"])
    assert (effect.blacklist, effect.blacklist_reason) == ("dan@hotmail.com", COMPLAINT_PLAIN)
    assert effect.blacklist_reason.startswith("complaint")
    assert (effect.fail_message, effect.bouncing) == (False, None)


def test_a_complaint_about_none_of_our_messages_blacklists_no_one() -> None:
    """Anyone can write an abuse report naming any address: one that names no message of
    ours (a forged report, or our message deleted since) must not stop all mail to it."""
    for raw in (arf_complaint(OURS, CAROL), hotmail_complaint(OURS, "dan@hotmail.com")):
        assert effects(classified(raw), None) == Effects()


def test_a_complaint_blacklists_only_an_address_our_message_went_to() -> None:
    """Named as we wrote it: that one. Named otherwise (a forwarded copy, an alias): whom we
    wrote to when it is one address; among several we cannot tell who complained."""
    named_victim = classified(arf_complaint(OURS, "victim@example.org"))
    assert effects(named_victim, [CAROL]).blacklist == CAROL
    assert effects(named_victim, [CAROL, "dave@example.net"]) == Effects()
    named_cc = classified(arf_complaint(OURS, "dave@example.net"))
    assert effects(named_cc, [CAROL, "Dave@Example.net"]).blacklist == "dave@example.net"


def test_other_automated_mail_has_no_effect() -> None:
    raw = (
        b"From: Bob <bob@example.net>\r\nSubject: Automatic reply: Re: Order 42\r\n"
        b"In-Reply-To: <reply.1@desk.example.com>\r\n\r\nI am away.\r\n"
    )
    result = classified(raw)
    assert result.kind == "auto_reply"
    assert effects(result, [CAROL]) == Effects()


@pytest.mark.parametrize(
    "written",
    ["c" * 1000 + "@example.net", "carol\x1b[2J@example.net", "car\u202eol@example.net", "no one"],
)
def test_a_complaint_naming_no_real_address_blacklists_only_whom_we_wrote_to(
    written: str,
) -> None:
    """A report's address is a stranger's text: one no mail system takes (too long, terminal
    controls, bidi overrides, no address at all) is nobody: the address our message was sent
    to is blacklisted (or the returned original's recipient), never the written text."""
    raw = arf_complaint(OURS, CAROL).replace(
        f"Original-Rcpt-To: {CAROL}".encode(), f"Original-Rcpt-To: {written}".encode()
    )
    assert effects(classified(raw), [CAROL]).blacklist == CAROL
    assert effects(classified(raw), None).blacklist in (None, CAROL)
