"""What Postdesk writes stays private, and a copy of the data dir does not carry the key.

Logs are read by their owner only, like the database. The key that encrypts mailbox passwords
can live outside the data dir (`POSTDESK_KEY_FILE`, or a systemd credential in
`$CREDENTIALS_DIRECTORY`); a data dir copied without it says plainly that the passwords cannot
be decrypted, in the campaign test and in the log, and never with a traceback.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from engine.api.schemas import CampaignIn, MessageOut, NewInteractionIn, UserIn
from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine
from tests.engine_fixtures import eventually
from tests.servers import DovecotServer, SmtpSink

NOT_DECRYPTED = "cannot decrypt the stored mailbox passwords with the key"


def ctl(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postdesk.cli", "--data-dir", str(home), "ctl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask, under which files are 0644
    )


def test_the_ctl_log_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    done = ctl(home, "user", "list")
    assert done.returncode == 0, done.stderr
    log = home / "ctl.log"
    assert "engine started" in log.read_text()
    assert log.stat().st_mode & 0o777 == 0o600
    # One written by an earlier version, world-readable, is made private on the next use.
    log.chmod(0o644)
    assert ctl(home, "user", "list").returncode == 0
    assert log.stat().st_mode & 0o777 == 0o600


def stored_passwords(home: Path) -> list[bytes]:
    with sqlite3.connect(home / "postdesk.db") as db:
        rows = db.execute("SELECT imap_password_enc, smtp_password_enc FROM campaigns").fetchall()
    return [value for row in rows for value in row if value]


async def add_campaign(settings: Settings, dovecot: DovecotServer, sink: SmtpSink) -> str:
    """A campaign with both passwords, tested against the real servers; its IMAP password."""
    mailbox = dovecot.new_mailbox("keyed")
    engine = Engine(settings, run_mail=False)
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            await operator.add_campaign(
                mailbox.campaign(
                    "Keyed",
                    smtp_host=sink.host,
                    smtp_port=sink.port,
                    smtp_username="relay",
                    smtp_password="relay-secret",
                    check=False,  # the sink offers no AUTH; the IMAP login is tested below
                )
            )
            report = await operator.test_campaign("Keyed")
            assert report.checks[0].ok, report  # IMAP logged in with the decrypted password
    finally:
        await engine.stop()
    return mailbox.password


async def test_a_data_dir_copied_without_its_key_cannot_decrypt_the_passwords(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    home, key = tmp_path / "home", tmp_path / "etc-postdesk" / "secret.key"
    settings = Settings.from_env({"POSTDESK_KEY_FILE": str(key)}, home=home)
    password = await add_campaign(settings, dovecot, smtp_sink)
    assert key.stat().st_mode & 0o777 == 0o600
    assert not (home / "secret.key").exists()
    database = (home / "postdesk.db").read_bytes()
    assert password.encode() not in database and b"relay-secret" not in database
    assert len(stored_passwords(home)) == 2

    copy = tmp_path / "elsewhere"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("run"))
    caplog.set_level(logging.INFO)
    engine = Engine(Settings.from_env({}, home=copy), run_mail=False)
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            report = await operator.test_campaign("Keyed")
    finally:
        await engine.stop()
    assert not report.ok
    for check in report.checks:
        assert (check.ok, check.step) == (False, "login")
        assert NOT_DECRYPTED in check.detail and "restore that key" in check.detail
    said = [r for r in caplog.records if NOT_DECRYPTED in r.getMessage()]
    assert said and all(r.levelno == logging.ERROR and r.exc_info is None for r in said)
    assert not any(r.exc_info for r in caplog.records)


async def test_the_key_comes_from_a_systemd_credential(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir(mode=0o500)
    key = Fernet.generate_key()
    (credentials / "postdesk.key").write_bytes(key)
    (credentials / "postdesk.key").chmod(0o400)
    home = tmp_path / "home"
    settings = Settings.from_env({"CREDENTIALS_DIRECTORY": str(credentials)}, home=home)
    assert settings.key == credentials / "postdesk.key"
    password = await add_campaign(settings, dovecot, smtp_sink)
    assert not (home / "secret.key").exists()
    decrypted = {Fernet(key).decrypt(token).decode() for token in stored_passwords(home)}
    assert decrypted == {password, "relay-secret"}
    # An explicit POSTDESK_KEY_FILE still wins over the credential.
    chosen = Settings.from_env(
        {"CREDENTIALS_DIRECTORY": str(credentials), "POSTDESK_KEY_FILE": "/etc/postdesk/k"},
        home=home,
    )
    assert chosen.key == Path("/etc/postdesk/k")


async def test_a_password_that_cannot_be_decrypted_holds_up_only_its_own_campaign(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    """On a data dir copied without its key, mail of a campaign that logs in to its SMTP
    server waits, saying why; mail of a campaign that needs no password still goes out."""
    home, key = tmp_path / "home", tmp_path / "etc-postdesk" / "secret.key"
    server = {"smtp_host": smtp_sink.host, "smtp_port": smtp_sink.port, "smtp_security": "plain"}
    engine = Engine(Settings.from_env({"POSTDESK_KEY_FILE": str(key)}, home=home))
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            await operator.add_user(UserIn(username="agent1", roles=["agent"]))
            for name, login in (("Locked", {"smtp_username": "relay"}), ("Open", {})):
                await operator.add_campaign(
                    CampaignIn(
                        name=name,
                        email_address=f"{name.lower()}@postdesk.test",
                        receive_emails=False,
                        smtp_password="relay-secret" if login else "",
                        **server,
                        **login,
                        check=False,  # the sink offers no AUTH; the outbox is the test
                    )
                )
                await operator.add_member(name, "agent1")
    finally:
        await engine.stop()

    copy = tmp_path / "elsewhere"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("run"))
    settings = Settings.from_env({}, home=copy, outbox_retry_base=0.2)
    engine = Engine(settings)
    await engine.start()
    try:
        async with EngineClient(engine.socket_path, act_as="agent1") as agent:
            locked = await agent.new_interaction(
                NewInteractionIn(campaign="Locked", to="a@example.org", subject="One", body="1")
            )
            await agent.new_interaction(
                NewInteractionIn(campaign="Open", to="b@example.org", subject="Two", body="2")
            )
            [sent] = await smtp_sink.await_count(1)
            assert sent.rcpt_tos == ["b@example.org"]

            async def locked_message() -> MessageOut:
                return (await agent.interaction(locked.id)).messages[-1]

            waiting = await eventually(
                locked_message, lambda m: NOT_DECRYPTED in m.error, what="the reason it waits"
            )
            assert waiting.state == "queued"
    finally:
        await engine.stop()
    assert len(smtp_sink.messages) == 1
