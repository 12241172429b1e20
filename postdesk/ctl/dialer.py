"""`postdesk ctl dialer ...`: the email dialer's records, lists and attachments.

`add|set|list|remove` dialers; `list-upload` a CSV into a list (prints the import report),
`lists`, `list-remove`; `attach` a file (prints the token to paste into a CSV),
`attachments`, `detach`; `example-csv FILE` writes the example list; `play`, `stop`,
`status` run a dialer. `--event-*` set the attach schedule (an invitation),
`--no-event` removes it. Every command takes `--json`.
"""

from __future__ import annotations

import argparse
import mimetypes
from pathlib import Path
from typing import Any

from msgspec.structs import replace

from engine.api.schedule_text import ScheduleTextError, parse_window, window_text
from engine.api.schemas import (
    DialerIn,
    DialerOut,
    DialerPatch,
    DialerRecordQuery,
    DialerRecordRow,
    DialerStatus,
    ImportReport,
    SmtpCaps,
    convert,
)
from engine.client import EngineClient
from engine.client.exports import dialer_records_csv
from engine.text.sanitize import one_line
from postdesk.ctl.errors import CtlInputError
from postdesk.ctl.output import CsvText

__all__ = ["add_dialer_parser", "dialer_command"]

_CAPS = ("per_minute", "per_hour", "per_day", "connections")


def add_dialer_parser(group: Any) -> None:
    """`group` makes a noun's subcommands (parser.py's `group`)."""
    dialer = group("dialer", "the email dialer: dialers, their lists and attachments")
    add = dialer.add_parser("add", help="add a dialer sending through an email campaign")
    add.add_argument("name")
    add.add_argument("--campaign", required=True, help="the email campaign it sends through")
    _record_options(add)
    dset = dialer.add_parser("set", help="change some fields of a dialer")
    dset.add_argument("name")
    dset.add_argument("--name", dest="new_name", default=None, help="rename it")
    dset.add_argument("--campaign", default=None)
    _record_options(dset)
    dialer.add_parser("list", help="list dialers")
    remove = dialer.add_parser(
        "remove", help="remove a dialer (refused while it runs or has lists)"
    )
    remove.add_argument("name")

    upload = dialer.add_parser(
        "list-upload",
        help="import a CSV (campaign;emailRecipient;message;attachments;variables;priority)"
        " into a new list, or --append to one; prints the import report",
    )
    upload.add_argument("dialer")
    upload.add_argument("file", type=Path)
    upload.add_argument("--name", required=True, help="the list's name")
    upload.add_argument("--subject", default="", help="the mail's subject; ${variables} allowed")
    upload.add_argument("--append", action="store_true", help="add the rows to that list")
    upload.add_argument(
        "--encoding", default="", help="the file's encoding when not UTF-8 (e.g. cp1252)"
    )
    lists = dialer.add_parser("lists", help="a dialer's lists, with their record counts")
    lists.add_argument("dialer")
    lremove = dialer.add_parser("list-remove", help="remove a list by its id (not while running)")
    lremove.add_argument("id", type=int)

    attach = dialer.add_parser(
        "attach", help="upload a file for lists to attach; prints the token for the CSV"
    )
    attach.add_argument("file", type=Path)
    attach.add_argument("--content-type", default="", help="default: guessed from the name")
    dialer.add_parser("attachments", help="dialer attachments and how many lists name each")
    detach = dialer.add_parser("detach", help="remove an attachment no list names")
    detach.add_argument("token")
    example = dialer.add_parser("example-csv", help="write an example list to FILE")
    example.add_argument("file", type=Path)
    example.add_argument("--campaign", default="", help="the campaign the rows name")
    for verb, text in (
        ("play", "start sending (resumes where it stopped)"),
        ("stop", "stop sending once the messages in flight are sent"),
        ("status", "what a dialer has sent, per list, and whether it is on schedule"),
    ):
        dialer.add_parser(verb, help=text).add_argument("name")
    records = dialer.add_parser(
        "records", help="a dialer's records one by one: by list, state and text (--csv: all)"
    )
    records.add_argument("name")
    records.add_argument("--list", default="", help="one list (its name)")
    records.add_argument(
        "--state",
        default="",
        choices=("pending", "sending", "skipped", "sent", "failed", "seen", "rejected", "spam"),
    )
    records.add_argument("--search", default="", help="any part of the address or the reason")
    records.add_argument("--page", type=int, default=1)
    records.add_argument("--csv", action="store_true", help="every match as CSV, for a spreadsheet")


def _record_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seconds-between",
        dest="seconds_between_messages",
        type=float,
        default=None,
        help="seconds between two messages of this dialer (0: as fast as the caps allow)",
    )
    parser.add_argument("--time-zone", default=None, help="IANA name of its schedule's zone")
    parser.add_argument(
        "--window",
        action="append",
        default=None,
        metavar="WINDOW",
        help="when it sends, e.g. 'mon-fri 13:00-18:00' (repeatable; replaces the windows)",
    )
    parser.add_argument(
        "--always", action="store_true", help="no weekly window: any hour of its dates"
    )
    parser.add_argument("--starts-on", default=None, help="first day (YYYY-MM-DD; '' none)")
    parser.add_argument("--ends-on", default=None, help="last day, included ('' none)")
    parser.add_argument("--template", default=None, help="a dialer template's name ('' none)")
    html = parser.add_mutually_exclusive_group()
    html.add_argument(
        "--unsubscribe-html", default=None, help='HTML holding <a id="unsubscribe_link">..</a>'
    )
    html.add_argument("--unsubscribe-file", type=Path, default=None, help="read it from a file")
    _event_options(parser)
    for cap in _CAPS:
        parser.add_argument(
            "--" + cap.replace("_", "-"),
            dest=cap,
            type=int,
            default=None,
            help="SMTP account cap, shared by its dialers"
            + (" (concurrent connections)" if cap == "connections" else " (messages)")
            + "; 0: none",
        )


def _fields(args: argparse.Namespace, current: DialerOut | None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in ("seconds_between_messages", "time_zone", "starts_on", "ends_on", "template"):
        value = getattr(args, name)
        if value is not None:
            data[name] = value
    if args.always:
        data["schedule"] = []
    elif args.window is not None:
        try:
            data["schedule"] = [parse_window(text) for text in args.window]
        except ScheduleTextError as exc:
            raise CtlInputError(f"--window: {exc}") from exc
    if args.unsubscribe_file is not None:
        try:
            data["unsubscribe_html"] = args.unsubscribe_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CtlInputError(f"cannot read {args.unsubscribe_file}: {exc}") from exc
    elif args.unsubscribe_html is not None:
        data["unsubscribe_html"] = args.unsubscribe_html
    if (event := _event(args, current)) is not None:
        data["event"] = event
    given = {cap: getattr(args, cap) for cap in _CAPS if getattr(args, cap) is not None}
    if given:
        base = current.caps if current is not None else SmtpCaps()
        data["caps"] = {cap: given.get(cap, getattr(base, cap)) for cap in _CAPS}
    return data


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CtlInputError(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc


async def _set(client: EngineClient, args: argparse.Namespace) -> DialerOut:
    current = next((d for d in await client.dialers() if d.name == args.name), None)
    if current is None:
        raise CtlInputError(f"no dialer {args.name!r}")
    data = _fields(args, current)
    if args.new_name is not None:
        data["name"] = args.new_name
    if args.campaign is not None:
        data["campaign"] = args.campaign
    if not data:
        raise CtlInputError("nothing to change: give at least one option")
    return await client.update_dialer(args.name, convert(data, DialerPatch))


async def _example(client: EngineClient, args: argparse.Namespace) -> dict[str, str]:
    text = await client.dialer_example_csv(args.campaign)
    try:
        args.file.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise CtlInputError(f"cannot write {args.file}: {exc.strerror or exc}") from exc
    return {"written": str(args.file)}


async def dialer_command(client: EngineClient, args: argparse.Namespace) -> Any:
    action = args.action
    if action == "add":
        data = _fields(args, None) | {"name": args.name, "campaign": args.campaign}
        return _shown(await client.add_dialer(convert(data, DialerIn)), args)
    if action == "set":
        return _shown(await _set(client, args), args)
    if action == "list":
        dialers = await client.dialers()
        return dialers if args.json else [_row(d) for d in dialers]
    if action == "remove":
        await client.remove_dialer(args.name)
        return {"removed": args.name}
    if action == "list-upload":
        report = await client.upload_list(
            args.dialer,
            _read(args.file, "list"),
            name=args.name,
            subject=args.subject,
            append=args.append,
            encoding=args.encoding,
        )
        return report if args.json else CsvText(report_text(report))
    if action == "lists":
        return await client.dialer_lists(args.dialer)
    if action == "list-remove":
        await client.remove_dialer_list(args.id)
        return {"removed": args.id}
    if action == "attach":
        content_type = args.content_type or mimetypes.guess_type(args.file.name)[0] or ""
        return await client.attach_dialer_file(
            args.file.name, _read(args.file, "file"), content_type
        )
    if action == "attachments":
        return await client.dialer_attachments()
    if action == "detach":
        await client.remove_dialer_attachment(args.token)
        return {"removed": args.token}
    if action == "example-csv":
        return await _example(client, args)
    if action in ("play", "stop", "status"):
        call = {
            "play": client.play_dialer,
            "stop": client.stop_dialer,
            "status": client.dialer_status,
        }[action]
        status = await call(args.name)
        return status if args.json else CsvText(status_text(status))
    if action == "records":
        return await _records(client, args)
    raise CtlInputError(f"unknown dialer command {action!r}")


async def _records(client: EngineClient, args: argparse.Namespace) -> Any:
    """A page of records, or with --csv every match (page after page) as CSV."""
    query = DialerRecordQuery(list=args.list, state=args.state, search=args.search)
    if args.csv:
        return CsvText(await dialer_records_csv(client, args.name, query))
    page = await client.dialer_records(args.name, replace(query, page=args.page))
    return page if args.json else [_record_row(r) for r in page.items]


def _record_row(r: DialerRecordRow) -> dict[str, Any]:
    return {
        "list": r.list,
        "line": r.line,
        "destination": r.destination,
        "state": r.state,
        "error": r.error,
        "priority": r.priority,
        "sent_at": r.sent_at.isoformat(timespec="seconds") if r.sent_at else "",
        "seen_at": r.seen_at.isoformat(timespec="seconds") if r.seen_at else "",
    }


def _shown(dialer: DialerOut, args: argparse.Namespace) -> Any:
    return dialer if args.json else _row(dialer)


def _row(d: DialerOut) -> dict[str, Any]:
    caps = d.caps
    return {
        "name": d.name,
        "campaign": d.campaign,
        "seconds_between": f"{d.seconds_between_messages:g}",
        "schedule": ", ".join(window_text(w) for w in d.schedule) or "any time",
        "dates": f"{d.starts_on or 'any day'} to {d.ends_on or 'any day'}"
        if d.starts_on or d.ends_on
        else "any day",
        "time_zone": d.time_zone,
        "template": d.template or "-",
        "account": d.smtp_account,
        "caps": f"{caps.per_minute}/min {caps.per_hour}/h {caps.per_day}/day"
        f" {caps.connections} conn",
        "on_schedule": "yes" if d.on_schedule else "no",
        "running": "yes" if d.running else "no",
        "lists": d.lists,
        "event": f"{d.event.title!r} by {d.event.organizer}, {d.event.start} to {d.event.end}"
        if d.event is not None
        else "-",
    }


def report_text(report: ImportReport) -> str:
    """The import report for a person: the counts, then each line with its reason."""
    verb = "appended to" if report.appended else "imported into"
    rows = "row" if report.imported == 1 else "rows"
    refused = "line" if report.rejected == 1 else "lines"
    lines = [
        f"{report.imported} {rows} {verb} list {one_line(report.list_name)!s}"
        f" (id {report.list_id}) of dialer {one_line(report.dialer)}:"
        f" {report.imported - report.failed} to send, {report.failed} failed,"
        f" {report.rejected} {refused} rejected"
    ]
    items = [(i.line, "failed", i.reason) for i in report.failures]
    items += [(i.line, "rejected", i.reason) for i in report.rejections]
    for line, what, reason in sorted(items):
        lines.append(f"  line {line}: {what}: {one_line(reason, 300)}")
    if report.not_shown:
        lines.append(f"  ... and {report.not_shown} more (see --json for the first ones)")
    return "\n".join(lines) + "\n"


# ---- issue 14: the attach schedule (an iCalendar invitation with every message) ----
_EVENT = ("title", "organizer", "start", "end")


def _event_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--event-title", default=None, help="invitation title; ${vars} allowed")
    parser.add_argument("--event-organizer", default=None, help="its organizer's address")
    parser.add_argument(
        "--event-start", default=None, help="'YYYY-MM-DD HH:MM' in its zone, or '${var}'"
    )
    parser.add_argument("--event-end", default=None, help="as --event-start")
    parser.add_argument("--no-event", action="store_true", help="attach no invitation")


def _event(args: argparse.Namespace, current: DialerOut | None) -> dict[str, Any] | None:
    """The `event` field from the --event-* options, on top of the dialer's current one."""
    if args.no_event:
        return {"attach": False}
    given = {k: getattr(args, f"event_{k}") for k in _EVENT if getattr(args, f"event_{k}")}
    if not given:
        return None
    base = current.event if current is not None and current.event is not None else None
    return {k: given.get(k, getattr(base, k) if base is not None else "") for k in _EVENT}


def status_text(status: DialerStatus) -> str:
    """A dialer's state and, per list, its records by state."""
    state = "running" if status.running else "stopped"
    schedule = "on schedule" if status.on_schedule else "off schedule (waits for its window)"
    lines = [f"dialer {one_line(status.dialer)}: {state}, {schedule}"]
    if status.sending_now:
        lines[0] += f", {status.sending_now} in SMTP now"
    for p in status.lists:
        active = "" if p.list_active else " (inactive)"
        lines.append(
            f"  list {one_line(p.list_name)} (id {p.list_id}){active}: {p.records} records,"
            f" {p.processed} processed, {p.not_processed} to go; sent {p.sent}, failed"
            f" {p.failed}, skipped {p.skipped}, seen {p.seen}, rejected {p.rejected},"
            f" spam {p.spam}"
        )
    if not status.lists:
        lines.append("  no list")
    return "\n".join(lines) + "\n"
