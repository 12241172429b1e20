"""The `postdesk ctl` command line: every noun and verb, and the options generated from the
wire schemas so the command line never drifts from what the engine accepts."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, get_args

from msgspec.structs import fields

from engine.api.schemas import (
    Availability,
    CampaignIn,
    CampaignPatch,
    Delivery,
    OnLogout,
)
from postdesk.ctl.audit import add_audit_parser
from postdesk.ctl.db import add_db_parser
from postdesk.ctl.dialer import add_dialer_parser
from postdesk.ctl.oauth import add_parsers as oauth_parsers
from postdesk.ctl.recording_files import add_parsers as add_recording_file_parsers

# The routing strategies (docs/strategies.md), offered by name in `campaign add|set`.
STRATEGY_CHOICES: dict[str, tuple[str, ...]] = {
    "availability": get_args(Availability),
    "delivery": get_args(Delivery),
    "on_logout": get_args(OnLogout),  # a logged-out agent's open work (docs/transfer.md)
}

# Campaign fields that are lists of rows: set by `campaign schedule`, not by `add|set` flags.
SCHEDULE_LISTS = {"schedule", "schedule_exceptions"}


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
        if info.name in SCHEDULE_LISTS:
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
        if info.name in SCHEDULE_LISTS:
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
    cdispo = campaign.add_parser(
        "dispositions",
        help="show or change its wrap-up codes (levels: 'Sale/Upsell/Annual')",
        description="Codes agents choose from when they close (docs/wrapup.md). With no "
        "change given, lists them.",
    )
    cdispo.add_argument("name")
    cdispo.add_argument(
        "--add", action="append", default=[], metavar="PATH", help="add a code (and its levels)"
    )
    cdispo.add_argument(
        "--remove", action="append", default=[], metavar="PATH", help="remove a code and below"
    )
    cdispo.add_argument(
        "--deactivate", action="append", default=[], metavar="PATH", help="hide it from agents"
    )
    cdispo.add_argument(
        "--activate", action="append", default=[], metavar="PATH", help="offer it again"
    )
    cdispo.add_argument(
        "--required",
        default=None,
        action=argparse.BooleanOptionalAction,
        help="whether closing asks for a code (default: yes when there are codes)",
    )
    cdispo.add_argument("--list", action="store_true", help="list them (the default)")
    cremove = campaign.add_parser(
        "remove",
        help="remove a campaign (its recordings stay searchable; its mailbox is no longer read)",
    )
    cremove.add_argument("name")
    cremove.add_argument(
        "--move-to",
        dest="move_to",
        default=None,
        metavar="CAMPAIGN",
        help="move its open interactions (waiting and assigned) to this campaign",
    )
    cremove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    oauth_parsers(campaign)  # `campaign oauth|authorize` (issue 17, postdesk/ctl/oauth.py)

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

    blacklist = group(
        "blacklist",
        "addresses that never get mail from us: from one campaign (an unsubscribe) or from all",
    )
    blist = blacklist.add_parser("list", help="list blacklisted addresses and why")
    blist.add_argument("--search", default="", help="only addresses containing this")
    badd = blacklist.add_parser("add", help="stop mail to an address")
    badd.add_argument("email")
    badd.add_argument(
        "--campaign", default=None, help="only this campaign's mail (default: every campaign)"
    )
    badd.add_argument("--reason", default="", help="why, for whoever reads the list")
    bremove = blacklist.add_parser("remove", help="allow mail to an address again")
    bremove.add_argument("email")
    bremove.add_argument(
        "--campaign", default=None, help="the entry for this campaign (default: the one for all)"
    )

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

    add_audit_parser(groups, parents)  # issue 15: `ctl audit`

    reasons = group("break-reason", "the reasons agents choose from when they take a break")
    reasons.add_parser("list", help="list them in the order agents see them")
    radd = reasons.add_parser("add", help="add one at the end")
    radd.add_argument("name")
    rremove = reasons.add_parser("remove", help="remove one")
    rremove.add_argument("name")
    rset = reasons.add_parser("set", help="replace the whole list, in this order")
    rset.add_argument("names", nargs="*")

    member = group("member", "campaign members")
    madd = member.add_parser(
        "add",
        help="add users to campaigns: CAMPAIGN USERNAME, or every --user to every --campaign",
    )
    _member_pairs(madd)
    mset = member.add_parser(
        "set", help="a member's penalty (0-100, weighted-random) and place in the order"
    )
    mset.add_argument("campaign")
    mset.add_argument("username")
    mset.add_argument("--penalty", type=int, default=None, help="0-100: higher, fewer mails")
    mset.add_argument("--position", type=int, default=None, help="1 = first (linear, round-robin)")
    mremove = member.add_parser(
        "remove",
        help="remove users from campaigns, as add takes them (assigned interactions stay theirs)",
    )
    _member_pairs(mremove)

    interaction = group("interaction", "interactions")
    ilist = interaction.add_parser("list", help="list interactions")
    ilist.add_argument("--state", choices=["queued", "assigned", "closed"], default=None)
    itransfer = interaction.add_parser(
        "transfer",
        help="hand an open interaction to an agent of its campaign or to a queue",
        description="Exactly one of --to-agent, --to-queue (its own campaign's) or "
        "--to-campaign. Agents move their own; --as a supervisor moves anyone's.",
    )
    itransfer.add_argument("id", type=int)
    to = itransfer.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-agent", default="", metavar="USER", help="a member, not offline")
    to.add_argument("--to-queue", action="store_true", help="back to its campaign's queue")
    to.add_argument("--to-campaign", default="", metavar="CAMPAIGN", help="that one's queue")
    itransfer.add_argument("--note", default="", help="an internal note for the next person")
    inote = interaction.add_parser("note", help="add an internal note (never sent in mail)")
    inote.add_argument("id", type=int)
    inote.add_argument("text")

    stats = groups.add_parser(
        "stats",
        parents=parents,
        help="campaign statistics (service level, answers, completed) over a period",
        description="Interactions that arrived, were answered or closed in the period; "
        "both ends default to today (UTC). Dates are UTC days, --to included.",
    )
    stats.add_argument("--from", dest="since", type=_day_or_moment, default=None)
    stats.add_argument("--to", dest="until", type=_day_or_moment, default=None)
    stats.add_argument(
        "--dispositions",
        action="store_true",
        help="closes per campaign and wrap-up code instead (docs/wrapup.md)",
    )
    stats.set_defaults(action="show")

    agent = group("agent", "agents as the supervisor's grid shows them")
    agent.add_parser("list", help="every member of a campaign: state, active, completed today")
    areassign = agent.add_parser(
        "reassign",
        help="move a paused or absent agent's open interactions to the queue or an agent",
    )
    areassign.add_argument("username")
    dest = areassign.add_mutually_exclusive_group(required=True)
    dest.add_argument("--to-queue", action="store_true", help="each to its campaign's queue")
    dest.add_argument("--to-agent", default="", metavar="USER", help="to this agent")
    areassign.add_argument(
        "--interaction", type=int, default=None, metavar="ID", help="only this one (default: all)"
    )
    areassign.add_argument("--note", default="", help="an internal note for the next person")

    quarantine = group("quarantine", "inbound mail that could not be parsed or stored")
    quarantine.add_parser("list", help="list quarantined mail")
    qshow = quarantine.add_parser("show", help="show one, with its raw text (sanitised)")
    qshow.add_argument("id", type=int)
    qretry = quarantine.add_parser("retry", help="ingest it again (after a fix)")
    qretry.add_argument("id", type=int)

    add_dialer_parser(group)
    add_db_parser(group)  # `db migrate-to` (issue 16, postdesk/ctl/db.py): not through the engine

    recordings = group("recordings", "every interaction kept: the supervisors' search")
    rsearch = recordings.add_parser(
        "search",
        help="find interactions by date, address, subject, campaign, agent, text, state",
        description="Every filter is optional and they combine. Dates are UTC days (both "
        "included) of when the interaction began; --email and --subject match any part; "
        "--text needs every word in the messages. Values are text, never query syntax.",
    )
    rsearch.add_argument("--from", dest="start", type=_day, default=None, help="YYYY-MM-DD")
    rsearch.add_argument("--to", dest="end", type=_day, default=None, help="YYYY-MM-DD")
    for name in ("email", "subject", "campaign", "agent", "text"):
        rsearch.add_argument(f"--{name}", default="")
    rsearch.add_argument("--state", choices=["open", "closed"], default="")
    rsearch.add_argument("--direction", choices=["inbound", "outbound"], default="")
    rsearch.add_argument(
        "--sort",
        choices=[
            "last",
            "-last",
            "created",
            "-created",
            "client",
            "-client",
            "subject",
            "-subject",
        ],
        default="-last",
        help="a leading - is newest/last first (default -last: latest message first)",
    )
    rsearch.add_argument("--page", type=int, default=1)
    rsearch.add_argument("--page-size", dest="page_size", type=int, default=40)
    rsearch.add_argument(
        "--count",
        dest="exact_count",
        action="store_true",
        help="count every match (without it, counting stops at 1,000: `of 1,000+`)",
    )
    add_recording_file_parsers(recordings)  # print, export (issue 15)


def _member_pairs(parser: argparse.ArgumentParser) -> None:
    """`member add|remove CAMPAIGN USERNAME`, or in bulk: every --user on every --campaign,
    in one transaction (the manual's Members screen, several campaigns and agents at once)."""
    parser.add_argument("campaign", nargs="?", default=None)
    parser.add_argument("username", nargs="?", default=None)
    parser.add_argument(
        "--campaign",
        dest="campaigns",
        action="append",
        default=[],
        metavar="CAMPAIGN",
        help="a campaign (repeatable)",
    )
    parser.add_argument(
        "--user",
        dest="users",
        action="append",
        default=[],
        metavar="USERNAME",
        help="a user (repeatable)",
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _day_or_moment(text: str) -> datetime:
    """A UTC day (`2026-03-04`) or an ISO moment with its offset."""
    try:
        if "T" not in text and " " not in text:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
