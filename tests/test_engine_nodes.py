"""Several engine nodes on one PostgreSQL (issue 16): each campaign's mailbox is read by
exactly one node, mail is stored once, and a node killed with SIGKILL in the middle of a
500-message ingest is replaced by another within the lease time, nothing lost or doubled.

Always on PostgreSQL (several nodes need it), so these run once: in the first pass of
`make test` (tests/conftest.py keeps them out of the `-m database` pass).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from data.db import Database
from engine.api.schemas import CampaignPatch, NewInteractionIn, UserIn
from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine
from engine.services.inbound.prepare import Position
from engine.services.nodes.leases import LeaseLost
from tests import db_probe
from tests.engine_nodes import Nodes
from tests.patience import PATIENCE
from tests.postgres_server import PostgresServer
from tests.servers import DovecotServer, SmtpSink


def _mail(tag: str, n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <c{n}@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = f"{tag} {n}"
    msg["Message-ID"] = f"<{tag}-{n}@example.net>"
    msg.set_content(f"Mail {n} of {tag}.\n")
    return msg.as_bytes()


@pytest.fixture
def nodes(tmp_path: Path, postgres: PostgresServer) -> Iterator[Nodes]:
    group = Nodes(tmp_path / "nodes", postgres.new_database())
    try:
        yield group
    finally:
        group.stop_all()


async def _until(what: str, check: object, timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _stored(nodes: Nodes, tag: str) -> tuple[int, int]:
    """(messages stored, distinct Message-IDs among them) of the mails tagged `tag`."""
    count, distinct = nodes.rows(
        "SELECT count(*), count(DISTINCT message_id) FROM messages WHERE subject LIKE ?",
        f"{tag} %",
    )[0]
    return int(count), int(distinct)


async def test_three_nodes_share_the_mailboxes_and_store_each_mail_once(
    nodes: Nodes, dovecot: DovecotServer
) -> None:
    a, b, c = await nodes.start_all("a", "b", "c")
    boxes = [dovecot.new_mailbox() for _ in range(3)]
    async with a.client() as admin:
        for n, box in enumerate(boxes):
            await admin.add_campaign(box.campaign(f"C{n}", email_address=f"c{n}@postdesk.test"))
    # Each mailbox has one owner, and the three nodes share them out one each.
    await _until(
        "one mailbox per node",
        lambda: sorted(o or "" for o in nodes.owners().values()) == ["a", "b", "c"],
    )
    for n, box in enumerate(boxes):
        await asyncio.to_thread(dovecot.append_many, box, [_mail(f"M{n}", i) for i in range(20)])
    for n in range(3):
        await _until(f"the mail of C{n}", lambda n=n: _stored(nodes, f"M{n}")[0] >= 20)
    await asyncio.sleep(1.0)  # a second reader, if there were one, would have stored it again
    for n in range(3):
        assert _stored(nodes, f"M{n}") == (20, 20)
    assert all(node.alive() for node in (a, b, c))
    # What each node's admin sees: every mailbox, connected (each stored by its reader).
    owners = nodes.owners()
    for node in (a, b, c):
        deadline = time.monotonic() + PATIENCE
        while True:
            async with node.client() as client:
                health = await client.mailboxes()
            seen = sorted((m.campaign_id, m.state) for m in health)
            if seen == sorted((cid, "connected") for cid in owners) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert seen == sorted((cid, "connected") for cid in owners), (node.name, seen)


async def test_a_node_killed_mid_ingest_is_replaced_and_every_mail_is_stored_once(
    nodes: Nodes, dovecot: DovecotServer
) -> None:
    box = dovecot.new_mailbox()
    await asyncio.to_thread(dovecot.append_many, box, [_mail("K", i) for i in range(500)])
    # Node a dies inside its second ingest transaction (200 stored, 200 more uncommitted).
    a = nodes.start("a", POSTDESK_CRASH_AT="ingest-before-commit:2")
    await nodes.ready(a)
    async with a.client() as admin:
        await admin.add_campaign(box.campaign("Support", receive_emails=False))
    b = nodes.start("b")
    await nodes.ready(b)
    assert set(nodes.owners().values()) == {"a"}
    async with b.client() as admin:  # changed on b: a, the owner, starts reading
        await admin.update_campaign("Support", CampaignPatch(receive_emails=True))
    await _until("node a killed mid-ingest", lambda: not a.alive())
    killed = time.monotonic()
    assert a.process is not None and a.process.returncode == -9, a.log_tail()
    stored_at_kill = _stored(nodes, "K")[0]
    assert 0 < stored_at_kill < 500
    await _until("b owns the mailbox", lambda: set(nodes.owners().values()) == {"b"})
    taken_over = time.monotonic() - killed
    await _until("all 500 stored", lambda: _stored(nodes, "K")[0] >= 500)
    finished = time.monotonic() - killed
    await asyncio.sleep(1.0)
    assert _stored(nodes, "K") == (500, 500)
    # The promise: taken over within 10 s (the lease's 7 s expiry and a look).
    assert taken_over < 10.0, taken_over
    print(
        f"\nkill -9 at {stored_at_kill} of 500 stored: b owned the mailbox {taken_over:.1f} s"
        f" later, all 500 stored {finished:.1f} s after the kill"
    )
    assert b.alive()


async def test_a_node_that_lost_its_lease_cannot_commit_ingest(
    tmp_path: Path, postgres: PostgresServer, dovecot: DovecotServer
) -> None:
    url = postgres.new_database()
    engine = Engine(Settings(home=tmp_path / "home", database_url=url, poll_seconds=0.5))
    await engine.start()
    try:
        box = dovecot.new_mailbox()
        async with EngineClient(engine.socket_path) as admin:
            out = await admin.add_campaign(box.campaign("Support", receive_emails=False))
        assert engine.leases is not None and engine.leases.holds(out.id)
        # Another node took it over (this one was paused past the expiry, say).
        db = Database(url)
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(
                "UPDATE mailbox_leases SET node = 'elsewhere', epoch = epoch + 1,"
                " expires_at = clock_timestamp() + interval '1 minute'"
            )
        await db.close()
        prepared = await engine.ingestor.prepare([(_mail("F", 1), Position("INBOX", 1, 1))])
        with pytest.raises(LeaseLost):
            await engine.ingestor.commit(out.id, prepared, fenced=True)
        assert db_probe.rows(engine.settings, "SELECT count(*) FROM messages")[0][0] == 0
        assert db_probe.rows(engine.settings, "SELECT count(*) FROM mailbox_checkpoints")[0][0] == 0
    finally:
        await engine.stop()


async def test_an_attachment_stored_by_one_node_is_read_through_another(
    nodes: Nodes, dovecot: DovecotServer
) -> None:
    box = dovecot.new_mailbox()
    a = nodes.start("a")
    await nodes.ready(a)
    async with a.client() as admin:  # a alone: it owns the mailbox
        await admin.add_campaign(box.campaign("Support"))
    b = nodes.start("b")
    await nodes.ready(b)
    scan = bytes(range(256)) * 400  # binary, 100 KiB
    msg = EmailMessage()
    msg["From"] = "Ana <ana@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = "B 1"
    msg["Message-ID"] = "<b-1@example.net>"
    msg.set_content("The scan is attached.\n")
    msg.add_attachment(scan, maintype="image", subtype="tiff", filename="scan.tiff")
    await asyncio.to_thread(dovecot.append, box, msg.as_bytes())
    await _until("the mail stored", lambda: _stored(nodes, "B")[0] == 1)
    assert set(nodes.owners().values()) == {"a"}
    [(attachment_id, interaction_id)] = nodes.rows(
        "SELECT a.id, m.interaction_id FROM attachments a JOIN messages m ON m.id = a.message_id"
    )
    async with b.client() as client:
        assert await client.attachment(int(attachment_id)) == scan
        [mail] = (await client.recording_mails(int(interaction_id))).mails
    assert mail.original and mail.data.replace(b"\r\n", b"\n") == msg.as_bytes().replace(
        b"\r\n", b"\n"
    )
    # Through the database, not a file one node happens to have.
    assert nodes.rows("SELECT count(*) FROM blobs")[0][0] == 2  # the raw mail, the scan
    files = [p for node in (a, b) for p in (node.home / "blobs").rglob("*") if p.is_file()]
    assert files == []


async def test_a_node_started_later_gets_a_share_and_mail_queued_anywhere_leaves_once(
    nodes: Nodes, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    boxes = [dovecot.new_mailbox() for _ in range(2)]
    a = nodes.start("a")
    await nodes.ready(a)
    async with a.client() as admin:
        for n, box in enumerate(boxes):
            await admin.add_campaign(
                box.campaign(
                    f"C{n}",
                    email_address=f"c{n}@postdesk.test",
                    smtp_host=smtp_sink.host,
                    smtp_port=smtp_sink.port,
                    check=False,
                )
            )
        await admin.add_user(UserIn(username="agent1"))
        for n in range(2):
            await admin.add_member(f"C{n}", "agent1")
    assert sorted(o or "-" for o in nodes.owners().values()) == ["a", "a"]
    b = nodes.start("b")
    await nodes.ready(b)
    # a gives one mailbox back (it held more than its share), b takes it.
    await _until(
        "one mailbox each", lambda: sorted(o or "-" for o in nodes.owners().values()) == ["a", "b"]
    )
    for n, box in enumerate(boxes):
        await asyncio.to_thread(dovecot.append_many, box, [_mail(f"S{n}", i) for i in range(10)])
    for n in range(2):
        await _until(f"the mail of C{n}", lambda n=n: _stored(nodes, f"S{n}")[0] >= 10)
    # An agent at node b writes in both campaigns: each mail leaves once, sent by the node
    # that owns its campaign, whichever node it was written on.
    async with EngineClient(b.socket, act_as="agent1") as agent:
        for n in range(2):
            await agent.new_interaction(
                NewInteractionIn(
                    campaign=f"C{n}", to="ana@example.net", subject=f"Hello {n}", body="Hi."
                )
            )
    await smtp_sink.await_count(2)
    await asyncio.sleep(1.5)  # a second sender, if there were one, would have sent it again
    subjects = sorted(str(m.message["Subject"]) for m in smtp_sink.messages)
    assert [s.split(" [")[0] for s in subjects] == ["Hello 0", "Hello 1"]
    for n in range(2):
        assert _stored(nodes, f"S{n}") == (10, 10)


async def test_a_node_stopped_cleanly_hands_its_mailbox_over_at_once(
    nodes: Nodes, dovecot: DovecotServer
) -> None:
    box = dovecot.new_mailbox()
    a = nodes.start("a")
    await nodes.ready(a)
    async with a.client() as admin:
        await admin.add_campaign(box.campaign("Support"))
    b = nodes.start("b")
    await nodes.ready(b)
    assert set(nodes.owners().values()) == {"a"}
    nodes.stop(a)  # SIGTERM: an upgrade, node by node
    [(expired_at,)] = nodes.rows("SELECT expires_at FROM mailbox_leases")
    assert a.process is not None and a.process.returncode == 0, a.log_tail()
    await _until("b owns the mailbox", lambda: set(nodes.owners().values()) == {"b"})
    # Taken over before a's last renewal would have run out: a gave it back as it stopped.
    [(taken_before_expiry,)] = nodes.rows("SELECT clock_timestamp() < ?", expired_at)
    assert taken_before_expiry
    assert [n for (n,) in nodes.rows("SELECT node FROM engine_nodes")] == ["b"]
    await asyncio.to_thread(dovecot.append, box, _mail("H", 1))
    await _until("mail read by b", lambda: _stored(nodes, "H")[0] == 1)
