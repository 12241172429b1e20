"""An SMTP account's connection cap removed while its dialer runs (its caps edited to 0
connections, or its `smtp_limits` row deleted): the dialer goes on under each engine's own
default, nothing waits forever, nothing is sent twice, nothing is left `sending`.

On PostgreSQL a connection waiting for one of the account's slots then stops waiting and its
records wait again for the next claim (docs/deploy.md); across two nodes:
tests/test_nodes_smtp_slots.py."""

from __future__ import annotations

import logging
from collections import Counter

import pytest
from sqlalchemy import delete

from data.models import DialerRecordState, SmtpLimit
from engine.api.schemas import DialerPatch, SmtpCaps
from tests.engine_fixtures import World
from tests.test_dialer_send import a_dialer, settled

S = DialerRecordState
RECORDS = 60


@pytest.mark.parametrize("how", ["zero", "deleted"])
async def test_removing_the_connection_cap_mid_run_sends_every_record_once(
    world: World, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    world.engine.dialer_runner.batch = 5  # batches queue for the one connection
    world.sink.data_delay = 0.02
    await a_dialer(world, caps=SmtpCaps(connections=1))
    csv = "".join(f"Support;r{i:02}@example.com;;;name=N:city=C;{i}\n" for i in range(RECORDS))
    report = await world.operator.upload_list("News", csv.encode(), name="L", subject="S")
    await world.operator.play_dialer("News")
    await world.sink.await_count(8)
    if how == "zero":
        await world.operator.update_dialer("News", DialerPatch(caps=SmtpCaps(connections=0)))
    else:
        async with world.engine.db.writing() as session:
            await session.execute(delete(SmtpLimit))
    mails = await world.sink.await_count(RECORDS)
    rows = await settled(world, report.list_id)
    assert {r.state for r in rows} == {S.SENT}
    assert max(Counter(m.rcpt_tos[0] for m in mails).values()) == 1
    assert len(world.sink.messages) == RECORDS
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failed, [r.getMessage() for r in failed]  # the dialer never stumbled
