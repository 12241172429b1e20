"""Exactly once across a kill -9: a real engine process sending a dialer's list to the SMTP
sink is killed with SIGKILL mid-run and started again. Every record is delivered; only
those inside their SMTP transaction at the kill (state `sending`) may arrive twice, and a
second copy carries the same Message-ID."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from engine.api.schemas import CampaignIn, DialerIn, SmtpCaps, TemplateIn
from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine
from tests import db_probe
from tests.engine_fixtures import engine_settings, with_database
from tests.patience import PATIENCE
from tests.servers import SmtpSink

RECORDS = 400


def _engine_process(home: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "postdesk.cli", "--data-dir", str(home), "engine"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=with_database(home, dict(os.environ)),  # the run's database (SQLite or PG)
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


async def test_a_kill_9_mid_run_sends_every_record_once_but_those_in_flight(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    home = tmp_path / "home"
    settings = engine_settings(home)
    setup = Engine(settings, run_mail=False)
    await setup.start()
    async with EngineClient(setup.socket_path) as op:
        await op.add_campaign(
            CampaignIn(
                check=False,
                name="Support",
                email_address="news@example.com",
                inbound="none",
                smtp_host=smtp_sink.host,
                smtp_port=smtp_sink.port,
                smtp_security="plain",
            )
        )
        await op.add_template(TemplateIn(name="T", kind="dialer", body_text="Dear ${name}."))
        await op.add_dialer(
            DialerIn(
                name="News",
                campaign="Support",
                template="T",
                seconds_between_messages=0,
                caps=SmtpCaps(connections=3),
            )
        )
        rows = "".join(f"Support;r{n:04}@example.com;;;name=R{n}\n" for n in range(RECORDS))
        await op.upload_list("News", rows.encode(), name="L", subject="Hello ${name}")
        await op.play_dialer("News")  # this engine sends nothing: the next one will
    await setup.stop()

    log = tmp_path / "engine.log"
    smtp_sink.data_delay = 0.01  # each DATA takes a while: the kill lands mid-transaction
    dying = _engine_process(home, log)
    try:
        await _wait("a third of the list sent", lambda: len(smtp_sink.messages) >= RECORDS // 3)
        dying.send_signal(signal.SIGKILL)
        dying.wait(timeout=PATIENCE)
    finally:
        if dying.poll() is None:
            dying.kill()
            dying.wait()  # reaped here, whatever failed: never left to a later test
    assert dying.returncode == -signal.SIGKILL, log.read_text()[-3000:]
    await asyncio.sleep(0.3)  # transactions the sink was finishing land
    before = Counter(m.rcpt_tos[0] for m in smtp_sink.messages)
    in_flight = _in_flight(settings)
    states = _states(settings)
    assert states["sending"] == len(in_flight) > 0 and states["sent"] < RECORDS, states

    smtp_sink.data_delay = 0.0
    again = _engine_process(home, log)
    try:
        await _wait("every record processed", lambda: _states(settings)["sent"] == RECORDS)
    finally:
        again.send_signal(signal.SIGTERM)
        try:
            again.wait(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            again.kill()
            again.wait()
            raise

    mails = smtp_sink.messages
    got = Counter(m.rcpt_tos[0] for m in mails)
    assert set(got) == {f"r{n:04}@example.com" for n in range(RECORDS)}  # none lost
    twice = {who for who, count in got.items() if count > 1}
    assert all(count <= 2 for count in got.values())
    assert twice <= set(in_flight)  # only those inside their transaction at the kill
    assert all(before[who] == 1 for who in twice)  # the first copy had arrived before the kill
    for who in twice:  # the second copy is the same message
        ids = {m.message["Message-ID"] for m in mails if m.rcpt_tos[0] == who}
        assert ids == {f"<{in_flight[who]}>"}
    print(
        f"\nkill -9 mid-run: {len(in_flight)} record(s) claimed (sending) at the kill,"
        f" {len(twice)} delivered twice, {RECORDS - len(twice)} once, 0 lost"
    )
