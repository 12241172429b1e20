"""An agent hears of an assignment as it commits: the router reads the assigned
interactions in its own transaction and publishes them at once, without a batch's wait and
read (`Notifier.assigned`). Under a burst, the batch that announced the queued mail may still
be reading while it is assigned; nobody's screen may then be left with the queued state."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.api.schemas import CampaignIn, Event, InteractionChanged, UserIn
from engine.client import EngineClient
from engine.engine import Engine
from engine.services.inbound.prepare import Position
from engine.services.work import router as router_module
from tests.engine_fixtures import eventually
from tests.mail_factory import numbered_mail

AGENTS = ("agent1", "agent2", "agent3")
MAILS = 60


async def test_every_screen_ends_on_the_assignment_after_a_burst(
    engine: Engine, operator: EngineClient
) -> None:
    campaign = await operator.add_campaign(
        CampaignIn(
            name="Support", email_address="support@postdesk.test", inbound="none",
            smtp_host="127.0.0.1", smtp_security="plain", max_interactions_per_agent=MAILS,
            check=False,  # no SMTP server to log in to here: saved unchecked
        )
    )  # fmt: skip
    await operator.add_user(UserIn(username="super1", display_name="S", roles=["supervisor"]))
    seen: dict[str, list[Event]] = {}
    watching: list[asyncio.Task[None]] = []

    async def watch(name: str, ready: asyncio.Event) -> None:
        async with EngineClient(engine.socket_path, act_as=name) as client:
            if name != "super1":
                await client.set_status("free")
            async for event in client.events():
                seen.setdefault(name, []).append(event)
                ready.set()

    for name in AGENTS:
        await operator.add_user(UserIn(username=name, display_name=name, roles=["agent"]))
        await operator.add_member("Support", name)
    try:
        for name in ("super1", *AGENTS):
            ready = asyncio.Event()
            watching.append(asyncio.create_task(watch(name, ready)))
            await ready.wait()
        # Small batches committed back to back: the router assigns each while the batch
        # announcing the next ones is being read.
        for first in range(1, MAILS + 1, 3):
            await asyncio.gather(
                *(
                    engine.ingestor.ingest(campaign.id, numbered_mail(n), Position("maildir"))
                    for n in range(first, first + 3)
                )
            )
        rows = await eventually(
            lambda: operator.interactions(scope="all"),
            lambda rows: len(rows) == MAILS and all(r.state == "assigned" for r in rows),
            what=f"{MAILS} interactions assigned",
        )
        owner = {row.id: row.agent for row in rows}
        assert set(owner.values()) == set(AGENTS)

        def last_seen(name: str) -> dict[int, tuple[str, str | None]]:
            last: dict[int, tuple[str, str | None]] = {}
            for event in seen.get(name, []):
                if isinstance(event, InteractionChanged):
                    last[event.interaction.id] = (event.interaction.state, event.interaction.agent)
            return last

        async def screens() -> dict[str, dict[int, tuple[str, str | None]]]:
            return {name: last_seen(name) for name in ("super1", *AGENTS)}

        expected = {
            "super1": {i: ("assigned", agent) for i, agent in owner.items()},
            **{
                name: {i: ("assigned", name) for i, agent in owner.items() if agent == name}
                for name in AGENTS
            },
        }
        # Each screen's last word on every interaction is its assignment (a stale "queued"
        # published after it would stay: nothing else changes these interactions).
        await eventually(
            screens,
            lambda now: all(
                {i: now[name].get(i) for i in want} == want for name, want in expected.items()
            ),
            what="every screen showing every interaction assigned",
        )
        # An agent is told of its own interactions only.
        for name in AGENTS:
            assert set(last_seen(name)) == set(expected[name])
    finally:
        for task in watching:
            task.cancel()
        await asyncio.gather(*watching, return_exceptions=True)


async def test_a_failing_pass_in_the_storing_transaction_keeps_the_mail_unrouted(
    engine: Engine, operator: EngineClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass runs at the end of ingest's transaction, in a savepoint: if it fails after
    writing its assignments, they are undone (nobody holds mail they were never told of)
    and the mail is stored, queued, and routed by the router's own pass afterwards."""
    campaign = await operator.add_campaign(
        CampaignIn(
            name="Support", email_address="support@postdesk.test", inbound="none",
            smtp_host="127.0.0.1", smtp_security="plain", check=False,
        )
    )  # fmt: skip
    await operator.add_user(UserIn(username="agent1", display_name="A", roles=["agent"]))
    await operator.add_member("Support", "agent1")
    real = router_module.interaction_events
    failing = True

    def fails_after_writing(session: Any, ids: list[int]) -> Any:
        if failing:
            raise RuntimeError("the pass fails after its UPDATE")
        return real(session, ids)

    monkeypatch.setattr(router_module, "interaction_events", fails_after_writing)
    async with EngineClient(engine.socket_path, act_as="agent1") as agent:
        await agent.set_status("free")
        stored = await engine.ingestor.ingest(campaign.id, numbered_mail(1), Position("maildir"))
        assert stored.interaction_id is not None  # stored, the failed pass notwithstanding
        rows = await operator.interactions(scope="all")
        assert [(r.state, r.agent) for r in rows] == [("queued", None)]
        failing = False
        engine.router.kick()
        rows = await eventually(
            lambda: operator.interactions(scope="all"),
            lambda rows: [(r.state, r.agent) for r in rows] == [("assigned", "agent1")],
            what="the mail routed by the router's own pass",
        )
        assert [r.id for r in await agent.interactions()] == [stored.interaction_id]
