"""Editing a long body in the agent's own editor (`$VISUAL`, then `$EDITOR`, then `vi`).

The text goes to a private temp file, the app is suspended (the editor owns the terminal),
then the file is read back. Under a headless test driver there is no terminal to hand over,
so the editor runs without suspending; anywhere else that cannot suspend (Textual Web), the
caller is told the editor is unavailable.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from textual.app import App, SuspendNotSupported


class EditorFailed(RuntimeError):
    """The editor could not be run, or exited with an error: the text is unchanged."""


def editor_command() -> list[str]:
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(command)


def _run(command: list[str]) -> int:
    try:
        return subprocess.run(command, check=False).returncode
    except OSError as exc:
        raise EditorFailed(f"cannot run {command[0]}: {exc}") from exc


def edit_text(app: App[object], text: str, *, suffix: str = ".txt") -> str:
    """Open `text` in the editor and return what was saved (blocks until it exits)."""
    fd, name = tempfile.mkstemp(prefix="postdesk-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            # Editors and `echo >>` expect the last line to be terminated.
            out.write(text if not text or text.endswith("\n") else text + "\n")
        command = [*editor_command(), str(path)]
        try:
            with app.suspend():
                code = _run(command)
        except SuspendNotSupported:
            if not app.is_headless:
                raise EditorFailed("an external editor cannot run in this terminal") from None
            code = _run(command)
        if code != 0:
            raise EditorFailed(f"{command[0]} exited with status {code}; the text is unchanged")
        return path.read_text(encoding="utf-8", errors="replace")
    finally:
        path.unlink(missing_ok=True)
