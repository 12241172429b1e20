"""Several engine nodes in the test process, each with its own data dir and socket, all on one
PostgreSQL database: what a deployment with several hosts looks like to the engines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from engine.api.schemas import CampaignIn, Event, TemplateIn
from engine.client import EngineClient
from engine.engine import Engine
from engine.services.inbound.prepare import Position
from tests.engine_fixtures import engine_settings
from tests.patience import PATIENCE


@asynccontextmanager
async def nodes(
    tmp_path: Path, url: str, count: int, **settings: Any
) -> AsyncIterator[list[Engine]]:
    """`count` engines named a, b, c... started one after the other on database `url`."""
    started: list[Engine] = []
    try:
        for n in range(count):
            name = "abcdefgh"[n]
            engine = Engine(
                engine_settings(
                    tmp_path / name, database_url=url, node_name=f"node-{name}", **settings
                )
            )
            await engine.start()
            started.append(engine)
        for engine in started:
            if engine.node_events is not None:
                async with asyncio.timeout(PATIENCE):
                    await engine.node_events.listening.wait()
        yield started
    finally:
        for engine in reversed(started):
            await engine.stop()


def customer_mail(n: int, subject: str = "Help") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <c{n}@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = f"{subject} {n}"
    msg["Message-ID"] = make_msgid(domain="example.net")
    msg.set_content(f"Mail number {n}.")
    return msg.as_bytes()


async def ingest(engine: Engine, campaign_id: int, first: int, count: int) -> None:
    """Mail stored by this node's ingestor, as its mailbox would."""
    items = [(customer_mail(n), Position("INBOX", 1, n + 1)) for n in range(first, first + count)]
    await engine.ingestor.ingest_batch(campaign_id, items)


class Stream:
    """A console's event stream, read into a list by a task."""

    def __init__(self, client: EngineClient) -> None:
        self.client = client
        self.events: list[Event] = []
        self._task: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        async for event in self.client.events():
            self.events.append(event)

    async def __aenter__(self) -> Stream:
        self._task = asyncio.create_task(self._read())
        await self.until(lambda e: type(e).__name__ == "Hello", "hello")
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except (asyncio.CancelledError, Exception):  # noqa: S110 - the stream ends here
            pass

    async def until(self, match: Callable[[Event], bool], what: str) -> Event:
        deadline = asyncio.get_running_loop().time() + PATIENCE
        seen = 0
        while True:
            for event in self.events[seen:]:
                if match(event):
                    return event
            seen = len(self.events)
            if asyncio.get_running_loop().time() > deadline:
                kinds = [type(e).__name__ for e in self.events[-20:]]
                raise AssertionError(f"no {what} on the stream; last events: {kinds}")
            await asyncio.sleep(0.02)


async def dialer_campaign(
    op: EngineClient, host: str, port: int, body: str = "Dear ${name}."
) -> None:
    """The Support campaign sending through `host:port` (no inbound mail) and the dialer
    template T, as the dialer tests across nodes set them up."""
    await op.add_campaign(
        CampaignIn(
            check=False,
            name="Support",
            email_address="news@example.com",
            inbound="none",
            smtp_host=host,
            smtp_port=port,
            smtp_security="plain",
        )
    )
    await op.add_template(TemplateIn(name="T", kind="dialer", body_text=body))
