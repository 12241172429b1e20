"""`postdesk ctl audit`: the audit log of supervisors watching agents, run as a user runs it
(the installed command, in a subprocess) against a real engine, Dovecot and SMTP sink; admins
only."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from engine.api.schemas import UserPatch
from tests.cli_helpers import cli_env, postdesk_script
from tests.engine_fixtures import World

REPO = Path(__file__).resolve().parent.parent


async def ctl(world: World, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(postdesk_script()),
        "--data-dir",
        str(world.engine.settings.home),
        "ctl",
        *args,
        cwd=REPO,
        env=cli_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert b"Traceback" not in err, err.decode()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_ctl_audit_lists_who_watched_whom(world: World) -> None:
    await world.operator.update_user("agent1", UserPatch(screen_monitoring_allowed=True))
    async with world.client("super1") as supervisor:
        ended = await supervisor.watch("screen", "agent1")
        await supervisor.end_watch(ended.id)
        still = await supervisor.watch("screen", "agent1")

    code, out, err = await ctl(world, "audit", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["id"], r["kind"], r["actor"], r["subject"]) for r in rows] == [
        (still.id, "screen", "super1", "agent1"),
        (ended.id, "screen", "super1", "agent1"),
    ]
    assert rows[0]["ended_at"] is None and rows[0]["seconds"] is None
    assert rows[1]["ended_at"] is not None and rows[1]["seconds"] >= 0

    code, out, err = await ctl(world, "audit", "--since", "today")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and all(
        "actor=super1" in line and "subject=agent1" in line for line in lines
    )

    code, out, _ = await ctl(world, "audit", "--since", "2999-01-01", "--json")
    assert code == 0 and json.loads(out) == []

    code, _, err = await ctl(world, "audit", "--since", "last week")
    assert code != 0 and "--since" in err

    code, _, err = await ctl(world, "--as", "super1", "audit")
    assert code != 0 and "admin role" in err
