"""Service level, first response, handling time and agent states against a real engine, Dovecot
and SMTP sink: what the statistics count is what happened, recorded in the database.

Deadlines pass for real (a service level of one second), waited for as conditions; "today"
is moved with the engine's clock (`engine.queries.clock`), never by sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.api.schemas import CampaignPatch, StatsOut
from engine.domain import statistics as rules
from tests import db_probe
from tests.engine_fixtures import World, eventually
from tests.mail_factory import numbered_mail


def _support(out: StatsOut):  # type: ignore[no-untyped-def]
    return next(c for c in out.campaigns if c.name == "Support")


def _outcomes_from_rows(world: World, now: datetime) -> rules.ServiceLevel:
    """The same figure computed row by row with the pure rule, from the database itself."""
    found = db_probe.rows(
        world.engine.settings, "SELECT service_due_at, first_response_at, state FROM interactions"
    )
    return rules.service_level(
        rules.outcome(db_probe.at(due), db_probe.at(first), closed=state == "closed", now=now)
        for due, first, state in found
    )


async def test_service_level_first_response_and_handling_end_to_end(world: World) -> None:
    op = world.operator
    async with world.client("agent1") as agent, world.client("super1") as supervisor:
        await agent.set_status("free")
        # 1: answered at once, well within an hour.
        world.dovecot.append(world.mailbox, numbered_mail(1))
        mine = await eventually(agent.interactions, lambda r: len(r) == 1, what="assignment 1")
        first = mine[0].id
        await agent.reply(first, "Hello, here is your answer.")
        now_stats = await eventually(
            supervisor.stats, lambda s: _support(s).answered == 1, what="the first answer"
        )
        row = _support(now_stats)
        assert (row.sl_within, row.sl_counted, row.sl_percent) == (1, 1, 100.0)
        assert row.avg_first_response_seconds is not None

        # 2: a one-second service level, and nobody free: it waits past its deadline.
        await op.update_campaign("Support", CampaignPatch(service_level_seconds=1))
        await agent.set_status("break", "Lunch")
        world.dovecot.append(world.mailbox, numbered_mail(2))
        late = await eventually(
            supervisor.stats,
            lambda s: _support(s).sl_counted == 2,
            what="mail 2 to wait past its deadline",
        )
        row = _support(late)
        assert (row.waiting, row.sl_within, row.sl_percent) == (1, 1, 50.0)
        assert row.agents["busy_on_break"] == 1  # on break, still holding mail 1

        # 3: the agent comes back, gets mail 2 and answers it late: still 1 of 2.
        await agent.set_status("free")
        mine = await eventually(agent.interactions, lambda r: len(r) == 2, what="assignment 2")
        second = next(i.id for i in mine if i.id != first)
        await agent.reply(second, "Sorry for the wait.")
        await eventually(
            supervisor.stats, lambda s: _support(s).answered == 2, what="the second answer"
        )

        # 4: with an hour again, a mail waiting (agent on break) does not count yet.
        await op.update_campaign("Support", CampaignPatch(service_level_seconds=3600))
        await agent.set_status("break", "Lunch")
        world.dovecot.append(world.mailbox, numbered_mail(3))
        waiting = await eventually(
            supervisor.stats, lambda s: _support(s).waiting == 1, what="mail 3 waiting"
        )
        row = _support(waiting)
        assert (row.sl_within, row.sl_counted, row.answered) == (1, 2, 2)
        assert row.oldest_queued_at is not None and row.sl_level == "ok"
        # The query counts exactly what the pure rule says of each row.
        assert rules.service_level(["within", "late"]) == _outcomes_from_rows(world, waiting.at)

        # Closing: completed today (inbound) and the handling time recorded.
        await agent.close_interaction(first)
        done = await eventually(
            supervisor.stats, lambda s: _support(s).completed_in == 1, what="completed"
        )
        assert (_support(done).completed_out, _support(done).active) == (0, 1)

        info = await supervisor.agent_info("agent1")
        assert info.row.completed_in == 1 and info.row.state == "busy_on_break"
        assert [i.id for i in info.active] == [second]
        assert info.avg_handling_seconds is not None
        assert [c.status for c in info.history][:2] == ["free", "break"]
        assert info.logged_in_seconds > 0
        assert info.campaigns == ["Support"]

        # Another day (the engine's clock moved): today's counts start again; the queue not.
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        world.engine.queries.clock = lambda: tomorrow
        next_day = _support(await supervisor.stats())
        assert (next_day.answered, next_day.sl_counted, next_day.completed_in) == (0, 0, 0)
        assert next_day.waiting == 1
        # Mail 3 is past its hour by then: the live figure turns red with the thresholds.
        assert next_day.sl_level == "critical"
        # Any range, like `ctl stats --from --to`: yesterday (the real today) as it was.
        start, end = rules.day_bounds(datetime.now(UTC))
        past = _support(await supervisor.stats(start, end))
        assert (past.answered, past.sl_within, past.completed_in) == (2, 1, 1)
        assert past.sl_counted == 3  # mail 3 is past its deadline by "now" (tomorrow)


async def test_statistics_are_for_supervisors_and_reach_only_them(world: World) -> None:
    from engine.api.schemas import StatsChanged
    from engine.client import Forbidden

    async with world.client("agent1") as agent, world.client("super1") as supervisor:
        try:
            await agent.stats()
        except Forbidden:
            pass
        else:
            raise AssertionError("an agent read the statistics")
        seen: list[str] = []

        async def watch(client, who: str) -> None:  # type: ignore[no-untyped-def]
            async for event in client.events():
                if isinstance(event, StatsChanged):
                    seen.append(who)

        import asyncio

        tasks = [
            asyncio.create_task(watch(agent, "agent")),
            asyncio.create_task(watch(supervisor, "supervisor")),
        ]
        try:
            await eventually(
                lambda: asyncio.sleep(0, len(world.engine.bus._subs)),
                lambda n: n == 2,
                what="both streams",
            )
            await agent.set_status("free")
            world.dovecot.append(world.mailbox, numbered_mail(1))

            async def supervisor_saw() -> list[str]:
                return seen

            await eventually(supervisor_saw, lambda s: "supervisor" in s, what="stats event")
            # The agent's stream was never even offered the event (the bus filters first).
            agent_sub = next(s for s in world.engine.bus._subs if not s.sees_all)
            assert not any(isinstance(e, StatsChanged) for e in agent_sub._events)
            assert "agent" not in seen
        finally:
            for task in tasks:
                task.cancel()


async def test_today_is_each_campaigns_own_day(world: World) -> None:
    """A campaign in another time zone starts its "today" at its own midnight: work closed
    an hour before it is yesterday's there, while a UTC campaign still counts the UTC day."""
    op = world.operator
    billing = world.dovecot.new_mailbox("billing")
    await op.add_campaign(billing.campaign("Billing", email_address="billing@postdesk.test"))
    async with world.client("agent1") as agent, world.client("super1") as supervisor:
        await agent.set_status("free")
        world.dovecot.append(world.mailbox, numbered_mail(1))
        (mine,) = await eventually(agent.interactions, lambda r: len(r) == 1, what="assigned")
        await agent.close_interaction(mine.id)
        await eventually(
            supervisor.stats, lambda s: _support(s).completed_in == 1, what="completed"
        )
        # An hour later, in a zone whose midnight falls within that hour (and UTC's not).
        later = datetime.now(UTC) + timedelta(hours=1)
        if later.hour == 0:
            later += timedelta(hours=1)
        offset = -later.hour if later.hour <= 12 else 24 - later.hour  # local 00:xx
        await op.update_campaign("Support", CampaignPatch(time_zone=f"Etc/GMT{-offset:+d}"))
        world.engine.queries.clock = lambda: later
        out = await supervisor.stats()
        assert _support(out).completed_in == 0  # yesterday, in Support's own day
        assert [c.name for c in out.campaigns] == ["Billing", "Support"]  # both zones counted
        # An explicit period is the period asked, whatever the zones.
        start, end = rules.day_bounds(datetime.now(UTC))
        assert _support(await supervisor.stats(start, end)).completed_in == 1
