"""`interactions.message_count` (migration 0041) against the messages actually there, however
they were written: the ORM, a batch's executemany, a move to another interaction, a delete, a
cascade. On the engine's database of the run (SQLite, then PostgreSQL). The lists read the
column, not a count: an inbox and a recordings page must say what the thread holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from data.models import Campaign, Direction, Interaction, Message, MessageState
from engine.engine import Engine
from engine.services.queries import summaries_where


async def counts(engine: Engine) -> dict[int, tuple[int, int]]:
    """Each interaction's (stored count, messages there)."""
    async with engine.db.session() as session:
        there = dict(
            (
                await session.execute(
                    select(Message.interaction_id, func.count()).group_by(Message.interaction_id)
                )
            ).all()
        )
        stored = (await session.execute(select(Interaction.id, Interaction.message_count))).all()
    return {iid: (count, there.get(iid, 0)) for iid, count in stored}


def a_message(interaction_id: int, n: int) -> dict[str, Any]:
    return {
        "interaction_id": interaction_id,
        "direction": Direction.INBOUND,
        "state": MessageState.RECEIVED,
        "message_id": f"<{interaction_id}.{n}@count.example>",
        "from_email": "ana@example.net",
        "subject": "Order",
        "text": f"message {n}",
        "created_at": datetime.now(UTC),
    }


async def test_each_interaction_counts_exactly_the_messages_it_holds(engine: Engine) -> None:
    async with engine.db.session() as session, session.begin():
        campaign = Campaign(name="Support", email_address="support@postdesk.test")
        session.add(campaign)
        await session.flush()
        first = Interaction(campaign_id=campaign.id, client_email="ana@example.net")
        second = Interaction(campaign_id=campaign.id, client_email="bob@example.net")
        empty = Interaction(campaign_id=campaign.id, client_email="eve@example.net")
        session.add_all([first, second, empty])
        await session.flush()
        ids = first.id, second.id, empty.id
        # One by the ORM...
        session.add(Message(**a_message(first.id, 1)))
    # ...three in one executemany, as ingest's batches write them.
    async with engine.db.session() as session, session.begin():
        await session.execute(
            insert(Message), [a_message(ids[0], 2), a_message(ids[1], 3), a_message(ids[1], 4)]
        )
    assert await counts(engine) == {ids[0]: (2, 2), ids[1]: (2, 2), ids[2]: (0, 0)}

    async with engine.db.session() as session, session.begin():
        moved = await session.scalar(
            select(Message.id).where(Message.interaction_id == ids[1]).limit(1)
        )
        await session.execute(
            update(Message).where(Message.id == moved).values(interaction_id=ids[2])
        )
        # A change that keeps the interaction (a delivery state) counts nothing again.
        await session.execute(
            update(Message).where(Message.interaction_id == ids[0]).values(state=MessageState.SENT)
        )
    assert await counts(engine) == {ids[0]: (2, 2), ids[1]: (1, 1), ids[2]: (1, 1)}

    async with engine.db.session() as session, session.begin():
        await session.execute(
            delete(Message)
            .where(Message.interaction_id == ids[0])
            .where(Message.message_id == f"<{ids[0]}.1@count.example>")
        )
        await session.execute(delete(Interaction).where(Interaction.id == ids[1]))  # cascade
    assert await counts(engine) == {ids[0]: (1, 1), ids[2]: (1, 1)}

    # The lists show the stored count.
    async with engine.db.session() as session:
        rows = await summaries_where(session, Interaction.id.in_([ids[0], ids[2]]))
    assert sorted(row.message_count for row in rows) == [1, 1]
