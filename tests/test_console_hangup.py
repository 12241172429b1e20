"""A console whose terminal hangs up leaves, even when SIGHUP is not sent to it.

The child runs the real console in a real pseudo-terminal with SIGHUP ignored, as when a
wrapper (make, uv run) is the session leader that gets the signal instead; closing the
terminal's master side is what an SSH disconnect does to it. Textual alone would spin on the
dead terminal at full CPU and keep the agent logged in.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import signal, sys
from pathlib import Path
signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under make or uv run: no SIGHUP for us
from console.app import PostdeskApp
from engine.client import EngineClient
app = PostdeskApp(lambda _u: EngineClient(Path(sys.argv[1])), mode="agent")
app.run()
sys.exit(app.return_code or 0)
"""


def test_the_console_leaves_when_its_terminal_hangs_up(tmp_path: Path) -> None:
    master, slave = os.openpty()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "no-engine.sock")],
        cwd=REPO,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    os.close(slave)
    try:
        # Wait until it has drawn something: it is up and reading its terminal.
        seen = b""
        deadline = time.monotonic() + 30
        while b"Postdesk" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                seen += os.read(master, 65536)
        assert b"Postdesk" in seen, seen[-500:]
        os.close(master)  # the SSH connection is gone
        assert child.wait(timeout=15) == 128 + signal.SIGHUP
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
