"""`postdesk ctl audit [--since DAY|MOMENT] [--json]`: the audit log of supervisors watching
agents (a spy on an interaction, a view of their screen): who, whom, what, from when, until
when and how long. Admins only: the engine refuses everyone else."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time
from typing import Any

from engine.client import EngineClient
from postdesk.ctl.errors import CtlInputError


def add_audit_parser(groups: Any, parents: list[argparse.ArgumentParser]) -> None:
    audit = groups.add_parser(
        "audit",
        parents=parents,
        help="who watched whom: spies on interactions and views of agents' screens (admins)",
    )
    audit.add_argument(
        "--since", default="", help="from this UTC day (YYYY-MM-DD), ISO moment, or 'today'"
    )
    audit.add_argument("--limit", type=int, default=1000, help="at most this many, newest first")


def since_of(text: str) -> str:
    if not text:
        return ""
    try:
        if text == "today":
            moment = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
        elif "T" not in text and " " not in text:
            moment = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CtlInputError(f"--since: not a date (YYYY-MM-DD) or moment: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


async def audit_command(client: EngineClient, args: argparse.Namespace) -> Any:
    return await client.audit(since=since_of(args.since), limit=args.limit)
