"""The system printer, through CUPS's own commands (`lp`, `lpstat`).

The person printing runs `lp`, not the engine: the job is theirs in the queue (`lpq` shows
their name, quotas and accounting apply to them), and it goes to the printers of the machine
their console runs on. No CUPS on the machine (no `lp`, or no scheduler answering) means no
printer: the console offers to save the PDF instead.

CUPS's own environment applies as usual (`CUPS_SERVER`, `PRINTER`, `~/.cups/lpoptions`).
No shell is involved: the title, made from the interaction's number only, is an argument.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

TIMEOUT = 20.0
_JOB = re.compile(r"request id is (\S+)")


class PrintError(RuntimeError):
    """`lp` refused the job or could not reach the scheduler; `message` is its own words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Printers:
    names: list[str]
    default: str | None  # CUPS's default destination, if one is set


def available() -> bool:
    return shutil.which("lp") is not None


def _run(args: list[str], data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=data, capture_output=True, timeout=TIMEOUT, check=False)


def printers() -> Printers:
    """The destinations the scheduler knows; none when CUPS is missing or not answering."""
    if shutil.which("lpstat") is None:
        return Printers([], None)
    try:
        listed = _run(["lpstat", "-e"])
        default = _run(["lpstat", "-d"])
    except (OSError, subprocess.TimeoutExpired):
        return Printers([], None)
    if listed.returncode != 0:
        return Printers([], None)
    names = [line.strip() for line in listed.stdout.decode(errors="replace").splitlines()]
    names = [name for name in names if name]
    found = re.search(r"destination:\s*(\S+)", default.stdout.decode(errors="replace"))
    chosen = found.group(1) if found and found.group(1) in names else None
    return Printers(names, chosen)


def print_pdf(data: bytes, *, printer: str | None, title: str) -> str:
    """Queue `data` (a PDF) on `printer` (None: CUPS's default); returns the job id."""
    if not available():
        raise PrintError("no `lp` on this machine (CUPS is not installed)")
    args = ["lp", "-t", title]
    if printer:
        if printer.startswith("-"):
            raise PrintError(f"not a printer name: {printer!r}")
        args += ["-d", printer]
    try:
        done = _run(args, data)  # no file named: lp reads the job from standard input
    except subprocess.TimeoutExpired as exc:
        raise PrintError("the print scheduler did not answer") from exc
    except OSError as exc:
        raise PrintError(f"cannot run lp: {exc}") from exc
    said = (done.stderr or done.stdout).decode(errors="replace").strip()
    if done.returncode != 0:
        raise PrintError(said or f"lp failed (exit {done.returncode})")
    job = _JOB.search(done.stdout.decode(errors="replace"))
    return job.group(1) if job else said
