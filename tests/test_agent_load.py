"""An agent sees how much they hold against the most they may hold, and how many customers
wait in their campaigns, live; and a campaign turned to a pick mode while their console is
open offers its queue at once (no Ctrl+R). Against a real engine and Dovecot."""

from __future__ import annotations

import asyncio

from console.screens.breaks import BreakPicker
from engine.api.schemas import (
    CampaignPatch,
    CampaignsChanged,
    Event,
    Hello,
    UserIn,
    WaitingChanged,
)
from engine.client import EngineClient
from tests.console_helpers import console_for, screen_text, until
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail


def send(world: World, *subjects: str) -> None:
    for subject in subjects:
        world.dovecot.append(world.mailbox, customer_mail(subject, "Hello"))


async def collect(client: EngineClient, into: list[Event]) -> None:
    async for event in client.events():
        into.append(event)


async def test_me_counts_what_i_hold_and_what_waits(world: World) -> None:
    async with world.client("agent1") as agent:
        await agent.set_status("break", "Lunch")  # nothing is pushed: it all waits
        send(world, "W1", "W2")
        me = await eventually(
            agent.me, lambda me: me.load and me.load[0].waiting == 2, what="two waiting"
        )
        [support] = me.load
        assert (support.name, support.open, support.capacity, support.pick) == (
            "Support",
            0,
            5,
            False,
        )
        await agent.set_status("free")
        me = await eventually(agent.me, lambda me: me.load[0].open == 2, what="both assigned to me")
        assert me.load[0].waiting == 0
        await world.operator.update_campaign("Support", CampaignPatch(availability="one"))
        me = await agent.me()
        assert me.load[0].capacity == 1  # `one`: a single interaction at a time


async def test_waiting_counts_reach_members_only(world: World) -> None:
    await world.operator.add_user(UserIn(username="outsider"))
    heard: dict[str, list[Event]] = {"agent1": [], "outsider": []}
    async with world.client("agent1") as agent, world.client("outsider") as outsider:
        for client in (agent, outsider):  # nothing is pushed: it all waits
            await client.set_status("break", "Lunch")
        tasks = [
            asyncio.create_task(collect(agent, heard["agent1"])),
            asyncio.create_task(collect(outsider, heard["outsider"])),
        ]
        try:
            await eventually(
                lambda: asyncio.sleep(0, heard),
                lambda h: all(any(isinstance(e, Hello) for e in got) for got in h.values()),
                what="both streams open",
            )
            send(world, "W1")
            await eventually(
                lambda: asyncio.sleep(0, heard["agent1"]),
                lambda got: WaitingChanged(campaign="Support", waiting=1) in got,
                what="the member told one waits",
            )
            # Taken on by Support meanwhile: the outsider's stream now carries its counts.
            await world.operator.add_member("Support", "outsider")
            await eventually(
                lambda: asyncio.sleep(0, heard["outsider"]),
                lambda got: any(isinstance(e, CampaignsChanged) for e in got),
                what="the new member told their campaigns changed",
            )
            send(world, "W2")
            await eventually(
                lambda: asyncio.sleep(0, heard["outsider"]),
                lambda got: WaitingChanged(campaign="Support", waiting=2) in got,
                what="the new member hears the count",
            )
            # Before joining, the outsider heard no count of a campaign not theirs.
            first_cue = next(
                i for i, e in enumerate(heard["outsider"]) if isinstance(e, CampaignsChanged)
            )
            assert not any(isinstance(e, WaitingChanged) for e in heard["outsider"][:first_cue])
        finally:
            for task in tasks:
                task.cancel()


async def test_status_bar_shows_capacity_and_waiting_live(world: World) -> None:
    async with world.client("agent1") as agent:
        await agent.set_status("free")
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "0/5 open" in screen_text(app), what="capacity shown")
        assert "0 waiting" in screen_text(app)
        send(world, "First")
        await until(pilot, lambda: "1/5 open · 0 waiting" in screen_text(app), what="one held")
        await pilot.press("b")  # a break: the next mail waits
        await until(pilot, lambda: isinstance(app.screen, BreakPicker), what="break reasons")
        await pilot.press("enter")
        await until(pilot, lambda: "● Break" in screen_text(app), what="on a break")
        send(world, "Second", "Third")
        await until(pilot, lambda: "1/5 open · 2 waiting" in screen_text(app), what="two waiting")


async def test_a_campaign_turned_to_pick_mode_offers_its_queue_at_once(world: World) -> None:
    app = console_for(world.engine, "agent1", "agent")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "0/5 open" in screen_text(app), what="the agent console")
        await world.operator.update_campaign("Support", CampaignPatch(availability="pick-many"))
        await until(pilot, lambda: "0 to take (t)" in screen_text(app), what="the pick mode shown")
        send(world, "Take me", "Me too")
        await until(pilot, lambda: "2 to take (t)" in screen_text(app), what="two to take")
        await pilot.press("t")
        await until(
            pilot,
            lambda: "Waiting to be taken" in screen_text(app) and "Me too" in screen_text(app),
            what="the pick queue",
        )
        await pilot.press("enter")  # the longest waiting: "Take me"
        await until(
            pilot, lambda: "1/5 open · 1 to take (t)" in screen_text(app), what="counts moved"
        )
        assert "Take me" in screen_text(app)
