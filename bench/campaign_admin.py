"""bench/campaign_admin: what campaign administration costs, against references in one run.

1. The login check on save: adding a campaign that logs in to a real Dovecot and SMTP sink,
   against the same add with `check=False` (the price an admin pays for being told at once).
2. Members in bulk: every one of U users added to every one of C campaigns in one call
   (`POST /members/changes`, one transaction), against U single `add_member` calls into one
   more campaign (what the members screen did before, one call per user), per pair.
3. Removing a campaign with U members.

    uv run python -m bench.campaign_admin [--campaigns 50] [--users 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from engine.api.schemas import UserIn
from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine
from tests.servers import start_dovecot, start_smtp_sink


async def run(campaigns: int, users: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-campaign-admin-"))
    dovecot = start_dovecot(tmp / "dovecot")
    sink = start_smtp_sink()
    engine = Engine(Settings(home=tmp / "home"))
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as op:
            box = dovecot.new_mailbox("bench")
            timings: dict[bool, list[float]] = {True: [], False: []}
            for n in range(10):
                check = n % 2 == 0
                name = f"Login{n}"
                campaign = box.campaign(
                    name,
                    smtp_host=sink.host,
                    smtp_port=sink.port,
                    email_address=f"login{n}@bench.test",
                    check=check,
                )
                started = time.perf_counter()
                await op.add_campaign(campaign)
                timings[check].append(time.perf_counter() - started)
            checked = statistics.median(timings[True]) * 1000
            unchecked = statistics.median(timings[False]) * 1000
            print(f"add campaign, login checked: {checked:.0f} ms median")
            print(f"add campaign, unchecked:     {unchecked:.0f} ms median")

            names = [f"C{i:03d}" for i in range(campaigns)]
            for i, name in enumerate(names):
                await op.add_campaign(
                    box.campaign(
                        name, email_address=f"c{i}@bench.test", receive_emails=False, check=False
                    )
                )
            logins = [f"u{i:04d}" for i in range(users)]
            for login in logins:
                await op.add_user(UserIn(username=login))
            pairs = [(c, u) for c in names for u in logins]
            started = time.perf_counter()
            changed = await op.change_members(add=pairs)
            bulk = time.perf_counter() - started
            assert changed.added == len(pairs)
            started = time.perf_counter()
            removed = await op.change_members(remove=pairs)
            bulk_remove = time.perf_counter() - started
            assert removed.removed == len(pairs)

            await op.add_campaign(
                box.campaign(
                    "Single", email_address="single@bench.test", receive_emails=False, check=False
                )
            )
            started = time.perf_counter()
            for login in logins:
                await op.add_member("Single", login)
            single = time.perf_counter() - started

            per_bulk = bulk / len(pairs) * 1000
            per_single = single / len(logins) * 1000
            took = f"added in {bulk * 1000:.0f} ms ({per_bulk:.2f} ms a pair)"
            print(f"members in bulk: {len(pairs)} pairs {took}, removed in "
                  f"{bulk_remove * 1000:.0f} ms")  # fmt: skip
            print(f"members one call each: {len(logins)} in {single * 1000:.0f} ms "
                  f"({per_single:.2f} ms a pair)")  # fmt: skip
            print(f"ratio: bulk is {per_single / per_bulk:.0f}x faster a pair")

            started = time.perf_counter()
            await op.remove_campaign("Single")
            print(f"remove a campaign with {users} members: "
                  f"{(time.perf_counter() - started) * 1000:.0f} ms")  # fmt: skip
            # The guide's form, at the end: bulk members against one call per pair, same run.
            print(f"target members-bulk-vs-single: {per_single / per_bulk:.0f} x (goal >= 10)")
    finally:
        await engine.stop()
        sink.stop()
        dovecot.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--users", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.campaigns, args.users))


if __name__ == "__main__":
    main()
