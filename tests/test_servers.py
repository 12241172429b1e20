"""The test servers are real: Dovecot speaks IMAP and the SMTP sink records what smtplib sends."""

from __future__ import annotations

import asyncio
import imaplib
import smtplib
import time
from email.message import EmailMessage

import pytest

from tests.servers import DovecotServer, SmtpSink


def _raw(subject: str, body: str = "Hello from the test suite.\n") -> bytes:
    msgid = subject.replace(" ", "-")
    return (
        "From: Alice Customer <alice@example.com>\n"
        "To: support@postdesk.test\n"
        f"Subject: {subject}\n"
        f"Message-ID: <{msgid}@example.com>\n"
        "\n"
        f"{body}"
    ).encode()


def _message(subject: str, to: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Support <support@postdesk.test>"
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg.set_content("We are on it.\n")
    return msg


def test_dovecot_login_append_select(dovecot: DovecotServer) -> None:
    mailbox = dovecot.new_mailbox()
    assert mailbox.host == "127.0.0.1"
    assert mailbox.port == dovecot.port

    with imaplib.IMAP4(mailbox.host, mailbox.port, timeout=10) as conn:
        assert conn.login(mailbox.user, mailbox.password)[0] == "OK"
        for subject in ("first ticket", "second ticket"):
            appended = conn.append("INBOX", None, None, _raw(subject))
            assert appended[0] == "OK", appended
        assert conn.select("INBOX") == ("OK", [b"2"])
        typ, fetched = conn.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK"
        subjects = [part[1] for part in fetched if isinstance(part, tuple)]
        assert subjects == [b"Subject: first ticket\r\n\r\n", b"Subject: second ticket\r\n\r\n"]
        conn.close()

    assert dovecot.count(mailbox) == 2


def test_dovecot_mailboxes_are_fresh_and_isolated(dovecot: DovecotServer) -> None:
    first = dovecot.new_mailbox("agent")
    second = dovecot.new_mailbox("agent")
    assert first.user != second.user
    assert first.user.startswith("agent-")

    dovecot.append(first, _raw("only in first"))
    assert dovecot.count(first) == 1
    assert dovecot.count(second) == 0

    with pytest.raises(imaplib.IMAP4.error):
        with imaplib.IMAP4(first.host, first.port, timeout=10) as conn:
            conn.login(first.user, second.password)


def test_dovecot_append_many_and_folders(dovecot: DovecotServer) -> None:
    mailbox = dovecot.new_mailbox()
    raws = [_raw(f"bulk {i}", body=f"message number {i}\n" * 5) for i in range(1200)]
    started = time.monotonic()
    dovecot.append_many(mailbox, raws)
    elapsed = time.monotonic() - started
    assert dovecot.count(mailbox) == 1200
    assert elapsed < 30, f"append_many too slow: {elapsed:.1f}s for 1200 messages"

    dovecot.append(mailbox, _raw("sent reply"), folder="Sent")
    dovecot.append_many(mailbox, [_raw("archived 1"), _raw("archived 2")], folder="Archive 2024")
    assert dovecot.count(mailbox, "Sent") == 1
    assert dovecot.count(mailbox, "Archive 2024") == 2
    assert dovecot.count(mailbox) == 1200

    with dovecot.imap(mailbox) as conn:
        conn.select("INBOX", readonly=True)
        typ, data = conn.fetch("1200", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK"
        assert isinstance(data[0], tuple)
        assert data[0][1] == b"Subject: bulk 1199\r\n\r\n"


def test_smtp_sink_records_message(smtp_sink: SmtpSink) -> None:
    msg = _message("Your ticket #42", ["bob@example.com"])
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        refused = client.send_message(
            msg,
            from_addr="bounce@postdesk.test",
            to_addrs=["bob@example.com", "audit@postdesk.test"],
        )
    assert refused == {}

    (received,) = smtp_sink.wait_for(1)
    assert received.mail_from == "bounce@postdesk.test"
    assert received.rcpt_tos == ["bob@example.com", "audit@postdesk.test"]
    assert received.message["Subject"] == "Your ticket #42"
    assert received.message["To"] == "bob@example.com"
    assert received.message["From"].addresses[0].addr_spec == "support@postdesk.test"
    assert received.message.get_content() == "We are on it.\n"
    assert b"Subject: Your ticket #42" in received.raw
    assert smtp_sink.messages == [received]


def test_smtp_sink_fail_next_then_succeed(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(1, "450 4.7.1 try later")
    msg = _message("Retry me", ["carol@example.com"])
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as excinfo:
            client.send_message(msg)
        assert excinfo.value.smtp_code == 450
        assert excinfo.value.smtp_error == b"4.7.1 try later"
        assert smtp_sink.messages == []
        assert smtp_sink.pending_failures == 0

        assert client.send_message(msg) == {}

    (received,) = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ["carol@example.com"]
    assert received.message["Subject"] == "Retry me"


def test_smtp_sink_permanent_rcpt_failure(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(1, "550 5.1.1 no such user", stage="rcpt")
    msg = _message("Hello", ["ghost@example.com", "dave@example.com"])
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        refused = client.send_message(msg)
    assert refused == {"ghost@example.com": (550, b"5.1.1 no such user")}

    (received,) = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ["dave@example.com"]


async def test_smtp_sink_await_count(smtp_sink: SmtpSink) -> None:
    def send() -> None:
        with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
            client.send_message(_message("async", ["erin@example.com"]))

    sending = asyncio.get_running_loop().run_in_executor(None, send)
    received = await smtp_sink.await_count(1, timeout=10)
    await sending
    assert received[0].message["Subject"] == "async"

    with pytest.raises(TimeoutError):
        await smtp_sink.await_count(2, timeout=0.1)
