"""Killing the engine with SIGKILL in the middle of ingestion loses and duplicates nothing.

The engine kills itself at a named point (``engine.failpoints``: just before and just after a
batch commits), so the crash lands mid-ingestion however loaded the machine is; killing it
from outside when a counter looked right raced the engine and sometimes lost.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, TypeVar

import pytest

from engine.api.schemas import CampaignIn
from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine
from tests import db_probe
from tests.engine_fixtures import engine_settings, with_database
from tests.servers import DovecotServer

TOTAL = 500
T = TypeVar("T")


def mail(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <c{n}@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = f"Question number {n}"
    msg["Message-ID"] = f"<crash-{n}@example.net>"
    msg.set_content(f"Hello, this is message {n}.\n" + "Some padding text. " * 40)
    return msg.as_bytes()


def stored(settings: Settings) -> tuple[int, int, int]:
    """(messages, distinct Message-IDs, interactions), read while the engine writes (WAL)."""
    if not db_probe.is_postgresql(settings) and not (settings.home / "postdesk.db").exists():
        return (0, 0, 0)
    [(messages, distinct, interactions)] = db_probe.rows(
        settings,
        "SELECT (SELECT count(*) FROM messages), (SELECT count(DISTINCT message_id)"
        " FROM messages), (SELECT count(*) FROM interactions)",
    )
    return int(messages), int(distinct), int(interactions)


def index_counts(settings: Settings) -> tuple[int, int]:
    """How many interactions each recordings index finds for words every mail has; on
    SQLite after FTS5's own check of both indexes against their content (it raises when they
    disagree). PostgreSQL's indexes are expression indexes it keeps itself."""
    if db_probe.is_postgresql(settings):
        [(bodies, subjects)] = db_probe.rows(
            settings,
            "SELECT (SELECT count(DISTINCT interaction_id) FROM messages"
            " WHERE postdesk_words(text) @@ postdesk_query('hello')),"
            " (SELECT count(*) FROM interactions WHERE subject ILIKE '%Question number%')",
        )
        return int(bodies), int(subjects)
    with sqlite3.connect(settings.home / "postdesk.db", timeout=10) as conn:
        for table in ("search_interactions", "search_bodies"):
            conn.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
        (bodies,) = conn.execute(
            "SELECT count(*) FROM search_bodies WHERE search_bodies MATCH 'hello'"
        ).fetchone()
        (subjects,) = conn.execute(
            "SELECT count(*) FROM search_interactions"
            " WHERE search_interactions MATCH 'subject: \"Question number\"'"
        ).fetchone()
    return bodies, subjects


def start_engine(home: Path, log: Path, crash_at: str = "") -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "POSTDESK_CRASH_AT"}
    if crash_at:
        env["POSTDESK_CRASH_AT"] = crash_at
    with open(log, "ab") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "postdesk.cli", "--data-dir", str(home), "engine"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=with_database(home, env),
        )


def wait_until(
    check: Callable[[], T | Literal[False]],
    engine: subprocess.Popen[bytes],
    log: Path,
    timeout: float,
    what: str,
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not False:
            return value
        if engine.poll() is not None:
            raise AssertionError(f"the engine exited ({engine.returncode}):\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("crash_at", "stored_at_crash"),
    [
        # The second batch's blobs and rows are written but not committed: 200 survive.
        ("ingest-before-commit:2", 200),
        # The second batch is committed, nothing after it (flags, routing) has run: 400.
        ("ingest-committed:2", 400),
    ],
)
async def test_sigkill_during_ingest_loses_and_duplicates_nothing(
    dovecot: DovecotServer, tmp_path: Path, crash_at: str, stored_at_crash: int
) -> None:
    mailbox = dovecot.new_mailbox("crash")
    dovecot.append_many(mailbox, [mail(n) for n in range(TOTAL)])
    home = tmp_path / "home"
    provisioning = Engine(engine_settings(home), run_mail=False)
    await provisioning.start()
    async with EngineClient(provisioning.socket_path) as operator:
        await operator.add_campaign(mailbox.campaign("Crash"))
    await provisioning.stop()

    db = engine_settings(home)
    log = tmp_path / "engine.log"
    first = start_engine(home, log, crash_at)
    try:
        first.wait(120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL, log.read_text()[-3000:]
    at_kill = stored(db)
    assert at_kill == (stored_at_crash, stored_at_crash, stored_at_crash)
    # The search index commits (or not) with the rows: it never knows more or less.
    assert index_counts(db) == (stored_at_crash, stored_at_crash)

    second = start_engine(home, log)
    try:
        wait_until(lambda: stored(db)[0] >= TOTAL or False, second, log, 120, "every message")
        time.sleep(1.0)  # anything duplicated would show up now
        messages, distinct, interactions = stored(db)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(15)
    assert (messages, distinct, interactions) == (TOTAL, TOTAL, TOTAL), log.read_text()[-2000:]
    assert second.returncode == 0
    (last_uid,) = db_probe.row(db, "SELECT last_uid FROM mailbox_checkpoints")
    digests = [d for (d,) in db_probe.rows(db, "SELECT raw_sha256 FROM messages")]
    assert last_uid == TOTAL
    assert index_counts(db) == (TOTAL, TOTAL)
    if db_probe.is_postgresql(db):  # blobs in the database, with the rows (data/db_blobs.py)
        kept = {d for (d,) in db_probe.rows(db, "SELECT sha256 FROM blobs")}
        assert set(digests) <= kept
        return
    blobs = home / "blobs"
    assert all((blobs / d[:2] / d).is_file() for d in digests)  # the one-level layout


@pytest.mark.parametrize(
    ("crash_at", "stored_at_crash", "moved_at_crash"),
    [
        # Maildir batches as IMAP does (200 files a transaction): the second batch's rows are
        # written but not committed, the first batch's files are in cur/.
        ("ingest-before-commit:2", 200, 200),
        # The second batch committed and its files are still in new/: ingested again after the
        # restart, as duplicates the content hash skips.
        ("ingest-committed:2", 400, 200),
    ],
)
async def test_sigkill_during_maildir_ingest_loses_and_duplicates_nothing(
    tmp_path: Path, crash_at: str, stored_at_crash: int, moved_at_crash: int
) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True)
    for n in range(TOTAL):
        (maildir / "new" / f"{n:04d}.crash").write_bytes(mail(n))
    home = tmp_path / "home"
    provisioning = Engine(engine_settings(home), run_mail=False)
    await provisioning.start()
    async with EngineClient(provisioning.socket_path) as operator:
        await operator.add_campaign(
            CampaignIn(
                check=False,  # no SMTP server to log in to here: saved unchecked
                name="Crash",
                email_address="support@postdesk.test",
                inbound="maildir",
                maildir_path=str(maildir),
                smtp_host="127.0.0.1",
                smtp_security="plain",
            )
        )
    await provisioning.stop()

    db = engine_settings(home)
    log = tmp_path / "engine.log"
    first = start_engine(home, log, crash_at)
    try:
        first.wait(120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL, log.read_text()[-3000:]
    assert stored(db) == (stored_at_crash, stored_at_crash, stored_at_crash)
    assert len(os.listdir(maildir / "cur")) == moved_at_crash
    assert len(os.listdir(maildir / "new")) == TOTAL - moved_at_crash

    second = start_engine(home, log)
    try:
        wait_until(
            lambda: not os.listdir(maildir / "new") or False, second, log, 120, "new/ emptied"
        )
        time.sleep(1.0)  # anything duplicated would show up now
        messages, distinct, interactions = stored(db)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(15)
    assert (messages, distinct, interactions) == (TOTAL, TOTAL, TOTAL), log.read_text()[-2000:]
    assert second.returncode == 0
    assert len(os.listdir(maildir / "cur")) == TOTAL
