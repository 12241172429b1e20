"""`postdesk ctl campaign oauth|authorize` as an admin runs them, against a `postdesk engine`
subprocess, the loopback identity provider, Dovecot's oauth2 passdb and the XOAUTH2 sink.

The admin sees the address and the code at once, signs in elsewhere, and the command ends by
itself saying "authorized" (exit 0), or saying the sign-in was refused (exit 1). The
connection test then shows the token step; a revoked grant shows there with what to do. No
token appears in anything the command prints or the engine logs.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import cli_env, postdesk_script
from tests.oauth_idp import CLIENT_ID, CLIENT_SECRET, IdentityProvider
from tests.servers import DovecotServer, SmtpSink, start_dovecot, start_smtp_sink

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return cli_env(
        POSTDESK_OAUTH_CUSTOM_CLIENT_ID=CLIENT_ID,
        POSTDESK_OAUTH_CUSTOM_CLIENT_SECRET=CLIENT_SECRET,
    )


class Engine:
    """`postdesk --data-dir HOME engine`, its output in a log file."""

    def __init__(self, home: Path, log: Path) -> None:
        self.home, self.log = home, log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(postdesk_script()), "--data-dir", str(home), "engine"],
                cwd=REPO,
                env=_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + 60
        while not (home / "run" / "engine.sock").exists():
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider(interval=1) as provider:
        yield provider


@pytest.fixture
def oauth_dovecot(tmp_path: Path, idp: IdentityProvider) -> Iterator[DovecotServer]:
    server = start_dovecot(tmp_path / "dc", oauth_introspection_url=idp.introspection_url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sink(idp: IdentityProvider) -> Iterator[SmtpSink]:
    with start_smtp_sink(oauth_check=idp.check) as server:
        yield server


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    running = Engine(tmp_path / "home", tmp_path / "engine.log")
    try:
        yield running
    finally:
        running.stop()


def ctl(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(postdesk_script()), "--data-dir", str(engine.home), "ctl", *args],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def authorize(engine: Engine, idp: IdentityProvider, user: str | None) -> tuple[int, str, str]:
    """Run `ctl campaign authorize Support`, read the code it prints, approve it (or deny it
    when `user` is None) at the provider, and return (exit status, stdout, stderr)."""
    with subprocess.Popen(
        [str(postdesk_script()), "--data-dir", str(engine.home), "ctl"]
        + ["campaign", "authorize", "Support"],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        lines: list[str] = []
        code = ""
        try:
            while not code:
                line = proc.stdout.readline()
                assert line, f"ended before showing a code: {lines}"
                lines.append(line)
                if "enter the code" in line:
                    code = line.split()[-1]
            assert idp.wait_for_user_code() == code
            if user is None:
                idp.deny(code)
            else:
                idp.approve(code, user)
            # Not communicate(): it reads the pipe itself, losing what readline() buffered.
            out = proc.stdout.read()
            err = proc.stderr.read()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    return proc.returncode, "".join(lines) + out, err


def test_authorize_from_the_terminal_then_test_then_revoked(
    engine: Engine, idp: IdentityProvider, oauth_dovecot: DovecotServer, sink: SmtpSink
) -> None:
    box = oauth_dovecot.new_mailbox("ctl")
    outputs: list[str] = []

    def ok(*args: str) -> str:
        proc = ctl(engine, *args)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        outputs.extend([proc.stdout, proc.stderr])
        return proc.stdout

    ok(
        "campaign",
        "add",
        "--name",
        "Support",
        "--email-address",
        "support@example.test",
        "--inbound",
        "imap",
        "--imap-host",
        oauth_dovecot.host,
        "--imap-port",
        str(oauth_dovecot.port),
        "--imap-security",
        "plain",
        "--imap-username",
        box.user,
        "--smtp-host",
        sink.host,
        "--smtp-port",
        str(sink.port),
        "--smtp-security",
        "plain",
        "--smtp-username",
        box.user,
        "--no-check",
    )  # fmt: skip  (saved before it is authorized: nothing to log in with)
    configured = json.loads(
        ok(
            "campaign",
            "oauth",
            "Support",
            "--provider",
            "custom",
            "--device-url",
            idp.device_url,
            "--token-url",
            idp.token_url,
            "--scope",
            "mail offline_access",
            "--json",
        )  # fmt: skip
    )
    assert configured["auth"] == "oauth2" and configured["state"] == "not-authorized"
    assert configured["client_configured"] is True

    # Refused at the provider: a clear message, exit 1.
    status, out, err = authorize(engine, idp, None)
    outputs.extend([out, err])
    assert status == 1, out + err
    assert "state: denied: the sign-in was refused" in out

    status, out, err = authorize(engine, idp, box.user)
    outputs.extend([out, err])
    assert status == 0, out + err
    assert idp.verification_uri in out
    assert "Waiting" in out and "state: authorized since" in out

    report = ok("campaign", "test", "Support")
    assert report.splitlines()[:2] == [
        "Support: connected",
        "IMAP  ✓ resolve ✓ token ✓ connect ✓ login ✓ mailbox ✓ ok",
    ], report
    assert "SMTP  ✓ resolve ✓ token ✓ connect ✓ login ✓ ok" in report

    idp.revoke(box.user)
    idp.expire_access_tokens()
    proc = ctl(engine, "campaign", "test", "Support")
    outputs.extend([proc.stdout, proc.stderr])
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[1] == "IMAP  ✓ resolve ✗ token", lines
    assert "revoked" in lines[2] and "ctl campaign authorize 'Support'" in lines[2], lines
    shown = ok("campaign", "oauth", "Support")
    assert "state: revoked: the provider refused" in shown and "sign in: postdesk ctl" in shown

    engine.stop()
    seen = "\n".join(outputs) + engine.log.read_text()
    secrets = idp.issued_secrets()
    assert len(secrets) >= 4
    for secret in secrets:
        assert secret not in seen
