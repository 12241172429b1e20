"""What an inbound mail does (engine/domain/inbound), decided with no engine, mailbox or database.

Each decision is compared whole, so a test says what must happen and also that nothing else
does: a bounce that also blacklisted its customer passed every test that looked only for the
expected effect.
"""

from __future__ import annotations

from email.message import EmailMessage

from engine.domain.classify import Classification, classify
from engine.domain.inbound import Action, Decision, Known, Sent, Thread, decide
from engine.domain.mime import ParsedMessage, parse_message
from tests.mailcorpus import DESK, arf_complaint, delivery_report, failed_recipients_bounce

CAROL = "carol@example.net"
DAN = "dan@example.net"
EVE = "eve@example.org"
OURS = "reply.1@desk.example.com"  # the Message-ID of a reply we sent Carol

OPEN = Thread("open", CAROL, (DAN,), closed=False)
CLOSED = Thread("closed", CAROL, (), closed=True)
SENT = Sent("our reply", OURS, (CAROL,), failed=False)

Known_ = Known[str, str]


def mail(
    sender: str = f"Carol <{CAROL}>",
    *,
    subject: str = "Broken invoice",
    cc: str = "",
    in_reply_to: str = "",
    references: str = "",
    message_id: str = "<q1@example.net>",
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = DESK
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content("Hello.")
    return msg.as_bytes()


def read(raw: bytes) -> tuple[ParsedMessage, Classification]:
    parsed = parse_message(raw)
    return parsed, classify(raw, parsed, our_addresses={DESK})


def decision(raw: bytes, known: Known_ | None = None) -> Decision[str, str]:
    parsed, classification = read(raw)
    return decide(parsed, classification, known or Known(), own_address=DESK.upper())


# --- a customer's mail ------------------------------------------------------------------------


def test_a_first_mail_starts_a_queued_interaction_with_its_cc_but_never_our_address() -> None:
    found = decision(mail(cc=f"Dan <{DAN.upper()}>, {DESK}"))
    assert found == Decision(Action.NEW, "customer", cc=(DAN,))
    assert found.queued


def test_a_reply_joins_its_open_interaction_and_the_cc_follows_the_last_mail() -> None:
    known = Known_(threads={"a1@desk.example.com": OPEN})
    found = decision(mail(in_reply_to="<a1@desk.example.com>"), known)
    # Dan was CC'd before and is not on this mail: he is dropped.
    assert found == Decision(Action.JOIN, "customer", "open", cc=())
    assert not found.queued


def test_a_reply_to_a_closed_interaction_reopens_it() -> None:
    known = Known_(threads={"a1@desk.example.com": CLOSED})
    found = decision(mail(in_reply_to="<a1@desk.example.com>", cc=EVE), known)
    assert found == Decision(Action.REOPEN, "customer", "closed", cc=(EVE,))
    assert found.queued


def test_in_reply_to_wins_then_references_newest_first() -> None:
    known = Known_(threads={"old@x": CLOSED, "new@x": OPEN, "parent@x": CLOSED})
    by_parent = decision(mail(in_reply_to="<parent@x>", references="<old@x> <new@x>"), known)
    assert by_parent.thread == "closed" and by_parent.action is Action.REOPEN
    by_newest = decision(mail(references="<old@x> <new@x>"), known)
    assert by_newest.thread == "open" and by_newest.action is Action.JOIN


def test_a_cc_participant_joins_too() -> None:
    known = Known_(threads={"a1@x": OPEN})
    found = decision(mail(f"Dan <{DAN}>", in_reply_to="<a1@x>"), known)
    assert found == Decision(Action.JOIN, "customer", "open", cc=())


def test_a_stranger_replying_never_joins_but_starts_a_linked_interaction() -> None:
    known = Known_(threads={"a1@x": OPEN})
    found = decision(mail(f"Eve <{EVE}>", in_reply_to="<a1@x>"), known)
    assert found == Decision(Action.NEW, "customer", linked="open", cc=())


def test_a_stranger_links_to_the_first_thread_named_and_joins_one_they_are_part_of() -> None:
    theirs = Thread("eve's", EVE, (), closed=False)
    known = Known_(threads={"a1@x": OPEN, "e1@x": theirs, "c1@x": CLOSED})
    joined = decision(mail(f"Eve <{EVE}>", in_reply_to="<a1@x>", references="<e1@x>"), known)
    assert joined == Decision(Action.JOIN, "customer", "eve's", cc=())
    linked = decision(mail(f"Eve <{EVE}>", in_reply_to="<a1@x>", references="<c1@x>"), known)
    assert linked == Decision(Action.NEW, "customer", linked="open", cc=())


def test_the_subject_token_finds_the_thread_when_the_headers_are_gone() -> None:
    known = Known_(by_token={7: CLOSED})
    found = decision(mail(subject="Re: Broken invoice [#3] [#7]"), known)
    assert found == Decision(Action.REOPEN, "customer", "closed", cc=())
    stranger = decision(mail(f"Eve <{EVE}>", subject="Re: Broken invoice [#7]"), known)
    assert stranger == Decision(Action.NEW, "customer", linked="closed", cc=())


def test_headers_win_over_the_subject_token() -> None:
    known = Known_(threads={"a1@x": OPEN}, by_token={7: CLOSED})
    found = decision(mail(subject="Re: [#7]", in_reply_to="<a1@x>"), known)
    assert found.thread == "open"


# --- automated mail ---------------------------------------------------------------------------


def test_an_auto_reply_joins_its_thread_unchanged_and_is_never_queued() -> None:
    known = Known_(threads={"a1@x": CLOSED})
    raw = mail(in_reply_to="<a1@x>", cc=EVE, headers={"Auto-Submitted": "auto-replied"})
    found = decision(raw, known)
    assert found == Decision(Action.AUTOMATED, "auto_reply", "closed")
    assert not found.queued


def test_an_auto_reply_with_no_thread_is_filed_closed_in_an_interaction_of_its_own() -> None:
    found = decision(mail(cc=EVE, headers={"Auto-Submitted": "auto-replied"}))
    assert found == Decision(Action.AUTOMATED, "auto_reply", cc=(EVE,))
    assert not found.queued


def test_a_list_mail_from_a_stranger_stays_linked_but_unqueued() -> None:
    known = Known_(threads={"a1@x": OPEN})
    raw = mail(f"Eve <{EVE}>", in_reply_to="<a1@x>", headers={"List-Id": "<news.example.org>"})
    assert decision(raw, known) == Decision(Action.AUTOMATED, "list", linked="open", cc=())


def test_our_own_mail_coming_back_is_own_mail_even_when_it_looks_like_a_customer() -> None:
    known = Known_(threads={"a1@x": CLOSED, OURS: CLOSED}, outbound={OURS: SENT})
    # A BCC to ourselves of our reply: its own Message-ID threads nothing, its parent does.
    found = decision(mail(message_id=f"<{OURS}>", in_reply_to="<a1@x>"), known)
    assert found == Decision(Action.AUTOMATED, "own", "closed")
    alone = decision(mail(message_id=f"<{OURS}>"), known)
    assert alone == Decision(Action.AUTOMATED, "own", cc=())


def test_our_own_mail_coming_back_as_a_bounce_changes_nothing() -> None:
    raw = delivery_report(OURS, CAROL)
    parsed, classification = read(raw)
    assert classification.kind == "bounce"
    known = Known_(
        threads={OURS: OPEN, parsed.message_id or "": OPEN},
        outbound={OURS: SENT, parsed.message_id or "": SENT},
    )
    found = decide(parsed, classification, known, own_address=DESK)
    assert found == Decision(Action.AUTOMATED, "own", cc=())


# --- bounces and complaints -------------------------------------------------------------------


def test_a_hard_bounce_fails_our_message_and_marks_the_address_bouncing_not_blacklisted() -> None:
    known = Known_(threads={OURS: CLOSED}, outbound={OURS: SENT})
    found = decision(delivery_report(OURS, CAROL), known)
    assert found.action is Action.REPORT and found.kind == "bounce"
    assert (found.thread, found.linked, found.cc) == ("closed", None, None)
    assert (found.reported, found.fail_reported) == ("our reply", True)
    assert (found.reported_error or "").startswith("bounced: 5.1.1")
    assert found.bouncing == CAROL and found.bouncing_reason.startswith("hard bounce: 5.1.1")
    assert (found.blacklist, found.blacklist_reason) == (None, "")
    assert not found.queued  # a closed interaction is not reopened by a bounce


def test_a_delay_notice_notes_the_delay_but_fails_nothing() -> None:
    known = Known_(threads={OURS: OPEN}, outbound={OURS: SENT})
    raw = delivery_report(OURS, CAROL, action="delayed", status="4.4.7", diagnostic="451 4.4.7")
    found = decision(raw, known)
    assert (found.action, found.thread, found.reported) == (Action.REPORT, "open", "our reply")
    assert found.fail_reported is False
    assert (found.reported_error or "").startswith("delivery delayed: 4.4.7")
    assert (found.blacklist, found.bouncing) == (None, None)


def test_a_late_delay_notice_keeps_the_failure_note_of_a_failed_message() -> None:
    failed = Sent("our reply", OURS, (CAROL,), failed=True)
    known = Known_(threads={OURS: OPEN}, outbound={OURS: failed})
    raw = delivery_report(OURS, CAROL, action="delayed", status="4.4.7", diagnostic="451 4.4.7")
    found = decision(raw, known)
    # Still announced (the console refreshes it), but neither failed again nor re-noted.
    assert (found.reported, found.fail_reported, found.reported_error) == ("our reply", False, None)


def test_a_complaint_blacklists_the_complainer_and_leaves_our_message_alone() -> None:
    known = Known_(threads={OURS: OPEN}, outbound={OURS: SENT})
    found = decision(arf_complaint(OURS, CAROL.upper()), known)
    assert found == Decision(
        Action.REPORT,
        "complaint",
        "open",
        blacklist=CAROL,
        blacklist_reason="complaint (RFC 5965)",
    )


def test_a_bounce_of_none_of_our_messages_is_filed_alone_and_changes_nothing() -> None:
    found = decision(delivery_report("someone.else@example.org", CAROL))
    assert found == Decision(Action.REPORT, "bounce", cc=())
    assert not found.queued


def test_a_bounce_naming_only_the_address_reports_the_last_message_sent_there() -> None:
    known = Known_(threads={OURS: OPEN}, last_sent_to={CAROL: SENT})
    found = decision(failed_recipients_bounce(CAROL.title()), known)
    assert (found.action, found.thread, found.reported) == (Action.REPORT, "open", "our reply")
    assert (found.fail_reported, found.bouncing, found.blacklist) == (True, CAROL, None)


def test_a_complaint_naming_only_an_address_we_wrote_to_blacklists_no_one() -> None:
    """The same address a bounce may be linked by: a complaint must name our message by its
    Message-ID, or anyone who knows whom we wrote to could stop all mail to them."""
    known = Known_(threads={OURS: OPEN}, last_sent_to={CAROL: SENT})
    found = decision(arf_complaint("forged.1@elsewhere.example", CAROL), known)
    assert (found.action, found.kind) == (Action.REPORT, "complaint")
    assert (found.reported, found.blacklist) == (None, None)


def test_a_bounce_finds_our_message_by_its_threading_headers_too() -> None:
    known = Known_(threads={OURS: OPEN}, outbound={OURS: SENT})
    raw = failed_recipients_bounce(CAROL).replace(
        b"Message-ID:", f"In-Reply-To: <{OURS}>\r\nMessage-ID:".encode(), 1
    )
    found = decision(raw, known)
    assert (found.thread, found.reported, found.fail_reported) == ("open", "our reply", True)


def test_a_bounce_never_marks_an_address_our_message_was_not_sent_to() -> None:
    known = Known_(threads={OURS: OPEN}, outbound={OURS: Sent("ours", OURS, (DAN,), False)})
    found = decision(delivery_report(OURS, CAROL), known)
    assert (found.reported, found.fail_reported, found.bouncing) == ("ours", True, None)


def test_a_mail_to_the_unsubscribe_address_unsubscribes_and_is_filed() -> None:
    token = "AbCdEfGhIjKlMnOpQrStUv"
    known = Known_(unsubscribe_tokens=frozenset({token}))
    done = decision(mail(subject=f"unsubscribe {token}"), known)
    assert (done.action, done.kind, done.unsubscribe, done.queued) == (
        Action.AUTOMATED,
        "list",
        token,
        False,
    )
    # A token that is not one of ours, or a person writing the word: a customer's mail.
    for subject in ("unsubscribe ZZZZZZZZZZZZZZZZZZZZZZ", "Please unsubscribe me"):
        other = decision(mail(subject=subject), known)
        assert (other.action, other.unsubscribe) == (Action.NEW, None)
