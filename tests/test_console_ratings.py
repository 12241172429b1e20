"""The thread shows what the customer did with a reply: its rating and how often it was seen."""

from __future__ import annotations

from datetime import UTC, datetime

from console.widgets.message import message_text
from engine.api.schemas import MessageOut

AT = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)


def reply(**changes: object) -> MessageOut:
    fields: dict[str, object] = dict(
        id=7,
        direction="outbound",
        state="sent",
        message_id="x@postdesk.test",
        from_email="support@postdesk.test",
        from_name="Support",
        to=["carol@example.net"],
        cc=[],
        subject="Re: parcel",
        text="It left today.",
        created_at=AT,
        sent_at=AT,
        error="",
        kind="reply",
    )
    fields.update(changes)
    return MessageOut(**fields)  # type: ignore[arg-type]


def test_a_rated_and_seen_reply_says_so() -> None:
    shown = message_text(reply(rating=4, rated_at=AT, seen_count=3, seen_at=AT)).plain
    assert "Rated ★★★★☆ 4/5" in shown and "Seen 3 times, first" in shown


def test_a_reply_nobody_rated_or_saw_shows_neither() -> None:
    shown = message_text(reply()).plain
    assert "Rated" not in shown and "Seen" not in shown


def test_the_agent_grid_shows_each_agents_average_rating() -> None:
    from console.widgets.monitor import AgentGrid
    from engine.api.schemas import AgentRow

    row = AgentRow(
        username="ben",
        display_name="Ben",
        status="free",
        status_reason="",
        status_since=AT,
        active=1,
        completed=3,
        rating_count=4,
        rating_average=4.25,
    )
    grid = AgentGrid()
    assert grid._cells(row)["rating"].plain == "4.2"
    row.rating_average, row.rating_count = None, 0
    assert grid._cells(row)["rating"].plain == "-"
