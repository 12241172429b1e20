"""The event bus offers an event only to the streams it is about and to those that see
everything; the subscriber's own filter still decides. With 500 agents online, asking every
stream about every event was a fifth of the engine's time (bench/routing.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from engine.api.schemas import (
    ChatLine,
    ChatSaid,
    Event,
    InteractionChanged,
    InteractionSummary,
    PickQueueChanged,
    QueueChanged,
)
from engine.bus import EventBus, Subscription

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def assigned_to(agent: str | None, interaction_id: int = 1) -> InteractionChanged:
    return InteractionChanged(
        interaction=InteractionSummary(
            id=interaction_id, campaign_id=1, campaign_name="Support", client_email="c@x.test",
            client_name="", subject="Order", state="assigned" if agent else "queued",
            agent=agent, unread=True, queued_at=NOW, assigned_at=NOW if agent else None,
            closed_at=None, last_message_at=NOW, message_count=1,
        )
    )  # fmt: skip


def pending(sub: Subscription) -> list[Event | None]:
    return list(sub._events)


async def test_an_event_about_one_agent_is_offered_to_them_and_to_supervisors_only() -> None:
    bus = EventBus()
    asked: list[str] = []

    def asking(name: str, answer: bool = True) -> Callable[[Event], bool]:
        def accepts(event: Event) -> bool:
            asked.append(name)
            return answer

        return accepts

    async with (
        bus.subscribe(asking("ann"), username="ann") as ann,
        bus.subscribe(asking("bob"), username="bob") as bob,
        bus.subscribe(asking("sue"), sees_all=True, username="sue") as sue,
    ):
        for n in range(100):
            bus.publish(assigned_to("ann", n))
        assert sorted(set(asked)) == ["ann", "sue"]  # Bob's stream was never even asked
        assert len(pending(ann)) == len(pending(sue)) == 100 and pending(bob) == []
        asked.clear()
        bus.publish(assigned_to(None))  # back in the queue: nobody's
        bus.publish(QueueChanged(queue=[], total=0))
        assert asked == ["sue", "sue"]
        bus.publish(PickQueueChanged())  # names nobody: every stream decides
        assert sorted(asked[2:]) == ["ann", "bob", "sue"]


async def test_the_subscribers_filter_still_decides() -> None:
    bus = EventBus()
    line = ChatLine(id=1, sender="sue", sender_name="Sue", recipient="ann", text="hi", at=NOW)
    async with (
        bus.subscribe(lambda e: False, username="ann") as refusing,
        bus.subscribe(lambda e: True, username="ann") as ann,
        bus.subscribe(lambda e: not isinstance(e, ChatSaid), sees_all=True, username="max") as mx,
        bus.subscribe(lambda e: True, sees_all=True, username="sue") as sue,
        bus.subscribe(None) as anyone,
    ):
        bus.publish(ChatSaid(line=line))
        assert pending(refusing) == [] and pending(mx) == []
        assert pending(ann) == pending(sue) == pending(anyone) == [ChatSaid(line=line)]


async def test_a_closed_subscription_is_offered_nothing_and_supervisors_are_counted() -> None:
    bus = EventBus()
    async with bus.subscribe(None, username="ann") as ann:
        assert bus.has_subscribers and not bus.has_supervisors
        async with bus.subscribe(None, sees_all=True, username="sue"):
            assert bus.has_supervisors
        assert not bus.has_supervisors
    assert not bus.has_subscribers and bus._by_user == {}
    bus.publish(assigned_to("ann"))
    assert pending(ann) == []
