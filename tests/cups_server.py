"""A private CUPS scheduler for the printing tests, with one queue that prints to a file.

`cupsd -f` runs from a config written into a temp dir (its own socket, spool, state and
logs: the machine's CUPS is never touched), and `lpadmin` adds the queue `postdesk-test`
whose device is `file://<dir>/out/printed.pdf` (`FileDevice Yes`). A raw queue never runs
a filter, so nothing reaches a file device; the queue's tiny PPD names `gziptoany` (a
pass-through for anything not gzipped) for PDF, so the file gets the job's bytes exactly.
Clients reach it through `CUPS_SERVER=<dir>/cups.sock`, as every CUPS command honours.

CUPS is a hard requirement (scripts/ensure-cups.sh, `make cups`): a missing one raises
with what to install rather than skipping, so the print path is never silently untested.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.patience import PATIENCE

QUEUE = "postdesk-test"
HINT = "the printing tests need CUPS: `make cups` (scripts/ensure-cups.sh)"

PPD = """*PPD-Adobe: "4.3"
*FormatVersion: "4.3"
*FileVersion: "1.0"
*LanguageVersion: English
*LanguageEncoding: ISOLatin1
*PCFileName: "PDTEST.PPD"
*Manufacturer: "Postdesk"
*Product: "(Test)"
*ModelName: "Postdesk test printer"
*ShortNickName: "Postdesk test"
*NickName: "Postdesk test printer"
*PSVersion: "(3010.000) 0"
*cupsFilter2: "application/pdf application/vnd.cups-raw 0 gziptoany"
"""


@dataclass
class CupsServer:
    base: Path
    socket: Path
    printed: Path  # what the queue's device received

    @property
    def env(self) -> dict[str, str]:
        return {"CUPS_SERVER": str(self.socket)}

    def wait_printed(self, size: int) -> bytes:
        """The printed file once it holds `size` bytes (jobs run after `lp` returns)."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            if self.printed.exists() and self.printed.stat().st_size >= size:
                return self.printed.read_bytes()
            time.sleep(0.05)
        log = (self.base / "log" / "error_log").read_text(errors="replace")[-2000:]
        raise AssertionError(f"nothing printed to {self.printed}; cupsd said:\n{log}")


def _write_config(base: Path) -> Path:
    for name in ("etc", "spool", "state", "cache", "tmp", "log", "out"):
        (base / name).mkdir()
    # Filters run as the lp user: they must reach the spool and temp dirs.
    for name in ("tmp", "out"):
        (base / name).chmod(0o777)
    socket = base / "cups.sock"
    (base / "etc" / "cupsd.conf").write_text(
        f"Listen {socket}\nLogLevel info\nWebInterface No\nBrowsing No\n"
        "DefaultAuthType None\n<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
        "<Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
    )
    (base / "etc" / "cups-files.conf").write_text(
        f"ServerRoot {base}/etc\nRequestRoot {base}/spool\nStateDir {base}/state\n"
        f"CacheDir {base}/cache\nTempDir {base}/tmp\nErrorLog {base}/log/error_log\n"
        f"AccessLog {base}/log/access_log\nPageLog {base}/log/page_log\nFileDevice Yes\n"
    )
    (base / "test.ppd").write_text(PPD)
    return socket


@pytest.fixture
def cups() -> Iterator[CupsServer]:
    if not (shutil.which("cupsd") and shutil.which("lpadmin") and shutil.which("lp")):
        raise RuntimeError(HINT)
    # Not pytest's tmp_path: its 0700 parents would keep the lp user's filters out.
    base = Path(tempfile.mkdtemp(prefix="pd-cups-"))
    base.chmod(0o755)
    socket = _write_config(base)
    daemon = subprocess.Popen(
        ["cupsd", "-f", "-c", f"{base}/etc/cupsd.conf", "-s", f"{base}/etc/cups-files.conf"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {**os.environ, "CUPS_SERVER": str(socket)}
    try:
        deadline = time.monotonic() + PATIENCE
        while not socket.exists():
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cupsd did not start (exit {daemon.poll()}); {HINT}")
            time.sleep(0.05)
        printed = base / "out" / "printed.pdf"
        add = ["lpadmin", "-p", QUEUE, "-E", "-v", f"file://{printed}", "-P", f"{base}/test.ppd"]
        while subprocess.run(add, env=env, capture_output=True).returncode != 0:
            if time.monotonic() > deadline:  # the socket exists a moment before it answers
                raise RuntimeError(f"lpadmin could not add the test queue; {HINT}")
            time.sleep(0.1)
        yield CupsServer(base, socket, printed)
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        shutil.rmtree(base, ignore_errors=True)
