"""Mail as the tests' outside world writes it: customers, bounces, complaints.

One place for the builders every engine test needs, so a test module never imports another
(STYLE.md): change what a customer's mail looks like here and every test sees it.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid


def customer_mail(
    subject: str,
    body: str,
    *,
    in_reply_to: str | None = None,
    cc: str = "",
    files: dict[str, bytes] | None = None,
) -> bytes:
    """Carol Customer writes to the Support campaign (optionally answering, CCing, attaching)."""
    msg = EmailMessage()
    msg["From"] = "Carol Customer <carol@example.net>"
    msg["To"] = "support@postdesk.test"
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.net")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    for name, data in (files or {}).items():
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def numbered_mail(n: int) -> bytes:
    """Customer n's question, with a Message-ID fixed by n (to find it again in the database)."""
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <c{n}@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = f"Question {n}"
    msg["Message-ID"] = f"<reconnect-{n}@example.net>"
    msg.set_content(f"This is question {n}.")
    return msg.as_bytes()


def delivery_status_notification(original_id: str) -> bytes:
    """A Postfix-style RFC 3464 report: our message to Carol failed with 5.1.1."""
    return (
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        "To: support@postdesk.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='mx.example.net')}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; carol@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <carol@example.net>: Recipient address rejected\r\n"
        "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@postdesk.test\r\nTo: carol@example.net\r\nMessage-ID: {original_id}\r\n"
        "Subject: Re: Broken invoice\r\n\r\n--B--\r\n"
    ).encode()


def abuse_report(original_id: str) -> bytes:
    """An RFC 5965 feedback report: Carol marked our message as spam."""
    return (
        "From: abuse@isp.example\r\nTo: support@postdesk.test\r\n"
        "Subject: Abuse report\r\n"
        f"Message-ID: {make_msgid(domain='isp.example')}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="F"\r\n'
        "\r\n--F\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report.\r\n"
        "--F\r\nContent-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: abuse\r\nUser-Agent: Test/1.0\r\nVersion: 1\r\n"
        "Original-Rcpt-To: carol@example.net\r\n"
        "\r\n--F\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@postdesk.test\r\nTo: carol@example.net\r\nMessage-ID: {original_id}\r\n"
        "\r\n--F--\r\n"
    ).encode()
