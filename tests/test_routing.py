"""The routing decision, and the router against a real engine: fewest active, cap, order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.api.schemas import UserIn
from engine.domain.routing import AgentLoad, choose_agent
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_fewest_active_wins_then_longest_free() -> None:
    busy = AgentLoad(1, active=2, free_since=T0)
    idle_recent = AgentLoad(2, active=0, free_since=T0 + timedelta(minutes=5))
    idle_long = AgentLoad(3, active=0, free_since=T0)
    assert choose_agent([busy, idle_recent, idle_long], max_per_agent=5) == idle_long


def test_cap_is_respected() -> None:
    full = AgentLoad(1, active=3, free_since=T0)
    assert choose_agent([full], max_per_agent=3) is None
    assert choose_agent([], max_per_agent=3) is None


async def test_router_spreads_work_and_queues_the_rest(world: World) -> None:
    """Two free agents, cap 5 each: 12 mails give 5 + 5 assigned and 2 waiting."""
    await world.operator.add_user(UserIn(username="agent2"))
    await world.operator.add_member("Support", "agent2")
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        await a1.set_status("free")
        await a2.set_status("free")
        for n in range(12):
            world.dovecot.append(world.mailbox, customer_mail(f"Question {n}", "Hello"))
        await eventually(
            lambda: world.operator.interactions(scope="all"),
            lambda rows: len(rows) == 12 and sum(r.state == "queued" for r in rows) == 2,
            what="10 assigned and 2 queued",
        )
        mine1, mine2 = await a1.interactions(), await a2.interactions()
        assert (len(mine1), len(mine2)) == (5, 5)
        queued = await world.operator.interactions(scope="all", state="queued")
        # Longest waiting first: the two queued are the last two that arrived.
        assert sorted(q.subject for q in queued) == ["Question 10", "Question 11"]
        snapshot = await world.operator.monitor()
        assert [q.client_email for q in snapshot.queue] == ["carol@example.net"] * 2
        # An agent freeing capacity takes the longest waiting one.
        await a1.close_interaction(mine1[0].id)
        await eventually(
            lambda: world.operator.interactions(scope="all", state="queued"),
            lambda rows: [r.subject for r in rows] == ["Question 11"],
            what="the longest waiting interaction to be assigned",
        )
