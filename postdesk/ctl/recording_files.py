"""`ctl recordings print ID [--out FILE] [--printer NAME]` and
`ctl recordings export ID --mbox FILE | --eml-dir DIR`: a recorded interaction as a PDF on
paper or on disk, or its mails as files. The engine makes the files and decides who may have
them (an agent: only their own interactions); this side only writes them or hands them to
`lp` (console/printing.py)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from console import printing
from console.savefile import save_bytes
from engine.client import EngineClient
from postdesk.ctl.errors import CtlInputError


def add_parsers(recordings: Any) -> None:
    """The two leaves under `ctl recordings` (`recordings` is the group's `_Leaves`)."""
    rprint = recordings.add_parser(
        "print",
        help="print an interaction (PDF) on the system printer, or write the PDF to a file",
        description="Without --out the PDF goes to CUPS (`lp`): to --printer, else the "
        "default destination. With --out it is written to FILE (never over an existing one).",
    )
    rprint.add_argument("id", type=int)
    rprint.add_argument("--out", default=None, metavar="FILE", help="write the PDF here")
    rprint.add_argument("--printer", default=None, metavar="NAME", help="a CUPS destination")
    rexport = recordings.add_parser(
        "export",
        help="an interaction's mails as .eml files (the stored bytes) or one mbox",
    )
    rexport.add_argument("id", type=int)
    where = rexport.add_mutually_exclusive_group(required=True)
    where.add_argument("--mbox", default=None, metavar="FILE", help="one mbox file (mboxrd)")
    where.add_argument(
        "--eml-dir", dest="eml_dir", default=None, metavar="DIR", help="one .eml per message"
    )


def _write_new(path: Path, data: bytes) -> Path:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError as exc:
        raise CtlInputError(f"{path} exists: not replaced") from exc
    except OSError as exc:
        raise CtlInputError(f"cannot write {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


async def recording_command(client: EngineClient, args: argparse.Namespace) -> dict[str, Any]:
    if args.action == "print":
        name, data = await client.recording_pdf(args.id)
        if args.out:
            path = _write_new(Path(args.out).expanduser(), data)
            return {"interaction": args.id, "written": str(path), "bytes": len(data)}
        try:
            job = printing.print_pdf(
                data, printer=args.printer, title=f"Postdesk interaction {args.id}"
            )
        except printing.PrintError as exc:
            raise CtlInputError(f"not printed: {exc.message} (--out FILE saves the PDF)") from exc
        return {"interaction": args.id, "printer": args.printer or "(default)", "job": job}
    if args.mbox:
        _, data = await client.recording_mbox(args.id)
        path = _write_new(Path(args.mbox).expanduser(), data)
        return {"interaction": args.id, "written": str(path), "bytes": len(data)}
    directory = Path(args.eml_dir).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CtlInputError(f"cannot create {directory}: {exc.strerror}") from exc
    mails = await client.recording_mails(args.id)
    written = [save_bytes(directory, mail.name, mail.data) for mail in mails.mails]
    rebuilt = sum(not mail.original for mail in mails.mails)
    return {
        "interaction": args.id,
        "directory": str(directory),
        "files": len(written),
        "rebuilt": rebuilt,
    }
