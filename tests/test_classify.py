"""Tests for inbound classification: real-looking bounces, complaints, auto-replies, lists, loops.

The fixtures follow what the named systems actually send (header order, boilerplate, folding);
addresses and hosts are the documentation ones.  We are ``example.com``: the desk writes as
``desk@example.com`` and our Message-IDs end in ``@desk.example.com``.
"""

from __future__ import annotations

import base64
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.domain.classify import (
    Bounce,
    Classification,
    Complaint,
    Kind,
    classify,
    is_hard_bounce,
)
from engine.domain.mime import MimeError, parse_message

OUR_ADDRESSES = {"desk@example.com"}


def crlf(text: str) -> bytes:
    """A fixture written with ``\\n`` as it arrives over IMAP: CRLF line ends, UTF-8."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def run(raw: bytes) -> Classification:
    return classify(raw, parse_message(raw), our_addresses=OUR_ADDRESSES)


# --- bounces -------------------------------------------------------------------------------

POSTFIX_DSN = crlf("""\
Return-Path: <>
Delivered-To: desk@example.com
Received: by relay.mailhost.example.org (Postfix)
	id 4Xy2Zt0Abcz9sW; Mon,  3 Feb 2025 10:00:05 +0100 (CET)
Date: Mon,  3 Feb 2025 10:00:05 +0100 (CET)
From: MAILER-DAEMON@relay.mailhost.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: desk@example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4Xy2Zt0Abcz9sW.1738573205/relay.mailhost.example.org"
Content-Transfer-Encoding: 8bit
Message-Id: <20250203090005.4Xy2Zt0Abcz9sW@relay.mailhost.example.org>

This is a MIME-encapsulated message.

--4Xy2Zt0Abcz9sW.1738573205/relay.mailhost.example.org
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host relay.mailhost.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<nobody@example.net>: host mx1.example.net[192.0.2.25] said: 550 5.1.1
    <nobody@example.net>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--4Xy2Zt0Abcz9sW.1738573205/relay.mailhost.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.mailhost.example.org
X-Postfix-Queue-ID: 4Xy2Zt0Abcz9sW
X-Postfix-Sender: rfc822; desk@example.com
Arrival-Date: Mon,  3 Feb 2025 10:00:04 +0100 (CET)

Final-Recipient: rfc822; nobody@example.net
Original-Recipient: rfc822;nobody@example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx1.example.net
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.net>: Recipient address
    rejected: User unknown in virtual mailbox table

--4Xy2Zt0Abcz9sW.1738573205/relay.mailhost.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

Return-Path: <desk@example.com>
Received: from desk.example.com (desk.example.com [198.51.100.10])
	by relay.mailhost.example.org (Postfix) with ESMTPS id 4Xy2Zt0Abcz9sW
	for <nobody@example.net>; Mon,  3 Feb 2025 10:00:04 +0100 (CET)
Message-ID: <173857320412.4242.9931@desk.example.com>
Date: Mon, 03 Feb 2025 09:00:04 +0000
From: Example Support <desk@example.com>
To: nobody@example.net
Subject: Re: Order 42 [#1234]

--4Xy2Zt0Abcz9sW.1738573205/relay.mailhost.example.org--
""")


def test_postfix_dsn() -> None:
    result = run(POSTFIX_DSN)
    assert result.kind == "bounce"
    assert result.never_auto_answer is True
    assert result.complaint is None
    assert result.reasons == [
        "delivery status notification (RFC 3464): failed 5.1.1",
        "Auto-Submitted: auto-replied",
        "Return-Path: <> (null sender)",
        "automated sender address: MAILER-DAEMON@relay.mailhost.example.org",
    ]
    assert result.bounce == Bounce(
        original_message_id="173857320412.4242.9931@desk.example.com",
        recipient="nobody@example.net",
        status="5.1.1",
        action="failed",
        diagnostic="550 5.1.1 <nobody@example.net>: Recipient address rejected: "
        "User unknown in virtual mailbox table",
        hard=True,
    )


EXIM_BOUNCE = crlf("""\
Return-path: <>
Envelope-to: desk@example.com
Delivery-date: Mon, 03 Feb 2025 10:12:40 +0000
Received: from Debian-exim by smtp.example.org with local (Exim 4.96)
	id 1tey5M-0004Lq-2N
	for desk@example.com; Mon, 03 Feb 2025 10:12:40 +0000
X-Failed-Recipients: gone@example.net
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@smtp.example.org>
To: desk@example.com
Content-Type: text/plain; charset=us-ascii
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1tey5M-0004Lq-2N@smtp.example.org>
Date: Mon, 03 Feb 2025 10:12:40 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  gone@example.net
    host mx.example.net [198.51.100.7]
    SMTP error from remote mail server after RCPT TO:<gone@example.net>:
    550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown in local recipient table

------ This is a copy of the message, including all the headers. ------

Return-path: <desk@example.com>
Received: from desk.example.com ([198.51.100.10])
	by smtp.example.org with esmtpsa (Exim 4.96)
	id 1tey5L-0004Lh-1x
	for gone@example.net; Mon, 03 Feb 2025 10:12:39 +0000
Message-ID: <exim-original.77@desk.example.com>
Date: Mon, 03 Feb 2025 10:12:38 +0000
From: Example Support <desk@example.com>
To: gone@example.net
Subject: Your ticket #77

Hello, your ticket has been updated.
""")


def test_exim_plain_bounce() -> None:
    result = run(EXIM_BOUNCE)
    assert result.kind == "bounce"
    assert result.reasons == [
        "plain-text bounce: could not be delivered to one or more of its recipients",
        "Auto-Submitted: auto-replied",
        "Return-Path: <> (null sender)",
        "automated sender address: Mailer-Daemon@smtp.example.org",
    ]
    assert result.bounce == Bounce(
        original_message_id="exim-original.77@desk.example.com",
        recipient="gone@example.net",
        status="5.1.1",
        action="failed",
        diagnostic="550 5.1.1 <gone@example.net>: Recipient address rejected: "
        "User unknown in local recipient table",
        hard=True,
    )


GMAIL_BOUNCE = crlf("""\
Return-Path: <>
Received: by 2002:a05:6a10:9f0b:0:0:0:0 with SMTP id a11csp12345pxb;
        Mon, 3 Feb 2025 02:14:05 -0800 (PST)
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: desk@example.com
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
Message-ID: <67a0964d.050a0220.3c4f2.0001.GMR@mx.google.com>
Date: Mon, 03 Feb 2025 02:14:05 -0800 (PST)
Content-Type: text/plain; charset=ISO-8859-1

Delivery to the following recipient failed permanently:

     typo@exmaple.net

Technical details of permanent failure:
Google tried to deliver your message, but it was rejected by the server for the recipient \
domain exmaple.net by mx.exmaple.net. [203.0.113.9].

The error that the other server returned was:
550-5.1.1 The email account that you tried to reach does not exist. Please try
550-5.1.1 double-checking the recipient's email address for typos or
550 5.1.1 unnecessary spaces. Learn more at https://support.example/mail/?p=NoSuchUser

----- Original message -----

DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=desk;
        h=subject:from:to:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;
        b=abc
MIME-Version: 1.0
Date: Mon, 3 Feb 2025 10:14:03 +0000
Message-ID:
 <gmail-relayed.5150@desk.example.com>
Subject: Re: Refund
From: Example Support <desk@example.com>
To: typo@exmaple.net
Content-Type: text/plain; charset="UTF-8"

Your refund is on its way.
""")


def test_gmail_plain_bounce() -> None:
    result = run(GMAIL_BOUNCE)
    assert result.kind == "bounce"
    assert result.reasons[0] == (
        "plain-text bounce: delivery to the following recipient failed permanently"
    )
    bounce = result.bounce
    assert bounce is not None
    assert bounce.original_message_id == "gmail-relayed.5150@desk.example.com"
    assert bounce.recipient == "typo@exmaple.net"
    assert bounce.status == "5.1.1"
    assert bounce.action == "failed"
    assert bounce.diagnostic.startswith(
        "550-5.1.1 The email account that you tried to reach does not exist."
    )
    assert bounce.diagnostic.endswith("p=NoSuchUser")
    assert bounce.hard is True


QMAIL_BOUNCE = crlf("""\
Return-Path: <>
Received: (qmail 31337 invoked for bounce); 3 Feb 2025 09:20:01 -0000
Date: 3 Feb 2025 09:20:01 -0000
From: MAILER-DAEMON@mail.example.net
To: desk@example.com
Subject: failure notice

Hi. This is the qmail-send program at mail.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<olduser@example.net>:
192.0.2.5 does not like recipient.
Remote host said: 550 5.1.1 <olduser@example.net>... User unknown
Giving up on 192.0.2.5.

--- Below this line is a copy of the message.

Return-Path: <desk@example.com>
Received: (qmail 31330 invoked from network); 3 Feb 2025 09:20:00 -0000
Message-ID: <qmail-original.9@desk.example.com>
Date: Mon, 03 Feb 2025 09:19:59 +0000
From: desk@example.com
To: olduser@example.net
Subject: Your invoice

Please find your invoice attached.
""")


def test_qmail_bounce() -> None:
    result = run(QMAIL_BOUNCE)
    assert result.kind == "bounce"
    assert result.reasons == [
        "plain-text bounce: this is the qmail-send program",
        "Return-Path: <> (null sender)",
        "automated sender address: MAILER-DAEMON@mail.example.net",
    ]
    assert result.bounce == Bounce(
        original_message_id="qmail-original.9@desk.example.com",
        recipient="olduser@example.net",
        status="5.1.1",
        action="failed",
        diagnostic="550 5.1.1 <olduser@example.net>... User unknown",
        hard=True,
    )


def test_qmail_local_bounce_reads_the_status_in_parentheses() -> None:
    raw = QMAIL_BOUNCE.replace(
        b"192.0.2.5 does not like recipient.\r\n"
        b"Remote host said: 550 5.1.1 <olduser@example.net>... User unknown\r\n"
        b"Giving up on 192.0.2.5.\r\n",
        b"Sorry, no mailbox here by that name. (#5.1.1)\r\n",
    )
    bounce = run(raw).bounce
    assert bounce is not None
    assert bounce.diagnostic == "Sorry, no mailbox here by that name. (#5.1.1)"
    assert (bounce.status, bounce.recipient, bounce.hard) == ("5.1.1", "olduser@example.net", True)


UNDELIVERABLE_NOTICE = crlf("""\
From: Postmaster <postmaster@mail.example.net>
To: desk@example.com
Date: Mon, 3 Feb 2025 09:25:00 +0000
Subject: Undeliverable: Your ticket #4
Message-ID: <ndr.4@mail.example.net>

The following message to <lost@example.net> was undeliverable.
The reason for the problem:
5.1.0 - Unknown address error 550-'5.1.1 <lost@example.net>: Recipient address rejected: \
User unknown in relay recipient table'

--- Original message follows.

Message-ID: <lost.4@desk.example.com>
From: desk@example.com
To: lost@example.net
Subject: Your ticket #4

Hello.
""")


def test_undeliverable_notice() -> None:
    result = run(UNDELIVERABLE_NOTICE)
    assert result.kind == "bounce"
    assert result.reasons == [
        "plain-text bounce: was undeliverable",
        "automated sender address: postmaster@mail.example.net",
    ]
    assert result.bounce == Bounce(
        original_message_id="lost.4@desk.example.com",
        recipient="lost@example.net",
        status="5.1.0",
        action="failed",
        diagnostic="5.1.0 - Unknown address error 550-'5.1.1 <lost@example.net>: "
        "Recipient address rejected: User unknown in relay recipient table'",
        hard=True,
    )


GMAIL_DELAY = crlf("""\
Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: desk@example.com
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Delay)
Message-ID: <67a0a1b2.050a0220.1d2e3.0002.GMR@mx.google.com>
References: <g-delay.2@desk.example.com>
In-Reply-To: <g-delay.2@desk.example.com>
Content-Type: text/plain; charset=UTF-8

This is an automatically generated Delivery Status Notification

THIS IS A WARNING MESSAGE ONLY.

YOU DO NOT NEED TO RESEND YOUR MESSAGE.

Delivery to the following recipient has been delayed:

     slow@example.net

Message will be retried for 2 more day(s)

Technical details of temporary failure:
The recipient server did not accept our requests to connect. Learn more at
https://support.example/mail/answer/7720 [mx.example.net. 203.0.113.5: timed out]
""")


def test_gmail_plain_delay_is_soft_and_uses_in_reply_to() -> None:
    result = run(GMAIL_DELAY)
    assert result.kind == "bounce"
    assert result.reasons[0] == (
        "plain-text bounce: delivery to the following recipient has been delayed"
    )
    assert result.bounce == Bounce(
        original_message_id="g-delay.2@desk.example.com",
        recipient="slow@example.net",
        status=None,
        action="delayed",
        diagnostic="The recipient server did not accept our requests to connect. Learn more at "
        "https://support.example/mail/answer/7720 [mx.example.net. 203.0.113.5: timed out]",
        hard=False,
    )


OFFICE365_DSN = crlf("""\
Received: from AM0PR01MB1234.eurprd01.prod.exchangelabs.com (2603:10a6:208:1::1)
 by AM0PR01MB5678.eurprd01.prod.exchangelabs.com with HTTPS; Mon, 3 Feb 2025 09:30:02 +0000
MIME-Version: 1.0
From: Microsoft Outlook <postmaster@contoso.onmicrosoft.com>
To: <desk@example.com>
Date: Mon, 3 Feb 2025 09:30:02 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="be2cf4a0-7e2c-4d8a-9c1b-3b8a9c1d0e11"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: <7c1e9c2b-52a4-4e6f-8d1a-0c3b5d7e9f21@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
In-Reply-To: <o365-original.3@desk.example.com>
References: <o365-original.3@desk.example.com>
Thread-Topic: Your ticket #3
Thread-Index: AQHbdi0Xu3r0PGQ6Ak2W2mC4Ja3q3w==
Subject: Undeliverable: Your ticket #3
Auto-Submitted: auto-replied

--be2cf4a0-7e2c-4d8a-9c1b-3b8a9c1d0e11
Content-Type: multipart/alternative; differences=Content-Type;
	boundary="a5f6c0b1-1f2e-4a3b-8c4d-5e6f7a8b9c0d"

--a5f6c0b1-1f2e-4a3b-8c4d-5e6f7a8b9c0d
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Your message to ghost@example.net couldn't be delivered.

ghost wasn't found at example.net.

desk     Office 365     ghost
Action Required                     Recipient
Unknown To address

Diagnostic information for administrators:

Generating server: AM0PR01MB1234.eurprd01.prod.exchangelabs.com

ghost@example.net
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient ghost@e=
xample.net not found by SMTP address lookup'

--a5f6c0b1-1f2e-4a3b-8c4d-5e6f7a8b9c0d
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to ghost@example.net couldn't be delivered.</p></body></html>

--a5f6c0b1-1f2e-4a3b-8c4d-5e6f7a8b9c0d--

--be2cf4a0-7e2c-4d8a-9c1b-3b8a9c1d0e11
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;AM0PR01MB5678.eurprd01.prod.exchangelabs.com
Arrival-Date: Mon, 3 Feb 2025 09:30:01 +0000

Original-Recipient: rfc822;ghost@example.net
Final-Recipient: rfc822;ghost@example.net
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient ghost@example.net
 not found by SMTP address lookup

--be2cf4a0-7e2c-4d8a-9c1b-3b8a9c1d0e11
Content-Type: message/rfc822

Received: from desk.example.com (198.51.100.10) by AM0PR01MB5678.mail.protection.outlook.com
From: Example Support <desk@example.com>
To: ghost@example.net
Subject: Your ticket #3
Date: Mon, 3 Feb 2025 09:30:00 +0000
Message-ID: <o365-original.3@desk.example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii"

Hello.

--be2cf4a0-7e2c-4d8a-9c1b-3b8a9c1d0e11--
""")


def test_office365_dsn_with_three_digit_detail() -> None:
    result = run(OFFICE365_DSN)
    assert result.kind == "bounce"
    assert result.reasons == [
        "delivery status notification (RFC 3464): failed 5.1.10",
        "Auto-Submitted: auto-replied",
        "automated sender address: postmaster@contoso.onmicrosoft.com",
    ]
    assert result.bounce == Bounce(
        original_message_id="o365-original.3@desk.example.com",
        recipient="ghost@example.net",
        status="5.1.10",
        action="failed",
        diagnostic="550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient ghost@example.net "
        "not found by SMTP address lookup",
        hard=True,
    )


def dsn(
    *fields: str, human: str = "Delivery has failed.", headers: str = "", original: str = ""
) -> bytes:
    """A minimal but well-formed multipart/report DSN from a remote MAILER-DAEMON."""
    enclosed = f"--DSN\nContent-Type: text/rfc822-headers\n\n{original}\n" if original else ""
    return crlf(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n"
        "To: desk@example.com\n"
        "Subject: Delivery Status Notification\n"
        "Message-ID: <report.1@mx.example.net>\n"
        f"{headers}"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="DSN"\n'
        "\n"
        f"--DSN\nContent-Type: text/plain\n\n{human}\n\n"
        "--DSN\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.net\n\n" + "\n".join(fields) + "\n\n"
        f"{enclosed}"
        "--DSN--\n"
    )


def test_mailbox_full_5_2_2_is_a_soft_bounce() -> None:
    result = run(
        dsn(
            "Final-Recipient: rfc822; full@example.net",
            "Action: failed",
            "Status: 5.2.2",
            "Diagnostic-Code: smtp; 552 5.2.2 <full@example.net>: Mailbox full",
            original="Message-ID: <full.1@desk.example.com>\nTo: full@example.net",
        )
    )
    assert result.kind == "bounce"
    assert result.bounce == Bounce(
        original_message_id="full.1@desk.example.com",
        recipient="full@example.net",
        status="5.2.2",
        action="failed",
        diagnostic="552 5.2.2 <full@example.net>: Mailbox full",
        hard=False,
    )


DELAYED_DSN = crlf("""\
Return-Path: <>
From: MAILER-DAEMON@relay.mailhost.example.org (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: desk@example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B7D1C4A0F2.1738600000/relay.mailhost.example.org"
Message-Id: <20250203163000.B7D1C4A0F2@relay.mailhost.example.org>
Date: Mon,  3 Feb 2025 17:30:00 +0100 (CET)

--B7D1C4A0F2.1738600000/relay.mailhost.example.org
Content-Description: Notification
Content-Type: text/plain; charset=utf-8

This is the mail system at host relay.mailhost.example.org.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 4 hour(s).
It will be retried until it is 5 day(s) old.

--B7D1C4A0F2.1738600000/relay.mailhost.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.mailhost.example.org
X-Postfix-Queue-ID: B7D1C4A0F2
Arrival-Date: Mon,  3 Feb 2025 13:29:58 +0100 (CET)

Final-Recipient: rfc822; slow@example.net
Original-Recipient: rfc822;slow@example.net
Action: delayed
Status: 4.4.7
Diagnostic-Code: X-Postfix; delivery temporarily suspended: connect to
    mx.example.net[203.0.113.40]:25: Connection timed out
Will-Retry-Until: Sat,  8 Feb 2025 13:29:58 +0100 (CET)

--B7D1C4A0F2.1738600000/relay.mailhost.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Message-ID: <slow.8@desk.example.com>
From: desk@example.com
To: slow@example.net
Subject: Your parcel

--B7D1C4A0F2.1738600000/relay.mailhost.example.org--
""")


def test_delayed_4_4_7_dsn_is_a_soft_bounce() -> None:
    result = run(DELAYED_DSN)
    assert result.kind == "bounce"
    assert result.reasons[0] == "delivery status notification (RFC 3464): delayed 4.4.7"
    assert result.bounce == Bounce(
        original_message_id="slow.8@desk.example.com",
        recipient="slow@example.net",
        status="4.4.7",
        action="delayed",
        diagnostic="delivery temporarily suspended: connect to mx.example.net[203.0.113.40]:25: "
        "Connection timed out",
        hard=False,
    )


def test_dsn_picks_the_failed_recipient_among_several() -> None:
    result = run(
        dsn(
            "Final-Recipient: rfc822; fine@example.net",
            "Action: delivered",
            "Status: 2.0.0",
            "",
            "Final-Recipient: rfc822; later@example.net",
            "Action: delayed",
            "Status: 4.2.0",
            "",
            "Final-Recipient: rfc822; dead@example.net",
            "Action: failed",
            "Status: 5.0.0 (permanent failure)",
            "Diagnostic-Code: smtp; 550 No such user here",
        )
    )
    assert result.bounce is not None
    assert (result.bounce.recipient, result.bounce.status) == ("dead@example.net", "5.0.0")
    assert result.bounce.diagnostic == "550 No such user here"
    assert result.bounce.hard is True


def test_dsn_without_original_falls_back_to_in_reply_to() -> None:
    raw = dsn(
        "Final-Recipient: rfc822; x@example.net",
        "Action: failed",
        "Status: 5.1.1",
        headers="In-Reply-To: <sent.5@desk.example.com>\n",
    )
    bounce = run(raw).bounce
    assert bounce is not None
    assert bounce.original_message_id == "sent.5@desk.example.com"
    assert bounce.diagnostic == ""  # no Diagnostic-Code and a human text without a reply


def test_dsn_without_diagnostic_code_uses_the_human_readable_text() -> None:
    raw = dsn(
        "Final-Recipient: rfc822; x@example.net",
        "Action: failed",
        human="<x@example.net>: host mx.example.net[192.0.2.1] said: 550 5.7.1 Service\n"
        "    unavailable; try again later (in reply to RCPT TO command)",
    )
    bounce = run(raw).bounce
    assert bounce is not None
    assert bounce.diagnostic == (
        "550 5.7.1 Service unavailable; try again later (in reply to RCPT TO command)"
    )
    assert (bounce.status, bounce.hard) == ("5.7.1", False)


def test_base64_delivery_status_part_is_decoded() -> None:
    fields = (
        b"Final-Recipient: rfc822; enc@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 unknown user\r\n"
    )
    encoded = base64.encodebytes(fields).replace(b"\n", b"\r\n")
    raw = (
        crlf(
            "From: MAILER-DAEMON@mx.example.net\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="Z"\n\n'
            "--Z\nContent-Type: text/plain\n\nFailed.\n"
            "--Z\nContent-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
        )
        + encoded
        + b"--Z--\r\n"
    )
    bounce = run(raw).bounce
    assert bounce is not None
    assert (bounce.recipient, bounce.status, bounce.diagnostic) == (
        "enc@example.net",
        "5.1.1",
        "550 5.1.1 unknown user",
    )


def test_successful_delivery_report_is_no_bounce() -> None:
    raw = dsn(
        "Final-Recipient: rfc822; fine@example.net",
        "Action: relayed",
        "Status: 2.0.0",
        human="This is the mail system at host mx.example.net.\n\n"
        "Your message was successfully delivered to the destination(s) listed below.",
    )
    result = run(raw)
    assert result.kind == "auto_reply"
    assert result.bounce is None
    assert result.reasons == [
        "delivery report: relayed (not a failure)",
        "automated sender address: MAILER-DAEMON@mx.example.net",
    ]


def test_delivery_report_without_fields_degrades() -> None:
    raw = crlf(
        "From: someone@example.net\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="Q"\n\n'
        "--Q\nContent-Type: text/plain\n\nhello\n"
        "--Q\nContent-Type: message/delivery-status\n\nnot fields at all\n--Q--\n"
    )
    result = run(raw)
    assert result.kind == "auto_reply"
    assert result.reasons == ["delivery report without per-recipient fields"]
    assert result.bounce is None


def test_report_without_boundary_degrades() -> None:
    raw = crlf(
        "From: MAILER-DAEMON@mx.example.net\n"
        "Content-Type: multipart/report; report-type=delivery-status\n\n"
        "Final-Recipient: rfc822; x@example.net\nAction: failed\n"
    )
    result = run(raw)
    assert result.kind == "auto_reply"
    assert result.reasons == [
        "delivery report without per-recipient fields",
        "automated sender address: MAILER-DAEMON@mx.example.net",
    ]


def test_read_receipt_is_an_auto_reply() -> None:
    raw = crlf(
        "From: Bob <bob@example.net>\nTo: desk@example.com\nSubject: Read: Your ticket\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="M"\n\n'
        "--M\nContent-Type: text/plain\n\nYour message was read.\n"
        "--M\nContent-Type: message/disposition-notification\n\n"
        "Final-Recipient: rfc822; bob@example.net\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n--M--\n"
    )
    result = run(raw)
    assert (result.kind, result.reasons) == (
        "auto_reply",
        ["read receipt (disposition-notification report)"],
    )


# --- complaints ----------------------------------------------------------------------------

ARF_ABUSE = crlf("""\
From: <abuse@mail.example.net>
Date: Thu, 6 Feb 2025 14:00:00 +0000
Subject: FW: Your ticket #12
To: <fbl@example.com>
Message-ID: <arf.20250206.1@mail.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
	boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
198.51.100.10 on Thu, 6 Feb 2025 13:58:00 +0000.
For more information about this format please see
https://www.rfc-editor.org/rfc/rfc5965.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <desk@example.com>
Original-Rcpt-To: <angry@example.net>
Arrival-Date: Thu, 6 Feb 2025 13:58:00 +0000
Reporting-MTA: dns; mail.example.net
Source-IP: 198.51.100.10
Authentication-Results: mail.example.net;
        spf=pass smtp.mail=desk@example.com
Reported-Domain: example.com

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

Received: from desk.example.com (desk.example.com [198.51.100.10])
        by mail.example.net with ESMTP id 1A2B3C4D
        for <angry@example.net>; Thu, 6 Feb 2025 13:58:00 +0000
From: Example Support <desk@example.com>
To: Angry Customer <angry@example.net>
Subject: Your ticket #12
Message-ID: <arf-original.12@desk.example.com>
Date: Thu, 6 Feb 2025 13:57:59 +0000

We have updated your ticket.

--part1_13d.2e68ed54_boundary--
""")


def test_arf_abuse_report() -> None:
    result = run(ARF_ABUSE)
    assert result.kind == "complaint"
    assert result.never_auto_answer is True
    assert result.bounce is None
    assert result.reasons == ["feedback report (RFC 5965): abuse"]
    assert result.complaint == Complaint(
        feedback_type="abuse",
        original_recipient="angry@example.net",
        original_message_id="arf-original.12@desk.example.com",
    )


def test_arf_without_original_rcpt_to_uses_the_enclosed_to() -> None:
    raw = ARF_ABUSE.replace(b"Original-Rcpt-To: <angry@example.net>\r\n", b"").replace(
        b"Feedback-Type: abuse", b"Feedback-Type: Fraud"
    )
    complaint = run(raw).complaint
    assert complaint == Complaint("fraud", "angry@example.net", "arf-original.12@desk.example.com")


def test_not_spam_feedback_is_no_complaint() -> None:
    result = run(ARF_ABUSE.replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam"))
    assert result.kind == "auto_reply"
    assert result.complaint is None
    assert result.reasons == ["feedback report: not-spam (not a complaint)"]


def test_feedback_report_without_type_degrades() -> None:
    result = run(ARF_ABUSE.replace(b"Feedback-Type: abuse\r\n", b""))
    assert (result.kind, result.reasons) == (
        "auto_reply",
        ["feedback report without Feedback-Type"],
    )


# --- auto-replies, lists, loops ------------------------------------------------------------

OUT_OF_OFFICE = crlf("""\
Return-Path: <bob@example.net>
From: Bob Customer <bob@example.net>
To: Example Support <desk@example.com>
Subject: Out of office: Re: Your ticket #5
Date: Mon, 03 Feb 2025 11:00:00 +0100
Message-ID: <oof.5@mail.example.net>
In-Reply-To: <sent.5@desk.example.com>
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=utf-8

I am out of the office until 10 February with no access to email.
""")


def test_out_of_office_with_auto_submitted() -> None:
    result = run(OUT_OF_OFFICE)
    assert result.kind == "auto_reply"
    assert result.reasons == [
        "Auto-Submitted: auto-replied",
        "auto-reply subject: Out of office: Re: Your ticket #5",
    ]
    assert result.never_auto_answer is True
    assert result.bounce is None and result.complaint is None


EXCHANGE_OOF = crlf("""\
From: Carol Client <carol@example.net>
To: Example Support <desk@example.com>
Subject: Automatic reply: Your ticket #6
Thread-Topic: Your ticket #6
Thread-Index: AQHbdjLzJ0x1dXJ5b0uqk9GJ7H0VHg==
Date: Mon, 3 Feb 2025 10:05:00 +0000
Message-ID: <DB9PR01MB9999C0FFEE@DB9PR01MB9999.eurprd01.prod.exchangelabs.com>
In-Reply-To: <sent.6@desk.example.com>
Content-Language: en-GB
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: carol@example.net
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

I am on leave. For urgent matters contact the front desk.
""")


def test_exchange_oof_with_auto_response_suppress() -> None:
    result = run(EXCHANGE_OOF)
    assert (result.kind, result.reasons) == (
        "auto_reply",
        [
            "Exchange inbox rule's reply (Rules-Loop, Auto-Response-Suppress: All)",
            "auto-reply subject: Automatic reply: Your ticket #6",
        ],
    )


@pytest.mark.parametrize(
    "value", ["All", "DR, RN, NRN", "RN, NRN, OOF", "DR, OOF, AutoReply", "OOF", "None"]
)
def test_a_persons_mail_asking_not_to_be_auto_answered_is_a_persons(value: str) -> None:
    """X-Auto-Response-Suppress asks the receiver not to answer automatically; Exchange and
    Outlook put it on people's mail too (helpdesks that filtered on it lost good mail), so on
    its own it makes nothing automated."""
    raw = crlf(f"""\
From: Dana Doe <dana@corp.example>
To: Example Support <desk@example.com>
Subject: Meeting about the invoice
Message-ID: <DB9PR01MB1111@DB9PR01MB1111.eurprd01.prod.exchangelabs.com>
X-MS-Has-Attach:
X-Auto-Response-Suppress: {value}
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

Can we meet on Tuesday about the wrong total?
""")
    assert run(raw).kind == "customer"


MAILING_LIST = crlf("""\
Return-Path: <users-bounces+desk=example.com@lists.example.org>
From: Dave Developer <dave@example.net>
To: users@lists.example.org
Subject: [users] Release 2.0 is out
Date: Mon, 03 Feb 2025 12:00:00 +0000
Message-ID: <release-2.0@example.net>
Precedence: list
List-Id: Users of the project <users.lists.example.org>
List-Unsubscribe: <https://lists.example.org/options/users>,
 <mailto:users-request@lists.example.org?subject=unsubscribe>
List-Post: <mailto:users@lists.example.org>
List-Help: <mailto:users-request@lists.example.org?subject=help>
Sender: "users" <users-bounces@lists.example.org>
Content-Type: text/plain; charset=utf-8

Hello all, the release is out.
""")


def test_mailing_list_mail() -> None:
    result = run(MAILING_LIST)
    assert result.kind == "list"
    assert result.reasons == [
        "Precedence: list",
        "List-Id: Users of the project <users.lists.example.org>",
        "List-Unsubscribe: <https://lists.example.org/options/users>, "
        "<mailto:users-request@lists.example.org?subject=unsubscribe>",
        "List-Post: <mailto:users@lists.example.org>",
        "List-Help: <mailto:users-request@lists.example.org?subject=help>",
    ]


def test_noreply_sender() -> None:
    raw = crlf(
        "From: Shop Notifications <no-reply@shop.example.net>\n"
        "To: desk@example.com\nSubject: Your order has shipped\n"
        "Message-ID: <ship.1@shop.example.net>\n\nYour order is on its way.\n"
    )
    result = run(raw)
    assert (result.kind, result.reasons) == (
        "auto_reply",
        ["automated sender address: no-reply@shop.example.net"],
    )


@pytest.mark.parametrize(
    "sender",
    [
        "noreply@example.net",
        "NoReply@example.net",
        "do-not-reply@example.net",
        "donotreply@example.net",
        "notifications-noreply@example.net",
        "bounces+1234-abcd@example.net",
        "bounce@example.net",
        "postmaster@example.net",
        "mailer_daemon@example.net",
    ],
)
def test_automated_sender_local_parts(sender: str) -> None:
    raw = crlf(f"From: {sender}\nSubject: hi\n\nhi\n")
    assert run(raw).reasons == [f"automated sender address: {sender}"]


@pytest.mark.parametrize(
    "sender", ["replyguy@example.net", "bouncer@example.net", "noreplyer@example.net"]
)
def test_people_with_similar_names_are_customers(sender: str) -> None:
    assert run(crlf(f"From: {sender}\nSubject: hi\n\nhi\n")).kind == "customer"


def test_a_message_id_in_the_campaigns_domain_is_not_own_mail_by_itself() -> None:
    """No domain is Postdesk's alone: the campaign's address, its Message-IDs and the company's
    other mail share one.  Our own mail coming back is known by its Message-ID among the
    messages we sent (tests/test_inbound_decision.py), not by its domain."""
    raw = crlf(
        "From: Forwarder <fwd@example.net>\n"
        "To: desk@example.com\n"
        "Subject: Re: Your ticket #9\n"
        "Message-ID: <173857999.77.1@desk.example.com>\n\nour own text\n"
    )
    result = run(raw)
    assert result.kind == "customer"
    assert result.reasons == []


def test_own_address_and_x_loop() -> None:
    raw = crlf(
        "From: Example Support <Desk@Example.com>\nTo: desk@example.com\n"
        "X-Loop: desk@example.com\nMessage-ID: <x.1@elsewhere.example.net>\n\nloop\n"
    )
    result = run(raw)
    assert result.kind == "own"
    assert result.reasons == [
        "X-Loop: desk@example.com",
        "X-Loop names our address desk@example.com",
        "sender is our own address: desk@example.com",
    ]


def test_bounce_from_our_own_relay_is_still_a_bounce() -> None:
    raw = POSTFIX_DSN.replace(b"relay.mailhost.example.org", b"relay.example.com")
    result = run(raw)
    assert result.kind == "bounce"
    assert result.bounce is not None and result.bounce.recipient == "nobody@example.net"
    assert not [r for r in result.reasons if "our domain" in r]


@pytest.mark.parametrize(
    ("header", "reason", "kind"),
    [
        ("X-Autoreply: yes", "X-Autoreply: yes", "auto_reply"),
        ("X-Autorespond: Out of office", "X-Autorespond: Out of office", "auto_reply"),
        ("Precedence: bulk", "Precedence: bulk", "auto_reply"),
        ("Precedence: junk", "Precedence: junk", "auto_reply"),
        ("Precedence: auto_reply", "Precedence: auto_reply", "auto_reply"),
        ("X-Loop: helpdesk@example.net", "X-Loop: helpdesk@example.net", "auto_reply"),
        ("Auto-Submitted: auto-generated", "Auto-Submitted: auto-generated", "auto_reply"),
        (
            'Auto-Submitted: auto-replied; owner-email="bob@example.net"',
            "Auto-Submitted: auto-replied",
            "auto_reply",
        ),
        ("Return-Path: <>", "Return-Path: <> (null sender)", "auto_reply"),
        (
            "List-Unsubscribe: <mailto:u@example.net>",
            "List-Unsubscribe: <mailto:u@example.net>",
            "list",
        ),
        ("List-Archive: <https://example.net/a>", "List-Archive: <https://example.net/a>", "list"),
    ],
)
def test_single_header_signals(header: str, reason: str, kind: Kind) -> None:
    raw = crlf(f"From: Eve <eve@example.net>\n{header}\nSubject: hi\n\nhello\n")
    result = run(raw)
    assert (result.kind, result.reasons) == (kind, [reason])


# --- customers -----------------------------------------------------------------------------

CUSTOMER = crlf("""\
Return-Path: <ann@example.org>
From: Ann Example <ann@example.org>
To: desk@example.com
Subject: Where is my order?
Date: Mon, 03 Feb 2025 10:00:00 +0100
Message-ID: <CAF=abc.123@mail.example.org>
Auto-Submitted: no
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello, my order 42 has not arrived. The tracking page says "user unknown"
and that delivery to the following recipient failed permanently?!
""")


def test_plain_customer_mail_with_auto_submitted_no() -> None:
    result = run(CUSTOMER)
    assert result == Classification(kind="customer", reasons=[], never_auto_answer=False)


@pytest.mark.parametrize(
    "extra", ["", "X-Autoreply: no\n", "X-Auto-Response-Suppress: None\n", "Precedence: normal\n"]
)
def test_customer_mail_with_harmless_headers(extra: str) -> None:
    raw = crlf(f"From: Ann <ann@example.org>\nTo: desk@example.com\n{extra}Subject: Hi\n\nHi\n")
    result = run(raw)
    assert (result.kind, result.reasons, result.never_auto_answer) == ("customer", [], False)


def test_customer_forwarding_a_bounce_stays_a_customer() -> None:
    forwarded = (
        crlf(
            "From: Ann <ann@example.org>\nTo: desk@example.com\nSubject: Fwd: failure notice\n"
            'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="F"\n\n'
            "--F\nContent-Type: text/plain\n\nI got this, why?\n"
            "--F\nContent-Type: message/rfc822\n\n"
        )
        + QMAIL_BOUNCE
        + b"\r\n--F--\r\n"
    )
    result = run(forwarded)
    assert (result.kind, result.reasons, result.bounce) == ("customer", [], None)


# --- is_hard_bounce ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action", "text", "hard"),
    [
        ("5.1.1", "failed", "550 5.1.1 user unknown", True),
        ("5.1.10", "failed", "RESOLVER.ADR.RecipientNotFound", True),
        ("5.1.1", "failed", "user unknown, try again later", True),  # the address itself
        ("5.2.2", "failed", "552 5.2.2 mailbox full", False),
        ("5.2.1", "failed", "552 user is over quota", False),
        ("5.0.0", "failed", "552 Quota exceeded for this mailbox", False),
        ("5.7.1", "failed", "550 5.7.1 Greylisted, please try again later", False),
        ("5.7.1", "failed", "554 5.7.1 Service temporarily unavailable", False),
        ("5.7.1", "failed", "550 5.7.1 Relaying denied", True),
        ("5.0.0", "failed", "", True),
        ("4.4.7", "failed", "message expired", False),
        ("4.2.2", "failed", "mailbox full", False),
        ("5.1.1", "delayed", "user unknown", False),
        ("2.0.0", "delivered", "", False),
        (None, "failed", "550 Requested action not taken: no such user", True),
        (None, "failed", "550 5.1.1 The account does not exist", True),
        (None, "failed", "Recipient address rejected", True),
        (None, "failed", "mailbox unavailable", True),
        (None, "failed", "451 Temporary local problem", False),
        (None, None, "This is a permanent error; I've given up.", True),
        (None, None, "Technical details of temporary failure", False),
        (None, None, "something went wrong", False),
        ("garbage", None, "", False),
    ],
)
def test_is_hard_bounce(status: str | None, action: str | None, text: str, hard: bool) -> None:
    assert is_hard_bounce(status, action, text) is hard


# --- properties ----------------------------------------------------------------------------

KINDS = set(get_args(Kind))


def check(raw: bytes) -> None:
    try:
        parsed = parse_message(raw)
    except MimeError:
        return
    result = classify(raw, parsed, our_addresses=OUR_ADDRESSES)
    assert result.kind in KINDS
    assert result.never_auto_answer is (result.kind != "customer")
    assert all(isinstance(r, str) and r for r in result.reasons)
    assert (result.bounce is not None) is (result.kind == "bounce")
    assert (result.complaint is not None) is (result.kind == "complaint")
    if result.kind != "customer":
        assert result.reasons


@given(st.binary(max_size=3000))
def test_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    check(raw)


_FRAGMENTS = st.sampled_from(
    [
        b"From: MAILER-DAEMON@mx.example.net\r\n",
        b"From: <>\r\n",
        b"Return-Path: <>\r\n",
        b"X-Failed-Recipients: \xff@\r\n",
        b"Auto-Submitted: \r\n",
        b"Precedence: list\r\n",
        b"X-Auto-Response-Suppress: ,;,\r\n",
        b"Message-ID: <@>\r\n",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n",
        b"Content-Type: multipart/report; report-type*=''feedback-report; boundary=B\r\n",
        b"Content-Type: multipart/report; boundary=B\r\n",
        b"Content-Type: multipart/mixed; boundary=B\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"\r\n",
        b"--B\r\n",
        b"--B--\r\n",
        b"Content-Type: message/delivery-status\r\n",
        b"Content-Type: message/feedback-report\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Type: text/rfc822-headers\r\n",
        b"Final-Recipient: rfc822;\r\n",
        b"Final-Recipient: rfc822; <a@b>\r\n",
        b"Action: failed\r\n",
        b"Action: delayed\r\n",
        b"Status: 5.\r\n",
        b"Status: 9.99999.1\r\n",
        b"Diagnostic-Code: ;\r\n",
        b"Diagnostic-Code: smtp; 550 \xc3\x28 user unknown\r\n",
        b"Feedback-Type: abuse\r\n",
        b"Original-Rcpt-To: \r\n",
        b"Message-ID:\r\n <>\r\n",
        b"This is the qmail-send program\r\n",
        b"Delivery to the following recipient failed permanently:\r\n",
        b"<@>:\r\n",
        b"Remote host said: \r\n",
        b"----- Original message -----\r\n",
        b"--------------------------------------------------\r\n",
        b" folded continuation\r\n",
        b"The error that the other server returned was:\r\n",
        b"550-5.1.1 x\r\n",
        # The notices that are not reports (issue 9): their triggers, broken up and mixed.
        b"From: post_master@gw.example.net\r\n",
        b"From: Mail Delivery System <>\r\n",
        b"From: users-admin@lists.example.org\r\n",
        b"From: Administrator <administrator@\xff>\r\n",
        b"X-HmXmrOriginalRecipient: <\r\n",
        b"X-HmXmrOriginalRecipient: <a@b>\r\n",
        b"Subject: Automatic reply:\r\n",
        b"Subject: =?utf-8?b?0JDQstGC0L7QvtGC0LLQtdGC?=:\r\n",
        b"Subject: Message status - undeliverable\r\n",
        b"Subject: VIRUS (x) IN MAIL FROM YOU\r\n",
        b"Subject: Out of office\r\n",
        b"This is an email abuse report\r\n",
        b"awaits moderator approval\r\n",
        b"Mail loop detected\r\n",
        b"The message that you sent was undeliverable to the following:\r\n",
        b"Your message could not be delivered\r\n",
        b"-------- Returned Mail --------\r\n",
    ]
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_FRAGMENTS, st.binary(max_size=40)), max_size=40))
def test_never_raises_on_report_like_input(fragments: list[bytes]) -> None:
    check(b"".join(fragments))


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([b"-", b"a", b"<", b"5.1.1 ", b"Message-ID: ", b"x@"]))
def test_hostile_sizes_stay_fast(chunk: bytes) -> None:
    body = chunk * (200_000 // len(chunk))
    raw = (
        b"From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\n\r\n"
        b"This is the qmail-send program\r\n" + body + b"\r\n" + body.replace(b"\n", b"")
    )
    check(raw)


def test_a_report_part_is_read_in_its_declared_charset() -> None:
    """One MIME toolkit: report parts decode like bodies (declared charset, then fallbacks),
    not as UTF-8-or-windows-1252 whatever they say."""
    import base64
    import email

    from engine.domain.mime_parts import part_text

    words = "Сообщение не может быть доставлено"
    for charset in ("koi8-r", "cp1251", "utf-8"):
        raw = (
            f"Content-Type: text/plain; charset={charset}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.b64encode(words.encode(charset)).decode()
            + "\r\n"
        ).encode()
        part = email.message_from_bytes(raw, policy=email.policy.compat32)
        assert part_text(part).strip() == words, charset


# --- automation headers written every legal way ----------------------------------------------


@pytest.mark.parametrize(
    ("extra", "kind"),
    [
        # A header may come more than once (a gateway adds its own, a list copies the
        # original's): any instance saying "automated" is enough, never only the first.
        ("Auto-Submitted: no\nAuto-Submitted: auto-replied\n", "auto_reply"),
        ("Precedence: first-class\nPrecedence: bulk\n", "auto_reply"),
        ("Precedence: normal\nPrecedence: list\n", "list"),
        ("X-Autoreply: no\nX-Autoreply: yes\n", "auto_reply"),
        ("X-Loop: \nX-Loop: desk@example.com\n", "own"),
        # Structured values carry comments and quoted strings (CFWS, RFC 5322 3.2.2).
        ('Precedence: "bulk"\n', "auto_reply"),
        ("Precedence: (sent by our list) bulk\n", "auto_reply"),
        ("Precedence: junk (spam folder)\n", "auto_reply"),
        ("Return-Path: <> (bounce)\n", "auto_reply"),
        ("Return-Path: (null sender) <>\n", "auto_reply"),
    ],
)
def test_automation_headers_are_read_in_every_instance_and_form(extra: str, kind: str) -> None:
    raw = crlf(f"From: Ann <ann@example.org>\nTo: desk@example.com\n{extra}Subject: Hi\n\nHi\n")
    result = run(raw)
    assert (result.kind, result.never_auto_answer) == (kind, True), result.reasons


@pytest.mark.parametrize(
    "extra",
    ["Auto-Submitted: (a person wrote this) no\n", 'Auto-Submitted: "no"\n', "Precedence: (x)\n"],
)
def test_a_no_written_with_comments_or_quotes_is_still_no(extra: str) -> None:
    raw = crlf(f"From: Ann <ann@example.org>\nTo: desk@example.com\n{extra}Subject: Hi\n\nHi\n")
    assert run(raw).kind == "customer"
