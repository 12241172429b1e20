"""Whether a plain-text bounce says the address is dead, in providers' own sentences.

Item 5 of issue 9: a hard bounce fails our message and marks the address bouncing (dialers
skip it); a soft one only notes it on the message. Bounces without an enhanced status code
are decided by their wording, and Yahoo's, Gmail's, Exchange's and French gateways' ways of
saying "no such user" were read as soft, so the address was never marked. A full mailbox or
a temporary refusal in the same styles stays soft.
"""

from __future__ import annotations

import pytest

from engine.domain.classify import classify
from engine.domain.feedback import effects
from engine.domain.mime import parse_message

DESK = "desk@example.com"
ANN = "ann@example.org"
ORIGINAL = (
    "Message-ID: <abc.1@desk.example.com>\nFrom: Example Support <desk@example.com>\n"
    f"To: {ANN}\nSubject: Your ticket #41\n\nHello\n"
)


def bounce(sender: str, subject: str, body: str, ctype: str = "text/plain") -> bytes:
    text = (
        f"From: {sender}\nTo: {DESK}\nSubject: {subject}\n"
        "Message-ID: <b1@mx.example.net>\nMIME-Version: 1.0\n"
        f"Content-Type: {ctype}; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}"
    )
    return text.replace("\n", "\r\n").encode()


HARD = {
    "yahoo": bounce(
        "MAILER-DAEMON@yahoo.com",
        "Failure Notice",
        "Sorry, we were unable to deliver your message to the following address.\n\n"
        f"<{ANN}>:\n554: delivery error: dd This user doesn't have a yahoo.com account ({ANN})"
        " [0] - mta1.mail.yahoo.com\n\n--- Below this line is a copy of the message.\n\n"
        + ORIGINAL,
    ),
    "exchange-html": bounce(
        "postmaster@corp.example",
        "Undeliverable: Your ticket #41",
        "<html><body><p><b>Delivery has failed to these recipients or groups:</b></p>"
        f"<p>{ANN}</p><p>The email address you entered couldn't be found. Please check the "
        "recipient's email address and try to resend the message.</p></body></html>\n",
        "text/html",
    ),
    "gmail-plain": bounce(
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Delivery Status Notification (Failure)",
        f"** Address not found **\n\nYour message wasn't delivered to {ANN} because the "
        "address couldn't be found, or is unable to receive mail.\n",
    ),
    "french-gateway": bounce(
        "Administrateur système <postmaster@orange.example>",
        "Non remis : Your ticket #41",
        f"Votre message n'a pas pu être remis à {ANN}.\nL'adresse électronique est introuvable.\n",
    ),
}

SOFT = {
    "yahoo-full": bounce(
        "MAILER-DAEMON@yahoo.com",
        "Failure Notice",
        "Sorry, we were unable to deliver your message to the following address.\n\n"
        f"<{ANN}>:\nThis user doesn't have enough space: mailbox full\n",
    ),
    "exchange-temporary": bounce(
        "postmaster@corp.example",
        "Undeliverable: Your ticket #41",
        f"Delivery has failed to these recipients or groups:\n{ANN}\n"
        "The recipient's server is temporarily unavailable; try again later.\n",
    ),
}


@pytest.mark.parametrize("name", sorted(HARD))
def test_a_providers_no_such_user_is_a_hard_bounce_that_marks_the_address(name: str) -> None:
    raw = HARD[name]
    result = classify(raw, parse_message(raw), our_addresses={DESK})
    assert result.kind == "bounce" and result.bounce is not None
    assert result.bounce.hard, result.bounce
    done = effects(result, [ANN])
    assert done.fail_message and done.bouncing == ANN
    assert done.blacklist is None  # a bounce is no complaint


@pytest.mark.parametrize("name", sorted(SOFT))
def test_a_full_mailbox_or_a_temporary_refusal_stays_soft(name: str) -> None:
    raw = SOFT[name]
    result = classify(raw, parse_message(raw), our_addresses={DESK})
    assert result.kind == "bounce" and result.bounce is not None
    assert not result.bounce.hard, result.bounce
    done = effects(result, [ANN])
    assert not done.fail_message and done.bouncing is None and done.blacklist is None
