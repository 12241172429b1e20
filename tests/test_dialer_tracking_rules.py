"""The rules of a dialer record's life after sending, without an engine: every shape of bounce
and complaint names the Message-ID of the mail it reports, and what each does to the record
(rejected, spam, nothing) in each state it may be found in."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import make_msgid

import pytest

from engine.domain.classify import classify
from engine.domain.dialer_tracking import DialerChange, DialerSent, change
from engine.domain.inbound import Action, Decision, Known, decide, reported_id
from engine.domain.mime import parse_message
from tests.dialer_helpers import (
    DESK,
    arf_message_id_only,
    arf_with_original,
    exchange_ndr,
    postfix_dsn,
    quoted_plain_bounce,
    threading_only_dsn,
)
from tests.mailcorpus import AUTOMATED, hotmail_complaint, sample_of

RCPT = "dana@example.org"
BOUNCES: dict[str, Callable[[str, str], bytes]] = {
    "postfix": postfix_dsn,
    "exchange": exchange_ndr,
    "plain-quoted": quoted_plain_bounce,
    "threading-only": threading_only_dsn,
}
COMPLAINTS: dict[str, Callable[[str, str], bytes]] = {
    "arf-original": arf_with_original,
    "arf-message-id-only": arf_message_id_only,
    "hotmail": hotmail_complaint,
}
CORPUS_BOUNCES = [name for name in AUTOMATED if name.startswith("bounce-")]


def decided(
    raw: bytes, record: DialerSent, mid: str
) -> tuple[str, DialerChange | None, Decision[object, object]]:
    parsed = parse_message(raw)
    classification = classify(raw, parsed, our_addresses={DESK})
    known: Known[object, object] = Known(dialer={mid: record})
    decision = decide(parsed, classification, known, own_address=DESK)
    return classification.kind, decision.dialer, decision


@pytest.mark.parametrize("shape", sorted(BOUNCES))
def test_every_bounce_shape_names_the_mail_and_rejects_its_record(shape: str) -> None:
    mid = make_msgid(domain="postdesk.test")[1:-1]
    raw = BOUNCES[shape](mid, RCPT)
    kind, dialer, decision = decided(raw, DialerSent(7, RCPT, "sent"), mid)
    assert kind == "bounce"
    assert dialer is not None and (dialer.record_id, dialer.state) == (7, "rejected")
    assert dialer.reason.startswith("bounced: 5.")
    assert decision.action is Action.REPORT
    assert decision.bouncing == RCPT  # the hard-bounce effect
    assert decision.blacklist is None  # a bounce is no complaint


@pytest.mark.parametrize("shape", sorted(COMPLAINTS))
def test_every_complaint_shape_names_the_mail_and_marks_its_record_spam(shape: str) -> None:
    mid = make_msgid(domain="postdesk.test")[1:-1]
    raw = COMPLAINTS[shape](mid, RCPT)
    parsed = parse_message(raw)
    assert reported_id(classify(raw, parsed, our_addresses={DESK})) == mid
    kind, dialer, decision = decided(raw, DialerSent(8, RCPT, "seen"), mid)
    assert kind == "complaint"
    assert dialer is not None and (dialer.state, dialer.reason[:9]) == ("spam", "complaint")
    # Blacklisted for every campaign, even when the report does not say whom (the record does).
    assert decision.blacklist == RCPT


@pytest.mark.parametrize("name", CORPUS_BOUNCES)
@pytest.mark.parametrize("seed", range(6))
def test_the_corpus_bounces_that_return_the_original_reject_its_record(
    name: str, seed: int
) -> None:
    sample = sample_of(name, seed)
    assert sample.original_id is not None
    record = DialerSent(9, (sample.recipient or "").lower(), "sent")
    kind, dialer, _ = decided(sample.raw, record, sample.original_id)
    assert kind == "bounce"
    assert dialer is not None and dialer.state == "rejected", sample.raw[:400]


def test_a_report_naming_no_record_changes_no_record() -> None:
    mid = make_msgid(domain="postdesk.test")[1:-1]
    for make in (*BOUNCES.values(), *COMPLAINTS.values()):
        _kind, dialer, _ = decided(make(mid, RCPT), DialerSent(1, RCPT, "sent"), "other@x")
        assert dialer is None


def test_a_delay_notice_changes_nothing_and_the_order_of_states_holds() -> None:
    mid = make_msgid(domain="postdesk.test")[1:-1]
    delayed = postfix_dsn(mid, RCPT, action="delayed", status="4.4.7")
    assert decided(delayed, DialerSent(1, RCPT, "sent"), mid)[1] is None
    bounce = postfix_dsn(mid, RCPT)
    complaint = arf_with_original(mid, RCPT)
    outcome = {}
    for state in ("pending", "sending", "sent", "seen", "rejected", "spam", "failed", "skipped"):
        record = DialerSent(1, RCPT, state)
        b = decided(bounce, record, mid)[1]
        c = decided(complaint, record, mid)[1]
        outcome[state] = (b.state if b else None, c.state if c else None)
    assert outcome == {
        "pending": (None, None),  # never sent: a report about it is not about it
        "sending": ("rejected", "spam"),  # the report beat the sender's commit
        "sent": ("rejected", "spam"),
        "seen": ("rejected", "spam"),
        "rejected": (None, "spam"),  # delivered after all, then reported
        "spam": (None, None),  # the last word
        "failed": (None, None),
        "skipped": (None, None),
    }


def test_a_soft_failure_rejects_and_says_it_was_temporary() -> None:
    mid = make_msgid(domain="postdesk.test")[1:-1]
    raw = postfix_dsn(mid, RCPT, status="4.2.2")
    parsed = parse_message(raw)
    classification = classify(raw, parsed, our_addresses={DESK})
    found = change(classification, DialerSent(3, RCPT, "sent"))
    assert found is not None and found.state == "rejected"
    assert found.reason.startswith("bounced (temporary failure, not retried): 4.2.2")
