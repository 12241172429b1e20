"""A routing pass writes an assignment only if what it read still holds: the interaction
still queued, its agent still Free and under the campaign's limit; otherwise what changed
wins and the next pass sees it (engine nodes on PostgreSQL read and write beside each
other). Driven against a real engine whose router loop is stopped, so the moment between a
pass's reading and writing is the test's."""

from __future__ import annotations

from engine.api.schemas import CampaignPatch, InteractionSummary
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail


async def _queued(world: World, count: int) -> list[InteractionSummary]:
    return await eventually(
        lambda: world.operator.interactions(scope="all"),
        lambda rows: len(rows) == count,
        what=f"{count} interactions",
    )


async def _plan(world: World):  # type: ignore[no-untyped-def]
    return await world.engine.db.write_at_once(world.engine.router._plan)


async def _apply(world: World, plan) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    pairs, _admitted = await world.engine.db.write_at_once(
        lambda session: world.engine.router._apply(session, plan)
    )
    return pairs


async def test_what_changes_between_reading_and_writing_wins(world: World) -> None:
    world.engine._tasks.pop("router").cancel()  # the test takes the router's turns
    world.engine.ingestor.router = None  # and new mail is not routed as it is stored
    async with world.client("agent1") as agent:
        await agent.set_status("break", "Lunch")
        for subject in ("W1", "W2"):
            world.dovecot.append(world.mailbox, customer_mail(subject, "Hello"))
        await _queued(world, 2)
        await agent.set_status("free")

        # The agent goes on a break after the pass read them Free: nothing is assigned.
        plan = await _plan(world)
        assert len(plan.assignments) == 2
        await agent.set_status("break", "Coffee")
        assert await _apply(world, plan) == []
        rows = await world.operator.interactions(scope="all")
        assert [r.state for r in rows] == ["queued", "queued"] and not any(r.agent for r in rows)

        # Written once: the same decisions again find nothing queued and change nothing.
        await agent.set_status("free")
        plan = await _plan(world)
        assert len(await _apply(world, plan)) == 2
        assert await _apply(world, plan) == []
        rows = await world.operator.interactions(scope="all")
        assert sorted(r.agent or "" for r in rows) == ["agent1", "agent1"]

        # A third mail: a pass decided for it while the agent was under the limit; the
        # limit dropped to one meanwhile, and the agent already holds two.
        world.dovecot.append(world.mailbox, customer_mail("W3", "Hello"))
        await _queued(world, 3)
        plan = await _plan(world)
        assert len(plan.assignments) == 1
        await world.operator.update_campaign("Support", CampaignPatch(availability="one"))
        plan.assignments[0] = type(plan.assignments[0])(
            **{**_fields(plan.assignments[0]), "limit": 1}
        )
        assert await _apply(world, plan) == []
        w3 = next(r for r in await world.operator.interactions(scope="all") if r.subject == "W3")
        assert w3.state == "queued" and w3.agent is None


def _fields(item: object) -> dict[str, object]:
    return {name: getattr(item, name) for name in item.__slots__}  # type: ignore[attr-defined]
