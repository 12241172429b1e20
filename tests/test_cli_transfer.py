"""`postdesk ctl` for moving work (docs/transfer.md): `interaction transfer`, `interaction
note`, `agent reassign` and the campaign's `--on-logout` / `--requeue-after`, run as a user
runs them, against a real engine (the command runs in a subprocess; the engine in this
test's loop, so the command is awaited, never waited on blocking)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from engine.api.schemas import UserIn
from tests.cli_helpers import cli_env, postdesk_script
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail


async def ctl(world: World, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(postdesk_script()),
        "--data-dir",
        str(world.engine.settings.home),
        "ctl",
        *args,
        env=cli_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert b"Traceback" not in err, err
    return proc.returncode or 0, out.decode(), err.decode()


async def ok_json(world: World, *args: str) -> Any:
    code, out, err = await ctl(world, *args, "--json")
    assert code == 0, err
    return json.loads(out)


async def test_transfer_note_reassign_and_the_log_out_policy_from_ctl(world: World) -> None:
    await world.operator.add_user(UserIn(username="agent2", display_name="Bob"))
    await world.operator.add_member("Support", "agent2")
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        await a1.set_status("free")
        world.dovecot.append(world.mailbox, customer_mail("By script", "Hello"))
        [item] = await eventually(a1.interactions, lambda rows: len(rows) == 1)
        await a2.set_status("free")
        iid = str(item.id)

        code, _, err = await ctl(world, "interaction", "transfer", iid, "--as", "agent2",
                                 "--to-queue")  # fmt: skip
        assert code != 0 and "not yours" in err
        code, _, err = await ctl(world, "interaction", "transfer", iid)
        assert code != 0 and "one of the arguments" in err  # a destination is required
        noted = await ok_json(world, "interaction", "note", iid, "Checked the order", "--as",
                              "agent1")  # fmt: skip
        assert [n["text"] for n in noted["notes"]] == ["Checked the order"]
        moved = await ok_json(world, "interaction", "transfer", iid, "--as", "agent1",
                              "--to-agent", "agent2", "--note", "yours now")  # fmt: skip
        assert (moved["agent"], moved["state"]) == ("agent2", "assigned")

        code, _, err = await ctl(world, "agent", "reassign", "agent2", "--to-queue")
        assert code != 0 and "at work" in err
        await a2.set_status("break", "Lunch")
        again = await ok_json(world, "agent", "reassign", "agent2", "--to-queue",
                              "--interaction", iid, "--note", "gone to lunch")  # fmt: skip
        assert again["moved"] == [item.id]

    campaign = await ok_json(world, "campaign", "set", "Support", "--on-logout", "requeue",
                             "--requeue-after", "30")  # fmt: skip
    assert (campaign["on_logout"], campaign["requeue_after"]) == ("requeue", 30)
    code, _, err = await ctl(world, "campaign", "set", "Support", "--on-logout", "drop")
    assert code != 0 and "invalid choice" in err
    code, _, err = await ctl(world, "campaign", "set", "Support", "--requeue-after", "-1")
    assert code != 0 and "requeue_after" in err
