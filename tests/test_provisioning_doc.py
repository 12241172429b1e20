"""docs/provisioning.md as written: every `postdesk ctl` command of its shell blocks, in order.

The campaign of the page (its `support.toml`) is pointed at the test Dovecot and SMTP sink
instead of the machine's own; everything else runs as printed, through a `postdesk engine`
subprocess, and each command must succeed (`campaign test` included). Then mail sent to the
campaign's mailbox must become an interaction and get the page's confirmation, so the page
cannot promise what the product no longer does. The machine set-up commands around them
(useradd, apt-get, systemctl) are for a real machine and are not run here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sysconfig
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.binding import Binding

from console.screens.members import MembersScreen
from tests.patience import PATIENCE
from tests.servers import DovecotServer, Mailbox, SmtpSink

DOC = Path(__file__).resolve().parents[1] / "docs" / "provisioning.md"
SCRIPTS = Path(sysconfig.get_path("scripts"))


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), re.S)


def ctl_commands() -> list[str]:
    """The page's `postdesk ctl` lines, continuation lines joined, in the page's order."""
    commands = []
    for block in blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith("postdesk ctl "):
                commands.append(line.strip())
    return commands


def campaign_file(box: Mailbox, sink: SmtpSink) -> str:
    """The page's support.toml, with its servers swapped for the test's."""
    (text,) = [b for b in blocks("toml") if b.startswith("# support.toml")]
    fields = tomllib.loads(text)
    moved = {
        "imap_host": box.host,
        "imap_port": box.port,
        "imap_security": "plain",
        "imap_username": box.user,
        "smtp_host": sink.host,
        "smtp_port": sink.port,
        "smtp_security": "plain",
    }
    assert set(moved) <= set(fields), f"support.toml lost a field the page relies on: {fields}"
    fields.update(moved)
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in fields.items())


def env(home: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("POSTDESK_")}
    return clean | {
        "POSTDESK_HOME": str(home),
        "POSTDESK_POLL_SECONDS": "0.5",
        # Under load Dovecot once missed the push of the page's mail and would have told at
        # its own check, 30 s later: the engine's check (60 s by default) finds it sooner here.
        "POSTDESK_IDLE_CHECK_SECONDS": "5",
        "PATH": f"{SCRIPTS}{os.pathsep}{clean.get('PATH', '')}",
    }


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Path]:
    """`postdesk engine` on a fresh data dir, as the page's systemd unit runs it."""
    home = tmp_path / "home"
    log = tmp_path / "engine.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(SCRIPTS / "postdesk"), "engine"],
            env=env(home),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 60
        while "engine started" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield home
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert "Traceback" not in log.read_text(), log.read_text()


def ctl(home: Path, cwd: Path, command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],  # as typed: the page's quoting, $'...' and comments
        cwd=cwd,
        env=env(home),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_pages_ctl_commands_work_as_written(
    tmp_path: Path, engine: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    box = dovecot.new_mailbox("doc")
    (tmp_path / "support.toml").write_text(campaign_file(box, smtp_sink))
    commands = ctl_commands()
    assert any("campaign add --file support.toml" in c for c in commands), commands
    outputs = {}
    for command in commands:
        reads_password = "--imap-password -" in command
        proc = ctl(engine, tmp_path, command, box.password + "\n" if reads_password else "")
        assert proc.returncode == 0, f"{command}\nexited {proc.returncode}:\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, proc.stderr
        outputs[command] = proc.stdout
    tested = [out for command, out in outputs.items() if "campaign test" in command]
    assert tested and tested[0].startswith("Support: connected\n"), tested

    # What the page promises then: mail to the mailbox becomes an interaction, and the sender
    # gets the confirmation template the page set up.
    dovecot.append(
        box,
        b"From: Carla <carla@example.com>\nTo: support@example.com\n"
        b"Subject: My order has not arrived\nMessage-ID: <doc-1@example.com>\n\nHello?\n",
    )
    (confirmation,) = smtp_sink.wait_for(1, timeout=PATIENCE)
    assert confirmation.rcpt_tos == ["carla@example.com"]
    assert "we received your message" in confirmation.message.get_content()
    listed = ctl(engine, tmp_path, "postdesk ctl interaction list --json")
    (interaction,) = json.loads(listed.stdout)
    assert interaction["subject"] == "My order has not arrived"
    assert interaction["campaign_name"] == "Support"


def test_the_members_keys_on_the_page_are_the_dialogs() -> None:
    """The page names the members dialog's keys; they must be the ones it binds."""
    text = DOC.read_text()
    names = {"plus": "+", "minus": "-", "escape": "Esc"}
    for binding in MembersScreen.BINDINGS:
        assert isinstance(binding, Binding)
        shown = names.get(binding.key, binding.key)
        assert f"`{shown}`" in text or f" {shown} " in text, f"the page lacks {shown!r}"
