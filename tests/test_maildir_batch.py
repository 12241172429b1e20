"""Maildir ingestion in batches: a burst of local mail is stored a batch per transaction, each
mail once, and a file leaves new/ only once its batch has committed (tests/test_crash.py kills
the engine between the two)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from engine.api.schemas import CampaignIn
from engine.client import EngineClient
from engine.engine import Engine
from engine.services.inbound import maildir as maildir_module
from engine.services.inbound.ingest import Ingested
from engine.services.inbound.maildir import MaildirMailbox, batches, ensure_maildir
from tests.engine_fixtures import engine_settings, stored_message_ids


def mail(n: int, size: int = 0) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <c{n}@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = f"Question {n}"
    msg["Message-ID"] = f"<maildir-{n}@example.net>"
    msg.set_content(f"Hello, this is question {n}.\n" + "x" * size)
    return msg.as_bytes()


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[Engine, MaildirMailbox, list[int]]]:
    """A real engine (mail transports off: the test drives the mailbox) with a Maildir
    campaign, and the size of every batch the ingestor committed."""
    engine = Engine(engine_settings(tmp_path / "home"), run_mail=False)
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            campaign = await operator.add_campaign(
                CampaignIn(
                    check=False,  # no SMTP server to log in to here: saved unchecked
                    name="Local",
                    email_address="support@postdesk.test",
                    inbound="maildir",
                    maildir_path=str(tmp_path / "Maildir"),
                    smtp_host="127.0.0.1",
                    smtp_security="plain",
                )
            )
        commits: list[int] = []
        commit = engine.ingestor.commit

        async def counted(campaign_id: int, prepared: list[Any], **kw: Any) -> list[Ingested]:
            commits.append(len(prepared))  # one call is one transaction
            return await commit(campaign_id, prepared, **kw)

        engine.ingestor.commit = counted  # type: ignore[method-assign]
        box = MaildirMailbox(campaign.id, tmp_path / "Maildir", engine.ingestor)
        ensure_maildir(box.path)
        yield engine, box, commits
    finally:
        await engine.stop()


async def test_a_burst_of_files_is_stored_a_batch_per_transaction_each_once(
    desk: tuple[Engine, MaildirMailbox, list[int]],
) -> None:
    engine, box, commits = desk
    for n in range(450):
        (box.path / "new" / f"{n:04d}.local").write_bytes(mail(n))
    # The same bytes delivered twice (a retrying MTA): stored once, both files leave new/.
    (box.path / "new" / "0000.again").write_bytes(mail(0))
    assert await box.ingest_new() == 451
    assert commits == [200, 200, 51]  # was one transaction per file
    ids = stored_message_ids(engine)
    assert sorted(ids) == sorted(f"maildir-{n}@example.net" for n in range(450))
    assert list((box.path / "new").iterdir()) == []
    assert len(list((box.path / "cur").iterdir())) == 451
    assert await box.ingest_new() == 0 and len(commits) == 3  # nothing left, no transaction


async def test_files_stay_in_new_until_their_batch_commits_and_are_not_stored_twice(
    desk: tuple[Engine, MaildirMailbox, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, box, commits = desk
    for n in range(250):
        (box.path / "new" / f"{n:04d}.local").write_bytes(mail(n))

    def lost(self: MaildirMailbox, paths: list[str]) -> None:
        raise OSError("the disk went away after the commit")

    monkeypatch.setattr(MaildirMailbox, "_move", lost)
    with pytest.raises(OSError):
        await box.ingest_new()
    assert commits == [200]
    assert len(list((box.path / "new").iterdir())) == 250  # committed, but not moved yet
    monkeypatch.undo()
    assert await box.ingest_new() == 250
    ids = stored_message_ids(engine)
    assert len(ids) == 250 and len(set(ids)) == 250
    assert list((box.path / "new").iterdir()) == []


def test_batches_hold_at_most_200_files_and_a_large_file_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert [len(run) for run in batches([10] * 450)] == [200, 200, 50]
    monkeypatch.setattr(maildir_module, "BATCH_BYTES", 100)
    assert batches([40, 40, 500, 40, 40, 40]) == [[0, 1], [2], [3, 4], [5]]
    assert batches([]) == []
