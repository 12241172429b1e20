"""A dialer's records one by one (issue 14's drill-down), against a real engine and the SMTP
sink: the failed ones with their reasons, found by state and by any part of the address or
reason, paged with a total, every match as CSV from `ctl` (a stranger's address never a
spreadsheet formula), and only for supervisors and admins."""

from __future__ import annotations

import asyncio
import csv
import io

import pytest

from engine.api.schemas import DialerIn, DialerRecordQuery, SmtpCaps, TemplateIn, UserIn
from engine.client import Forbidden, NotFound
from postdesk.cli import build_parser
from postdesk.ctl import run_ctl
from tests.engine_fixtures import World, eventually

LIST = (
    "Support;ann@example.com;;;name=Ann\n"
    "Support;not-an-address;;;name=Nobody\n"  # line 2: failed at import
    "Support;bob@example.com;;;name=Bob\n"
    "Support;=cmd@example.com;;;name=Eve\n"  # a formula if a spreadsheet read it raw
    "Support;gone@example.com;;;name=Gone;1\n"  # sent first, refused: failed with its words
)


async def test_the_records_by_state_and_text_and_as_csv(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    op = world.operator
    await op.add_template(TemplateIn(name="Hi", kind="dialer", body_text="Hi ${name}."))
    await op.add_dialer(
        DialerIn(name="News", campaign="Support", template="Hi", seconds_between_messages=0,
                 caps=SmtpCaps(connections=1))
    )  # fmt: skip
    report = await op.upload_list("News", LIST.encode(), name="December", subject="Hello")
    assert (report.imported, report.failed) == (5, 1)
    world.sink.fail_next(1, "550 5.1.1 no such user here", stage="rcpt")  # the first: gone
    await op.play_dialer("News")
    everything = await eventually(
        lambda: op.dialer_records("News", DialerRecordQuery()),
        lambda page: sum(r.state in ("sent", "failed") for r in page.items) == 5,
        what="every record processed",
    )
    assert everything.total == 5
    assert [r.line for r in everything.items] == [1, 2, 3, 4, 5]  # the order they came in

    failed = await op.dialer_records("News", DialerRecordQuery(state="failed"))
    reasons = {r.destination: r.error for r in failed.items}
    assert failed.total == 2 and set(reasons) == {"not-an-address", "gone@example.com"}
    assert "not a valid email address" in reasons["not-an-address"]
    assert "550 5.1.1 no such user here" in reasons["gone@example.com"]

    by_reason = await op.dialer_records("News", DialerRecordQuery(search="NO SUCH USER"))
    assert [r.destination for r in by_reason.items] == ["gone@example.com"]
    by_address = await op.dialer_records("News", DialerRecordQuery(search="bob@"))
    assert [r.destination for r in by_address.items] == ["bob@example.com"]
    literal = await op.dialer_records("News", DialerRecordQuery(search="%"))
    assert literal.total == 0  # text, never a pattern

    paged = await op.dialer_records("News", DialerRecordQuery(page=2, page_size=2))
    assert (paged.total, [r.line for r in paged.items]) == (5, [3, 4])
    with pytest.raises(NotFound, match="no list 'Nope'"):
        await op.dialer_records("News", DialerRecordQuery(list="Nope"))

    args = build_parser().parse_args(["ctl", "dialer", "records", "News", "--csv"])
    code = await asyncio.to_thread(run_ctl, world.engine.settings, args)
    out = capsys.readouterr().out
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["destination"] for r in rows] == [
        "ann@example.com",
        "not-an-address",
        "bob@example.com",
        "'=cmd@example.com",  # quoted: a spreadsheet shows it, never runs it
        "gone@example.com",
    ]
    assert rows[4]["state"] == "failed" and "550" in rows[4]["error"]

    await op.add_user(UserIn(username="sup", roles=["supervisor"]))
    async with world.client("sup") as supervisor:
        assert (await supervisor.dialer_records("News", DialerRecordQuery())).total == 5
    async with world.client("agent1") as agent:
        with pytest.raises(Forbidden):
            await agent.dialer_records("News", DialerRecordQuery())
