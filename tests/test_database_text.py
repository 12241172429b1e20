"""Text the two databases store differently: PostgreSQL's text cannot hold a NUL character,
SQLite's can. A customer's mail with one still arrives whole, a search with one is no error,
on either database (data/db.py drops NULs on PostgreSQL)."""

from __future__ import annotations

from engine.api.schemas import RecordingQuery
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail


async def test_a_nul_in_a_mail_or_a_search_is_no_failure(world: World) -> None:
    world.dovecot.append(world.mailbox, customer_mail("Odd\x00 bytes", "Kettle\x00 broken"))
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        [row] = await eventually(agent.interactions, lambda rows: len(rows) == 1, what="mail")
        detail = await agent.interaction(row.id)
        assert "Kettle" in detail.messages[0].text and "broken" in detail.messages[0].text
    found = await world.operator.recordings(RecordingQuery(text="kettle"))
    assert [r.id for r in found.items] == [row.id]
    assert await world.operator.blacklist(search="carol\x00") == []  # an answer, not a 500
