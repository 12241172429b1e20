"""Text the two databases store differently: PostgreSQL's text cannot hold a NUL character,
SQLite's can. A customer's mail with one still arrives whole, a search with one is no error,
on either database (data/db.py drops NULs on PostgreSQL)."""

from __future__ import annotations

import random

from engine.api.schemas import InteractionSummary, RecordingQuery
from tests import db_probe
from tests.engine_fixtures import World, eventually
from tests.mail_factory import abuse_report, customer_mail


async def with_the_next_mail(world: World, mail: bytes) -> list[InteractionSummary]:
    """`mail`, then an ordinary one behind it, in the mailbox; both interactions once they
    arrived (a mail that held up its mailbox would keep the second from arriving), and no
    mail quarantined."""
    world.dovecot.append(world.mailbox, mail)
    world.dovecot.append(world.mailbox, customer_mail("The next mail", "Still here"))
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        rows = await eventually(agent.interactions, lambda rows: len(rows) == 2, what="mail")
    assert await world.operator.quarantine() == []
    return rows


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


async def test_a_mail_with_overlong_header_values_arrives_whole_and_blocks_nothing(
    world: World,
) -> None:
    """Every header value a stranger writes can be longer than the column that keeps it
    (PostgreSQL refuses what SQLite takes): a 3,000-character subject, name, file name,
    content type and Message-ID still make an interaction, and the next mail follows it."""
    name = "N" * 3000
    boundary = "b0undary"
    raw = (
        f"From: {name} <carol@example.net>\r\nTo: help@example.com\r\n"
        f"Subject: {'S' * 3000} end\r\nMessage-ID: <{'m' * 3000}@example.net>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary={boundary}\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nKettle broken\r\n"
        f"--{boundary}\r\nContent-Type: application/x-{'t' * 3000}\r\n"
        f'Content-Disposition: attachment; filename="{"f" * 3000}.pdf"\r\n\r\n%PDF\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    world.dovecot.append(world.mailbox, raw)
    world.dovecot.append(world.mailbox, customer_mail("Second mail", "Still here"))
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        rows = await eventually(agent.interactions, lambda rows: len(rows) == 2, what="mail")
        [long] = [r for r in rows if r.subject.startswith("S" * 100)]
        detail = await agent.interaction(long.id)
        [message] = detail.messages
        assert "Kettle broken" in message.text
        assert message.from_email == "carol@example.net"
        assert [a.filename[:5] for a in message.attachments] == ["fffff"]
    assert await world.operator.quarantine() == []


async def test_a_complaint_naming_an_overlong_address_blocks_nothing(world: World) -> None:
    """A feedback report's Original-Rcpt-To is a stranger's text too: one longer than the
    blacklist's column is kept cut to it, and the mailbox goes on to the next mail."""
    long_address = "c" * 1000 + "@example.net"
    report = abuse_report("<nothing-of-ours@postdesk.test>").replace(
        b"Original-Rcpt-To: carol@example.net", b"Original-Rcpt-To: " + long_address.encode()
    )
    world.dovecot.append(world.mailbox, report)
    world.dovecot.append(world.mailbox, customer_mail("After the report", "Still here"))
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        [row] = await eventually(agent.interactions, lambda rows: len(rows) == 1, what="mail")
        assert row.subject == "After the report"
    assert await world.operator.quarantine() == []


async def test_a_subject_token_beyond_any_id_blocks_nothing(world: World) -> None:
    """`[#id]` in a stranger's subject is looked up as an interaction id: one beyond the
    database's integer range (PostgreSQL refuses it as a parameter) names nothing, and the
    mail arrives as a new interaction like the next one."""
    rows = await with_the_next_mail(world, customer_mail("Help [#999999999999]", "Where is it?"))
    assert sorted(r.subject for r in rows) == ["Help [#999999999999]", "The next mail"]


async def test_a_mail_naming_forty_thousand_references_blocks_nothing(world: World) -> None:
    """References is a stranger's list: however many ids it names (each one looked up to
    thread the mail), the mail arrives and the next one follows it."""
    references = " ".join(f"<r{n}@example.net>" for n in range(40_000))
    mail = customer_mail("Many references", "Where is it?").replace(
        b"\r\n\r\n", f"\r\nReferences: {references}\r\n\r\n".encode(), 1
    )
    rows = await with_the_next_mail(world, mail)
    assert sorted(r.subject for r in rows) == ["Many references", "The next mail"]


async def test_a_long_subject_of_wide_characters_blocks_nothing(world: World) -> None:
    """A column's length counts characters, an index's limit counts bytes (PostgreSQL's
    btree takes about 2,700 per row): a subject and a Message-ID of a thousand varied
    four-byte characters still arrive, and the next mail follows them."""
    rng = random.Random(7)
    wide = "".join(chr(rng.randrange(0x1F300, 0x1F5FF)) for _ in range(1200))
    mail = customer_mail(wide, "Where is it?").replace(
        b"Message-ID: <", f"Message-ID: <{wide}".encode(), 1
    )
    assert wide.encode() in mail
    rows = await with_the_next_mail(world, mail)
    assert "The next mail" in [r.subject for r in rows]


async def test_a_mail_the_database_refuses_is_quarantined_and_its_mailbox_goes_on(
    world: World,
) -> None:
    """Whatever value the database will not store (here a rule of its own, a trigger, on
    either database), the mail it refuses is quarantined with the reason and its raw bytes,
    and the mails before and after it arrive: its mailbox is not retried forever."""
    settings = world.engine.settings
    if db_probe.is_postgresql(settings):
        await db_probe.write(
            settings,
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.subject LIKE '%TOXIC%' THEN RAISE EXCEPTION 'no poison here'"
            " USING ERRCODE = 'data_exception'; END IF; RETURN NEW; END $$",
        )
        await db_probe.write(
            settings,
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON interactions"
            " FOR EACH ROW EXECUTE FUNCTION refuse_poison()",
        )
    else:
        await db_probe.write(
            settings,
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON interactions"
            " WHEN NEW.subject LIKE '%TOXIC%' BEGIN SELECT RAISE(ABORT, 'no poison here'); END",
        )
    for subject in ("Before it", "A TOXIC subject", "After it"):
        world.dovecot.append(world.mailbox, customer_mail(subject, "Where is it?"))
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        rows = await eventually(agent.interactions, lambda rows: len(rows) == 2, what="mail")
        assert sorted(r.subject for r in rows) == ["After it", "Before it"]
    [kept] = await eventually(world.operator.quarantine, lambda q: len(q) == 1, what="quarantine")
    assert "refused" in kept.error and "no poison here" in kept.error
    assert "A TOXIC subject" in (await world.operator.quarantined(kept.id)).raw
    # Once the rule is gone, the admin's retry stores it.
    await db_probe.write(
        settings,
        "DROP TRIGGER refuse_poison"
        + (" ON interactions" if db_probe.is_postgresql(settings) else ""),
    )
    assert (await world.operator.retry_quarantined(kept.id)).ingested
    async with world.client("agent1") as agent:
        await eventually(agent.interactions, lambda rows: len(rows) == 3, what="the retried mail")
