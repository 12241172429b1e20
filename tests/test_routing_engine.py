"""Every routing strategy against a real engine: mail arrives over IMAP, the router (or the
agent, in the pick modes) decides, and the agents' lists show who got what."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from engine.api.schemas import CampaignPatch, InteractionSummary, UserIn
from engine.client import EngineClient
from engine.client.errors import Conflict, Forbidden, NotFound
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail


async def add_agents(world: World, *names: str) -> None:
    for name in names:
        await world.operator.add_user(UserIn(username=name))
        await world.operator.add_member("Support", name)


async def strategy(world: World, **changes: object) -> None:
    await world.operator.update_campaign("Support", CampaignPatch(**changes))  # type: ignore[arg-type]


def send(world: World, *subjects: str) -> None:
    for subject in subjects:
        world.dovecot.append(world.mailbox, customer_mail(subject, "Hello"))


async def everything(world: World) -> list[InteractionSummary]:
    return await world.operator.interactions(scope="all")


async def settled(world: World, count: int, queued: int = 0) -> dict[str, str | None]:
    """Wait until `count` interactions exist and `queued` of them wait; subject -> agent."""
    rows = await eventually(
        lambda: everything(world),
        lambda rows: len(rows) == count and sum(r.state == "queued" for r in rows) == queued,
        what=f"{count} interactions, {queued} queued",
    )
    return {r.subject: r.agent for r in rows}


async def go_free(*clients: EngineClient) -> None:
    for client in clients:  # in this order: the first has been free the longest
        await client.set_status("free")
        await asyncio.sleep(0.01)  # status_since differs even on a coarse clock


async def one_by_one(world: World, subjects: list[str], done: int = 0) -> dict[str, str | None]:
    """Each mail assigned before the next is sent, so every choice sees the last one."""
    owners: dict[str, str | None] = {}
    for n, subject in enumerate(subjects, start=done + 1):
        send(world, subject)
        owners = await settled(world, n)
    return owners


async def test_round_robin_takes_turns_in_member_order(world: World) -> None:
    await add_agents(world, "agent2", "agent3")
    await strategy(world, delivery="round-robin")
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        async with world.client("agent3") as a3:
            await go_free(a3, a2, a1)  # longest free does not matter: the order does
            owners = await one_by_one(world, [f"Q{n}" for n in range(4)])
    assert [owners[f"Q{n}"] for n in range(4)] == ["agent1", "agent2", "agent3", "agent1"]
    (campaign,) = await world.operator.campaigns()
    assert campaign.delivery == "round-robin" and campaign.availability == "up-to-max"


async def test_round_robin_burst_in_one_pass(world: World) -> None:
    await add_agents(world, "agent2", "agent3")
    await strategy(world, delivery="round-robin")
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        async with world.client("agent3") as a3:
            await go_free(a1, a2, a3)
            send(world, *(f"Q{n}" for n in range(6)))
            owners = await settled(world, 6)
    assert sorted(owners.values()) == ["agent1"] * 2 + ["agent2"] * 2 + ["agent3"] * 2  # type: ignore[operator]


async def test_linear_fills_members_in_their_order(world: World) -> None:
    await add_agents(world, "agent2", "agent3")
    await strategy(world, delivery="linear", max_interactions_per_agent=2)
    campaign = await world.operator.set_member("Support", "agent3", position=1)
    assert [m.username for m in campaign.member_settings] == ["agent3", "agent1", "agent2"]
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        async with world.client("agent3") as a3:
            await go_free(a1, a2, a3)
            owners = await one_by_one(world, [f"Q{n}" for n in range(5)])
    assert [owners[f"Q{n}"] for n in range(5)] == [
        "agent3",
        "agent3",
        "agent1",
        "agent1",
        "agent2",
    ]


async def test_one_gives_a_member_nothing_more_while_they_have_one(world: World) -> None:
    await add_agents(world, "agent2")
    await strategy(world, availability="one")
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        await go_free(a1, a2)
        send(world, "Q0", "Q1", "Q2", "Q3")
        owners = await settled(world, 4, queued=2)
        assert sorted(o for o in owners.values() if o) == ["agent1", "agent2"]
        mine = await a1.interactions()
        await a1.close_interaction(mine[0].id)
        await settled(world, 4, queued=1)
    assert len(await a1.interactions(state="assigned")) == 1


async def test_weighted_random_favours_the_low_penalty(world: World) -> None:
    world.engine.router.rng = random.Random(5)
    await add_agents(world, "agent2")
    await strategy(world, delivery="weighted-random", max_interactions_per_agent=50)
    await world.operator.set_member("Support", "agent2", penalty=100)
    campaign = await world.operator.set_member("Support", "agent1", penalty=0)
    assert {m.username: m.penalty for m in campaign.member_settings} == {
        "agent1": 0,
        "agent2": 100,
    }
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        await go_free(a1, a2)
        send(world, *(f"Q{n}" for n in range(12)))
        owners = await settled(world, 12)
    assert list(owners.values()).count("agent1") >= 10, owners


async def test_least_recent_skips_who_was_given_one_last(world: World) -> None:
    """agent1 has been free longest, so least-active would give them every mail here."""
    await add_agents(world, "agent2")
    await strategy(world, delivery="least-recent")
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        await go_free(a1, a2)
        owners: dict[str, str | None] = {}
        for n in range(3):
            owners = await one_by_one(world, [f"Q{n}"], done=n)
            agent = a1 if owners[f"Q{n}"] == "agent1" else a2
            (only,) = await agent.interactions(state="assigned")
            await agent.close_interaction(only.id)
    assert [owners[f"Q{n}"] for n in range(3)] == ["agent1", "agent2", "agent1"]


async def test_fewest_completed_today(world: World) -> None:
    await add_agents(world, "agent2")
    await strategy(world, delivery="fewest-completed")
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        await go_free(a1, a2)
        owners = await one_by_one(world, ["Q0"])
        assert owners["Q0"] == "agent1"
        (first,) = await a1.interactions(state="assigned")
        await a1.close_interaction(first.id)  # agent1: one completed, nothing open
        owners = await one_by_one(world, ["Q1"], done=1)
        assert owners["Q1"] == "agent2"  # none completed
        # agent2 has one open and none completed; agent1 none open, one completed.
        owners = await one_by_one(world, ["Q2"], done=2)
    assert owners["Q2"] == "agent2"


async def test_fewest_completed_counts_the_campaigns_own_day(world: World) -> None:
    """Work closed before the campaign's local midnight is yesterday's, whatever UTC says."""
    await add_agents(world, "agent2")
    await strategy(world, delivery="fewest-completed")
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        await go_free(a1, a2)
        assert (await one_by_one(world, ["Q0"]))["Q0"] == "agent1"
        (first,) = await a1.interactions(state="assigned")
        await a1.close_interaction(first.id)  # closed now, by the real clock
        # An hour later, in a zone whose midnight falls within that hour (and UTC's not).
        later = datetime.now(UTC) + timedelta(hours=1)
        if later.hour == 0:
            later += timedelta(hours=1)
        offset = -later.hour if later.hour <= 12 else 24 - later.hour  # local 00:xx
        await strategy(world, time_zone=f"Etc/GMT{-offset:+d}")
        world.engine.schedules.clock = lambda: later
        world.engine.router.reconsider()
        # agent1's close is yesterday there: both have none, agent1 has been free longest.
        assert (await one_by_one(world, ["Q1"], done=1))["Q1"] == "agent1"


# ---- pick modes ----


async def waiting_for(client: EngineClient, count: int) -> list[InteractionSummary]:
    queue = await eventually(
        client.pick_queue, lambda q: q.total == count, what=f"{count} waiting to be picked"
    )
    return queue.waiting


async def test_pick_one_nothing_is_pushed_and_one_at_a_time(world: World) -> None:
    await add_agents(world, "agent2")
    await strategy(world, availability="pick-one")
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        await go_free(a1, a2)
        send(world, "Q0", "Q1", "Q2")
        waiting = await waiting_for(a1, 3)
        assert (await a1.pick_queue()).campaigns == ["Support"]
        assert await world.engine.router.assign_all() == []  # the router pushes nothing
        assert [w.subject for w in waiting] == ["Q0", "Q1", "Q2"]  # longest waiting first
        taken = await a1.take(waiting[0].id)
        assert (taken.agent, taken.state) == ("agent1", "assigned")
        with pytest.raises(Conflict) as second:
            await a1.take(waiting[1].id)
        assert second.value.field == "interaction_id" and "finish" in second.value.message
        with pytest.raises(Conflict, match="another agent took it"):
            await a2.take(waiting[0].id)
        assert [w.subject for w in await waiting_for(a2, 2)] == ["Q1", "Q2"]


async def test_two_agents_taking_the_same_one_at_once(world: World) -> None:
    await add_agents(world, "agent2")
    await strategy(world, availability="pick-many")
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        await go_free(a1, a2)
        send(world, "Q0")
        (only,) = await waiting_for(a1, 1)
        results = await asyncio.gather(a1.take(only.id), a2.take(only.id), return_exceptions=True)
    won = [r for r in results if isinstance(r, InteractionSummary)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    owners = await settled(world, 1)
    assert owners["Q0"] == won[0].agent


async def test_pick_many_up_to_the_maximum_even_from_two_consoles(world: World) -> None:
    await strategy(world, availability="pick-many", max_interactions_per_agent=2)
    async with world.client("agent1") as a1, world.client("agent1") as again:
        await go_free(a1)
        send(world, "Q0", "Q1", "Q2", "Q3")
        waiting = await waiting_for(a1, 4)
        await a1.take(waiting[0].id)
        results = await asyncio.gather(
            a1.take(waiting[1].id), again.take(waiting[2].id), return_exceptions=True
        )
        assert sum(isinstance(r, InteractionSummary) for r in results) == 1, results
        with pytest.raises(Conflict, match=r"most it allows \(2\)"):
            await a1.take(waiting[3].id)
        assert len(await a1.interactions(state="assigned")) == 2


async def test_taking_is_refused_outside_the_rules(world: World) -> None:
    await world.operator.add_user(UserIn(username="outsider"))
    async with world.client("agent1") as a1, world.client("outsider") as out:
        send(world, "Q0")  # nobody is Free: it waits
        await settled(world, 1, queued=1)
        (queued,) = await world.operator.interactions(scope="all", state="queued")
        with pytest.raises(Conflict, match="hands out its mail itself") as pushed:
            await a1.take(queued.id)
        assert pushed.value.field == "interaction_id"
        await strategy(world, availability="pick-one")
        with pytest.raises(Forbidden, match="not a member"):
            await out.take(queued.id)
        with pytest.raises(Conflict, match="when Free") as away:
            await a1.take(queued.id)  # Offline
        assert away.value.field == "status"
        with pytest.raises(NotFound):
            await a1.take(2**40)
        await go_free(a1)
        assert (await a1.take(queued.id)).agent == "agent1"
