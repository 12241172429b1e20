"""The dialer's lean SMTP client on a server that offers PIPELINING: a message's content and
final dot go in one write with the next message's envelope, and each of the two still gets
its own exact outcome: sent, refused (the server's words), or lost before its content went
(never delivered) or after (may have been). The sink is aiosmtpd offering PIPELINING (it
reads pipelined commands in order); postfix's `smtp-sink`, which the bench uses, is run too
when installed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.services.dialer.smtp_pipe import PipeConnection
from tests.servers import SmtpSink

MAIL = b"Subject: hi\r\n\r\n.a line that starts with a dot\r\nbye\r\n"
FROM = "news@example.com"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink(pipelining=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _open(host: str, port: int) -> PipeConnection:
    conn = await PipeConnection.open(host, port, implicit_tls=False, starttls=False, tls=None)
    assert conn.pipelining
    return conn


async def _chain(conn: PipeConnection, count: int) -> None:
    assert await conn.start(FROM, "r0@example.org", utf8=False) is None
    for n in range(1, count):
        first, started = await conn.finish_and_start(MAIL, FROM, f"r{n}@example.org", utf8=False)
        assert first.sent and started is None
    assert (await conn.finish(MAIL)).sent


async def test_chained_messages_each_arrive_whole(sink: SmtpSink) -> None:
    conn = await _open(sink.host, sink.port)
    await _chain(conn, 4)
    await conn.close()
    got = sink.messages
    assert [m.rcpt_tos for m in got] == [[f"r{n}@example.org"] for n in range(4)]
    assert all(m.raw == MAIL for m in got)  # dot-stuffed on the wire, whole on arrival


async def test_each_chained_message_keeps_its_own_refusal(sink: SmtpSink) -> None:
    conn = await _open(sink.host, sink.port)
    assert await conn.start(FROM, "a@example.org", utf8=False) is None
    sink.fail_next(1, "554 5.6.0 content refused", stage="data")
    first, started = await conn.finish_and_start(MAIL, FROM, "b@example.org", utf8=False)
    assert not first.sent and first.code == 554 and "content refused" in first.text
    assert started is None  # the next envelope went on regardless
    sink.fail_next(1, "450 4.2.1 mailbox busy", stage="rcpt")
    second, refused = await conn.finish_and_start(MAIL, FROM, "c@example.org", utf8=False)
    assert second.sent
    assert refused is not None and refused.code == 450 and not refused.lost
    assert conn.usable  # reset, ready for the next
    assert await conn.start(FROM, "d@example.org", utf8=False) is None
    assert (await conn.finish(MAIL)).sent
    await conn.close()
    assert [m.rcpt_tos[0] for m in sink.messages] == ["b@example.org", "d@example.org"]


async def test_a_421_after_the_content_loses_the_next_envelope_not_a_message(
    sink: SmtpSink,
) -> None:
    conn = await _open(sink.host, sink.port)
    assert await conn.start(FROM, "a@example.org", utf8=False) is None
    sink.fail_next(1, "421 4.3.2 shutting down", stage="data")
    first, started = await conn.finish_and_start(MAIL, FROM, "b@example.org", utf8=False)
    assert not first.sent and first.code == 421  # retried later
    assert started is not None and started.lost and not started.maybe_sent  # never sent
    assert not conn.usable


SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


async def test_postfix_smtp_sink_takes_chained_messages() -> None:
    # Never skipped: `make test` installs postfix (scripts/ensure-postfix.sh).
    assert Path(SMTP_SINK).exists(), (
        "postfix's smtp-sink is missing: run `make postfix` (or `sudo apt-get install postfix`)"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    as_user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen(
        [SMTP_SINK, *as_user, f"127.0.0.1:{port}", "10"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "smtp-sink did not start"
            time.sleep(0.02)
        conn = await _open("127.0.0.1", port)
        await _chain(conn, 5)
        await conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
