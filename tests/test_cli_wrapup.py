"""`postdesk ctl campaign dispositions` and `ctl stats --dispositions`, run as a user runs
them (the installed command, in a subprocess) against a real engine, Dovecot and SMTP sink."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.cli_helpers import cli_env, postdesk_script
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail

REPO = Path(__file__).resolve().parent.parent


async def ctl(world: World, *args: str) -> tuple[int, str, str]:
    """Run `postdesk --data-dir HOME ctl ARGS` without blocking the engine's loop."""
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


async def ok(world: World, *args: str) -> str:
    code, out, err = await ctl(world, *args)
    assert code == 0, err
    return out


async def ok_json(world: World, *args: str) -> Any:
    return json.loads(await ok(world, *args, "--json"))


async def test_ctl_edits_codes_by_path_and_counts_closes(world: World) -> None:
    listed = await ok_json(world, "campaign", "dispositions", "Support", "--list")
    assert listed == {"campaign": "Support", "required": True, "codes": []}
    assert "no codes: closing asks for none" in await ok(
        world, "campaign", "dispositions", "Support"
    )

    added = await ok_json(
        world,
        "campaign", "dispositions", "Support",
        "--add", "Sale/Upsell/Annual", "--add", "Sale > New", "--add", "Complaint",
    )  # fmt: skip
    assert [(c["path"], c["leaf"]) for c in added["codes"]] == [
        ("Sale", False),
        ("Sale > Upsell", False),
        ("Sale > Upsell > Annual", True),
        ("Sale > New", True),
        ("Complaint", True),
    ]
    text = await ok(
        world, "campaign", "dispositions", "Support", "--deactivate", "Complaint",
        "--remove", "sale/new",
    )  # fmt: skip
    assert text.splitlines() == [
        "campaign=Support  on close a code is required",
        "  Sale",
        "    Upsell",
        "      Annual",
        "  Complaint  (inactive)",
    ]
    code, out, err = await ctl(world, "campaign", "dispositions", "Support", "--remove", "Nope")
    assert code != 0 and "no code 'Nope'" in err and out == ""
    code, _, err = await ctl(world, "campaign", "dispositions", "Support", "--add", "A/B\x07")
    assert code != 0 and "control character" in err
    code, _, err = await ctl(world, "campaign", "dispositions", "Nowhere", "--list")
    assert code != 0 and "no campaign 'Nowhere'" in err

    async with world.client("agent1") as agent:
        world.dovecot.append(world.mailbox, customer_mail("Renewal", "Renew please."))
        await agent.set_status("free")
        [item] = await eventually(agent.interactions, lambda rows: len(rows) == 1)
        await agent.close_interaction(item.id, disposition="Sale/Upsell/Annual", note="secret")
    counted = await ok_json(world, "stats", "--dispositions")
    assert counted["campaigns"] == [
        {
            "campaign": "Support",
            "closed": 1,
            "counts": [{"disposition": "Sale > Upsell > Annual", "count": 1}],
        }
    ]
    text = await ok(world, "stats", "--dispositions")
    assert "campaign=Support  closed=1" in text and "     1  Sale > Upsell > Annual" in text
    assert "secret" not in text
    old = await ok(world, "stats", "--dispositions", "--from", "2026-01-01", "--to", "2026-01-02")
    assert "no interaction was closed in the period" in old

    optional = await ok_json(world, "campaign", "dispositions", "Support", "--no-required")
    assert optional["required"] is False
