"""Moving work between people against a real engine (Dovecot in, SMTP sink out): an agent's
transfer to a colleague or a queue, a supervisor's reassignment, internal notes (never in
mail), and a campaign that requeues a logged-out agent's work after N minutes.

Time is the engine's controllable clock (`schedules.clock`), as in tests/test_schedules.py:
nothing sleeps for minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.api.schemas import (
    CampaignPatch,
    ForwardIn,
    InteractionChanged,
    InteractionMoved,
    InteractionSummary,
    UserIn,
)
from engine.client import Conflict, EngineClient, Forbidden, Invalid, NotFound
from engine.engine import Engine
from tests import db_probe
from tests.engine_fixtures import World, engine_settings, eventually, provision
from tests.mail_factory import customer_mail
from tests.servers import DovecotServer, SmtpSink


class Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def __call__(self) -> datetime:
        return self.at


async def add_agent(world: World, name: str, *, member: bool = True) -> None:
    await world.operator.add_user(UserIn(username=name, display_name=name.title()))
    if member:
        await world.operator.add_member("Support", name)


async def one_assigned(world: World, agent: EngineClient, subject: str) -> InteractionSummary:
    """A customer's mail, routed to `agent` (the only Free member)."""
    await agent.set_status("free")
    world.dovecot.append(world.mailbox, customer_mail(subject, f"About {subject}."))
    rows = await eventually(
        lambda: agent.interactions(state="assigned"),
        lambda rows: any(r.subject == subject for r in rows),
        what=f"{subject!r} to be assigned",
    )
    return next(r for r in rows if r.subject == subject)


def db_row(engine: Engine, sql: str, *args: object) -> tuple[object, ...]:
    return db_probe.row(engine.settings, sql, *args)


async def next_of(events: object, kind: type) -> object:
    async for event in events:  # type: ignore[attr-defined]
        if isinstance(event, kind):
            return event
    raise AssertionError(f"the stream ended before a {kind.__name__}")


async def test_an_agent_hands_an_interaction_to_a_colleague_with_a_note(world: World) -> None:
    await add_agent(world, "agent2")
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        item = await one_assigned(world, a1, "Broken kettle")
        await a1.reply(item.id, "Looking into it.")
        await a2.set_status("break", "Lunch")
        old_stream, new_stream = a1.events(), a2.events()
        assert type(await anext(old_stream)).__name__ == "Hello"
        assert type(await anext(new_stream)).__name__ == "Hello"
        later = datetime.now(UTC) + timedelta(minutes=10)
        world.engine.schedules.clock = Clock(later)

        targets = await a1.transfer_targets(item.id)
        assert targets.campaign == "Support"
        assert [(t.username, t.state) for t in targets.agents] == [("agent2", "free_on_break")]

        moved = await a1.transfer(item.id, to_agent="agent2", note="Kettle model KX-2, refund ok")
        assert (moved.agent, moved.state, moved.unread) == ("agent2", "assigned", True)

        left = await next_of(old_stream, InteractionMoved)
        assert isinstance(left, InteractionMoved)
        assert (left.interaction_id, left.to_agent, left.by) == (item.id, "agent2", "Agent1")
        arrived = await next_of(new_stream, InteractionChanged)
        assert isinstance(arrived, InteractionChanged)
        assert (arrived.interaction.id, arrived.interaction.agent) == (item.id, "agent2")
        await old_stream.aclose()
        await new_stream.aclose()

        assert await a1.interactions(state="assigned") == []
        detail = await a2.interaction(item.id)
        assert [m.text.splitlines()[0] for m in detail.messages][-1] == "Looking into it."
        [note] = detail.notes
        assert (note.kind, note.author, note.author_name, note.target, note.text) == (
            "transfer",
            "agent1",
            "Agent1",
            "Agent2",
            "Kettle model KX-2, refund ok",
        )
        with pytest.raises(Forbidden):
            await a1.interaction(item.id)  # not theirs any more
    # The first assignment's handling time is closed (10 minutes on the clock) and the
    # second starts at the transfer.
    handling, assigned_at = db_row(
        world.engine,
        "SELECT handling_seconds, assigned_at FROM interactions WHERE id = ?",
        item.id,
    )
    assert 595 <= int(handling) <= 610  # type: ignore[call-overload]
    assert db_probe.at(assigned_at).strftime("%Y-%m-%d %H:%M") == later.strftime(  # type: ignore[arg-type, union-attr]
        "%Y-%m-%d %H:%M"
    )


async def test_refusals_name_what_is_wrong(world: World) -> None:
    await add_agent(world, "agent2")
    await add_agent(world, "agent3")  # a member who is offline (no console, never free)
    await add_agent(world, "outsider", member=False)
    await world.operator.add_campaign(
        world.mailbox.campaign(
            "Closed shop", email_address="closed@postdesk.test", inbound="none", enabled=False
        )
    )
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        item = await one_assigned(world, a1, "Refusals")
        await a2.set_status("free")
        with pytest.raises(Forbidden, match="not yours"):
            await a2.transfer(item.id, to_agent="agent2")  # someone else's interaction
        cases = [
            ({"to_agent": "outsider"}, Invalid, "to_agent", "not a member of Support"),
            ({"to_agent": "agent3"}, Invalid, "to_agent", "agent3 is offline"),
            ({"to_agent": "agent1"}, Invalid, "to_agent", "already agent1's"),
            ({"to_agent": "nobody"}, NotFound, "to_agent", "no agent 'nobody'"),
            ({"to_agent": "super1"}, NotFound, "to_agent", "no agent 'super1'"),
            ({"to_campaign": "Nowhere"}, NotFound, "to_campaign", "no campaign"),
            ({"to_campaign": "Closed shop"}, Invalid, "to_campaign", "does not receive"),
            ({"to_agent": "agent2", "to_campaign": "Closed shop"}, Invalid, "to_agent", "not both"),
        ]
        for given, error, field, words in cases:
            with pytest.raises(error, match=words) as refused:
                await a1.transfer(item.id, **given)  # type: ignore[arg-type]
            assert refused.value.field == field, given
        # Nothing moved.
        assert [r.id for r in await a1.interactions(state="assigned")] == [item.id]
        assert (await world.operator.interaction(item.id)).notes == []
        await a1.close_interaction(item.id)
        with pytest.raises(Conflict, match="closed"):
            await a1.transfer(item.id, to_agent="agent2")


async def test_back_to_the_queue_is_routed_again_and_other_campaigns_take_it(
    world: World,
) -> None:
    await add_agent(world, "agent2")
    await world.operator.add_campaign(
        world.mailbox.campaign("Sales", email_address="sales@postdesk.test", inbound="none")
    )
    await world.operator.add_user(UserIn(username="seller", display_name="Sam Seller"))
    await world.operator.add_member("Sales", "seller")
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        item = await one_assigned(world, a1, "Wrong desk")
        await a1.set_status("break", "Lunch")  # so the router gives it to agent2 next
        await a2.set_status("free")
        queued = await a1.transfer(item.id, note="Not mine, sorry")
        assert queued.state in ("queued", "assigned")
        back = await eventually(
            lambda: world.operator.interaction(item.id),
            lambda d: d.agent == "agent2",
            what="the router to hand it to agent2",
        )
        assert [n.target for n in back.notes] == ["Support queue"]

        async with world.client("seller") as seller:
            await seller.set_status("free")
            await a2.transfer(item.id, to_campaign="Sales", note="A quote, for sales")
            sold = await eventually(
                lambda: world.operator.interaction(item.id),
                lambda d: d.agent == "seller",
                what="Sales' router to hand it to its agent",
            )
    assert sold.campaign_name == "Sales"
    assert [(n.author, n.target) for n in sold.notes] == [
        ("agent1", "Support queue"),
        ("agent2", "Sales queue"),
    ]
    assert len(sold.messages) == 1  # the interaction keeps its messages


async def test_internal_notes_never_leave_in_mail(world: World) -> None:
    await add_agent(world, "agent2")
    secret = "INTERNAL-7731 customer is on the watch list"
    async with world.client("agent1") as a1, world.client("agent2") as a2:
        item = await one_assigned(world, a1, "Where is my order")
        await a1.add_note(item.id, "First note: " + secret)
        await a2.set_status("free")
        await a1.transfer(item.id, to_agent="agent2", note="Handover: " + secret)
        detail = await a2.interaction(item.id)
        assert [n.kind for n in detail.notes] == ["note", "transfer"]
        await a2.reply(item.id, "Your order ships today.", with_history=True)
        await a2.forward(item.id, ForwardIn(to="warehouse@example.org", text="Please check"))
        sent = await world.sink.await_count(2)
    assert len(sent) == 2
    for mail in sent:
        assert b"INTERNAL-7731" not in mail.raw
        assert b"watch list" not in mail.raw
    assert "About Where is my order." in sent[0].message.get_body().get_content()  # type: ignore[union-attr]


async def test_a_supervisor_reassigns_a_paused_agents_work(world: World) -> None:
    await add_agent(world, "agent2")
    await add_agent(world, "outsider", member=False)
    async with (
        world.client("agent1") as a1,
        world.client("agent2") as a2,
        world.client("super1") as boss,
    ):
        first = await one_assigned(world, a1, "First")
        second = await one_assigned(world, a1, "Second")
        with pytest.raises(Conflict, match="at work"):
            await boss.reassign("agent1", to_agent="agent2")
        with pytest.raises(Forbidden):
            await a2.reassign("agent1")  # agents cannot
        await boss.pause_agent("agent1")
        await a2.set_status("break", "Lunch")
        with pytest.raises(Invalid, match="not a member") as refused:
            await boss.reassign("agent1", to_agent="outsider")
        assert refused.value.field == "to_agent"
        with pytest.raises(NotFound) as missing:
            await boss.reassign("agent1", interaction_id=999)
        assert missing.value.field == "interaction_id"

        heard = a1.events()  # agent1's console, paused: told it left them
        assert type(await anext(heard)).__name__ == "Hello"
        one = await boss.reassign(
            "agent1", to_agent="agent2", interaction_id=first.id, note="Ada is ill"
        )
        assert one.moved == [first.id]
        told = await next_of(heard, InteractionMoved)
        assert isinstance(told, InteractionMoved)
        assert (told.interaction_id, told.to_agent, told.by) == (first.id, "agent2", "Super1")
        await heard.aclose()
        assert [r.id for r in await a2.interactions(state="assigned")] == [first.id]
        rest = await boss.reassign("agent1")
        assert rest.moved == [second.id]
        assert await a1.interactions(state="assigned") == []
        queued = await world.operator.interaction(second.id)
        assert (queued.state, queued.agent) == ("queued", None)
        [note] = queued.notes
        assert (note.kind, note.author, note.target) == ("reassign", "super1", "Support queue")
        with pytest.raises(Conflict, match="no open interaction"):
            await boss.reassign("agent1")
        snapshot = await boss.monitor()
        active = {row.username: row.active for row in snapshot.agents}
        assert (active["agent1"], active["agent2"]) == (0, 1)


async def requeueing(world: World, minutes: int) -> None:
    campaign = await world.operator.update_campaign(
        "Support", CampaignPatch(on_logout="requeue", requeue_after=minutes)
    )
    assert (campaign.on_logout, campaign.requeue_after) == ("requeue", minutes)


async def test_logged_out_agents_work_goes_back_after_the_campaigns_delay(world: World) -> None:
    await requeueing(world, 15)
    clock = Clock(datetime.now(UTC))
    world.engine.schedules.clock = clock
    async with world.client("agent1") as a1, world.client("super1") as boss:
        item = await one_assigned(world, a1, "Left behind")
        await boss.log_out_agent("agent1")
        clock.at += timedelta(minutes=14)
        assert await world.engine.transfers.requeue_due() == []
        clock.at += timedelta(minutes=2)
        world.engine.transfers.kick()  # the engine's own task does it
        detail = await eventually(
            lambda: world.operator.interaction(item.id),
            lambda d: d.state == "queued",
            what="the requeue after 15 minutes",
        )
    [note] = detail.notes
    assert (note.kind, note.author, note.author_name) == ("reassign", None, "Postdesk")
    assert "Agent1 was logged out for over 15 min" in note.text


async def test_coming_back_in_time_keeps_the_work_and_keep_never_requeues(world: World) -> None:
    await requeueing(world, 15)
    clock = Clock(datetime.now(UTC))
    world.engine.schedules.clock = clock
    async with world.client("agent1") as a1, world.client("super1") as boss:
        item = await one_assigned(world, a1, "Still mine")
        await boss.log_out_agent("agent1")
        clock.at += timedelta(minutes=5)
        stream = a1.events()  # a console again: logged in
        assert type(await anext(stream)).__name__ == "Hello"
        await eventually(a1.me, lambda me: me.status == "free", what="agent1 back")
        clock.at += timedelta(hours=1)
        assert await world.engine.transfers.requeue_due() == []
        # Keep before they leave: their going Offline wakes the requeue at once, and this
        # clock is an hour ahead of the one their Offline is written with.
        await world.operator.update_campaign("Support", CampaignPatch(on_logout="keep"))
        await stream.aclose()
        await eventually(a1.me, lambda me: me.status == "offline", what="agent1 gone")
        clock.at += timedelta(days=1)
        assert await world.engine.transfers.requeue_due() == []
        assert [r.id for r in await a1.interactions(state="assigned")] == [item.id]


async def test_the_requeue_timer_survives_an_engine_restart(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    home = tmp_path / "home"
    first = Engine(engine_settings(home))
    await first.start()
    try:
        async with EngineClient(first.socket_path) as operator:
            world = await provision(first, operator, dovecot, smtp_sink)
            await requeueing(world, 15)
            async with world.client("agent1") as a1, world.client("super1") as boss:
                item = await one_assigned(world, a1, "Across a restart")
                await boss.log_out_agent("agent1")
    finally:
        await first.stop()
    second = Engine(engine_settings(home))
    await second.start()
    try:
        # The restarted engine's own requeue task may be the one that moves it (it wakes
        # when agents are found Offline at the start): whoever does, it goes back once due.
        second.schedules.clock = lambda: datetime.now(UTC) + timedelta(minutes=16)
        second.transfers.kick()
        async with EngineClient(second.socket_path) as operator:
            back = await eventually(
                lambda: operator.interaction(item.id),
                lambda detail: detail.state == "queued",
                what="the interaction back in the queue",
            )
        assert back.agent is None
        assert await second.transfers.requeue_due() == []  # moved once
    finally:
        await second.stop()
