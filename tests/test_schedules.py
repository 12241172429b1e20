"""Schedules and the queue limit against a real engine (Dovecot in, SMTP sink out).

The engine's schedule clock is moved across a window's edge; nothing sleeps for time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine.api.schemas import (
    CampaignPatch,
    ScheduleExceptionIn,
    ScheduleWindow,
    TemplateIn,
)
from engine.client import EngineError
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail

MONDAY_9 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def __call__(self) -> datetime:
        return self.at


async def test_schedule_round_trips_and_refusals_name_their_field(world: World) -> None:
    saved = await world.operator.update_campaign(
        "Support",
        CampaignPatch(
            time_zone="Europe/Madrid",
            schedule=[
                ScheduleWindow(
                    days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="14:00"
                ),
                ScheduleWindow(days=["mon", "tue"], start="16:00", end="19:00"),
            ],
            schedule_exceptions=[
                ScheduleExceptionIn(day=date(2026, 12, 25), note="Christmas"),
                ScheduleExceptionIn(day=date(2026, 12, 24), start="09:00", end="13:00"),
            ],
        ),
    )
    assert saved.time_zone == "Europe/Madrid"
    assert [(w.days, w.start, w.end) for w in saved.schedule] == [
        (["mon", "tue", "wed", "thu", "fri"], "09:00", "14:00"),
        (["mon", "tue"], "16:00", "19:00"),
    ]
    assert [(e.day, e.start, e.note) for e in saved.schedule_exceptions] == [
        (date(2026, 12, 24), "09:00", ""),
        (date(2026, 12, 25), "", "Christmas"),
    ]
    for patch, field in [
        (CampaignPatch(time_zone="Mars/Olympus"), "time_zone"),
        (CampaignPatch(overflow_campaign="Support"), "overflow_campaign"),
        (CampaignPatch(overflow_campaign="Nowhere"), "overflow_campaign"),
        (CampaignPatch(busy_template="Nothing"), "busy_template"),
        (
            CampaignPatch(
                schedule_exceptions=[ScheduleExceptionIn(day=date(2026, 12, 31), start="09:00")]
            ),
            "schedule_exceptions",
        ),
    ]:
        with pytest.raises(EngineError) as refused:
            await world.operator.update_campaign("Support", patch)
        assert refused.value.field == field, patch


async def test_closed_campaign_stores_mail_routes_nothing_and_answers_out_of_hours(
    world: World,
) -> None:
    clock = Clock(MONDAY_9 - timedelta(hours=2))  # Monday 07:00 UTC: closed
    world.engine.schedules.clock = clock
    await world.operator.add_template(
        TemplateIn(
            name="Closed",
            campaign="Support",
            kind="confirmation",
            body_text="We are closed, ${name}; we open at 09:00.",
        )
    )
    await world.operator.update_campaign(
        "Support",
        CampaignPatch(
            schedule=[ScheduleWindow(days=["mon"], start="09:00", end="17:00")],
            out_of_hours_template="Closed",
        ),
    )
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        world.dovecot.append(world.mailbox, customer_mail("At night", "Hello"))
        await eventually(
            lambda: world.operator.interactions(scope="all"),
            lambda rows: len(rows) == 1,
            what="the mail to be stored",
        )
        await eventually(
            lambda: _sent_kinds(world),
            lambda kinds: "We are closed" in kinds,
            what="the out-of-hours answer",
        )
        snapshot = await world.operator.monitor()
        assert [(c.name, c.in_schedule) for c in snapshot.campaigns] == [("Support", False)]
        assert snapshot.campaigns[0].next_change == MONDAY_9
        # The router knows when to wake: at the opening, not at its next sweep.
        assert world.engine.router.next_schedule_change == MONDAY_9
        await world.engine.router.assign_all()
        assert [r.state for r in await world.operator.interactions(scope="all")] == ["queued"]
        clock.at = MONDAY_9
        world.engine.router.kick()
        await eventually(
            agent.interactions,
            lambda rows: [r.subject for r in rows] == ["At night"],
            what="the opening to route the waiting mail",
        )
        snapshot = await world.operator.monitor()
        assert snapshot.campaigns[0].in_schedule


async def test_holiday_closes_the_day(world: World) -> None:
    world.engine.schedules.clock = Clock(datetime(2026, 12, 25, 10, tzinfo=UTC))
    await world.operator.update_campaign(
        "Support",
        CampaignPatch(schedule_exceptions=[ScheduleExceptionIn(day=date(2026, 12, 25))]),
    )
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        world.dovecot.append(world.mailbox, customer_mail("On Christmas", "Hello"))
        await eventually(
            lambda: world.operator.interactions(scope="all"),
            lambda rows: len(rows) == 1,
            what="the mail to be stored",
        )
        await world.engine.router.assign_all()
        assert await agent.interactions() == []
        assert world.engine.router.next_schedule_change == datetime(2026, 12, 26, tzinfo=UTC)


async def test_queue_limit_holds_overflow_and_lets_it_in_in_arrival_order(world: World) -> None:
    await world.operator.add_template(
        TemplateIn(name="Busy", campaign="Support", kind="confirmation", body_text="We are busy.")
    )
    await world.operator.update_campaign(
        "Support", CampaignPatch(max_interactions_in_queue=2, busy_template="Busy")
    )
    for n in range(5):
        world.dovecot.append(world.mailbox, customer_mail(f"Question {n}", "Hello"))
    rows = await eventually(
        lambda: world.operator.interactions(scope="all"),
        lambda rows: len(rows) == 5,
        what="every mail to be stored (none dropped)",
    )
    assert all(r.state == "queued" for r in rows)
    snapshot = await eventually(
        world.operator.monitor,
        lambda s: s.queue_total == 2 and s.campaigns[0].overflow == 3,
        what="two in the queue and three held",
    )
    assert [q.interaction_id for q in snapshot.queue] == sorted(r.id for r in rows)[:2]
    await eventually(
        lambda: _sent_kinds(world),
        lambda kinds: kinds.count("We are busy.") == 3,
        what="the busy answer to the three held",
    )
    async with world.client("agent1") as agent:
        await agent.set_status("free")  # cap 5: takes all, held ones follow in order
        mine = await eventually(
            agent.interactions,
            lambda rows: len(rows) == 5,
            what="the held interactions to enter the queue and be routed",
        )
        assert sorted(r.id for r in mine) == sorted(r.id for r in rows)
    snapshot = await world.operator.monitor()
    assert snapshot.queue_total == 0 and snapshot.campaigns[0].overflow == 0


async def test_queue_limit_overflows_to_another_campaign(world: World) -> None:
    other = world.dovecot.new_mailbox("sales")
    await world.operator.add_campaign(
        other.campaign("Sales", smtp_host=world.sink.host, smtp_port=world.sink.port)
    )
    await world.operator.update_campaign(
        "Support", CampaignPatch(max_interactions_in_queue=1, overflow_campaign="Sales")
    )
    [support] = [c for c in await world.operator.campaigns() if c.name == "Support"]
    assert support.overflow_campaign == "Sales"
    for n in range(3):
        world.dovecot.append(world.mailbox, customer_mail(f"Question {n}", "Hello"))
    rows = await eventually(
        lambda: world.operator.interactions(scope="all"),
        lambda rows: len(rows) == 3,
        what="every mail to be stored",
    )
    assert sorted(r.campaign_name for r in rows) == ["Sales", "Sales", "Support"]


async def _sent_kinds(world: World) -> str:
    """The text of every mail the world received from us."""
    return "\n".join(m.raw.decode("utf-8", "replace") for m in world.sink.messages)


async def test_ctl_campaign_schedule_edits_the_lists(world: World) -> None:
    import argparse

    from postdesk.ctl.commands import _edit_schedule

    def args(**given: object) -> argparse.Namespace:
        base: dict[str, object] = {
            "name": "Support",
            "time_zone": None,
            "add": [],
            "remove": [],
            "clear": False,
            "exceptions": [],
            "unexcept": [],
        }
        return argparse.Namespace(**(base | given))

    view = await _edit_schedule(
        world.operator,
        args(
            time_zone="America/Montevideo",
            add=["mon-fri 09:00-18:00", "sat 10:00-13:00"],
            exceptions=["2026-12-25 closed Christmas"],
        ),
    )
    assert view["windows"] == ["mon-fri 09:00-18:00", "sat 10:00-13:00"]
    assert view["exceptions"] == ["2026-12-25 closed Christmas"]
    view = await _edit_schedule(world.operator, args(remove=["wed 09:00-18:00"]))
    assert view["windows"] == ["mon-tue,thu-fri 09:00-18:00", "sat 10:00-13:00"]
    assert view["time_zone"] == "America/Montevideo"
    view = await _edit_schedule(world.operator, args(clear=True, unexcept=["2026-12-25"]))
    assert view["windows"] == ["always open"] and view["exceptions"] == []
