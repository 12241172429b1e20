"""The dialer's whole loop, as the pieces meet in one engine (issue 13 and 12): a list is
sent to the SMTP sink; the links in the mail the sink received reach the real public web
service; the recipient's image fetch and one-click unsubscribe change their records, and a
supervisor's event stream carries the new counts with nobody polling."""

from __future__ import annotations

import asyncio
import re

import aiohttp

from engine.api.schemas import DialerIn, DialerProgress, TemplateIn
from tests.engine_fixtures import eventually
from tests.web_helpers import WebWorld

UNSUBSCRIBE = '<p>Had enough? <a id="unsubscribe_link">Unsubscribe</a></p>'


async def test_sent_mail_seen_and_unsubscribed_through_its_own_links(web_world: WebWorld) -> None:
    world, base = web_world.world, web_world.base_url
    op = world.operator
    await op.add_template(TemplateIn(name="Hello", kind="dialer", body_text="Hello ${name}."))
    await op.add_dialer(
        DialerIn(
            name="News",
            campaign="Support",
            template="Hello",
            unsubscribe_html=UNSUBSCRIBE,
            seconds_between_messages=0,
        )
    )
    csv = b"Support;ann@example.org;;;name=Ann\nSupport;bob@example.org;;;name=Bob\n"
    report = await op.upload_list("News", csv, name="December", subject="News for ${name}")
    assert report.imported == 2

    heard: list[DialerProgress] = []

    async def listen() -> None:
        async with world.client("super1") as supervisor:
            async for event in supervisor.events():
                if isinstance(event, DialerProgress):
                    heard.append(event)

    listening = asyncio.create_task(listen())
    try:
        await op.play_dialer("News")
        mails = {m.rcpt_tos[0]: m.message for m in await world.sink.await_count(2)}
        ann = mails["ann@example.org"]
        html = ann.get_body(("html",))
        assert html is not None
        pixel = re.search(
            rf'src="({re.escape(base)}/p/[A-Za-z0-9_-]{{22}}\.gif)"', html.get_content()
        )
        assert pixel is not None, "the seen image"
        one_click = re.search(r"<(https?://[^>]+/u/[A-Za-z0-9_-]{22})>", ann["List-Unsubscribe"])
        assert one_click is not None and one_click.group(1).startswith(base)

        async with aiohttp.ClientSession() as http:
            async with http.get(pixel.group(1)) as resp:
                assert resp.status == 200 and resp.content_type == "image/gif"
            async with http.post(
                one_click.group(1), data={"List-Unsubscribe": "One-Click"}
            ) as resp:
                assert resp.status == 200

        def counted(events: list[DialerProgress]) -> bool:
            return bool(events) and events[-1].sent == 2 and events[-1].seen == 1

        await eventually(lambda: asyncio.sleep(0, heard), counted, what="seen in the event")
        entries = await op.blacklist()
        assert [(e.email, e.source) for e in entries] == [("ann@example.org", "one-click")]
        last = heard[-1]
        assert (last.processed, last.not_processed, last.failed) == (2, 0, 0)
    finally:
        listening.cancel()
