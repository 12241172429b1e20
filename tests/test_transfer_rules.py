"""The pure rules of moving work (engine/domain/transfer.py): who may move an interaction,
who may receive it, whose work a supervisor may take, and when a logged-out agent's work goes
back to the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.domain import transfer as rules

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_only_the_owner_or_a_supervisor_moves_an_open_interaction() -> None:
    mine = {"interaction_id": 7, "state": "assigned", "owner_id": 1}
    assert rules.holder_refusal(**mine, mover_id=1, supervisor=False) is None
    refused = rules.holder_refusal(**mine, mover_id=2, supervisor=False)
    assert refused is not None and "not yours" in refused.text
    assert rules.holder_refusal(**mine, mover_id=2, supervisor=True) is None
    queued = {"interaction_id": 7, "state": "queued", "owner_id": None}
    assert rules.holder_refusal(**queued, mover_id=2, supervisor=False) is not None
    assert rules.holder_refusal(**queued, mover_id=None, supervisor=True) is None
    closed = rules.holder_refusal(
        interaction_id=7, state="closed", owner_id=1, mover_id=1, supervisor=True
    )
    assert closed is not None and closed.text == "interaction 7 is closed"


@pytest.mark.parametrize(
    ("target", "words"),
    [
        (None, "no agent 'bob'"),
        (rules.Candidate("bob", False, True, "free"), "no agent 'bob'"),
        (rules.Candidate("bob", True, False, "free"), "bob is not a member of Support"),
        (rules.Candidate("bob", True, True, "offline"), "bob is offline"),
        (rules.Candidate("ada", True, True, "free"), "already ada's"),
    ],
)
def test_who_may_receive_a_transfer(target: rules.Candidate | None, words: str) -> None:
    refused = rules.agent_refusal(target, name="bob", campaign="Support", owner="ada")
    assert refused is not None and refused.field == "to_agent"
    assert words in refused.text


@pytest.mark.parametrize("status", ["free", "break", "paused"])
def test_any_member_at_a_console_may_receive(status: str) -> None:
    target = rules.Candidate("bob", True, True, status)
    assert rules.agent_refusal(target, name="bob", campaign="Support", owner="ada") is None


def test_another_campaign_must_exist_and_receive() -> None:
    assert rules.campaign_refusal(name="Sales", exists=True, enabled=True, receives=True) is None
    missing = rules.campaign_refusal(name="X", exists=False, enabled=False, receives=False)
    assert missing is not None and missing.field == "to_campaign"
    for enabled, receives in [(False, True), (True, False)]:
        off = rules.campaign_refusal(name="Sales", exists=True, enabled=enabled, receives=receives)
        assert off is not None and "does not receive" in off.text


def test_a_supervisor_takes_work_only_from_an_agent_not_working_it() -> None:
    assert rules.reassign_refusal("ada", "free") is not None
    for status in ("offline", "paused", "break"):
        assert rules.reassign_refusal("ada", status) is None


def test_requeue_after_the_campaigns_minutes_and_only_while_offline() -> None:
    def due(**given: object) -> bool:
        args: dict[str, object] = {
            "on_logout": "requeue",
            "minutes": 15,
            "status": "offline",
            "offline_since": NOW,
            "now": NOW + timedelta(minutes=15),
        }
        args.update(given)
        return rules.requeue_due(**args)  # type: ignore[arg-type]

    assert due()
    assert not due(now=NOW + timedelta(minutes=14, seconds=59))
    assert not due(on_logout="keep", now=NOW + timedelta(days=3))
    assert not due(status="free", now=NOW + timedelta(days=3))  # came back in time
    assert due(minutes=0, now=NOW)  # at once
