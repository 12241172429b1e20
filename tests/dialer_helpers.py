"""Dialer records as the sender leaves them once sent, and the reports that come back about
them, for the dialer tracking tests (issue 13: seen, unsubscribe, rejected, spam).

The records are made with the engine's own services (a dialer, a list uploaded as CSV), then
set to `sent` with a Message-ID and a link token straight in the database, as the sender
does. The reports are built in the shapes mail systems really send (RFC 3464 with the
headers or the whole original, Exchange's, a plain-text bounce quoting the original, one that
names the original only by In-Reply-To; RFC 5965 with the original attached or with only an
Original-Message-ID field), so the tests hold the class, not one sample.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import make_msgid

from sqlalchemy import select, update

from data.models import DialerRecord, DialerRecordState
from engine.api.schemas import DialerIn, TemplateIn
from engine.services.customer.links import new_token
from tests.engine_fixtures import World

UNSUBSCRIBE = '<p>Had enough? <a id="unsubscribe_link">Unsubscribe</a></p>'
DESK = "support@postdesk.test"


@dataclass(frozen=True)
class SentRecord:
    id: int
    dialer_id: int
    destination: str
    message_id: str  # as the sender stores it: no angle brackets
    token: str


async def sent_records(
    world: World, addresses: list[str], *, dialer: str = "News"
) -> list[SentRecord]:
    """A dialer of the Support campaign with one list of `addresses`, every record sent."""
    op = world.operator
    await op.add_template(TemplateIn(name=f"{dialer} body", kind="dialer", body_text="Hello."))
    added = await op.add_dialer(
        DialerIn(
            name=dialer, campaign="Support", template=f"{dialer} body", unsubscribe_html=UNSUBSCRIBE
        )
    )
    csv = "".join(f"Support;{address}\n" for address in addresses).encode()
    report = await op.upload_list(dialer, csv, name=f"{dialer} list", subject="News")
    assert report.imported == len(addresses), report
    out: list[SentRecord] = []
    now = datetime.now(UTC)
    async with world.engine.db.session() as session, session.begin():
        rows = await session.scalars(
            select(DialerRecord)
            .where(DialerRecord.list_id == report.list_id)
            .order_by(DialerRecord.line_number)
        )
        for record in rows.all():
            mid, token = make_msgid(domain="postdesk.test")[1:-1], new_token()
            await session.execute(
                update(DialerRecord)
                .where(DialerRecord.id == record.id)
                .values(
                    state=DialerRecordState.SENT, rfc_message_id=mid, link_token=token, sent_at=now
                )
            )
            out.append(SentRecord(record.id, added.id, record.destination, mid, token))
    return out


async def record_rows(world: World, ids: list[int]) -> dict[int, DialerRecord]:
    async with world.engine.db.session() as session:
        rows = await session.scalars(select(DialerRecord).where(DialerRecord.id.in_(ids)))
        return {r.id: r for r in rows.all()}


async def set_state(world: World, record_id: int, state: DialerRecordState) -> None:
    async with world.engine.db.session() as session, session.begin():
        await session.execute(
            update(DialerRecord).where(DialerRecord.id == record_id).values(state=state)
        )


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def _their_id(host: str) -> str:
    return f"<{random.getrandbits(64):x}@{host}>"


def _original(mid: str, rcpt: str) -> str:
    return (
        f"Return-Path: <{DESK}>\nMessage-ID: <{mid}>\nDate: Sun, 06 Dec 2026 09:00:00 +0000\n"
        f"From: Postdesk Support <{DESK}>\nTo: {rcpt}\nSubject: News\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n\nHello.\n"
    )


def postfix_dsn(mid: str, rcpt: str, *, action: str = "failed", status: str = "5.1.1") -> bytes:
    """RFC 3464 as Postfix sends it: the original's headers as text/rfc822-headers."""
    subject = "Delayed Mail (still being retried)" if action == "delayed" else "Undelivered Mail"
    return _crlf(
        "Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.net (Mail Delivery System)\n"
        f"To: {DESK}\nSubject: {subject}\nMessage-ID: {_their_id('mx.example.net')}\n"
        "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\n\n'
        "--R\nContent-Type: text/plain\n\nThis is the mail system at host mx.example.net.\n\n"
        "--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
        f"Final-Recipient: rfc822; {rcpt}\nAction: {action}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; 550 {status} <{rcpt}>: Recipient address rejected: "
        "User unknown\n\n"
        "--R\nContent-Type: text/rfc822-headers\n\n"
        + _original(mid, rcpt).split("\n\n", 1)[0]
        + "\n\n--R--\n"
    )


def exchange_ndr(mid: str, rcpt: str) -> bytes:
    """Exchange Online's non-delivery report: HTML and text explanation, the delivery status
    with Exchange's fields, the whole original attached as message/rfc822."""
    return _crlf(
        "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.com>\n"
        f"To: <{DESK}>\nSubject: Undeliverable: News\n"
        f"Message-ID: {_their_id('contoso.com')}\nContent-Language: en-US\n"
        "X-MS-Exchange-Message-Is-Ndr:\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="_000_NDR"\n\n'
        '--_000_NDR\nContent-Type: multipart/alternative; boundary="_001_ALT"\n\n'
        "--_001_ALT\nContent-Type: text/plain; charset=us-ascii\n\n"
        f"Your message to {rcpt} couldn't be delivered.\n{rcpt.split('@')[0]} wasn't found at "
        f"{rcpt.split('@')[1]}.\n\nRemote Server returned '550 5.1.10 "
        "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'\n\n"
        "--_001_ALT\nContent-Type: text/html; charset=us-ascii\n\n"
        f"<html><body><p>Your message to {rcpt} couldn't be delivered.</p></body></html>\n"
        "--_001_ALT--\n\n"
        "--_000_NDR\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\n"
        "Received-From-MTA: dns;relay.postdesk.test\n"
        "Arrival-Date: Sun, 6 Dec 2026 09:00:01 +0000\n\n"
        f"Final-Recipient: rfc822;{rcpt}\nAction: failed\nStatus: 5.1.10\n"
        "Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not "
        "found by SMTP address lookup\nX-Display-Name: Someone\n\n"
        "--_000_NDR\nContent-Type: message/rfc822\n\n" + _original(mid, rcpt) + "\n--_000_NDR--\n"
    )


def quoted_plain_bounce(mid: str, rcpt: str) -> bytes:
    """A plain-text bounce (qmail/Exim wording) with the original's headers quoted inline."""
    return _crlf(
        "Return-Path: <>\nFrom: MAILER-DAEMON@mail.example.org\n"
        f"To: {DESK}\nSubject: failure notice\nMessage-ID: {_their_id('mail.example.org')}\n\n"
        "Hi. This is the qmail-send program at mail.example.org.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{rcpt}>:\n550 5.1.1 Sorry, no mailbox here by that name.\n\n"
        "--- Below this line is a copy of the message.\n\n" + _original(mid, rcpt)
    )


def threading_only_dsn(mid: str, rcpt: str) -> bytes:
    """A delivery report with nothing of the original: only In-Reply-To and References."""
    return _crlf(
        "Return-Path: <>\nFrom: Mail Delivery Subsystem <mailer-daemon@gw.example.co.uk>\n"
        f"To: {DESK}\nSubject: Delivery Status Notification (Failure)\n"
        f"Message-ID: {_their_id('gw.example.co.uk')}\n"
        f"In-Reply-To: <{mid}>\nReferences: <{mid}>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="D"\n\n'
        "--D\nContent-Type: text/plain\n\nDelivery to the following recipient failed.\n\n"
        "--D\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; gw.example.co.uk\n\n"
        f"Final-Recipient: rfc822; {rcpt}\nAction: failed\nStatus: 5.2.1\n"
        "Diagnostic-Code: smtp; 550 5.2.1 The email account that you tried to reach is "
        "disabled\n\n--D--\n"
    )


def arf_with_original(mid: str, rcpt: str) -> bytes:
    """RFC 5965 as the large providers send it: the whole original attached."""
    return _crlf(
        f"From: scomp@feedback.example-isp.net\nTo: {DESK}\nSubject: Email Feedback Report\n"
        f"Message-ID: {_their_id('feedback.example-isp.net')}\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\n\n'
        "--F\nContent-Type: text/plain\n\nThis is an email abuse report.\n\n"
        "--F\nContent-Type: message/feedback-report\n\n"
        "Feedback-Type: abuse\nUser-Agent: ExampleFBL/2.0\nVersion: 1\n"
        "Source-IP: 198.51.100.10\nArrival-Date: Sun, 6 Dec 2026 09:00:02 +0000\n\n"
        "--F\nContent-Type: message/rfc822\nContent-Disposition: inline\n\n"
        + _original(mid, rcpt)
        + "\n--F--\n"
    )


def arf_message_id_only(mid: str, rcpt: str) -> bytes:
    """A feedback report with no part of the original: only an Original-Message-ID field
    (and no Original-Rcpt-To: the record says whom it was)."""
    return _crlf(
        f"From: fbl@reports.example.com\nTo: {DESK}\nSubject: FBL report\n"
        f"Message-ID: {_their_id('reports.example.com')}\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="G"\n\n'
        "--G\nContent-Type: text/plain\n\nA user marked your mail as spam.\n\n"
        "--G\nContent-Type: message/feedback-report\n\n"
        f"Feedback-Type: abuse\nUser-Agent: ReportBot/1\nVersion: 1\n"
        f"Original-Message-ID: <{mid}>\n\n--G--\n"
    )
