"""The classifier over the generated corpus: every automated class recognised, no person misread.

The corpus (``tests/mailcorpus.py``) builds many variants of each class of machine mail that
once got an automatic answer and reached an agent's queue, and human mail that merely uses the
same words.  ``uv run python -m bench.classify`` prints the same counts per class.
"""

from __future__ import annotations

import pytest

from engine.domain.classify import Classification, classify
from engine.domain.mime import parse_message
from tests.mailcorpus import AUTOMATED, Sample, corpus

SAMPLES = list(corpus(per_class=40))


def run(sample: Sample) -> Classification:
    parsed = parse_message(sample.raw)
    return classify(sample.raw, parsed, our_addresses={"desk@example.com"})


def describe(sample: Sample, result: Classification) -> str:
    return f"{parse_message(sample.raw).subject!r} -> {result.kind} {result.reasons}"


@pytest.mark.parametrize("name", sorted(AUTOMATED))
def test_every_variant_of_an_automated_class_is_recognised(name: str) -> None:
    samples = [s for s in SAMPLES if s.name == name]
    assert len(samples) == 40
    results = [run(s) for s in samples]
    missed = [
        describe(s, r) for s, r in zip(samples, results, strict=True) if r.kind not in s.kinds
    ]
    assert missed == []
    # None of them may ever be answered automatically.
    assert all(r.never_auto_answer for r in results)


@pytest.mark.parametrize("name", sorted(n for n in AUTOMATED if n.startswith(("bounce", "compl"))))
def test_bounces_and_complaints_name_our_message_and_the_address(name: str) -> None:
    for sample in (s for s in SAMPLES if s.name == name):
        result = run(sample)
        if result.bounce is not None:
            # Every bounce of the corpus reports an unknown user: the address is unusable.
            assert (result.bounce.action, result.bounce.hard) == ("failed", True)
            found = (result.bounce.original_message_id, result.bounce.recipient)
        else:
            assert result.complaint is not None
            found = (result.complaint.original_message_id, result.complaint.original_recipient)
        assert found == (sample.original_id, sample.recipient), parse_message(sample.raw).subject


def test_no_human_mail_is_taken_for_a_machine() -> None:
    humans = [s for s in SAMPLES if not s.automated]
    assert len(humans) == 200
    results = [run(s) for s in humans]
    misread = [describe(s, r) for s, r in zip(humans, results, strict=True) if r.kind != "customer"]
    assert misread == []
    assert not any(r.never_auto_answer or r.reasons for r in results)


@pytest.mark.parametrize(
    "subject",
    [
        "Re: delivery of my order failed",
        "Question about your out of office policy",
        "Out of office hours support?",
        "Delivery failure - order 1234",
        "Returned mail order #5512",
        "Virus warning on your site",
        "My post awaits moderator approval for days",
        "Complaint about message from your agent",
        "Fwd: Mail delivery failed: returning message to sender",
    ],
)
def test_a_person_using_the_words_stays_a_customer(subject: str) -> None:
    raw = (
        f"From: Ann Example <ann@example.org>\r\nTo: desk@example.com\r\nSubject: {subject}\r\n"
        "Message-ID: <p.1@example.org>\r\n\r\n"
        "Your message could not be delivered, the virus scanner quarantined it and the list\r\n"
        "moderator is out of office. This is an email abuse report of a mail loop.\r\n"
    ).encode()
    sample = Sample("human", False, frozenset({"customer"}), raw)
    result = run(sample)
    assert (result.kind, result.reasons) == ("customer", [])
