"""Leave when the terminal hangs up, even if SIGHUP never reaches the console.

Over SSH the kernel sends SIGHUP only to the session leader; when the console runs under
`make`, `uv run` or a wrapper script, that is not us, and Textual's input thread then spins
on the dead terminal (every read returns end of file) at full CPU, forever, with the agent
still connected to the engine. A hung-up terminal stops being a tty, which is cheap to check.
"""

from __future__ import annotations

import os
import sys


def terminal_fd() -> int | None:
    """The terminal the console reads from, or None when there is none (tests, pipes)."""
    stdin = sys.__stdin__
    if stdin is None:
        return None
    try:
        fd = stdin.fileno()
    except (OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None


def hung_up(fd: int) -> bool:
    return not os.isatty(fd)
