"""The notifier reads the waiting queue only when it changed and someone who sees it is
listening: with 500 agents online and no supervisor it was read on every batch of events, and
a reply joining a waiting interaction read it again for nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.api.schemas import CampaignIn, Event, QueueChanged, UserIn
from engine.client import EngineClient
from engine.engine import Engine
from engine.services import notify
from engine.services.inbound.prepare import Position
from tests.engine_fixtures import eventually
from tests.mail_factory import numbered_mail as mail


async def test_the_queue_is_read_only_when_it_changed_and_a_supervisor_listens(
    engine: Engine, operator: EngineClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []
    queue_rows = notify.queries.queue_rows

    async def counted(session: Any) -> Any:
        reads.append(1)
        return await queue_rows(session)

    monkeypatch.setattr(notify.queries, "queue_rows", counted)
    campaign = await operator.add_campaign(
        CampaignIn(
            name="Support", email_address="support@postdesk.test", inbound="none",
            smtp_host="127.0.0.1", smtp_security="plain",
            check=False,  # no SMTP server to log in to here: saved unchecked
        )
    )  # fmt: skip
    await operator.add_user(UserIn(username="agent1", display_name="A", roles=["agent"]))
    await operator.add_user(UserIn(username="super1", display_name="S", roles=["supervisor"]))
    ingest = engine.ingestor.ingest

    async def watch(name: str, seen: list[Event], ready: asyncio.Event) -> None:
        async with EngineClient(engine.socket_path, act_as=name) as client:
            async for event in client.events():
                seen.append(event)
                ready.set()

    agent_seen: list[Event] = []
    hello = asyncio.Event()
    agent = asyncio.create_task(watch("agent1", agent_seen, hello))
    await hello.wait()
    await ingest(campaign.id, mail(1), Position("maildir"))  # new, waiting: nobody to tell
    await eventually(lambda: _count(engine), lambda n: n == 1, what="stored")
    await asyncio.sleep(engine.notifier.batch_delay * 4)
    assert reads == []

    super_seen: list[Event] = []
    hello = asyncio.Event()
    supervisor = asyncio.create_task(watch("super1", super_seen, hello))
    await hello.wait()
    try:
        await ingest(campaign.id, mail(2), Position("maildir"))  # the queue changed: told
        queued = await eventually(
            lambda: _queues(super_seen), lambda q: q and q[-1].total == 2, what="queue of 2"
        )
        assert [row.client_email for row in queued[-1].queue] == [
            "c1@example.net",
            "c2@example.net",
        ]
        before = len(reads)
        # A second mail from the same customer in the same thread joins the waiting one.
        await ingest(campaign.id, _reply_to(2), Position("maildir"))
        await eventually(lambda: _count(engine), lambda n: n == 3, what="the reply stored")
        await asyncio.sleep(engine.notifier.batch_delay * 4)
        assert len(reads) == before  # the queue did not change: not read again
    finally:
        for task in (agent, supervisor):
            task.cancel()
        await asyncio.gather(agent, supervisor, return_exceptions=True)
    assert not any(isinstance(e, QueueChanged) for e in agent_seen)


async def _queues(seen: list[Event]) -> list[QueueChanged]:
    return [e for e in seen if isinstance(e, QueueChanged)]


async def _count(engine: Engine) -> int:
    from sqlalchemy import func, select

    from data.models import Message

    async with engine.db.session() as session:
        return int(await session.scalar(select(func.count(Message.id))) or 0)


def _reply_to(n: int) -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = f"Customer {n} <c{n}@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = f"Re: Question {n}"
    msg["Message-ID"] = f"<maildir-{n}-again@example.net>"
    msg["In-Reply-To"] = f"<reconnect-{n}@example.net>"
    msg.set_content("Any news?")
    return msg.as_bytes()
