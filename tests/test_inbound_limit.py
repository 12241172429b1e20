"""Inbound attachments over the configured size limit, end to end against a real Dovecot.

The mail is ingested all the same and its raw .eml is stored whole; only the oversized
attachment gets no blob of its own. It is listed with its size and flagged, and downloading or
forwarding it is refused with a reason instead of failing on a missing blob.
"""

from __future__ import annotations

import email
import hashlib
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select

from data.models import Attachment, Message
from engine.api.schemas import ForwardIn
from engine.client import Invalid
from engine.engine import Engine
from tests.engine_fixtures import World, engine_settings, eventually

LIMIT = 64 * 1024
SMALL = b"%PDF-1.4 small invoice"
LARGE = bytes(range(256)) * (LIMIT // 256 + 100)  # just over the limit, binary


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    """The engine of tests/engine_fixtures.py with a low inbound attachment limit."""
    settings = engine_settings(tmp_path / "home")
    settings.max_inbound_attachment_bytes = LIMIT
    eng = Engine(settings)
    await eng.start()
    try:
        yield eng
    finally:
        await eng.stop()


def mail_with_two_attachments() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Carol Customer <carol@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = "Invoice and scan"
    msg["Message-ID"] = make_msgid(domain="example.net")
    msg.set_content("The invoice and a scan of the parcel are attached.")
    msg.add_attachment(SMALL, maintype="application", subtype="pdf", filename="invoice.pdf")
    msg.add_attachment(LARGE, maintype="image", subtype="tiff", filename="scan.tiff")
    return msg.as_bytes()


async def test_an_attachment_over_the_limit_is_listed_flagged_and_kept_in_the_raw(
    world: World, engine: Engine
) -> None:
    assert len(LARGE) > LIMIT > len(SMALL)
    world.dovecot.append(world.mailbox, mail_with_two_attachments())
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        [row] = await eventually(agent.interactions, lambda rows: len(rows) == 1, what="ingest")
        [message] = (await agent.interaction(row.id)).messages
        small, large = message.attachments
        assert (small.filename, small.size, small.over_limit) == ("invoice.pdf", len(SMALL), False)
        assert (large.filename, large.content_type) == ("scan.tiff", "image/tiff")
        assert (large.size, large.over_limit) == (len(LARGE), True)

        assert await agent.attachment(small.id) == SMALL
        with pytest.raises(Invalid) as refused:
            await agent.attachment(large.id)
        reason = refused.value.message
        assert "scan.tiff" in reason and str(len(LARGE)) in reason
        assert "exceeded the inbound attachment size limit" in reason
        assert "kept in the original message" in reason

        # Forwarding it would need its bytes on their own: refused, naming it; the small one
        # still goes.
        with pytest.raises(Invalid, match="scan.tiff"):
            await agent.forward(
                row.id, ForwardIn(to="billing@example.org", attachment_ids=[large.id])
            )
        await agent.forward(row.id, ForwardIn(to="billing@example.org", attachment_ids=[small.id]))
        sent = (await world.sink.await_count(1))[0].message
        assert {p.get_filename(): p.get_content() for p in sent.iter_attachments()} == {
            "invoice.pdf": SMALL
        }
        # Without a choice ("all of them"), what can be carried is.
        await agent.forward(row.id, ForwardIn(to="billing@example.org"))
        sent = (await world.sink.await_count(2))[1].message
        assert [p.get_filename() for p in sent.iter_attachments()] == ["invoice.pdf"]

    async with engine.db.session() as session:
        stored = await session.get_one(Message, message.id)
        rows = (
            await session.execute(select(Attachment).where(Attachment.message_id == message.id))
        ).scalars()
        by_name = {a.filename: a for a in rows}
    # The content hash is recorded, but only the small attachment has a blob.
    assert by_name["scan.tiff"].sha256 == hashlib.sha256(LARGE).hexdigest()
    assert not await engine.blobs.exists(by_name["scan.tiff"].sha256)
    assert await engine.blobs.get(by_name["invoice.pdf"].sha256) == SMALL
    # The raw message is whole: the large attachment can always be recovered from it.
    raw = await engine.blobs.get(stored.raw_sha256)
    assert hashlib.sha256(raw).hexdigest() == stored.raw_sha256
    original = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(original, EmailMessage)
    parts = {p.get_filename(): p.get_content() for p in original.iter_attachments()}
    assert parts == {"invoice.pdf": SMALL, "scan.tiff": LARGE}


async def test_the_console_flags_it_and_offers_only_what_can_be_saved_or_forwarded(
    world: World, engine: Engine
) -> None:
    from textual.widgets import OptionList, SelectionList

    from console.screens.forward import ForwardScreen
    from console.screens.save_attachment import SaveAttachmentScreen
    from tests.console_helpers import console_for, open_thread, screen_text, until

    world.dovecot.append(world.mailbox, mail_with_two_attachments())
    app = console_for(engine, "agent1", "agent")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_thread(pilot, app, "Invoice and scan", "scan of the parcel")
        await until(pilot, lambda: "too large" in screen_text(app), what="the flag")

        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, SaveAttachmentScreen), what="save")
        listed = app.screen.query_one("#attachment-list", OptionList)
        assert [str(o.prompt) for o in listed.options] == ["invoice.pdf (22 bytes)"]
        await pilot.press("escape")

        await until(pilot, lambda: not isinstance(app.screen, SaveAttachmentScreen))
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ForwardScreen), what="forward")
        files = app.screen.query_one("#forward-files", SelectionList)
        assert len(files.selected) == 1  # the large one is shown, not ticked, not tickable
        assert "too large to forward" in screen_text(app)
