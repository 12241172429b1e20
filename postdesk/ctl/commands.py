"""What each `postdesk ctl` command does: its arguments turned into one or two client calls
(`dispatch`), and the few commands that read, change and write back (schedules, break
reasons) or shape what they print (ratings, stats)."""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import sys
import tomllib
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

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
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CampaignRatings,
    CampaignRemoved,
    DispositionStats,
    RatingOut,
    RecordingQuery,
    ScheduleWindow,
    StatsOut,
    TemplateIn,
    UserIn,
    UserPatch,
    convert,
)
from engine.client import EngineClient
from engine.text.spreadsheet import csv_cell
from postdesk.ctl import oauth
from postdesk.ctl.audit import audit_command
from postdesk.ctl.dialer import dialer_command
from postdesk.ctl.dispositions import edit_dispositions
from postdesk.ctl.errors import CtlInputError
from postdesk.ctl.output import CsvText
from postdesk.ctl.recording_files import recording_command


async def _stats(client: EngineClient, args: argparse.Namespace) -> StatsOut | DispositionStats:
    until = args.until
    if until is not None and until.time() == time() and until.tzinfo is UTC:
        until += timedelta(days=1)  # --to a day: that day included
    if getattr(args, "dispositions", False):
        return await client.disposition_stats(args.since, until)
    return await client.stats(args.since, until)


async def _agents(client: EngineClient) -> list[AgentRow]:
    return (await client.monitor()).agents


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
    if not set(data) - {"check"}:
        raise CtlInputError("nothing to change: give at least one --field")
    return convert(data, CampaignPatch, lax=True)


def read_secrets(args: argparse.Namespace) -> None:
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


async def _unlisted(client: EngineClient, args: argparse.Namespace) -> dict[str, str]:
    await client.remove_from_blacklist(args.email, campaign=args.campaign)
    return {"removed": args.email, "campaign": args.campaign or "(all campaigns)"}


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
        writer.writerow([csv_cell(getattr(row, name)) for name in names])
    return CsvText(out.getvalue())


def _recording_query(args: argparse.Namespace) -> RecordingQuery:
    """`--sort -last` is the wire's `sort=last, descending=true`; the engine checks the rest."""
    fields = ("start", "end", "email", "subject", "campaign", "agent", "text", "state")
    given = {name: getattr(args, name) for name in fields}
    return convert(
        {
            **given,
            "direction": args.direction,
            "sort": args.sort.lstrip("-"),
            "descending": args.sort.startswith("-"),
            "page": args.page,
            "page_size": args.page_size,
            "exact_count": args.exact_count,
        },
        RecordingQuery,
    )


async def dispatch(client: EngineClient, args: argparse.Namespace) -> Any:
    group, action = args.group, getattr(args, "action", None)
    if group == "ratings":
        return await _ratings(client, args)
    if group == "dialer":
        return await dialer_command(client, args)
    if group == "recordings" and action in ("print", "export"):
        return await recording_command(client, args)
    if group == "audit":  # issue 15
        return await audit_command(client, args)
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
        ("campaign", "dispositions"): lambda: edit_dispositions(client, args),
        ("campaign", "oauth"): lambda: oauth.configure(client, args),
        ("campaign", "authorize"): lambda: oauth.authorize(client, args),
        ("template", "add"): lambda: client.add_template(_template_from_args(args)),
        ("template", "list"): client.templates,
        ("template", "remove"): lambda: _removed(client.delete_template(args.id), args.id),
        ("blacklist", "list"): lambda: client.blacklist(args.search),
        ("blacklist", "add"): lambda: client.add_to_blacklist(
            args.email, campaign=args.campaign, reason=args.reason
        ),
        ("blacklist", "remove"): lambda: _unlisted(client, args),
        ("member", "add"): lambda: _members(client, args, add=True),
        ("member", "set"): lambda: client.set_member(
            args.campaign, args.username, penalty=args.penalty, position=args.position
        ),
        ("member", "remove"): lambda: _members(client, args, add=False),
        ("campaign", "remove"): lambda: _remove_campaign(client, args),
        ("break-reason", "list"): client.break_reasons,
        ("break-reason", "add"): lambda: _edit_reasons(client, add=args.name),
        ("break-reason", "remove"): lambda: _edit_reasons(client, remove=args.name),
        ("break-reason", "set"): lambda: client.set_break_reasons(args.names),
        ("interaction", "list"): lambda: client.interactions(scope="all", state=args.state),
        ("stats", "show"): lambda: _stats(client, args),
        ("agent", "list"): lambda: _agents(client),
        ("interaction", "transfer"): lambda: client.transfer(
            args.id, to_agent=args.to_agent, to_campaign=args.to_campaign, note=args.note
        ),
        ("interaction", "note"): lambda: client.add_note(args.id, args.text),
        ("agent", "reassign"): lambda: client.reassign(
            args.username,
            to_agent=args.to_agent,
            interaction_id=args.interaction,
            note=args.note,
        ),
        ("quarantine", "list"): client.quarantine,
        ("quarantine", "show"): lambda: client.quarantined(args.id),
        ("quarantine", "retry"): lambda: client.retry_quarantined(args.id),
        ("recordings", "search"): lambda: client.recordings(_recording_query(args)),
    }
    return await calls[(group, action)]()


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


# ---- campaign removal and members in bulk ----


async def _remove_campaign(client: EngineClient, args: argparse.Namespace) -> CampaignRemoved:
    """Said before it is done: how many open interactions it has and where they go; asked
    on a terminal unless --yes."""
    plan = await client.removal_plan(args.name)
    open_count = plan.queued + plan.assigned
    if open_count and args.move_to is None:
        targets = ", ".join(plan.targets) or "none: add a campaign first"
        raise CtlInputError(
            f"campaign {args.name!r} has {plan.queued} waiting and {plan.assigned} assigned "
            f"interactions: add --move-to CAMPAIGN to move them (one of: {targets})"
        )
    if not args.yes:
        if not sys.stdin.isatty():
            raise CtlInputError("add --yes to remove a campaign without being asked")
        moving = (
            f"; its {open_count} open interactions go to {args.move_to!r}" if open_count else ""
        )
        question = (
            f"Remove campaign {args.name!r}{moving}? Its mailbox is no longer read; its "
            "recordings stay searchable. [y/N] "
        )
        if input(question).strip().lower() not in ("y", "yes"):
            raise CtlInputError("not removed")
    return await client.remove_campaign(args.name, move_to=args.move_to)


async def _members(client: EngineClient, args: argparse.Namespace, *, add: bool) -> Any:
    """One pair as before (the campaign as saved), or every --user on every --campaign in
    one call (what changed, and the campaigns as saved)."""
    if not args.campaigns and not args.users:
        if args.campaign is None or args.username is None:
            raise CtlInputError("give CAMPAIGN USERNAME, or --campaign and --user (repeatable)")
        if add:
            return await client.add_member(args.campaign, args.username)
        return await client.remove_member(args.campaign, args.username)
    campaigns = [*([args.campaign] if args.campaign else []), *args.campaigns]
    users = [*([args.username] if args.username else []), *args.users]
    if not campaigns or not users:
        raise CtlInputError("give at least one --campaign and one --user")
    pairs = [(c, u) for c in campaigns for u in users]
    changed = await client.change_members(add=pairs if add else (), remove=() if add else pairs)
    return {
        "added": changed.added,
        "removed": changed.removed,
        "unchanged": changed.unchanged,
        "campaigns": {c.name: c.members for c in changed.campaigns},
    }
