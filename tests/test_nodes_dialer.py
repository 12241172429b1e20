"""Dialers across engine nodes sharing one PostgreSQL.

- kill -9 of the node sending a dialer's list: another node, already running, takes the
  dialer over; every record is delivered, only those inside their SMTP transaction at the
  kill (state `sending`) may arrive twice, with the same Message-ID.
- An SMTP account's cap holds across nodes: two dialers on one account, each run by another
  node: when one has used the minute's cap, the other sends nothing.

Several nodes need PostgreSQL whatever the run: run once (tests/conftest.py: test_nodes_*)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from engine.api.schemas import DialerIn, DialerProgress, SmtpCaps
from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine
from tests import db_probe
from tests.engine_fixtures import engine_settings
from tests.nodes import Stream, dialer_campaign, nodes
from tests.patience import PATIENCE
from tests.postgres_server import PostgresServer
from tests.servers import SmtpSink

RECORDS = 400


def _engine_process(home: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "postdesk.cli", "--data-dir", str(home), "engine"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "POSTDESK_DATABASE_URL": url},
        )


def _states(settings: Settings) -> Counter[str]:
    found = db_probe.rows(settings, "SELECT state, COUNT(*) FROM dialer_records GROUP BY state")
    return Counter({str(state): int(count) for state, count in found})


def _in_flight(settings: Settings) -> dict[str, str]:
    sql = "SELECT destination, rfc_message_id FROM dialer_records WHERE state = 'sending'"
    return {str(who): str(mid) for who, mid in db_probe.rows(settings, sql)}


async def _wait(what: str, check: object, timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _dialer(op: EngineClient, sink: SmtpSink, name: str, rows: str, caps: SmtpCaps) -> None:
    await op.add_dialer(
        DialerIn(name=name, campaign="Support", template="T", seconds_between_messages=0, caps=caps)
    )
    await op.upload_list(name, rows.encode(), name="L", subject="Hello ${name}")


async def _campaign(op: EngineClient, sink: SmtpSink) -> None:
    await dialer_campaign(op, sink.host, sink.port)


async def test_kill_9_of_the_sending_node_another_takes_over_each_record_once_but_in_flight(
    tmp_path: Path, smtp_sink: SmtpSink, postgres: PostgresServer
) -> None:
    url = postgres.new_database()
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    settings = engine_settings(home_a, database_url=url)
    setup = Engine(settings, run_mail=False)
    await setup.start()
    async with EngineClient(setup.socket_path) as op:
        await _campaign(op, smtp_sink)
        rows = "".join(f"Support;r{n:04}@example.com;;;name=R{n}\n" for n in range(RECORDS))
        await _dialer(op, smtp_sink, "News", rows, SmtpCaps(connections=3))
        await op.play_dialer("News")  # this engine sends nothing: node A will
    await setup.stop()

    log = tmp_path / "engine.log"
    # Each DATA takes a while: node B has started before A is done (about 10 s for the list
    # over 3 connections), and the kill lands mid-transaction.
    smtp_sink.data_delay = 0.08
    node_a = _engine_process(home_a, url, log)
    node_b: subprocess.Popen[bytes] | None = None
    try:
        await _wait("node A sending", lambda: len(smtp_sink.messages) >= 10)
        # Node B starts while A sends: it finds the dialer running and waits for its turn.
        node_b = _engine_process(home_b, url, log)
        b_socket = engine_settings(home_b, database_url=url).socket
        await _wait("node B up", b_socket.exists)
        async with EngineClient(b_socket) as op_b:
            status = await op_b.dialer_status("News")
            assert status.running
        sent_while_both = len(smtp_sink.messages)
        node_b.send_signal(signal.SIGSTOP)  # held a moment: the records in flight are read
        node_a.send_signal(signal.SIGKILL)
        node_a.wait(timeout=PATIENCE)
        await asyncio.sleep(0.3)  # transactions the sink was finishing land
        before = Counter(m.rcpt_tos[0] for m in smtp_sink.messages)
        in_flight = _in_flight(settings)
        states = _states(settings)
        assert states["sending"] == len(in_flight) > 0 and states["sent"] < RECORDS, states
        assert sent_while_both < RECORDS
        smtp_sink.data_delay = 0.0
        node_b.send_signal(signal.SIGCONT)  # B takes the dialer over: A's lock died with it
        await _wait("every record processed", lambda: _states(settings)["sent"] == RECORDS)
    finally:
        for proc in (node_a, node_b):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=PATIENCE)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    assert node_a.returncode == -signal.SIGKILL, log.read_text()[-3000:]
    mails = smtp_sink.messages
    got = Counter(m.rcpt_tos[0] for m in mails)
    assert set(got) == {f"r{n:04}@example.com" for n in range(RECORDS)}  # none lost
    twice = {who for who, count in got.items() if count > 1}
    assert all(count <= 2 for count in got.values())
    assert twice <= set(in_flight)  # only those inside their transaction at the kill
    assert all(before[who] == 1 for who in twice)
    for who in twice:  # the second copy is the same message
        ids = {m.message["Message-ID"] for m in mails if m.rcpt_tos[0] == who}
        assert ids == {f"<{in_flight[who]}>"}
    assert "claimed by a node that stopped or died" in log.read_text()
    print(
        f"\nkill -9 of node A mid-run, node B took over: {len(in_flight)} record(s) claimed"
        f" (sending) at the kill, {len(twice)} delivered twice, {RECORDS - len(twice)} once, 0 lost"
    )


async def test_an_accounts_cap_holds_across_nodes(
    tmp_path: Path, smtp_sink: SmtpSink, postgres: PostgresServer
) -> None:
    cap = 30
    async with (
        nodes(tmp_path, postgres.new_database(), 2) as (a, b),
        EngineClient(b.socket_path) as watcher,
        Stream(watcher) as on_b,  # a dashboard on node B
    ):
        async with EngineClient(a.socket_path) as op:
            await _campaign(op, smtp_sink)
            for name in ("One", "Two"):
                rows = "".join(f"Support;{name}{n}@example.com;;;name=R{n}\n" for n in range(40))
                await _dialer(op, smtp_sink, name, rows, SmtpCaps(per_minute=cap))
            await op.play_dialer("One")
        await _wait("node A runs One", lambda: len(a.dialer_runner.turns) == 1)
        await _wait(f"{cap} sent by node A", lambda: len(smtp_sink.messages) >= cap)
        # Node B's dashboard follows the dialer node A runs.
        await on_b.until(
            lambda e: isinstance(e, DialerProgress) and e.dialer == "One" and e.sent == cap,
            "One's progress, sent on node A, on node B's stream",
        )
        async with EngineClient(b.socket_path) as op:
            await op.play_dialer("Two")  # node B: its own memory has counted nothing
        await _wait("node B runs Two", lambda: len(b.dialer_runner.turns) == 1)
        assert a.dialer_runner.turns != b.dialer_runner.turns  # one each
        await asyncio.sleep(2.0)  # a node counting alone would send 30 more now
        sent = Counter(m.rcpt_tos[0][:3].lower() for m in smtp_sink.messages)
        assert sent == {"one": cap}, sent
