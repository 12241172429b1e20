"""An OS user outside the socket group is told which group to join: no traceback, no second engine.

The engine runs as a subprocess with a socket group; the console and `ctl` then run as a user
the socket refuses. As root (CI) that is root without the capabilities that bypass file
permissions (`setpriv --bounding-set`), the socket owned by `nobody` and its group one root is
not in; as another user, a socket mode that refuses its owner.
"""

from __future__ import annotations

import grp
import os
import shutil
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOBODY_UID = 65534
NO_BYPASS = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def postdesk() -> str:
    return str(Path(sysconfig.get_path("scripts")) / "postdesk")


def env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("POSTDESK_")}
    return clean | extra


def foreign_group() -> grp.struct_group:
    """A group the test process is not in (as root: any but root's own)."""
    mine = set(os.getgroups()) | {os.getgid()}
    for group in grp.getgrall():
        if group.gr_gid not in mine and group.gr_name not in ("root",):
            return group
    pytest.skip("no group this user is not a member of")


@pytest.fixture
def refused_user() -> list[str]:
    """The command prefix that runs as someone the socket refuses."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop root's permission bypass")
    return NO_BYPASS


class Engine:
    def __init__(self, home: Path, log: Path, group: str) -> None:
        self.home, self.log = home, log
        self.socket = home / "run" / "engine.sock"
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [postdesk(), "--data-dir", str(home), "engine"],
                env=env(POSTDESK_SOCKET_GROUP=group),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + 60
        while "engine started" not in log.read_text():
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    group = foreign_group() if os.geteuid() == 0 else grp.getgrgid(os.getgid())
    running = Engine(tmp_path / "home", tmp_path / "engine.log", group.gr_name)
    try:
        if os.geteuid() == 0:
            os.chown(running.socket, NOBODY_UID, -1)  # neither owner nor group is root
        else:
            os.chmod(running.socket, 0o060)  # the owner is refused, even in the group
        yield running
    finally:
        running.stop()


def run_as(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, postdesk(), *args],
        cwd=REPO,
        env=env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_user_outside_the_socket_group_is_told_which_group_to_join(
    engine: Engine, refused_user: list[str]
) -> None:
    group = grp.getgrgid(engine.socket.stat().st_gid).gr_name
    for command in (["agent"], [], ["ctl", "user", "list"]):
        proc = run_as(refused_user, "--data-dir", str(engine.home), *command)
        assert proc.returncode == 1, (command, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert str(engine.socket) in lines[0] and f"the group {group}" in lines[0], lines
        assert f"usermod -aG {group} " in lines[0], lines
    # No second engine was started beside the real one, which still runs and answers.
    assert engine.proc.poll() is None
    assert engine.log.read_text().count("engine started") == 1
    assert not (engine.home / "engine.log").exists()  # a console's in-process engine logs there
    listed = subprocess.run(
        [postdesk(), "--data-dir", str(engine.home), "ctl", "user", "list", "--json"],
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if os.geteuid() == 0:
        assert listed.returncode == 0 and listed.stdout.strip() == "[]", listed.stderr


def test_no_engine_and_a_data_dir_not_ours_starts_no_engine(
    engine: Engine, refused_user: list[str]
) -> None:
    """The installation's engine is stopped: a console of another user must not start one in
    its data dir; it says that the engine is not running."""
    engine.stop()
    home = engine.home
    if os.geteuid() == 0:
        os.chown(home, NOBODY_UID, -1)
    else:
        os.chmod(home, 0o511)

    def files() -> list[str]:
        return sorted(p.name for p in home.iterdir() if p.name != "ctl.log")

    before = files()
    for command in (["agent"], ["ctl", "user", "list"]):
        proc = run_as(refused_user, "--data-dir", str(home), *command)
        assert proc.returncode == 1, (command, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert f"no Postdesk engine answers at {engine.socket}" in proc.stderr, proc.stderr
        assert "start the engine" in proc.stderr, proc.stderr
    if os.geteuid() == 0:
        # Root could write there, but the database and key it made would lock the real
        # engine (running as the dir's owner) out of them.
        proc = run_as([], "--data-dir", str(home), "ctl", "user", "add", "ana")
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "runuser -u nobody -- postdesk" in proc.stderr, proc.stderr
    assert files() == before  # no database, key or socket of a second engine
    if os.geteuid() != 0:
        os.chmod(home, 0o711)


def test_an_engine_without_its_socket_group_says_so(tmp_path: Path) -> None:
    proc = subprocess.run(
        [postdesk(), "--data-dir", str(tmp_path / "home"), "engine"],
        env=env(POSTDESK_SOCKET_GROUP="no-such-postdesk-group"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "POSTDESK_SOCKET_GROUP=no-such-postdesk-group: there is no such group" in proc.stderr
    assert not (tmp_path / "home" / "run" / "engine.sock").exists()
