"""The public web service beside a real engine, for the web tests and the browser test.

The engine and the web service share one data dir (the database), as `postdesk engine` and
`postdesk web` do; the web service listens on a free loopback port that the engine knows as
its public base URL, so the links in the mail the SMTP sink receives reach it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine.api.schemas import CampaignPatch
from engine.client import EngineClient
from engine.engine import Engine
from engine.services.customer.feedback import CustomerFeedback
from engine.web.app import WebService, build_app
from tests.engine_fixtures import World, engine_settings, eventually, provision
from tests.mail_factory import customer_mail
from tests.servers import DovecotServer, ReceivedMail, SmtpSink, free_port

MOTIVATION = "How did Carol's answer <b>help</b> you? Rate it:"
THANKS = "Thank you! Every rating is read by our team & <i>nobody</i> else."
RATING_LINK = re.compile(r"https?://[^\s\"'<>]+/r/([A-Za-z0-9_-]{22})/([1-5])")


@dataclass
class WebWorld:
    world: World
    base_url: str
    feedback: CustomerFeedback

    def limited(self, rate: float, burst: int) -> WebService:
        """Another listener of the same service with its own (tight) limit per client."""
        return WebService(build_app(self.feedback, base_url=self.base_url, rate=rate, burst=burst))


@pytest.fixture
async def web_world(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> AsyncIterator[WebWorld]:
    port = free_port()
    engine = Engine(engine_settings(tmp_path / "home", web_bind=f"127.0.0.1:{port}"))
    await engine.start()
    service: WebService | None = None
    feedback: CustomerFeedback | None = None
    try:
        async with EngineClient(engine.socket_path) as operator:
            world = await provision(engine, operator, dovecot, smtp_sink)
            await operator.update_campaign(
                "Support",
                CampaignPatch(
                    qualification_enabled=True,
                    qualification_motivation=MOTIVATION,
                    qualification_thanks=THANKS,
                    track_replies=True,
                ),
            )
            feedback = await CustomerFeedback.open(engine.settings.db_url)
            base = engine.settings.web_url
            service = WebService(build_app(feedback, base_url=base, rate=1000.0, burst=1000))
            await service.start("127.0.0.1", port)
            yield WebWorld(world, base, feedback)
    finally:
        if service is not None:
            await service.stop()
        if feedback is not None:
            await feedback.close()
        await engine.stop()


async def replied(world: World, body: str = "Your parcel left today.") -> tuple[int, ReceivedMail]:
    """Carol writes, agent1 answers; the interaction and the sink's copy of the reply."""
    world.dovecot.append(world.mailbox, customer_mail("Where is my parcel?", "Any news?"))
    async with world.client("agent1") as agent:
        await agent.set_status("free")
        [row] = await eventually(agent.interactions, lambda rows: len(rows) == 1)
        before = len(world.sink.messages)
        await agent.reply(row.id, body)
        mails = await world.sink.await_count(before + 1)
    return row.id, mails[-1]


async def dialer_message(engine: Engine, interaction_id: int, to: str) -> str:
    """A sent dialer mail to `to` with its token, as the dialer (issue 13) will store one;
    written straight to the database, since no dialer sends yet."""
    from data.models import Direction, Message, MessageState
    from engine.services.customer.links import keep_token, new_token

    token = new_token()
    async with engine.db.session() as session, session.begin():
        message = Message(
            interaction_id=interaction_id,
            direction=Direction.OUTBOUND,
            state=MessageState.SENT,
            kind="dialer",
            to=[to],
        )
        session.add(message)
        keep_token(session, message, token)
    return token


def parts(mail: ReceivedMail) -> tuple[str, str]:
    """The text and HTML parts of a received mail."""
    text = mail.message.get_body(("plain",))
    html = mail.message.get_body(("html",))
    assert text is not None and html is not None, "the reply must have both parts"
    return text.get_content(), html.get_content()


def rating_links(text: str) -> dict[int, str]:
    return {int(m[2]): m[0] for m in RATING_LINK.finditer(text)}


class Anchors(HTMLParser):
    """Links and images of an HTML part; fails on nothing, records what it saw."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.hrefs.append(found["href"] or "")
        if tag == "img" and found.get("src"):
            self.images.append(found["src"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def anchors(html: str) -> Anchors:
    parser = Anchors()
    parser.feed(html)
    parser.close()
    return parser
