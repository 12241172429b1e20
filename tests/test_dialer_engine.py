"""The email dialer's records, lists and attachments against a real engine (issue 13, first
part: no sending yet): every field stored and validated, every refusal with its reason, CSV
uploads through the engine's API with the import report's line numbers, records stored as
the rules say (failed with a reason, never dropped), and `postdesk ctl dialer`."""

from __future__ import annotations

import asyncio
import codecs
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from data.models import Dialer, DialerRecord, DialerRecordState
from engine.api.schemas import (
    CampaignIn,
    DialerIn,
    DialerPatch,
    ScheduleWindow,
    SmtpCaps,
    TemplateIn,
)
from engine.client import EngineClient, EngineUnavailable, Forbidden, Invalid, NotFound
from engine.client.errors import Conflict, EngineError
from engine.config import Settings
from engine.engine import Engine
from postdesk.cli import build_parser
from postdesk.ctl import run_ctl
from tests import db_probe
from tests.engine_fixtures import World, engine_settings, with_database

UNSUBSCRIBE = '<p>Had enough? <a id="unsubscribe_link">Unsubscribe</a></p>'


async def a_dialer(world: World, name: str = "News", **fields: object) -> None:
    await world.operator.add_template(
        TemplateIn(name=f"{name} body", kind="dialer", body_text="Dear ${name}, see ${city}.")
    )
    await world.operator.add_dialer(
        DialerIn(
            name=name,
            campaign="Support",
            template=f"{name} body",
            unsubscribe_html=UNSUBSCRIBE,
            **fields,  # type: ignore[arg-type]
        )
    )


async def records(world: World, list_id: int) -> list[DialerRecord]:
    async with world.engine.db.session() as session:
        rows = await session.scalars(
            select(DialerRecord)
            .where(DialerRecord.list_id == list_id)
            .order_by(DialerRecord.line_number)
        )
        return list(rows.all())


async def set_running(world: World, name: str, running: bool) -> None:
    """Play/Stop come with the sending part of issue 13; until then the flag is set here."""
    async with world.engine.db.session() as session, session.begin():
        await session.execute(update(Dialer).where(Dialer.name == name).values(running=running))


# ---- dialers ----
async def test_a_dialer_keeps_every_field(world: World) -> None:
    await a_dialer(
        world,
        seconds_between_messages=2.5,
        time_zone="America/Montevideo",
        schedule=[
            ScheduleWindow(days=["mon", "tue", "wed", "thu", "fri"], start="13:00", end="18:00")
        ],
        starts_on="2026-12-01",
        ends_on="2027-01-31",
        caps=SmtpCaps(per_minute=60, per_hour=1000, per_day=10000, connections=2),
    )
    [dialer] = await world.operator.dialers()
    assert dialer.name == "News" and dialer.campaign == "Support"
    assert dialer.seconds_between_messages == 2.5
    assert dialer.time_zone == "America/Montevideo"
    assert [(w.days, w.start, w.end) for w in dialer.schedule] == [
        (["mon", "tue", "wed", "thu", "fri"], "13:00", "18:00")
    ]
    assert (dialer.starts_on, dialer.ends_on) == ("2026-12-01", "2027-01-31")
    assert dialer.template == "News body" and dialer.unsubscribe_html == UNSUBSCRIBE
    assert dialer.caps == SmtpCaps(per_minute=60, per_hour=1000, per_day=10000, connections=2)
    assert dialer.running is False and dialer.lists == 0

    changed = await world.operator.update_dialer(
        "News", DialerPatch(seconds_between_messages=0, ends_on="", template="", name="Promo")
    )
    assert changed.name == "Promo" and changed.seconds_between_messages == 0
    assert changed.ends_on == "" and changed.starts_on == "2026-12-01" and changed.template == ""


async def test_on_schedule_follows_windows_dates_and_zone(world: World) -> None:
    await a_dialer(
        world,
        time_zone="America/Montevideo",  # UTC-3
        schedule=[
            ScheduleWindow(days=["mon", "tue", "wed", "thu", "fri"], start="13:00", end="18:00")
        ],
        starts_on="2026-12-01",
        ends_on="2026-12-31",
    )

    async def on_at(moment: datetime) -> bool:
        world.engine.schedules.clock = lambda: moment
        [dialer] = await world.operator.dialers()
        return dialer.on_schedule

    assert await on_at(datetime(2026, 12, 7, 16, 0, tzinfo=UTC)) is True  # Monday 13:00 local
    assert await on_at(datetime(2026, 12, 7, 15, 59, tzinfo=UTC)) is False  # 12:59 local
    assert await on_at(datetime(2026, 12, 5, 17, 0, tzinfo=UTC)) is False  # Saturday
    assert await on_at(datetime(2027, 1, 4, 17, 0, tzinfo=UTC)) is False  # after its dates


async def test_bad_dialer_fields_are_refused_under_their_field(world: World) -> None:
    op = world.operator
    await op.add_template(TemplateIn(name="Reply", kind="reply", body_text="hi"))
    cases: list[tuple[dict[str, object], str]] = [
        ({"campaign": "Nowhere"}, "campaign"),
        ({"template": "Reply"}, "template"),
        ({"template": "Missing"}, "template"),
        ({"unsubscribe_html": "<p>bye</p>"}, "unsubscribe_html"),
        ({"unsubscribe_html": '<!-- <a id="unsubscribe_link">x</a> -->'}, "unsubscribe_html"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"starts_on": "2027-02-01", "ends_on": "2027-01-01"}, "ends_on"),
        ({"seconds_between_messages": -1}, "seconds_between_messages"),
        ({"caps": {"per_minute": -5}}, "caps.per_minute"),
        ({"schedule": [{"days": ["mon"], "start": "25:00", "end": "26:00"}]}, "schedule.0.start"),
    ]
    from engine.api.schemas import SchemaError, convert

    for fields, field in cases:
        body = {"name": "Bad", "campaign": "Support"} | fields
        try:
            dialer = convert(body, DialerIn)
        except SchemaError as exc:  # what the engine's decoding refuses (422 under the field)
            assert str(exc).startswith(field), (fields, exc)
            continue
        with pytest.raises((Invalid, NotFound)) as refused:
            await op.add_dialer(dialer)
        assert refused.value.field == field, (fields, refused.value)
    assert await op.dialers() == []
    await a_dialer(world)
    with pytest.raises(Conflict) as twice:
        await op.add_dialer(DialerIn(name="News", campaign="Support"))
    assert twice.value.field == "name"


async def test_no_unsubscribe_html_gets_the_default_block(world: World) -> None:
    dialer = await world.operator.add_dialer(DialerIn(name="Plain", campaign="Support"))
    assert 'id="unsubscribe_link"' in dialer.unsubscribe_html


async def test_caps_belong_to_the_smtp_account_and_are_shared(world: World) -> None:
    op = world.operator
    await a_dialer(world, caps=SmtpCaps(per_minute=30, connections=1))
    await op.add_campaign(
        world.mailbox.campaign(
            "Sales",
            smtp_host=world.sink.host,
            smtp_port=world.sink.port,
            email_address="sales@postdesk.test",
            inbound="none",
        )
    )
    other = await op.add_dialer(DialerIn(name="Sales news", campaign="Sales"))
    assert other.caps == SmtpCaps(per_minute=30, connections=1)  # the same account
    await op.update_dialer("Sales news", DialerPatch(caps=SmtpCaps(per_day=500)))
    assert {d.name: d.caps for d in await op.dialers()} == {
        "News": SmtpCaps(per_day=500),
        "Sales news": SmtpCaps(per_day=500),
    }


async def test_only_admins_may_touch_dialers(world: World) -> None:
    await a_dialer(world)
    for username in ("agent1", "super1"):
        async with world.client(username) as client:
            with pytest.raises(Forbidden):
                await client.dialers()
            with pytest.raises(Forbidden):
                await client.add_dialer(DialerIn(name="Mine", campaign="Support"))
            with pytest.raises(Forbidden):
                await client.upload_list("News", b"Support;a@example.com\n", name="L")
            with pytest.raises(Forbidden):
                await client.attach_dialer_file("a.txt", b"x")
            with pytest.raises(Forbidden):
                await client.remove_dialer("News")
    assert [d.name for d in await world.operator.dialers()] == ["News"]


async def test_a_dialer_running_or_with_lists_is_not_removed(world: World) -> None:
    op = world.operator
    await a_dialer(world)
    report = await op.upload_list("News", b"Support;a@example.com;;;name=A:city=X\n", name="L1")
    with pytest.raises(Conflict, match="has 1 list: remove them first"):
        await op.remove_dialer("News")
    await set_running(world, "News", True)
    with pytest.raises(Conflict, match="is running: stop it"):
        await op.remove_dialer("News")
    with pytest.raises(Conflict, match="running"):
        await op.remove_dialer_list(report.list_id)
    await set_running(world, "News", False)
    await op.remove_dialer_list(report.list_id)
    await op.remove_dialer("News")
    assert await op.dialers() == []
    assert await records(world, report.list_id) == []


# ---- lists ----
LIST = (
    "campaign;emailRecipient;message;attachments;variables;priority\r\n"  # 1
    'Support;ana@example.com;"Hi ${name}; welcome";;"name":"Ana","city":"Montevideo";5\r\n'  # 2
    'Support;bruno@example.com;;;name=Bruno:city="Paris; France";\r\n'  # 3
    "Sales;carla@example.com;;;name=Carla:city=Rome;1\r\n"  # 4
    "Support;not-an-address;;;name=Dan:city=Oslo;2\r\n"  # 5
    "Support;eve@example.com;;;name=Eve;3\r\n"  # 6: ${city} of the template undefined
    "Support;fay@example.com;;;name=Fay:city=Lima;soon\r\n"  # 7
    'Support;gus@example.com;;;"name":"Gus\\r\\nBcc: x@evil.example","city":"X"\r\n'  # 8
    'Support;hal@example.com;"Two\r\nlines";;name=Hal:city=Kyiv\r\n'  # 9-10
    "Support;ivy@example.com;;tok-nobody-made;name=Ivy:city=Quito\r\n"  # 11
)


async def test_a_list_imports_good_rows_and_reports_bad_ones_by_line(world: World) -> None:
    await a_dialer(world)
    report = await world.operator.upload_list(
        "News", LIST.encode(), name="December", subject="News for ${name}"
    )
    assert (report.imported, report.failed, report.rejected) == (5, 2, 4)
    assert {r.line: r.reason for r in report.failures} == {
        5: "not a valid email address: 'not-an-address'",
        6: "${city} not defined in this row",
    }
    rejected = {r.line: r.reason for r in report.rejections}
    assert set(rejected) == {4, 7, 8, 11}
    assert "'Sales' is not this dialer's campaign 'Support'" in rejected[4]
    assert "priority" in rejected[7]
    assert "would reach the subject" in rejected[8]
    assert "not a dialer attachment" in rejected[11]

    stored = await records(world, report.list_id)
    assert [(r.line_number, r.destination, r.state, r.priority) for r in stored] == [
        (2, "ana@example.com", DialerRecordState.PENDING, 5),
        (3, "bruno@example.com", DialerRecordState.PENDING, 9999),
        (5, "not-an-address", DialerRecordState.FAILED, 2),
        (6, "eve@example.com", DialerRecordState.FAILED, 3),
        (9, "hal@example.com", DialerRecordState.PENDING, 9999),
    ]
    by_line = {r.line_number: r for r in stored}
    assert by_line[2].message == "Hi ${name}; welcome"
    assert by_line[2].variables == {"name": "Ana", "city": "Montevideo"}
    assert by_line[3].variables == {"name": "Bruno", "city": "Paris; France"}
    assert by_line[3].message == ""  # the dialer's template goes out
    assert by_line[5].error.startswith("not a valid email address")
    assert by_line[5].processed_at is not None
    assert by_line[9].message == "Two\r\nlines"
    [summary] = await world.operator.dialer_lists("News")
    assert (summary.name, summary.subject, summary.records, summary.pending, summary.failed) == (
        "December",
        "News for ${name}",
        5,
        3,
        2,
    )
    assert summary.active is True


async def test_bom_other_encodings_and_a_header_less_file(world: World) -> None:
    op = world.operator
    await a_dialer(world)
    row = "Support;zoe@example.com;Olá ${name};;name=Zoë:city=São Paulo\n"
    with_bom = await op.upload_list("News", codecs.BOM_UTF8 + row.encode(), name="bom")
    assert (with_bom.imported, with_bom.rejected, with_bom.failed) == (1, 0, 0)
    [stored] = await records(world, with_bom.list_id)
    assert stored.line_number == 1 and stored.variables == {"name": "Zoë", "city": "São Paulo"}

    latin = ("Support;a@example.com;;;name=A:city=B\n" + row).encode("cp1252")
    with pytest.raises(Invalid) as refused:
        await op.upload_list("News", latin, name="latin")
    assert refused.value.field == "file"
    assert "line 2: the file is not UTF-8" in refused.value.message
    assert "--encoding cp1252" in refused.value.message
    assert [x.name for x in await op.dialer_lists("News")] == ["bom"]  # nothing half-made
    named = await op.upload_list("News", latin, name="latin", encoding="cp1252")
    assert named.imported == 2
    assert (await records(world, named.list_id))[1].variables["city"] == "São Paulo"

    utf16 = await op.upload_list("News", row.encode("utf-16"), name="utf16")
    assert utf16.imported == 1


async def test_append_names_and_limits(world: World) -> None:
    op = world.operator
    await a_dialer(world)
    first = await op.upload_list("News", b"Support;a@example.com;;;name=A:city=X\n", name="L")
    with pytest.raises(Conflict) as exists:
        await op.upload_list("News", b"Support;b@example.com;;;name=B:city=Y\n", name="L")
    assert exists.value.field == "name"
    more = await op.upload_list(
        "News", b"Support;b@example.com;;;name=B:city=Y\n", name="L", append=True
    )
    assert more.appended and more.list_id == first.list_id
    assert [r.destination for r in await records(world, first.list_id)] == [
        "a@example.com",
        "b@example.com",
    ]
    with pytest.raises(NotFound):
        await op.upload_list("News", b"Support;c@example.com\n", name="nope", append=True)
    with pytest.raises(NotFound):
        await op.upload_list("Nobody", b"Support;c@example.com\n", name="x")
    with pytest.raises(Invalid, match="empty"):
        await op.upload_list("News", b"", name="empty")

    world.engine.dialer_lists.max_bytes = 1000
    with pytest.raises(Invalid) as too_big:
        await op.upload_list("News", b"Support;a@example.com;;;name=A\n" * 100, name="big")
    assert too_big.value.field == "file" and "1,000 bytes limit" in too_big.value.message
    assert [x.name for x in await op.dialer_lists("News")] == ["L"]


async def test_the_subject_and_message_variables_must_be_defined(world: World) -> None:
    op = world.operator
    await op.add_dialer(DialerIn(name="Bare", campaign="Support"))  # no template
    report = await op.upload_list(
        "Bare",
        b"Support;a@example.com;;;\n"  # no message, no template: an empty message, fine
        b"Support;b@example.com;Hello ${who};;\n"
        b"Support;c@example.com;Hello ${who};;who=Cy\n",
        name="L",
        subject="Offer ${code}",
    )
    assert {r.line: r.reason for r in report.failures} == {
        1: "${code} not defined in this row",
        2: "${code}, ${who} not defined in this row",
        3: "${code} not defined in this row",
    }
    assert [r.state for r in await records(world, report.list_id)] == [DialerRecordState.FAILED] * 3


async def test_a_longer_list_is_stored_whole_and_in_order(world: World) -> None:
    """Rows go in by statements of many rows; a list of a few hundred uses full ones and the
    rest, and every line keeps its values."""
    await a_dialer(world)
    rows = "".join(
        f"Support;u{n}@example.com;;;name=U{n}:city=C{n};{n % 7}\n" for n in range(1, 251)
    )
    report = await world.operator.upload_list("News", rows.encode(), name="long")
    assert (report.imported, report.failed, report.rejected) == (250, 0, 0)
    stored = await records(world, report.list_id)
    assert [(r.line_number, r.destination, r.variables["city"], r.priority) for r in stored] == [
        (n, f"u{n}@example.com", f"C{n}", n % 7) for n in range(1, 251)
    ]


@pytest.mark.parametrize("apart", [False, True], ids=["checked-in-a-thread", "checked-apart"])
async def test_common_and_unusual_rows_are_stored_in_list_order(world: World, apart: bool) -> None:
    """Thousands of rows, most of the common shape (read by one pattern), some not (an IDN
    address, a message over two lines, an invalid recipient, a bad priority): every row is
    where its line puts it, ids in line order (the order a dialer sends equal priorities),
    across full multi-row INSERT statements and the rest, whether the rows were checked in
    the engine or in a checking process of their own (a large list's)."""
    await a_dialer(world)
    if apart:
        world.engine.dialer_lists.process_from_bytes = 0
    lines, expected, refused, physical = [], [], [], 1
    for n in range(1, 8001):
        address, message = f"u{n}@example.com", ""
        variables = f"name=U{n}:city=C{n}" if n % 2 else f'"name":"U{n}","city":"C{n}"'
        if n % 97 == 0:
            address = f"josé{n}@ejemplo.com"
        if n % 89 == 0:
            message = f'"Dear ${{name}};\nline two of {n}"'
        if n % 101 == 0:
            address = f"u{n} at example.com"
        priority = "x" if n % 499 == 0 else str(n % 5)
        lines.append(f"Support;{address};{message};;{variables};{priority}\r\n")
        if priority == "x":
            refused.append(physical)
        else:
            expected.append((physical, address, message.strip('"'), f"C{n}", n % 5, n % 101 == 0))
        physical += 2 if message else 1
    report = await world.operator.upload_list("News", "".join(lines).encode(), name="mixed")
    assert (report.imported, report.failed, report.rejected) == (7984, 79, 16)
    assert [x.line for x in report.failures][:3] == [e[0] for e in expected if e[5]][:3]
    async with world.engine.db.session() as session:
        stored = (
            await session.scalars(
                select(DialerRecord)
                .where(DialerRecord.list_id == report.list_id)
                .order_by(DialerRecord.id)
            )
        ).all()
    assert [
        (
            r.line_number,
            r.destination,
            r.message,
            r.variables["city"],
            r.priority,
            r.state == DialerRecordState.FAILED,
        )
        for r in stored
    ] == expected
    assert [x.line for x in report.rejections] == refused


# ---- attachments ----
async def test_attachments_by_token(world: World) -> None:
    op = world.operator
    await a_dialer(world)
    terms = await op.attach_dialer_file("terms.pdf", b"%PDF-1.4 terms", "application/pdf")
    price = await op.attach_dialer_file("prices.txt", b"cheap")
    assert len(terms.token) >= 32 and terms.token != price.token
    assert terms.token.replace("-", "").replace("_", "").isalnum()
    csv = f"Support;a@example.com;;{terms.token}, {price.token};name=A:city=X\n"
    report = await op.upload_list("News", csv.encode(), name="with files")
    assert report.imported == 1 and report.rejected == 0
    [stored] = await records(world, report.list_id)
    assert stored.attachments == [terms.token, price.token]
    listed = {a.filename: a.lists for a in await op.dialer_attachments()}
    assert listed == {"terms.pdf": 1, "prices.txt": 1}

    with pytest.raises(Conflict, match="named by 1 list"):
        await op.remove_dialer_attachment(terms.token)
    await op.remove_dialer_list(report.list_id)
    await op.remove_dialer_attachment(terms.token)
    assert [a.filename for a in await op.dialer_attachments()] == ["prices.txt"]
    with pytest.raises(NotFound):
        await op.remove_dialer_attachment(terms.token)

    # An agent's upload token is no dialer attachment.
    async with world.client("agent1") as agent:
        upload = await agent.upload("mine.txt", b"mine")
    rejected = await op.upload_list(
        "News", f"Support;a@example.com;;{upload.token};name=A:city=X\n".encode(), name="agent's"
    )
    assert rejected.imported == 0 and "not a dialer attachment" in rejected.rejections[0].reason


# ---- postdesk ctl dialer ----
async def ctl(world: World, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    args = build_parser().parse_args(["ctl", "dialer", *argv])
    code = await asyncio.to_thread(run_ctl, world.engine.settings, args)
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_ctl_dialer_commands(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await world.operator.add_template(
        TemplateIn(name="Visit", kind="dialer", body_text="Dear ${name}, on ${visit}.")
    )
    code, out, _ = await ctl(
        world, capsys, "add", "News", "--campaign", "Support", "--template", "Visit",
        "--window", "mon-fri 13:00-18:00", "--per-minute", "60", "--seconds-between", "0.5",
    )  # fmt: skip
    assert code == 0 and "name=News" in out and "mon-fri 13:00-18:00" in out and "60/min" in out

    example = tmp_path / "example.csv"
    code, out, _ = await ctl(world, capsys, "example-csv", str(example), "--campaign", "Support")
    assert code == 0 and example.read_text(encoding="utf-8").startswith("campaign;emailRecipient")
    code, out, _ = await ctl(
        world,
        capsys,
        "list-upload",
        "News",
        str(example),
        "--name",
        "Jan",
        "--subject",
        "Hi ${name}",
    )
    assert code == 0
    assert out.startswith("3 rows imported into list Jan"), out
    assert "3 to send, 0 failed, 0 lines rejected" in out

    bad = tmp_path / "bad.csv"
    bad.write_text("Support;x@example.com;;;name=X:visit=now\nOther;y@example.com\nSupport;nope\n")
    code, out, _ = await ctl(world, capsys, "list-upload", "News", str(bad), "--name", "Bad")
    assert code == 0
    assert "line 2: rejected: campaign 'Other' is not this dialer's campaign" in out
    assert "line 3: failed: not a valid email address: 'nope'" in out
    code, out, _ = await ctl(
        world, capsys, "list-upload", "News", str(bad), "--name", "Bad", "--append", "--json"
    )
    report = json.loads(out)
    assert report["appended"] is True and report["rejections"][0] == {
        "line": 2,
        "reason": "campaign 'Other' is not this dialer's campaign 'Support'",
    }

    attached = tmp_path / "flyer.pdf"
    attached.write_bytes(b"%PDF-1.4 flyer")
    code, out, _ = await ctl(world, capsys, "attach", str(attached), "--json")
    token = json.loads(out)["token"]
    assert json.loads(out)["content_type"] == "application/pdf"
    code, out, _ = await ctl(world, capsys, "attachments")
    assert token in out and "flyer.pdf" in out

    code, _, err = await ctl(world, capsys, "remove", "News")
    assert code == 1 and "has 2 lists: remove them first" in err
    code, _, err = await ctl(world, capsys, "add", "X", "--campaign", "Support",
                             "--unsubscribe-html", "<p>no link</p>")  # fmt: skip
    assert code == 1 and 'must hold a link <a id="unsubscribe_link">' in err
    code, out, _ = await ctl(world, capsys, "list", "--json")
    assert [d["name"] for d in json.loads(out)] == ["News"]


# ---- an import the engine dies in ----
def _engine_process(
    home: Path, log: Path, crash_at: str = "", **variables: str
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "POSTDESK_CRASH_AT"}
    if crash_at:
        env["POSTDESK_CRASH_AT"] = crash_at
    env.update({name: value for name, value in variables.items() if value})
    with open(log, "ab") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "postdesk.cli", "--data-dir", str(home), "engine"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=with_database(home, env),
        )


def _checkers() -> list[int]:
    """Running list-checking processes (`import_check.py`), by their command line."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if proc.name.isdigit() and b"engine.services.dialer.import_check" in command:
            found.append(int(proc.name))
    return found


async def _no_checker_left(seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while _checkers():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _lists_in(db: Settings) -> list[tuple[str, int, int]]:
    return [
        (name, int(importing), int(count))
        for name, importing, count in db_probe.rows(
            db,
            "SELECT l.name, l.importing, (SELECT COUNT(*) FROM dialer_records r"
            " WHERE r.list_id = l.id) FROM dialer_lists l ORDER BY l.id",
        )
    ]


@pytest.mark.parametrize(
    ("append", "apart"),
    [(False, False), (True, False), (False, True)],
    ids=["new", "append", "new-checked-apart"],
)
async def test_an_import_the_engine_dies_in_leaves_nothing_behind(
    tmp_path: Path, append: bool, apart: bool
) -> None:
    """SIGKILL after the second batch of 20,000 rows is committed: the next start removes the
    half-imported rows; a list appended to keeps exactly what it had. A checking process of
    its own (a large list's) ends with the engine, not left behind."""
    home = tmp_path / "home"
    first = Engine(engine_settings(home), run_mail=False)
    await first.start()
    async with EngineClient(first.socket_path) as op:
        await op.add_campaign(
            CampaignIn(
                check=False,  # no SMTP server to log in to here: saved unchecked
                name="Support",
                email_address="s@example.com",
                inbound="none",
                smtp_host="localhost",
            )
        )
        await op.add_dialer(DialerIn(name="News", campaign="Support"))
        if append:
            await op.upload_list("News", b"Support;kept@example.com\n", name="L")
    await first.stop()
    db = engine_settings(home)
    rows = "".join(f"Support;u{n}@example.com;;;name=U{n}\n" for n in range(50_000))

    log = tmp_path / "engine.log"
    dying = _engine_process(
        home, log, "dialer-import-batch:2", POSTDESK_LIST_CHECK_PROCESS_BYTES="0" if apart else ""
    )
    try:
        socket = home / "run" / "engine.sock"
        deadline = time.monotonic() + 60
        while not socket.exists() and dying.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        async with EngineClient(socket) as op:
            with pytest.raises(EngineUnavailable):
                await op.upload_list("News", rows.encode(), name="L", append=append)
        await asyncio.to_thread(dying.wait, 60)
    finally:
        if dying.poll() is None:
            dying.kill()
    assert dying.returncode == -signal.SIGKILL, log.read_text()[-3000:]
    assert await _no_checker_left(), "a list's checking process outlived its engine"
    half = [(name, importing, count) for name, importing, count in _lists_in(db) if importing]
    assert len(half) == 1 and half[0][2] == 40_000  # two batches were committed

    assert list((home / "spool").glob("*.csv"))  # the upload, spooled when the engine died
    again = Engine(engine_settings(home), run_mail=False)
    await again.start()
    try:
        assert _lists_in(db) == ([("L", 0, 1)] if append else [])
        assert not list((home / "spool").glob("*.csv"))
        async with EngineClient(again.socket_path) as op:
            report = await op.upload_list("News", rows.encode(), name="L", append=append)
            assert report.imported == 50_000
            [listed] = await op.dialer_lists("News")
            assert listed.records == 50_000 + append
    finally:
        await again.stop()


async def test_a_checking_process_that_dies_fails_the_import_and_keeps_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large list's checking process killed after its second batch (as the kernel's
    out-of-memory killer would): the upload fails saying so, none of its rows stay, and the
    engine goes on (the same file then imports whole)."""
    await a_dialer(world)
    world.engine.dialer_lists.process_from_bytes = 0
    rows = "".join(f"Support;u{n}@example.com;;;name=U{n}:city=C{n}\n" for n in range(50_000))
    monkeypatch.setenv("POSTDESK_CRASH_AT", "dialer-check-batch:2")  # the checker's, not ours
    with pytest.raises(EngineError, match="internal engine error"):
        await world.operator.upload_list("News", rows.encode(), name="L")
    assert await world.operator.dialer_lists("News") == []
    assert db_probe.rows(world.engine.settings, "SELECT COUNT(*) FROM dialer_records") == [(0,)]
    assert await _no_checker_left()
    monkeypatch.delenv("POSTDESK_CRASH_AT")
    report = await world.operator.upload_list("News", rows.encode(), name="L")
    assert (report.imported, report.failed, report.rejected) == (50_000, 0, 0)
    assert await _no_checker_left()
