"""`postdesk ctl` for campaign administration, as a script runs it (subprocesses, an engine
started for each command): the login check and --no-check, members in bulk, removal."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli_helpers import cli_env, postdesk_script
from tests.servers import DovecotServer, SmtpSink, free_port

REPO = Path(__file__).resolve().parents[1]


def ctl(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(postdesk_script()), "--data-dir", str(home), "ctl", *args],
        cwd=REPO,
        env=cli_env(),
        stdin=subprocess.DEVNULL,  # not a terminal: nothing is asked
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(home: Path, *args: str) -> str:
    proc = ctl(home, *args)
    assert proc.returncode == 0, f"ctl {args} exited {proc.returncode}:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def refused(home: Path, *args: str, expect: str) -> None:
    proc = ctl(home, *args)
    assert proc.returncode != 0 and proc.stdout == "", proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    assert expect in proc.stderr, proc.stderr


def test_ctl_checks_logins_adds_members_in_bulk_and_removes(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    home = tmp_path / "home"
    box = dovecot.new_mailbox("ctladmin")
    imap = [
        *("--inbound", "imap", "--imap-host", dovecot.host, "--imap-port", str(dovecot.port)),
        *("--imap-security", "plain", "--imap-username", box.user),
    ]
    smtp = [
        *("--smtp-host", smtp_sink.host, "--smtp-port", str(smtp_sink.port)),
        *("--smtp-security", "plain"),
    ]
    support = ["--name", "Support", "--email-address", "support@example.test", *imap, *smtp]
    refused(
        home,
        "campaign",
        "add",
        *support,
        "--imap-password=wrong",
        expect="imap_password: IMAP login failed (resolve, connect passed)",
    )
    ok(home, "campaign", "add", *support, f"--imap-password={box.password}")
    closed = str(free_port())
    refused(
        home,
        "campaign",
        "set",
        "Support",
        "--smtp-port",
        closed,
        expect="smtp_host: SMTP connect failed",
    )
    sales = ["--name", "Sales", "--email-address", "sales@example.test", "--inbound", "none"]
    offline = [*sales, "--smtp-host", "127.0.0.1", "--smtp-port", closed, "--no-check"]
    ok(home, "campaign", "add", *offline)

    for user in ("ana", "ben"):
        ok(home, "user", "add", user)
    refused(
        home,
        *("member", "add", "--campaign", "Support", "--user", "ana", "--user", "nobody"),
        expect="no user 'nobody'",
    )
    bulk = ("--campaign", "Support", "--campaign", "Sales", "--user", "ana", "--user", "ben")
    added = json.loads(ok(home, "member", "add", *bulk, "--json"))
    assert (added["added"], added["unchanged"]) == (4, 0)
    assert added["campaigns"] == {"Sales": ["ana", "ben"], "Support": ["ana", "ben"]}
    removed = json.loads(ok(home, "member", "remove", "Sales", "--user", "ben", "--json"))
    assert removed["campaigns"] == {"Sales": ["ana"]}
    refused(home, "member", "add", "--user", "ana", expect="at least one --campaign")

    refused(home, "campaign", "remove", "Sales", expect="add --yes")
    gone = json.loads(ok(home, "campaign", "remove", "Sales", "--yes", "--json"))
    assert (gone["campaign"], gone["moved"], gone["members"]) == ("Sales", 0, ["ana"])
    listed = json.loads(ok(home, "campaign", "list", "--json"))
    assert [c["name"] for c in listed] == ["Support"]
    users = {u["username"]: u["campaigns"] for u in json.loads(ok(home, "user", "list", "--json"))}
    assert users == {"ana": ["Support"], "ben": ["Support"]}
    refused(home, "campaign", "remove", "Sales", "--yes", expect="no campaign 'Sales'")
    ok(home, "campaign", "add", *offline)  # the name is free again
