"""What a console keeps of the events that overtake a load (console/overtaken.py): only the
kinds the load reads, from its start until its answer, in order; nothing from before a
reconnection; nothing once the load has failed; never without bound."""

from __future__ import annotations

from console.overtaken import MOST_KEPT, Overtaken
from engine.api.schemas import CampaignsChanged, WaitingChanged


def waiting(n: int) -> WaitingChanged:
    return WaitingChanged(campaign="Support", waiting=n)


def test_a_load_gets_back_the_events_of_its_kinds_heard_since_it_started() -> None:
    kept = Overtaken()
    kept.heard(waiting(1))  # before the load: older than its answer
    kept.started("me", (WaitingChanged,))
    kept.heard(waiting(2))
    kept.heard(CampaignsChanged())  # not a kind this load reads
    kept.heard(waiting(3))
    assert kept.answered("me") == [waiting(2), waiting(3)]
    kept.heard(waiting(4))  # after the answer: applied as it comes
    assert kept.answered("me") == []


def test_a_reload_that_replaces_one_in_flight_keeps_what_the_first_heard() -> None:
    kept = Overtaken()
    kept.started("me", (WaitingChanged,))
    kept.heard(waiting(1))
    kept.started("me", (WaitingChanged,))
    kept.heard(waiting(2))
    assert kept.answered("me") == [waiting(1), waiting(2)]


def test_a_reconnection_or_a_failed_load_keeps_nothing() -> None:
    kept = Overtaken()
    kept.started("me", (WaitingChanged,))
    kept.started("inbox", (WaitingChanged,))
    kept.heard(waiting(1))
    kept.reconnected()  # what the old stream said may be older than what it missed
    kept.heard(waiting(2))
    assert kept.answered("me") == [waiting(2)]
    kept.failed("inbox")
    kept.heard(waiting(3))
    assert kept.answered("inbox") == []


def test_a_load_that_never_answers_keeps_a_bounded_number() -> None:
    kept = Overtaken()
    kept.started("me", (WaitingChanged,))
    for n in range(MOST_KEPT + 10):
        kept.heard(waiting(n))
    events = kept.answered("me")
    assert len(events) == MOST_KEPT
    assert events[-1] == waiting(MOST_KEPT + 9)  # the newest are kept
