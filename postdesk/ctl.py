"""`postdesk ctl`: scripting and provisioning over the same control API the consoles use.

With an engine running, commands go to it; with none, an engine without mail services is started
in-process for the one command, so provisioning works before the first start. `--json` prints
machine-readable output for automation.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import getpass
import io
import json
import os
import sys
import tomllib
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, get_args

from msgspec.structs import fields

from engine.api.schedule_text import (
    ScheduleTextError,
    exception_text,
    parse_days,
    parse_exception,
    parse_window,
    window_text,
)
from engine.api.schemas import (
    AgentRatings,
    AgentRow,
    Availability,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CampaignRatings,
    ConnectionReport,
    Delivery,
    RatingOut,
    ScheduleWindow,
    Schema,
    SchemaError,
    StatsOut,
    TemplateIn,
    UserIn,
    UserPatch,
    convert,
    to_builtins,
)
from engine.client import EngineClient, EngineError, EngineUnavailable
from engine.config import Settings
from engine.text.sanitize import one_line, sanitize
from postdesk.access import check_own_data_dir, denied

# The routing strategies (docs/strategies.md), offered by name in `campaign add|set`.
STRATEGY_CHOICES: dict[str, tuple[str, ...]] = {
    "availability": get_args(Availability),
    "delivery": get_args(Delivery),
}


class CtlInputError(Exception):
    """Input the command itself cannot use (an unreadable or malformed --file)."""


def _add_ctl_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print JSON",
    )
    parser.add_argument(
        "--as",
        dest="act_as",
        default=argparse.SUPPRESS if suppress else None,
        help="operators: act as this user",
    )


def add_ctl_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """`common` holds the global options (SUPPRESS defaults): every level accepts them, and
    `--json`/`--as` are accepted after the action too (`postdesk ctl user list --json`)."""
    ctl = sub.add_parser("ctl", parents=[common], help="scripting and provisioning commands")
    _add_ctl_options(ctl, suppress=False)
    leaf_options = argparse.ArgumentParser(add_help=False)
    _add_ctl_options(leaf_options, suppress=True)
    parents = [common, leaf_options]
    groups = ctl.add_subparsers(dest="group", required=True)

    def group(name: str, help_text: str) -> _Leaves:
        actions = groups.add_parser(name, parents=parents, help=help_text).add_subparsers(
            dest="action", required=True
        )
        return _Leaves(actions, parents)

    user = group("user", "Postdesk users (OS login names)")
    add = user.add_parser("add", help="add a user")
    add.add_argument("username", help="the user's OS login name")
    add.add_argument("--name", default="", help="display name")
    add.add_argument(
        "--role",
        action="append",
        choices=["agent", "supervisor", "admin"],
        help="role (repeatable; default: agent)",
    )
    user.add_parser("list", help="list users")
    uset = user.add_parser("set", help="change a user's display name, roles or screen monitoring")
    uset.add_argument("username")
    uset.add_argument("--name", default=None, help="display name")
    uset.add_argument(
        "--role",
        action="append",
        choices=["agent", "supervisor", "admin"],
        help="role (repeatable): the user's whole new set of roles",
    )
    uset.add_argument(
        "--screen-monitoring",
        dest="screen_monitoring",
        default=None,
        action=argparse.BooleanOptionalAction,
        help="whether supervisors may view the user's screen",
    )

    campaign = group("campaign", "email campaigns")
    cadd = campaign.add_parser("add", help="add a campaign from flags or a TOML file")
    cadd.add_argument("--file", type=Path, help="TOML file with the campaign's fields")
    for info in fields(CampaignIn):
        if info.name in _SCHEDULE_LISTS:
            continue  # `ctl campaign schedule`
        flag = "--" + info.name.replace("_", "-")
        if info.type is bool:
            cadd.add_argument(
                flag, dest=info.name, default=None, action=argparse.BooleanOptionalAction
            )
        else:
            cadd.add_argument(
                flag, dest=info.name, default=None, choices=STRATEGY_CHOICES.get(info.name)
            )
    campaign.add_parser("list", help="list campaigns")
    cset = campaign.add_parser("set", help="change some fields of a campaign")
    cset.add_argument("name")
    for info in fields(CampaignPatch):
        if info.name in _SCHEDULE_LISTS:
            continue
        flag = "--" + info.name.replace("_", "-")
        if info.type == bool | None:
            cset.add_argument(
                flag, dest=info.name, default=None, action=argparse.BooleanOptionalAction
            )
        else:
            cset.add_argument(
                flag, dest=info.name, default=None, choices=STRATEGY_CHOICES.get(info.name)
            )

    csched = campaign.add_parser(
        "schedule",
        help="show or change its opening hours: time zone, weekly windows, dated exceptions",
    )
    csched.add_argument("name")
    csched.add_argument("--time-zone", help="IANA name, e.g. Europe/Madrid")
    csched.add_argument(
        "--add", action="append", default=[], metavar="WINDOW", help="e.g. 'mon-fri 09:00-17:00'"
    )
    csched.add_argument(
        "--remove", action="append", default=[], metavar="WINDOW", help="those days at those hours"
    )
    csched.add_argument("--clear", action="store_true", help="remove every weekly window")
    csched.add_argument(
        "--except",
        dest="exceptions",
        action="append",
        default=[],
        metavar="DAY",
        help="'2026-12-25 closed Christmas' or '2026-12-24 09:00-13:00' (replaces that day's)",
    )
    csched.add_argument(
        "--unexcept", action="append", default=[], metavar="DATE", help="drop a date's exception"
    )
    ctest = campaign.add_parser("test", help="log in to its IMAP and SMTP servers, step by step")
    ctest.add_argument("name")

    template = group("template", "reply, signature and confirmation templates")
    tadd = template.add_parser("add", help="add a template (body from --text or --text-file)")
    tadd.add_argument("name")
    tadd.add_argument("--campaign", default=None, help="only for this campaign (default: all)")
    tadd.add_argument(
        "--kind", choices=["reply", "signature", "confirmation", "dialer"], default="reply"
    )
    tadd.add_argument("--text", default=None, help="the body; ${name} style variables")
    tadd.add_argument("--text-file", type=Path, default=None, help="read the body from a file")
    template.add_parser("list", help="list templates")
    tremove = template.add_parser(
        "remove", help="delete a template by its id (refused while a campaign signs with it)"
    )
    tremove.add_argument("id", type=int)

    blacklist = group("blacklist", "addresses that never get mail from us")
    blacklist.add_parser("list", help="list blacklisted addresses")

    ratings = groups.add_parser(
        "ratings",
        parents=parents,
        help="customers' ratings of replies (from the public web service)",
    )
    ratings.add_argument("--csv", action="store_true", help="as CSV, for a spreadsheet")
    per = ratings.add_mutually_exclusive_group()
    per.add_argument("--by-agent", action="store_true", help="count and average per agent")
    per.add_argument("--by-campaign", action="store_true", help="count and average per campaign")
    ratings.add_argument("--campaign", default="", help="only this campaign's")
    ratings.add_argument(
        "--since", default="", help="from this date or time (UTC, ISO 8601), or 'today'"
    )
    ratings.add_argument("--until", default="", help="before this date or time (UTC)")

    reasons = group("break-reason", "the reasons agents choose from when they take a break")
    reasons.add_parser("list", help="list them in the order agents see them")
    radd = reasons.add_parser("add", help="add one at the end")
    radd.add_argument("name")
    rremove = reasons.add_parser("remove", help="remove one")
    rremove.add_argument("name")
    rset = reasons.add_parser("set", help="replace the whole list, in this order")
    rset.add_argument("names", nargs="*")

    member = group("member", "campaign members")
    madd = member.add_parser("add", help="add a user to a campaign")
    madd.add_argument("campaign")
    madd.add_argument("username")
    mset = member.add_parser(
        "set", help="a member's penalty (0-100, weighted-random) and place in the order"
    )
    mset.add_argument("campaign")
    mset.add_argument("username")
    mset.add_argument("--penalty", type=int, default=None, help="0-100: higher, fewer mails")
    mset.add_argument("--position", type=int, default=None, help="1 = first (linear, round-robin)")
    mremove = member.add_parser(
        "remove", help="remove a user from a campaign (assigned interactions stay theirs)"
    )
    mremove.add_argument("campaign")
    mremove.add_argument("username")

    interaction = group("interaction", "interactions")
    ilist = interaction.add_parser("list", help="list interactions")
    ilist.add_argument("--state", choices=["queued", "assigned", "closed"], default=None)

    stats = groups.add_parser(
        "stats",
        parents=parents,
        help="campaign statistics (service level, answers, completed) over a period",
        description="Interactions that arrived, were answered or closed in the period; "
        "both ends default to today (UTC). Dates are UTC days, --to included.",
    )
    stats.add_argument("--from", dest="since", type=_day_or_moment, default=None)
    stats.add_argument("--to", dest="until", type=_day_or_moment, default=None)
    stats.set_defaults(action="show")

    agent = group("agent", "agents as the supervisor's grid shows them")
    agent.add_parser("list", help="every member of a campaign: state, active, completed today")

    quarantine = group("quarantine", "inbound mail that could not be parsed or stored")
    quarantine.add_parser("list", help="list quarantined mail")
    qshow = quarantine.add_parser("show", help="show one, with its raw text (sanitised)")
    qshow.add_argument("id", type=int)
    qretry = quarantine.add_parser("retry", help="ingest it again (after a fix)")
    qretry.add_argument("id", type=int)


def _day_or_moment(text: str) -> datetime:
    """A UTC day (`2026-03-04`) or an ISO moment with its offset."""
    try:
        if "T" not in text and " " not in text:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _stats(client: EngineClient, args: argparse.Namespace) -> StatsOut:
    until = args.until
    if until is not None and until.time() == time() and until.tzinfo is UTC:
        until += timedelta(days=1)  # --to a day: that day included
    return await client.stats(args.since, until)


async def _agents(client: EngineClient) -> list[AgentRow]:
    return (await client.monitor()).agents


class _Leaves:
    """A subparsers action whose every parser also takes the shared options."""

    def __init__(self, action: Any, parents: list[argparse.ArgumentParser]) -> None:
        self.action = action
        self.parents = parents

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self.action.add_parser(
            name, parents=self.parents, **kwargs
        )
        return parser


def _campaign_from_args(args: argparse.Namespace) -> CampaignIn:
    data: dict[str, Any] = {}
    if args.file:
        try:
            with open(args.file, "rb") as fh:
                loaded = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise CtlInputError(f"cannot read {args.file}: {exc}") from exc
        data.update(loaded.get("campaign", loaded))
    for field in CampaignIn.__struct_fields__:
        value = getattr(args, field, None)
        if value is not None:
            data[field] = value
    return convert(data, CampaignIn, lax=True)


def _patch_from_args(args: argparse.Namespace) -> CampaignPatch:
    data = {
        field: getattr(args, field)
        for field in CampaignPatch.__struct_fields__
        if getattr(args, field, None) is not None
    }
    if not data:
        raise CtlInputError("nothing to change: give at least one --field")
    return convert(data, CampaignPatch, lax=True)


def _read_secrets(args: argparse.Namespace) -> None:
    """`--imap-password -` reads the password from standard input (asked for without echo
    on a terminal), so it shows neither in `ps` nor in the shell's history. Read once, before
    the command may be sent twice (again to an engine started for it)."""
    for field in ("imap_password", "smtp_password"):
        if getattr(args, field, None) != "-":
            continue
        label = field.replace("_", " ").upper().replace(" PASSWORD", " password")
        if sys.stdin.isatty():
            setattr(args, field, getpass.getpass(f"{label}: "))
        else:
            setattr(args, field, sys.stdin.readline().rstrip("\r\n"))


async def _removed(call: Awaitable[None], what: int) -> dict[str, int]:
    await call
    return {"removed": what}


def _user_patch_from_args(args: argparse.Namespace) -> UserPatch:
    given = {
        "display_name": args.name,
        "roles": args.role,
        "screen_monitoring_allowed": args.screen_monitoring,
    }
    data = {k: v for k, v in given.items() if v is not None}
    if not data:
        raise CtlInputError("nothing to change: give --name, --role or --[no-]screen-monitoring")
    return convert(data, UserPatch)


def _template_from_args(args: argparse.Namespace) -> TemplateIn:
    if (args.text is None) == (args.text_file is None):
        raise CtlInputError("give the body with exactly one of --text or --text-file")
    if args.text_file is not None:
        try:
            text = args.text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CtlInputError(f"cannot read {args.text_file}: {exc}") from exc
    else:
        text = args.text
    fields = {"name": args.name, "campaign": args.campaign, "kind": args.kind, "body_text": text}
    return convert(fields, TemplateIn)


def report_lines(report: ConnectionReport, *, utf8: bool = True) -> list[str]:
    """The connection test as the admin console shows it: `IMAP  ✓ resolve ✓ connect ✗ login`,
    the server's reason on the next line."""
    yes, no = ("✓", "✗") if utf8 else ("+", "x")
    verdict = "connected" if report.ok else "not connected"
    lines = [f"{one_line(report.campaign, 50)}: {verdict}"]
    for check in report.checks:
        steps = [f"{yes} {step}" for step in check.passed]
        if check.step == "skipped":
            steps.append("- not used")
        elif check.ok:
            steps.append(f"{yes} ok")
        else:
            steps.append(f"{no} {check.step}")
        lines.append(f"{check.service.upper():<5} " + " ".join(steps))
        if check.detail:
            lines.append("      " + one_line(check.detail, 300))
    return lines


def _print(result: Any, as_json: bool) -> None:
    if isinstance(result, CsvText):
        sys.stdout.write(result)
        return
    payload: Any = to_builtins(result) if isinstance(result, Schema | list) else result
    if as_json:
        print(json.dumps(payload, indent=2))
        return
    if isinstance(result, StatsOut):
        print(f"since={result.since.isoformat()}  until={result.until.isoformat()}")
        for row in result.campaigns:
            percent = "-" if row.sl_percent is None else f"{row.sl_percent:.1f}"
            first = row.avg_first_response_seconds
            parts = [
                f"campaign={one_line(row.name)}",
                f"waiting={row.waiting}",
                f"active={row.active}",
                f"answered={row.answered}",
                f"sl%={percent} ({row.sl_within}/{row.sl_counted} in {row.service_level_seconds}s)",
                f"avg_first_response={'-' if first is None else f'{first:.0f}s'}",
                f"completed_in={row.completed_in}",
                f"completed_out={row.completed_out}",
                *(f"{k}={v}" for k, v in row.agents.items()),
            ]
            print("  ".join(parts))
        return
    if isinstance(result, ConnectionReport):
        utf8 = "utf" in (sys.stdout.encoding or "").lower()
        print("\n".join(report_lines(result, utf8=utf8)))
        return
    # Plain output goes to a terminal: every value is untrusted text (mail, names).
    rows = payload if isinstance(payload, list) else [payload]
    for row in rows:
        if not isinstance(row, dict):
            print(one_line(str(row)))
            continue
        print("  ".join(f"{k}={one_line(str(v))}" for k, v in row.items() if k != "raw"))
        if "raw" in row:
            print(sanitize(row["raw"]))


class CsvText(str):
    """Output that is already what to print (`ctl ratings --csv`)."""


# A spreadsheet runs a cell that starts so as a formula; addresses are a stranger's text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _moment(given: str) -> str:
    """`today`, a date (midnight UTC) or a time as the API takes it (RFC 3339)."""
    if given == "today":
        given = datetime.now(UTC).date().isoformat()
    return f"{given}T00:00:00Z" if len(given) == 10 else given


async def _ratings(client: EngineClient, args: argparse.Namespace) -> Any:
    wanted = {
        "campaign": args.campaign,
        "since": _moment(args.since),
        "until": _moment(args.until),
    }
    schema: Any
    if args.by_agent:
        rows: list[Any] = await client.agent_ratings(**wanted)
        schema = AgentRatings
    elif args.by_campaign:
        rows = await client.campaign_ratings(**wanted)
        schema = CampaignRatings
    else:
        rows = await client.ratings(**wanted)
        schema = RatingOut
    if not args.csv:
        return rows
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = list(schema.__struct_fields__)
    writer.writerow(names)
    for row in rows:
        writer.writerow([_csv_cell(getattr(row, name)) for name in names])
    return CsvText(out.getvalue())


async def _dispatch(client: EngineClient, args: argparse.Namespace) -> Any:
    group, action = args.group, getattr(args, "action", None)
    if group == "ratings":
        return await _ratings(client, args)
    calls: dict[tuple[str, str], Callable[[], Awaitable[Any]]] = {
        ("user", "add"): lambda: client.add_user(
            convert(
                {
                    "username": args.username,
                    "display_name": args.name,
                    "roles": args.role or ["agent"],
                },
                UserIn,
            )
        ),
        ("user", "list"): client.users,
        ("user", "set"): lambda: client.update_user(args.username, _user_patch_from_args(args)),
        ("campaign", "add"): lambda: client.add_campaign(_campaign_from_args(args)),
        ("campaign", "list"): client.campaigns,
        ("campaign", "set"): lambda: client.update_campaign(args.name, _patch_from_args(args)),
        ("campaign", "test"): lambda: client.test_campaign(args.name),
        ("campaign", "schedule"): lambda: _edit_schedule(client, args),
        ("template", "add"): lambda: client.add_template(_template_from_args(args)),
        ("template", "list"): client.templates,
        ("template", "remove"): lambda: _removed(client.delete_template(args.id), args.id),
        ("blacklist", "list"): client.blacklist,
        ("member", "add"): lambda: client.add_member(args.campaign, args.username),
        ("member", "set"): lambda: client.set_member(
            args.campaign, args.username, penalty=args.penalty, position=args.position
        ),
        ("member", "remove"): lambda: client.remove_member(args.campaign, args.username),
        ("break-reason", "list"): client.break_reasons,
        ("break-reason", "add"): lambda: _edit_reasons(client, add=args.name),
        ("break-reason", "remove"): lambda: _edit_reasons(client, remove=args.name),
        ("break-reason", "set"): lambda: client.set_break_reasons(args.names),
        ("interaction", "list"): lambda: client.interactions(scope="all", state=args.state),
        ("stats", "show"): lambda: _stats(client, args),
        ("agent", "list"): lambda: _agents(client),
        ("quarantine", "list"): client.quarantine,
        ("quarantine", "show"): lambda: client.quarantined(args.id),
        ("quarantine", "retry"): lambda: client.retry_quarantined(args.id),
    }
    return await calls[(group, action)]()


_SCHEDULE_LISTS = {"schedule", "schedule_exceptions"}


async def _edit_schedule(client: EngineClient, args: argparse.Namespace) -> Any:
    """Read the campaign's schedule, apply the flags, save the whole of it; no flag: show."""
    [campaign] = [c for c in await client.campaigns() if c.name == args.name] or [None]
    if campaign is None:
        raise CtlInputError(f"no campaign {args.name!r}")
    try:
        windows = [] if args.clear else _expand(campaign.schedule)
        for text in args.remove:
            gone = _expand([parse_window(text)])
            windows = [w for w in windows if w not in gone]
        for text in args.add:
            windows += [w for w in _expand([parse_window(text)]) if w not in windows]
        exceptions = list(campaign.schedule_exceptions)
        drop = {date.fromisoformat(d.strip()) for d in args.unexcept}
        new = [parse_exception(text) for text in args.exceptions]
        drop |= {e.day for e in new}
        exceptions = [e for e in exceptions if e.day not in drop] + new
    except (ScheduleTextError, ValueError) as exc:
        raise CtlInputError(str(exc)) from exc
    changed = args.clear or args.add or args.remove or args.exceptions or args.unexcept
    if not changed and not args.time_zone:
        return _schedule_view(campaign)
    patch = CampaignPatch(
        time_zone=args.time_zone,
        schedule=_regroup(windows) if changed else None,
        schedule_exceptions=sorted(exceptions, key=lambda e: e.day) if changed else None,
    )
    return _schedule_view(await client.update_campaign(args.name, patch))


def _expand(windows: list[ScheduleWindow]) -> list[tuple[str, str, str]]:
    return [(day, w.start, w.end) for w in windows for day in w.days]


def _regroup(rows: list[tuple[str, str, str]]) -> list[ScheduleWindow]:
    hours: dict[tuple[str, str], list[str]] = {}
    for day, start, end in rows:
        hours.setdefault((start, end), []).append(day)
    return [
        ScheduleWindow(days=parse_days(",".join(days)), start=start, end=end)
        for (start, end), days in hours.items()
    ]


def _schedule_view(campaign: CampaignOut) -> dict[str, Any]:
    return {
        "campaign": campaign.name,
        "time_zone": campaign.time_zone,
        "windows": [window_text(w) for w in campaign.schedule] or ["always open"],
        "exceptions": [exception_text(e) for e in campaign.schedule_exceptions],
    }


async def _edit_reasons(client: EngineClient, *, add: str = "", remove: str = "") -> list[str]:
    names = await client.break_reasons()
    if remove:
        kept = [n for n in names if n.casefold() != remove.strip().casefold()]
        if len(kept) == len(names):
            raise CtlInputError(f"no break reason {remove!r}; there are: {', '.join(names)}")
        names = kept
    if add:
        names.append(add)
    return await client.set_break_reasons(names)


async def _ctl(settings: Settings, args: argparse.Namespace) -> Any:
    _read_secrets(args)
    client = EngineClient(settings.socket, act_as=args.act_as)
    try:
        return await _dispatch(client, args)
    except EngineUnavailable as exc:
        refused = denied(exc, settings.socket)
        if refused is not None:
            raise refused from exc
        if settings.socket.exists() and _engine_lock_held(settings):
            raise
    finally:
        await client.close()
    # No engine: run one without mail services just for this command.
    from engine.engine import Engine, EngineAlreadyRunning

    check_own_data_dir(settings.home, settings.socket, settings.socket_group)

    engine = Engine(settings, run_mail=False)
    try:
        await engine.start()
    except EngineAlreadyRunning as exc:  # an engine holds the lock but is not answering (yet)
        # No engine.stop() here: it would unlink the other engine's socket.
        raise EngineUnavailable(f"{exc}, but it does not answer on {settings.socket}") from exc
    try:
        async with EngineClient(settings.socket, act_as=args.act_as) as client:
            return await _dispatch(client, args)
    finally:
        await engine.stop()


def _engine_lock_held(settings: Settings) -> bool:
    import fcntl

    lock = settings.socket.parent / "engine.lock"
    if not lock.exists():
        return False
    with open(lock, "rb") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def run_ctl(settings: Settings, args: argparse.Namespace) -> int:
    try:
        result = asyncio.run(_ctl(settings, args))
    except SchemaError as exc:
        print(f"postdesk ctl: invalid input: {exc}", file=sys.stderr)
        return 2
    except CtlInputError as exc:
        print(f"postdesk ctl: {exc}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(f"postdesk ctl: {exc.message}", file=sys.stderr)
        return 1
    try:
        _print(result, args.json)
        sys.stdout.flush()
    except BrokenPipeError:
        # `postdesk ctl ... | head`: the reader left; that is not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if isinstance(result, ConnectionReport) and not result.ok:
        return 1  # a failed connection test fails the command, so scripts can check it
    return 0
