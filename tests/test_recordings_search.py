"""The recordings search against a real engine: mail arrives through Dovecot and the engine's
own ingest, agents reply and close through the API, and every filter, combination, page,
sort and visibility rule is asked of `GET /api/v1/recordings` through the real client."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from engine.api.schemas import NewInteractionIn, RecordingPage, RecordingQuery
from engine.client import EngineClient, Invalid
from engine.engine import Engine
from engine.services.recordings.search import quoted
from postdesk.ctl.output import print_recordings
from tests import db_probe
from tests.cli_helpers import cli_env, postdesk_script
from tests.engine_fixtures import World, eventually, provision

MAILS = [
    ("Ana Pérez <ana.perez@acme.example>", "Refund for order 1001", "My kettle is broken."),
    ("Bob Stone <bob@shop.example>", "Delivery late", "Tracking says Montréal since May."),
    (
        "Zoë Quinn <zoe@acme.example>",
        "Invoice question",
        'Resend the invoice? NEAR the end it says "total" -5* (col:umn).',
    ),
]


def mail(sender: str, subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.net")
    msg.set_content(body)
    return msg.as_bytes()


def q(**filters: object) -> RecordingQuery:
    return RecordingQuery(**filters)  # type: ignore[arg-type]


async def ids(client: EngineClient, **filters: object) -> list[int]:
    return [row.id for row in (await client.recordings(q(**filters))).items]


async def check_index(engine: Engine) -> None:
    """SQLite: FTS5's own check, each index holds exactly what its content (table, view)
    says. PostgreSQL keeps its expression and trigram indexes itself: they must exist.
    The check writes (it takes the write lock) in a thread: see `db_probe.write`."""
    await asyncio.to_thread(_check_index, engine)


def _check_index(engine: Engine) -> None:
    if db_probe.is_postgresql(engine.settings):
        names = db_probe.rows(
            engine.settings, "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'search_%'"
        )
        assert len(names) == 4, names
        return
    conn = sqlite3.connect(engine.settings.home / "postdesk.db", timeout=10)
    try:
        for table in ("search_interactions", "search_bodies"):
            conn.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
        conn.commit()
    finally:
        conn.close()


@pytest.fixture
async def recorded(engine: Engine, operator: EngineClient, dovecot, smtp_sink) -> dict:  # type: ignore[no-untyped-def]
    """Ana's and Bob's mail assigned to agent1 (Ana's closed), Zoë's to agent2, and an
    outbound interaction agent2 started."""
    world: World = await provision(
        engine, operator, dovecot, smtp_sink, agents=("agent1", "agent2"), max_per_agent=10
    )
    reason = (await operator.break_reasons())[0]
    agent1, agent2 = world.client("agent1"), world.client("agent2")
    await agent1.set_status("free")
    for sender, subject, body in MAILS[:2]:
        world.dovecot.append(world.mailbox, mail(sender, subject, body))
    rows = await eventually(agent1.interactions, lambda rows: len(rows) == 2, what="2 assigned")
    by_subject = {row.subject: row.id for row in rows}
    await agent1.set_status("break", reason)
    await agent2.set_status("free")
    world.dovecot.append(world.mailbox, mail(*MAILS[2]))
    [zoe] = await eventually(agent2.interactions, lambda rows: len(rows) == 1, what="zoe")
    ana, bob = by_subject["Refund for order 1001"], by_subject["Delivery late"]
    await agent1.close_interaction(ana)
    out = await agent2.new_interaction(
        NewInteractionIn(
            campaign="Support",
            to="Dana Client <dana@example.com>",
            cc="",
            subject="Your renewal",
            body="Your contract renews next month.",
        )
    )
    await world.sink.await_count(1)
    yield {
        "world": world,
        "agent1": agent1,
        "agent2": agent2,
        "ana": ana,
        "bob": bob,
        "zoe": zoe.id,
        "out": out.id,
    }
    await agent1.close()
    await agent2.close()


async def test_each_filter_alone(recorded: dict) -> None:  # type: ignore[type-arg]
    op = recorded["world"].operator
    ana, bob, zoe, out = recorded["ana"], recorded["bob"], recorded["zoe"], recorded["out"]
    assert sorted(await ids(op)) == sorted([ana, bob, zoe, out])
    assert sorted(await ids(op, email="acme")) == sorted([ana, zoe])
    assert await ids(op, email="ANA.PER") == [ana]  # any part, any case
    assert await ids(op, email="Stone") == [bob]  # the client's name too
    assert await ids(op, email="zo") == [zoe]  # shorter than a trigram: still found
    assert await ids(op, subject="efund") == [ana]
    assert await ids(op, subject="renewal") == [out]
    assert await ids(op, text="kettle") == [ana]  # the body, not the subject
    assert await ids(op, text="montreal") == [bob]  # accents do not matter
    assert await ids(op, text="KETTLE broken") == [ana]  # every word, any case
    assert await ids(op, text="kettle tracking") == []
    assert await ids(op, text="contract") == [out]  # what an agent sent is searchable
    # `any` (the `/` box): address, name, subject or the words of the mail
    assert sorted(await ids(op, any="acme")) == sorted([ana, zoe])
    assert await ids(op, any="kettle") == [ana]
    assert await ids(op, any="Renewal") == [out]
    assert await ids(op, any="acme", email="zoe") == [zoe]
    assert sorted(await ids(op, campaign="Support")) == sorted([ana, bob, zoe, out])
    assert sorted(await ids(op, agent="agent2")) == sorted([zoe, out])
    assert await ids(op, state="closed") == [ana]
    assert sorted(await ids(op, state="open")) == sorted([bob, zoe, out])
    assert await ids(op, direction="outbound") == [out]
    assert sorted(await ids(op, direction="inbound")) == sorted([ana, bob, zoe])
    today = datetime.now(UTC).date()
    assert len(await ids(op, start=today, end=today)) == 4
    assert await ids(op, end=today - timedelta(days=1)) == []
    assert await ids(op, start=today + timedelta(days=1)) == []
    # The calendar's first and last days bound nothing (the day after the last is no date).
    assert len(await ids(op, start=date.min, end=date.max)) == 4


async def test_combinations(recorded: dict) -> None:  # type: ignore[type-arg]
    op = recorded["world"].operator
    ana, zoe = recorded["ana"], recorded["zoe"]
    assert await ids(op, email="acme", state="closed") == [ana]
    assert await ids(op, email="acme", agent="agent2", text="invoice") == [zoe]
    assert await ids(op, email="acme", agent="agent1", text="invoice") == []
    today = datetime.now(UTC).date()
    assert await ids(
        op, campaign="Support", agent="agent1", state="closed", direction="inbound",
        start=today, end=today, subject="order", text="kettle", email="perez",
    ) == [ana]  # fmt: skip


async def test_paging_sorting_and_counts(recorded: dict) -> None:  # type: ignore[type-arg]
    op = recorded["world"].operator
    everyone = sorted([recorded[k] for k in ("ana", "bob", "zoe", "out")])
    seen: list[int] = []
    for page in (1, 2, 3):
        result = await op.recordings(q(page=page, page_size=2, sort="client", descending=False))
        assert result.total == 4
        seen += [row.id for row in result.items]
    assert sorted(seen) == everyone and len(seen) == 4  # no row twice, none lost
    by_client = await op.recordings(q(sort="client", descending=False))
    emails = [row.client_email for row in by_client.items]
    assert emails == sorted(emails)
    by_subject = await op.recordings(q(sort="subject", descending=True))
    subjects = [row.subject for row in by_subject.items]
    assert subjects == sorted(subjects, reverse=True)
    latest = await op.recordings(q(sort="last"))
    times = [row.last_message_at for row in latest.items]
    assert times == sorted(times, reverse=True)
    created = await op.recordings(q(sort="created", descending=False, page_size=1))
    assert created.total == 4 and len(created.items) == 1
    # Each row says when it began (the console's Started column), in that order.
    starts = [row.created_at for row in (await op.recordings(q(sort="created"))).items]
    dated = [start for start in starts if start is not None]
    assert dated == starts and dated == sorted(dated, reverse=True)
    assert (await op.recordings(q(page=9))).items == []
    # Most rows match: the search walks the sort's index and probes the full-text index.
    walked: list[int] = []
    for page in (1, 2, 3, 4):
        result = await op.recordings(
            q(any="example", page=page, page_size=1, sort="client", descending=False)
        )
        assert result.total == 4
        walked += [row.id for row in result.items]
    assert walked == [row.id for row in by_client.items]


async def test_an_agent_finds_only_their_own(recorded: dict) -> None:  # type: ignore[type-arg]
    agent1, agent2 = recorded["agent1"], recorded["agent2"]
    assert sorted(await ids(agent2)) == sorted([recorded["zoe"], recorded["out"]])
    assert await ids(agent2, text="kettle") == []  # agent1's mail, invisible
    assert await ids(agent2, agent="agent1") == []
    assert await ids(agent1, email="acme") == [recorded["ana"]]
    assert (await agent2.recordings(q(email="acme"))).total == 1
    choices = await agent1.recording_choices()
    assert choices.agents == ["agent1"] and choices.campaigns == ["Support"]
    everything = await recorded["world"].operator.recording_choices()
    assert everything.agents == ["agent1", "agent2"]


HOSTILE = ['"', '""', "*", "-", "NEAR", "NEAR(a b)", "a OR b", "col:umn", "^x", "(", "'; --"]


async def test_query_syntax_in_any_field_is_text(recorded: dict) -> None:  # type: ignore[type-arg]
    op = recorded["world"].operator
    for value in HOSTILE:
        for field in ("email", "subject", "text"):
            await op.recordings(q(**{field: value}))  # never an error
    zoe = recorded["zoe"]
    assert await ids(op, text='"total" NEAR -5*') == [zoe]
    assert await ids(op, text="col:umn") == [zoe]
    assert await ids(op, text='"') == [zoe]  # no word in it: the quote itself is looked for
    assert await ids(op, email='"*') == []
    assert await ids(op, subject="%") == []  # LIKE wildcards are characters too
    assert quoted('a"b') == '"a""b"'


async def test_bad_filters_are_refused_by_field(recorded: dict) -> None:  # type: ignore[type-arg]
    op = recorded["world"].operator
    with pytest.raises(Invalid) as unknown:
        await op.recordings(q(campaign="Nope"))
    assert unknown.value.field == "campaign"
    with pytest.raises(Invalid) as nobody:
        await op.recordings(q(agent="ghost"))
    assert nobody.value.field == "agent"
    today = datetime.now(UTC).date()
    with pytest.raises(Invalid) as backwards:
        await op.recordings(q(start=today, end=today - timedelta(days=1)))
    assert backwards.value.field == "end"


async def test_the_index_follows_replies_sending_and_deletes(recorded: dict) -> None:  # type: ignore[type-arg]
    world: World = recorded["world"]
    op, agent1, bob = world.operator, recorded["agent1"], recorded["bob"]
    await agent1.reply(bob, "We will send a replacement gizmo.")
    # Stored in the reply's transaction; the outbox then changes its delivery state.
    assert await ids(op, text="gizmo") == [bob]
    await world.sink.await_count(2)
    await check_index(world.engine)
    assert await ids(op, text="gizmo") == [bob]
    assert await ids(op, text="montreal") == [bob]  # the customer's message still there
    # messages cascade
    await db_probe.write(world.engine.settings, "DELETE FROM interactions WHERE id = ?", bob)
    await check_index(world.engine)
    assert await ids(op, text="gizmo") == []
    assert await ids(op, email="shop.example") == []
    assert (await op.recordings(q())).total == 3


async def ctl(home: object, *args: str) -> tuple[int, str, str]:
    """`postdesk ctl ...` as a subprocess against the engine this test runs (its loop keeps
    answering while the command waits)."""
    proc = await asyncio.create_subprocess_exec(
        str(postdesk_script()), "--data-dir", str(home), "ctl", *args,
        env=cli_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_ctl_recordings_search(recorded: dict) -> None:  # type: ignore[type-arg]
    home = recorded["world"].engine.settings.home
    code, out, err = await ctl(
        home, "recordings", "search", "--email", "acme", "--sort", "client", "--json"
    )
    assert code == 0, err
    page = json.loads(out)
    assert page["total"] == 2
    assert [row["id"] for row in page["items"]] == [recorded["ana"], recorded["zoe"]]
    code, out, err = await ctl(
        home, "recordings", "search", "--text", "kettle", "--state", "closed", "--page-size", "1"
    )
    assert code == 0, err
    assert out.splitlines()[0] == "1-1 of 1 (page 1)"
    assert f"id={recorded['ana']}" in out and "subject=Refund for order 1001" in out
    code, out, err = await ctl(home, "recordings", "search", "--campaign", "Nope")
    assert code != 0 and "Nope" in err and "Traceback" not in err
    code, out, err = await ctl(
        home, "recordings", "search", "--email", "example", "--count", "--json"
    )
    assert code == 0, err
    assert (json.loads(out)["total"], json.loads(out)["capped"]) == (4, False)


def test_ctl_says_when_the_count_stopped_at_the_cap(capsys: pytest.CaptureFixture[str]) -> None:
    page = RecordingPage(total=1000, page=1, page_size=40, items=[], capped=True)
    print_recordings(page)
    assert capsys.readouterr().out.splitlines()[0] == "none of 1,000+ (page 1)"
