"""Batched ingestion: a batch decides and stores exactly what ingesting its mails one by one does.

The batch path threads, deduplicates and classifies in memory and inserts its new rows a table
at a time; these tests run real engines (and a real Dovecot for the IMAP side) and compare the
rows a batch leaves with the rows of the same mails ingested one at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aioimaplib
import pytest
from sqlalchemy import select

import data.blobs
import engine.services.inbound.prepare as ingest_module
from data.blobs import BlobStore
from data.models import (
    Attachment,
    BlacklistEntry,
    Direction,
    Interaction,
    MailboxCheckpoint,
    Message,
    MessageState,
    Quarantine,
)
from engine.api.schemas import CampaignIn
from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine
from engine.services.inbound import imap, imap_protocol
from engine.services.inbound.ingest import Ingested
from engine.services.inbound.prepare import Position
from tests.engine_fixtures import eventually
from tests.mail_factory import abuse_report, delivery_status_notification
from tests.servers import DovecotServer

OUR_REPLY = "reply-1@postdesk.test"  # the Message-ID of a reply we sent to Carol


def mail(
    sender: str,
    subject: str,
    body: str,
    *,
    message_id: str,
    in_reply_to: str | None = None,
    cc: str | None = None,
    headers: dict[str, str] | None = None,
    attachment: bytes | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@postdesk.test"
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<{in_reply_to}>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if attachment is not None:
        msg.add_attachment(
            attachment, maintype="application", subtype="pdf", filename="invoice.pdf"
        )
    return msg.as_bytes()


@dataclass
class Desk:
    """A real engine (no mail transports running) with one campaign."""

    engine: Engine
    campaign_id: int

    async def ingest(self, raws: list[bytes], first_uid: int) -> list[Ingested]:
        items = [(raw, Position("INBOX", 1, first_uid + n)) for n, raw in enumerate(raws)]
        return await self.engine.ingestor.ingest_batch(self.campaign_id, items)

    async def ingest_one_by_one(self, raws: list[bytes], first_uid: int) -> list[Ingested]:
        results = []
        for n, raw in enumerate(raws):
            position = Position("INBOX", 1, first_uid + n)
            results.append(await self.engine.ingestor.ingest(self.campaign_id, raw, position))
        return results

    async def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Everything ingestion writes, in id order (timestamps only as present or not)."""
        async with self.engine.db.session() as session:
            interactions = (
                await session.execute(select(Interaction).order_by(Interaction.id))
            ).scalars()
            messages = (await session.execute(select(Message).order_by(Message.id))).scalars()
            attachments = (
                await session.execute(select(Attachment).order_by(Attachment.id))
            ).scalars()
            quarantine = (
                await session.execute(select(Quarantine).order_by(Quarantine.id))
            ).scalars()
            blacklist = (
                await session.execute(select(BlacklistEntry).order_by(BlacklistEntry.id))
            ).scalars()
            checkpoints = (await session.execute(select(MailboxCheckpoint))).scalars()
            return {
                "interactions": [
                    (
                        i.id,
                        i.campaign_id,
                        i.state,
                        i.direction,
                        i.client_email,
                        i.client_name,
                        i.subject,
                        i.cc,
                        i.bcc,
                        i.unread,
                        i.linked_interaction_id,
                        i.agent_id,
                        i.closed_at is None,
                        i.draft,
                    )
                    for i in interactions
                ],
                "messages": [
                    (
                        m.id,
                        m.interaction_id,
                        m.direction,
                        m.state,
                        m.message_id,
                        m.in_reply_to,
                        m.references,
                        m.from_email,
                        m.from_name,
                        m.to,
                        m.cc,
                        m.subject,
                        m.text,
                        m.html,
                        m.raw_sha256,
                        m.imap_uid,
                        m.auto_submitted,
                        m.kind,
                        m.error,
                        m.attempts,
                    )
                    for m in messages
                ],
                "attachments": [
                    (a.id, a.message_id, a.filename, a.content_type, a.size, a.sha256, a.inline)
                    for a in attachments
                ],
                "quarantine": [
                    (q.campaign_id, q.raw_sha256, q.error, q.imap_uid) for q in quarantine
                ],
                "blacklist": [(b.email, b.reason) for b in blacklist],
                "checkpoints": [(c.folder, c.uidvalidity, c.last_uid) for c in checkpoints],
            }


async def open_desk(home: Path) -> Desk:
    engine = Engine(Settings(home=home), run_mail=False)
    await engine.start()
    async with EngineClient(engine.socket_path) as operator:
        campaign = await operator.add_campaign(
            CampaignIn(
                name="Support",
                email_address="support@postdesk.test",
                inbound="none",
                smtp_host="127.0.0.1",
                smtp_port=25,
                smtp_security="plain",
                check=False,  # no SMTP server here: nothing is sent from it
            )
        )
    return Desk(engine, campaign.id)


@pytest.fixture
async def desks(tmp_path: Path) -> AsyncIterator[tuple[Desk, Desk]]:
    first = await open_desk(tmp_path / "a")
    second = await open_desk(tmp_path / "b")
    try:
        yield first, second
    finally:
        await first.engine.stop()
        await second.engine.stop()


async def with_our_reply(desk: Desk) -> int:
    """Carol's first mail (interaction 1) and the reply we sent her; the interaction id."""
    [first] = await desk.ingest(
        [mail("Carol <carol@example.net>", "Broken invoice", "Wrong total", message_id="c1@x")],
        first_uid=1,
    )
    assert first.interaction_id is not None
    async with desk.engine.db.session() as session, session.begin():
        session.add(
            Message(
                interaction_id=first.interaction_id,
                direction=Direction.OUTBOUND,
                state=MessageState.SENT,
                message_id=OUR_REPLY,
                from_email="support@postdesk.test",
                to=["carol@example.net"],
                subject="Re: Broken invoice",
                created_at=datetime.now(UTC),
            )
        )
    return first.interaction_id


def mixed_batch(carol_interaction: int) -> list[bytes]:
    dave = "Dave <dave@example.net>"
    erin = "Erin <erin@example.net>"
    dave_first = mail(dave, "New order", "Where is it?", message_id="d1@x", cc="frank@example.net")
    return [
        dave_first,  # a new interaction
        mail(
            "Carol <carol@example.net>",
            "Re: Broken invoice",
            "Thanks",
            message_id="c2@x",
            in_reply_to=OUR_REPLY,
        ),  # joins an existing interaction through our reply
        mail(
            "Frank <frank@example.net>",
            "Re: New order",
            "Me too",
            message_id="f1@x",
            in_reply_to="d1@x",
        ),  # a CC participant of an interaction of this batch joins it
        mail(dave, "Re: New order", "Any news?", message_id="d2@x", in_reply_to="f1@x"),
        mail(
            "Mallory <mallory@evil.example>",
            "Re: New order",
            "Send it to me",
            message_id="m1@x",
            in_reply_to="d1@x",
        ),  # a stranger: linked to this batch's interaction, never joins it
        mail(
            "Mallory <mallory@evil.example>",
            "Re: Broken invoice",
            "Me!",
            message_id="m2@x",
            in_reply_to="c1@x",
        ),  # a stranger linked to an existing interaction
        mail(
            erin,
            "Out of office",
            "Away",
            message_id="e1@x",
            headers={"Auto-Submitted": "auto-replied"},
        ),  # automated: a closed interaction
        mail(erin, "Re: Out of office", "Back now", message_id="e2@x", in_reply_to="e1@x"),
        delivery_status_notification(f"<{OUR_REPLY}>"),  # our reply bounced
        b"\r\n",  # not mail at all: quarantined
        dave_first,  # the same bytes again: a duplicate
        mail(
            "Carol <carol@example.net>",
            f"RE: Re: Broken invoice [#{carol_interaction}]",
            "Still wrong",
            message_id="c3@x",
        ),  # no threading headers, but our subject token
        mail(
            "Gina <gina@example.net>",
            "Invoice",
            "See attached",
            message_id="g1@x",
            attachment=b"%PDF-1.4 invoice",
        ),
        mail(
            "Gina <gina@example.net>",
            "Invoice again",
            "Same file",
            message_id="g2@x",
            attachment=b"%PDF-1.4 invoice",
        ),  # the same attachment bytes twice in one batch
        abuse_report(f"<{OUR_REPLY}>"),  # a complaint: Carol is blacklisted
        abuse_report(f"<{OUR_REPLY}>").replace(b"Abuse report", b"Abuse report 2"),
    ]


async def test_a_mixed_batch_leaves_the_rows_of_one_by_one_ingestion(
    desks: tuple[Desk, Desk],
) -> None:
    batched, single = desks
    carol = await with_our_reply(batched)
    assert await with_our_reply(single) == carol
    raws = mixed_batch(carol)

    batch_results = await batched.ingest(raws, first_uid=2)
    single_results = await single.ingest_one_by_one(raws, first_uid=2)

    assert batch_results == single_results
    batch_rows, single_rows = await batched.rows(), await single.rows()
    for table in batch_rows:
        assert batch_rows[table] == single_rows[table], table

    # And what those rows are, spelled out.
    messages = {m[4]: m for m in batch_rows["messages"]}
    interactions = {i[0]: i for i in batch_rows["interactions"]}
    dave = messages["d1@x"][1]
    assert messages["d2@x"][1] == messages["f1@x"][1] == dave
    assert messages["c2@x"][1] == messages["c3@x"][1] == carol
    mallory = interactions[messages["m1@x"][1]]
    assert mallory[4] == "mallory@evil.example" and mallory[10] == dave
    assert interactions[messages["m2@x"][1]][10] == carol
    erin = interactions[messages["e1@x"][1]]
    assert messages["e2@x"][1] == erin[0]
    assert erin[2] == "queued" and erin[9] is True  # the customer reply reopened it
    assert messages[OUR_REPLY][3] == "failed" and "5.1.1" in messages[OUR_REPLY][18]
    assert batch_results[8].interaction_id == carol  # the bounce is filed with Carol
    assert [r.quarantined for r in batch_results].count(True) == 1
    assert batch_results[10].duplicate and batch_results[10].message_row_id == messages["d1@x"][0]
    assert batch_rows["blacklist"] == [("carol@example.net", "complaint (RFC 5965)")]
    gina = {messages["g1@x"][0], messages["g2@x"][0]}
    invoices = [a for a in batch_rows["attachments"] if a[1] in gina]
    assert [a[2] for a in invoices] == ["invoice.pdf"] * 2
    assert len({a[5] for a in invoices}) == 1  # one blob for the same bytes
    assert batch_rows["checkpoints"] == [("INBOX", 1, 1 + len(raws))]
    new_customers = [r.interaction_id for r in batch_results if r.new_customer_interaction]
    assert new_customers == [
        dave,
        mallory[0],
        messages["m2@x"][1],
        messages["g1@x"][1],
        messages["g2@x"][1],
    ]


async def test_a_reply_joins_the_interaction_its_parent_opened_in_the_same_batch(
    desks: tuple[Desk, Desk],
) -> None:
    desk, _ = desks
    raws = [
        mail("Carol <carol@example.net>", "Lost parcel", "Where?", message_id="p1@x"),
        mail(
            "Carol <carol@example.net>",
            "Re: Lost parcel",
            "Hello?",
            message_id="p2@x",
            in_reply_to="p1@x",
            cc="Dan <dan@example.net>",
        ),
    ]
    first, second = await desk.ingest(raws, first_uid=1)
    assert first.new_interaction and first.new_customer_interaction
    assert second.interaction_id == first.interaction_id
    assert not second.new_interaction and not second.new_customer_interaction
    rows = await desk.rows()
    [interaction] = rows["interactions"]
    assert interaction[7] == ["dan@example.net"]  # the CC of the last received mail
    assert [m[1] for m in rows["messages"]] == [first.interaction_id] * 2


async def test_duplicates_within_and_across_batches_are_stored_once(
    desks: tuple[Desk, Desk],
) -> None:
    desk, _ = desks
    one = mail("Carol <carol@example.net>", "Hello", "Hi", message_id="h1@x")
    two = mail("Dave <dave@example.net>", "Hello", "Hi", message_id="h2@x")
    results = await desk.ingest([one, two, one, one], first_uid=1)
    assert [r.duplicate for r in results] == [False, False, True, True]
    assert {r.message_row_id for r in results[2:]} == {results[0].message_row_id}
    again = await desk.ingest([two, one], first_uid=5)  # e.g. after a UIDVALIDITY reset
    assert [r.duplicate for r in again] == [True, True]
    assert [r.message_row_id for r in again] == [
        results[1].message_row_id,
        results[0].message_row_id,
    ]
    rows = await desk.rows()
    assert len(rows["messages"]) == 2 and len(rows["interactions"]) == 2
    assert rows["checkpoints"] == [("INBOX", 1, 6)]


async def test_blobs_of_a_batch_are_stored_before_the_commit_and_nothing_temporary_stays(
    desks: tuple[Desk, Desk], monkeypatch: pytest.MonkeyPatch
) -> None:
    desk, _ = desks
    raws = [
        mail(f"C{n} <c{n}@example.net>", f"Q{n}", "Hi", message_id=f"q{n}@x", attachment=b"A")
        for n in range(5)
    ]
    committed: list[bool] = []
    original = desk.engine.ingestor.commit

    async def commit(campaign_id: int, prepared: list[Any], **kw: Any) -> list[Ingested]:
        # Stored before the transaction (files), or held for it (the database's blobs).
        blobs = desk.engine.blobs
        held = [p.blobs.get(p.digest) or await blobs.get(p.digest) for p in prepared]
        committed.append(held == raws)
        return await original(campaign_id, prepared, **kw)

    monkeypatch.setattr(desk.engine.ingestor, "commit", commit)
    await desk.ingest(raws, first_uid=1)
    assert committed == [True]
    rows = await desk.rows()
    for message in rows["messages"]:
        assert await desk.engine.blobs.exists(message[14])
    for attachment in rows["attachments"]:
        assert await desk.engine.blobs.get(attachment[5]) == b"A"
    leftovers = [f for _d, _s, files in os.walk(desk.engine.settings.blob_dir) for f in files]
    assert not [f for f in leftovers if f.endswith(".tmp")]


async def test_a_failing_batch_commits_nothing_and_leaves_no_temporary_blob(
    desks: tuple[Desk, Desk], monkeypatch: pytest.MonkeyPatch
) -> None:
    desk, _ = desks
    calls = 0
    real_classify = ingest_module.classify

    def classify(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("boom")
        return real_classify(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "classify", classify)
    raws = [mail(f"C{n} <c{n}@example.net>", "Q", "Hi", message_id=f"z{n}@x") for n in range(5)]
    with pytest.raises(RuntimeError, match="boom"):
        await desk.ingest(raws, first_uid=1)
    rows = await desk.rows()
    assert rows["messages"] == [] and rows["checkpoints"] == []
    if data.blobs._syncfs is not None:  # without the barrier each blob is stored at once
        root = desk.engine.settings.blob_dir
        assert not [f for _d, _s, files in os.walk(root) for f in files]


@pytest.mark.parametrize("barrier", [True, False])
def test_blob_batches_with_and_without_the_filesystem_barrier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, barrier: bool
) -> None:
    if not barrier:
        monkeypatch.setattr(data.blobs, "_syncfs", None)  # e.g. macOS: one fsync per file
    elif data.blobs._syncfs is None:
        pytest.skip("no syncfs on this platform")
    store = BlobStore(tmp_path / "blobs")
    already = store.put(b"stored before")
    blobs = [b"one", b"two", b"one", b"stored before", b"three"]
    digests = store.put_many(blobs)
    assert digests[0] == digests[2] and digests[3] == already
    for digest, data_ in zip(digests, blobs, strict=True):
        assert store.get(digest) == data_
        assert store.path_for(digest).is_file()
    files = [f for _d, _s, names in os.walk(store.root) for f in names]
    assert sorted(files) == sorted(set(digests))

    batch = store.batch(10)
    assert batch.barrier is barrier
    digest = batch.write(b"never committed")
    batch.abort()
    # With the barrier nothing is visible before the commit; without it, each write is a put.
    assert store.exists(digest) is not barrier
    files = [f for _d, _s, names in os.walk(store.root) for f in names]
    assert sorted(files) == sorted(set(digests) | ({digest} if not barrier else set()))


@pytest.mark.parametrize("barrier", [True, False])
def test_blobs_of_the_old_two_level_layout_are_still_read_and_not_stored_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, barrier: bool
) -> None:
    if not barrier:
        monkeypatch.setattr(data.blobs, "_syncfs", None)
    elif data.blobs._syncfs is None:
        pytest.skip("no syncfs on this platform")
    root = tmp_path / "blobs"
    fresh = BlobStore(root)
    assert not fresh.legacy_layout
    new_digest = fresh.put(b"new mail")
    assert (root / new_digest[:2] / new_digest).is_file()  # <root>/ab/<digest>
    assert not BlobStore(root).legacy_layout  # reopened: still nothing of the old layout

    # A store written by an older Postdesk: <root>/ab/cd/<digest>, next to the new blob.
    old = b"old mail"
    old_digest = hashlib.sha256(old).hexdigest()
    old_path = root / old_digest[:2] / old_digest[2:4] / old_digest
    old_path.parent.mkdir(parents=True)
    old_path.write_bytes(old)
    store = BlobStore(root)
    assert store.legacy_layout
    assert store.get(old_digest) == old and store.exists(old_digest)
    assert store.path_for(old_digest) == old_path
    assert store.get(new_digest) == b"new mail"
    assert store.path_for(new_digest) == root / new_digest[:2] / new_digest

    # The same bytes again are recognised in the old place; other bytes go to the new one.
    assert store.put(old) == old_digest
    assert store.put_many([old, b"other", b"more", old]) == [
        old_digest,
        *(hashlib.sha256(x).hexdigest() for x in (b"other", b"more")),
        old_digest,
    ]
    assert not (root / old_digest[:2] / old_digest).exists()
    files = {str(Path(d, f).relative_to(root)) for d, _s, names in os.walk(root) for f in names}
    assert files == {
        f"{old_digest[:2]}/{old_digest[2:4]}/{old_digest}",
        *(f"{d[:2]}/{d}" for d in (new_digest, *store.put_many([b"other", b"more"]))),
    }
    with pytest.raises(FileNotFoundError):
        store.get(hashlib.sha256(b"never stored").hexdigest())


def test_uid_sets_and_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    assert imap_protocol.uid_set([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
    assert imap_protocol.uid_set([5]) == "5"
    monkeypatch.setattr(imap, "FETCH_BATCH", 4)
    uids = list(range(1, 11))
    assert imap._batches(uids, set()) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    assert imap._batches(uids, {4, 5}) == [[1, 2, 3], [4], [5], [6, 7, 8, 9], [10]]


async def test_bulk_fetch_times_out_only_after_inactivity() -> None:
    loop = asyncio.get_running_loop()
    command = imap_protocol.BulkFetch("A1", "1:*", "(UID BODY.PEEK[])", loop=loop, timeout=0.2)
    for _ in range(8):  # 0.4 s of steady progress: longer than the timeout, but never idle
        await asyncio.sleep(0.05)
        command.append_to_resp(b"1 FETCH (UID 1 BODY[] {3}")
        assert command.wait_data()
        command.append_to_resp(bytearray(b"a()"))  # literal data is not parsed
        command.append_to_resp(b")")
        assert not command.wait_data()
    assert not command._event.is_set()
    with pytest.raises(aioimaplib.CommandTimeout):
        await asyncio.wait_for(command.wait(), 1.0)


async def test_imap_batches_with_a_large_mail_are_ingested_in_order(
    dovecot: DovecotServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap, "FETCH_BATCH", 7)
    monkeypatch.setattr(imap, "LARGE_MESSAGE", 20_000)
    mailbox = dovecot.new_mailbox("batches")
    large = "x" * 60 + "\n"
    raws = [
        mail(
            f"C{n} <c{n}@example.net>",
            f"Question (number {n})",
            (large * 500) if n == 11 else f"Hello ({n}",
            message_id=f"imap-{n}@x",
        )
        for n in range(30)
    ]
    dovecot.append_many(mailbox, raws)
    engine = Engine(Settings(home=tmp_path / "home", poll_seconds=0.5))
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            await operator.add_campaign(mailbox.campaign("Batches"))

        async def stored() -> int:
            async with engine.db.session() as session:
                return len((await session.execute(select(Message.id))).all())

        await eventually(stored, lambda n: n >= len(raws), timeout=60, what="every mail")
        async with engine.db.session() as session:
            messages = (await session.execute(select(Message).order_by(Message.id))).scalars()
            got = [(m.imap_uid, m.subject, await engine.blobs.get(m.raw_sha256)) for m in messages]
            checkpoint = await session.scalar(select(MailboxCheckpoint))
        assert [uid for uid, _s, _r in got] == list(range(1, 31))
        assert [s for _u, s, _r in got] == [f"Question (number {n})" for n in range(30)]
        assert len(got[11][2]) > 20_000
        assert checkpoint is not None and checkpoint.last_uid == 30
    finally:
        await engine.stop()


def test_old_layout_blobs_are_read_even_when_link_counts_mislead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some file systems (FUSE, SMB) report a link count of 2 for every directory: the store
    then guesses "no old blobs", and reading must still find them."""
    root = tmp_path / "blobs"
    old = b"old mail"
    old_digest = hashlib.sha256(old).hexdigest()
    old_path = root / old_digest[:2] / old_digest[2:4] / old_digest
    old_path.parent.mkdir(parents=True)
    old_path.write_bytes(old)
    monkeypatch.setattr(data.blobs, "_has_subdirectories", lambda _directory: False)
    store = BlobStore(root)
    assert not store.legacy_layout
    assert store.get(old_digest) == old
    assert store.path_for(old_digest) == old_path
