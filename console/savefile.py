"""Saving an attachment under a name a stranger chose, without letting the name escape.

The file name in a mail is attacker-controlled: `../../etc/passwd`, `/root/.bashrc`, `..`,
control characters, a name that already exists. Only the last path component is kept, it
must stay inside the chosen directory once resolved, and an existing file is never replaced:
`report.pdf` becomes `report (1).pdf`. The file is created with O_EXCL, so a name that
appears between the check and the write (or a planted symlink) is not followed either.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

MAX_NAME_BYTES = 255
MAX_SUFFIXES = 1000


class UnsafeFilename(ValueError):
    """The attachment's name cannot be used as a file name in the chosen directory."""


def clean_name(filename: str) -> str:
    """The last path component with control and format characters removed."""
    # Mail from Windows users carries backslashes; treat them as separators too.
    name = os.path.basename(filename.replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if name in ("", ".", ".."):
        raise UnsafeFilename(f"not a usable file name: {filename!r}")
    while len(name.encode()) > MAX_NAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[:-1]}{dot}{ext}" if stem and len(ext) < 16 else name[:-1]
    return name


def target_in(directory: Path, filename: str) -> Path:
    """Where `filename` goes inside `directory`; refuses names that would leave it."""
    base = directory.expanduser().resolve()
    name = clean_name(filename)
    target = base / name
    # Resolve the directory part only: a symlink already sitting at `name` is never written
    # through (save_bytes opens with O_EXCL | O_NOFOLLOW and picks another name).
    resolved = target.parent.resolve() / target.name
    if resolved.parent != base or not resolved.is_relative_to(base):
        raise UnsafeFilename(f"{filename!r} would be saved outside {base}")
    return resolved


def numbered(path: Path, n: int) -> Path:
    """`name.ext` -> `name (n).ext`; the first call (n = 0) gives the path itself."""
    if n == 0:
        return path
    suffix = "".join(path.suffixes[-1:])
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    mark = f" ({n})"
    # A name already at the file system's limit: the stem gives way, never the number.
    room = MAX_NAME_BYTES - len(f"{mark}{suffix}".encode())
    if room < 1:
        suffix, room = "", MAX_NAME_BYTES - len(mark.encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore")
    return path.with_name(f"{stem}{mark}{suffix}")


def save_bytes(directory: Path, filename: str, data: bytes) -> Path:
    """Write `data` as a new file in `directory`; returns the path actually written."""
    target = target_in(directory, filename)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"no such directory: {target.parent}")
    for n in range(MAX_SUFFIXES):
        candidate = numbered(target, n)
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return candidate
    raise FileExistsError(f"too many files named like {target.name} in {target.parent}")
