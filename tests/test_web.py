"""The public web service with a real HTTP client, against a real engine sharing its database:
the mail carries the rating block, GETs record nothing, a POST records a rating once and a
later one replaces it, bad tokens are a plain 404 that changes nothing, the limit per client
answers 429, the tracking image counts, and one-click unsubscribe works without a page."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import random
import secrets
from pathlib import Path

import aiohttp
import pytest

from data.db import Database
from engine.api.schemas import CampaignPatch, Event, ForwardIn, Hello, MessageChanged, StatsChanged
from engine.client import EngineClient
from engine.web.limits import client_key
from tests.cli_helpers import cli_env, postdesk_script
from tests.engine_fixtures import World, engine_settings, eventually, with_database
from tests.mail_factory import customer_mail
from tests.patience import PATIENCE
from tests.servers import free_port
from tests.web_helpers import (
    MOTIVATION,
    THANKS,
    WebWorld,
    anchors,
    dialer_message,
    parts,
    rating_links,
    replied,
)

SECURITY = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def assert_secure(resp: aiohttp.ClientResponse) -> None:
    for name, value in SECURITY.items():
        assert resp.headers.get(name) == value, name
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "form-action 'self'" in csp


async def test_the_reply_carries_the_rating_block_in_both_parts(web_world: WebWorld) -> None:
    world = web_world.world
    interaction_id, mail = await replied(world)
    text, html = parts(mail)
    # Text part: the motivation as written, then one plain link per score.
    assert MOTIVATION in text
    links = rating_links(text)
    assert sorted(links) == [1, 2, 3, 4, 5]
    assert all(link.startswith(web_world.base_url + "/r/") for link in links.values())
    assert len({rating_links(text)[s].rsplit("/", 2)[-2] for s in links}) == 1  # one token
    # HTML part: the motivation escaped (the admin's "<b>" is text), five score links, the
    # tracking image; the agent's text is there too.
    assert "&lt;b&gt;help&lt;/b&gt;" in html and "<b>help" not in html
    seen = anchors(html)
    assert sorted(rating_links(" ".join(seen.hrefs))) == [1, 2, 3, 4, 5]
    assert [src.rsplit("/", 1)[-1][-4:] for src in seen.images] == [".gif"]
    assert "Your parcel left today." in "".join(seen.text)
    # The token says nothing: not the message id, the address or the interaction.
    token = links[1].rsplit("/", 2)[-2]
    assert "carol" not in token.lower() and str(interaction_id) != token
    # A forward of the same interaction carries no rating block.
    async with world.client("agent1") as agent:
        await agent.forward(interaction_id, ForwardIn(to="billing@example.org", text="FYI"))
        forwarded = (await world.sink.await_count(2))[-1]
    assert b"/r/" not in forwarded.raw and MOTIVATION.encode() not in forwarded.raw


async def test_gets_record_nothing_a_post_records_once_and_a_later_one_replaces_it(
    web_world: WebWorld,
) -> None:
    world = web_world.world
    interaction_id, mail = await replied(world)
    links = rating_links(parts(mail)[0])
    token = links[4].rsplit("/", 2)[-2]
    async with aiohttp.ClientSession() as http:
        # What a link scanner does: fetch every link, and the thank-you page, and HEAD them.
        for link in links.values():
            async with http.get(link) as resp:
                assert resp.status == 200
                assert_secure(resp)
                page = await resp.text()
            async with http.head(link) as resp:
                assert resp.status == 200
        assert 'value="4" checked' not in page  # the last one fetched was 5
        async with http.get(links[4]) as resp:
            page = await resp.text()
        assert 'value="4" checked' in page and page.count(" checked required") == 1
        assert "&lt;b&gt;help&lt;/b&gt;" in page and "<script" not in page
        async with http.get(f"{web_world.base_url}/r/{token}/thanks", allow_redirects=False) as r:
            assert r.status == 303  # not rated yet: back to the choice
        assert await world.operator.ratings() == []
        detail = await world.operator.interaction(interaction_id)
        assert detail.messages[-1].rating is None

        # The page's button: a POST of the preselected score.
        action = f"{web_world.base_url}/r/{token}"
        async with http.post(action, data={"score": "4"}, allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == f"/r/{token}/thanks"
            assert_secure(resp)
        async with http.get(f"{web_world.base_url}/r/{token}/thanks") as resp:
            assert resp.status == 200
            thanks = await resp.text()
        assert "Thank you! Every rating is read by our team &amp; &lt;i&gt;nobody" in thanks
        assert THANKS not in thanks  # escaped, never markup
        [rating] = await world.operator.ratings()
        assert (rating.score, rating.agent, rating.campaign) == (4, "agent1", "Support")
        assert rating.interaction_id == interaction_id
        detail = await world.operator.interaction(interaction_id)
        assert detail.messages[-1].rating == 4 and detail.messages[-1].id == rating.message_id

        # Changing one's mind: the second rating replaces the first.
        async with http.post(action, data={"score": "2"}) as resp:
            assert resp.status == 200 and "2 of 5" in await resp.text()
    [rating] = await world.operator.ratings()
    assert rating.score == 2
    [per_agent] = await world.operator.agent_ratings()
    assert (per_agent.agent, per_agent.count, per_agent.average) == ("agent1", 1, 2.0)
    # The supervisor's statistics panel counts today's ratings per campaign.
    [support] = [c for c in (await world.operator.stats()).campaigns if c.name == "Support"]
    assert (support.rating_count, support.rating_average) == (1, 2.0)
    async with world.client("agent1") as agent:  # the agent sees it on their thread too
        assert (await agent.interaction(interaction_id)).messages[-1].rating == 2


async def test_bad_and_forged_tokens_are_a_plain_404_and_change_nothing(
    web_world: WebWorld,
) -> None:
    world = web_world.world
    _interaction_id, mail = await replied(world)
    token = rating_links(parts(mail)[0])[3].rsplit("/", 2)[-2]
    forged = secrets.token_urlsafe(16)
    base = web_world.base_url
    async with aiohttp.ClientSession() as http:
        for path in (
            f"/r/{forged}/3",
            f"/r/{forged}",
            f"/r/{forged}/thanks",
            f"/r/{token[:-1]}/3",
            f"/r/{token}x/3",
            f"/r/{token}/9",
            f"/r/{token}/0",
            f"/r/{token}/%00",
            f"/r/{'A' * 5000}/3",
            f"/p/{forged}.gif",
            f"/u/{forged}",
            "/",
            "/api/v1/me",
            "/r/../../etc/passwd",
        ):
            async with http.get(base + path) as resp:
                assert resp.status in (404, 414, 400), path  # over-long lines: aiohttp's 4xx
                if resp.status == 404:
                    assert_secure(resp)
                    assert "This link is not valid." in await resp.text()
        for path, data in (
            (f"/r/{forged}", {"score": "5"}),
            (f"/r/{token[:-1]}", {"score": "5"}),
            (f"/u/{forged}", {"List-Unsubscribe": "One-Click"}),
            (f"/u/{forged}", {"confirm": "1"}),
        ):
            async with http.post(base + path, data=data) as resp:
                assert resp.status == 404, path
        async with http.post(f"{base}/r/{token}", data={"score": "11"}) as resp:
            assert resp.status == 400  # the page again, nothing recorded
        async with http.post(
            f"{base}/r/{token}",
            data=b"\xff\xfe",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        ) as resp:
            assert resp.status < 500
        # Another site's form posting a rating with a token it learned.
        cross = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
        async with http.post(f"{base}/r/{token}", data={"score": "1"}, headers=cross) as resp:
            assert resp.status == 403
    assert await world.operator.ratings() == []
    assert await world.operator.blacklist() == []


async def test_the_limit_per_client_answers_429(web_world: WebWorld) -> None:
    service = web_world.limited(rate=0.001, burst=3)
    await service.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            statuses = []
            for _ in range(5):
                async with http.get(f"http://127.0.0.1:{service.port}/r/nothing/1") as resp:
                    statuses.append(resp.status)
                    if resp.status == 429:
                        assert int(resp.headers["Retry-After"]) >= 1
                        assert_secure(resp)
    finally:
        await service.stop()
    assert statuses == [404, 404, 404, 429, 429]


async def test_the_tracking_image_counts_each_fetch(web_world: WebWorld) -> None:
    world = web_world.world
    interaction_id, mail = await replied(world)
    [pixel] = anchors(parts(mail)[1]).images
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            async with http.get(pixel) as resp:
                assert resp.status == 200 and resp.content_type == "image/gif"
                assert (await resp.read()).startswith(b"GIF89a")
                assert resp.headers["Cache-Control"] == "no-store"
    detail = await eventually(
        lambda: world.operator.interaction(interaction_id),
        lambda d: d.messages[-1].seen_count == 2,
        what="two fetches counted",
    )
    assert detail.messages[-1].seen_at is not None
    assert detail.messages[-1].rating is None  # an image fetch is no rating


async def test_one_click_unsubscribe_needs_no_page_and_the_page_needs_one_click(
    web_world: WebWorld,
) -> None:
    world = web_world.world
    interaction_id, mail = await replied(world)
    reply_token = rating_links(parts(mail)[0])[1].rsplit("/", 2)[-2]
    base = web_world.base_url
    async with aiohttp.ClientSession() as http:
        # A reply has no unsubscribe link, and its token unsubscribes no one.
        async with http.post(f"{base}/u/{reply_token}", data={"confirm": "1"}) as resp:
            assert resp.status == 404
        first = await dialer_message(world.engine, interaction_id, "Carol@Example.net")
        second = await dialer_message(world.engine, interaction_id, "dan@example.org")
        async with http.get(f"{base}/u/{first}") as resp:  # the page: a GET changes nothing
            assert resp.status == 200 and 'id="send"' in await resp.text()
            assert_secure(resp)
        assert await world.operator.blacklist() == []
        # RFC 8058: what a mailbox provider's server sends, no Origin, no page wanted.
        async with http.post(f"{base}/u/{first}", data={"List-Unsubscribe": "One-Click"}) as resp:
            assert resp.status == 200 and await resp.text() == ""
        async with http.get(f"{base}/u/{first}") as resp:
            assert "You are unsubscribed" in await resp.text()
        # The page's button, one click.
        async with http.post(f"{base}/u/{second}", data={"confirm": "1"}) as resp:
            assert resp.status == 200 and "You are unsubscribed" in await resp.text()
    entries = {e.email: (e.source, e.campaign) for e in await world.operator.blacklist()}
    assert entries == {
        "carol@example.net": ("one-click", "Support"),
        "dan@example.org": ("unsubscribe-link", "Support"),
    }


async def test_ctl_exports_ratings_as_csv(web_world: WebWorld) -> None:
    world = web_world.world
    interaction_id, mail = await replied(world)
    async with aiohttp.ClientSession() as http:
        token = rating_links(parts(mail)[0])[5].rsplit("/", 2)[-2]
        async with http.post(f"{web_world.base_url}/r/{token}", data={"score": "5"}) as resp:
            assert resp.status == 200

    async def ctl(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            str(postdesk_script()),
            "ctl",
            *args,
            "--data-dir",
            str(world.engine.settings.home),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=cli_env(),
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode()

    rows = list(csv.reader(io.StringIO(await ctl("ratings", "--csv"))))
    assert rows[0][:3] == ["rated_at", "score", "campaign"]
    assert rows[1][1:5] == ["5", "Support", "agent1", str(interaction_id)]
    assert rows[1][6] == "carol@example.net"
    per_agent = list(csv.reader(io.StringIO(await ctl("ratings", "--by-agent", "--csv"))))
    assert per_agent == [
        ["agent", "display_name", "count", "average"],
        ["agent1", "Agent1", "1", "5.0"],
    ]
    campaigns = list(csv.reader(io.StringIO(await ctl("ratings", "--by-campaign", "--csv"))))
    assert campaigns == [["campaign", "count", "average"], ["Support", "1", "5.0"]]
    today = await ctl("ratings", "--by-campaign", "--since", "today", "--csv")
    assert today.splitlines()[1:] == ["Support,1,5.0"]
    later = await ctl("ratings", "--since", "2999-01-01", "--csv")
    assert later.count("\n") == 1  # the header alone
    assert await world.operator.ratings(since="2000-01-01T00:00:00") != []  # no offset: UTC
    assert await ctl("ratings", "--campaign", "Other", "--csv") == (
        "rated_at,score,campaign,agent,interaction_id,message_id,client_email\n"
    )


async def test_no_input_to_any_route_is_a_server_error(web_world: WebWorld) -> None:
    world = web_world.world
    _interaction_id, mail = await replied(world)
    token = rating_links(parts(mail)[0])[2].rsplit("/", 2)[-2]
    rng = random.Random(12)
    tails = [
        "",
        "/",
        "/thanks",
        "/3",
        "/%ff",
        "/%00",
        "/..",
        ".gif",
        "/6",
        "/-1",
        "/1e3",
        "/" + "9" * 40,
    ]
    paths = [f"/{kind}/{tok}{tail}" for kind in "rpu" for tok in (token, "x", "") for tail in tails]
    paths += ["/" + "".join(rng.choice("abc/%.?&=#") for _ in range(30)) for _ in range(20)]
    bodies: list[tuple[bytes, str]] = [
        (b"", "application/x-www-form-urlencoded"),
        (b"score=3&score=4", "application/x-www-form-urlencoded"),
        (b"score=%ff%fe", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00", "application/x-www-form-urlencoded"),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        (b"--x\r\n", "multipart/form-data"),
        (b'{"score": 3}', "application/json"),
        (b"List-Unsubscribe=One-Click", "text/plain"),
        (b"s" * 40_000, "application/x-www-form-urlencoded"),
        (bytes(rng.randrange(256) for _ in range(300)), "application/octet-stream"),
    ]
    base = web_world.base_url
    async with aiohttp.ClientSession() as http:
        for path in paths:
            for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"):
                body, kind = rng.choice(bodies)
                async with http.request(
                    method, base + path, data=body, headers={"Content-Type": kind}
                ) as resp:
                    assert resp.status < 500, (method, path, body[:40])
    assert await world.operator.blacklist() == []


async def test_postdesk_web_runs_apart_and_waits_for_the_engines_schema(tmp_path: Path) -> None:
    """`postdesk web` is its own process on the shared database; it never migrates it, so on a
    data dir the engine has not upgraded it refuses to start, saying why."""
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    env = with_database(home, cli_env(POSTDESK_WEB_BIND=f"127.0.0.1:{port}"))
    command = [str(postdesk_script()), "web", "--data-dir", str(home)]
    refused = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _out, err = await asyncio.wait_for(refused.communicate(), PATIENCE)
    assert refused.returncode == 1 and b"start the engine once" in err

    db = Database(engine_settings(home).db_url)
    await db.upgrade()  # what the engine does when it starts
    await db.close()
    served = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:

        async def answer() -> int:
            try:
                async with aiohttp.ClientSession() as http:
                    async with http.get(f"http://127.0.0.1:{port}/api/v1/me") as resp:
                        return resp.status
            except aiohttp.ClientConnectionError:
                return 0

        assert await eventually(answer, lambda status: status != 0, what="listening") == 404
    finally:
        served.terminate()
        await served.wait()
    assert served.returncode == 0  # SIGTERM stops it cleanly


def test_the_client_key_is_the_address_or_its_ipv6_64() -> None:
    trusted = frozenset({"127.0.0.1"})
    assert client_key("203.0.113.9", "", trusted) == "203.0.113.9"
    assert client_key("2001:db8:1:2:3:4:5:6", "", trusted) == "2001:db8:1:2::/64"
    assert client_key("::ffff:203.0.113.9", "", trusted) == "203.0.113.9"
    # A proxy we trust: the right-most address it did not add itself is the client's.
    assert client_key("127.0.0.1", "1.2.3.4, 198.51.100.7", trusted) == "198.51.100.7"
    # Anyone else's X-Forwarded-For is the client's own invention.
    assert client_key("203.0.113.9", "198.51.100.7", trusted) == "203.0.113.9"
    assert client_key(None, "", trusted) == "?"


async def test_a_rating_reaches_the_consoles_live(web_world: WebWorld) -> None:
    """The web service runs apart: the engine reads what it wrote and tells the agent's
    thread and the supervisors' statistics at once, with no reload."""
    world = web_world.world
    interaction_id, mail = await replied(world)
    links = rating_links(parts(mail)[0])
    token = links[5].rsplit("/", 2)[-2]
    heard: list[Event] = []

    async def listen(client: EngineClient) -> None:
        async for event in client.events():
            heard.append(event)

    async with world.client("agent1") as agent, world.client("super1") as supervisor:
        tasks = [asyncio.create_task(listen(c)) for c in (agent, supervisor)]
        try:
            await eventually(
                lambda: asyncio.sleep(0, heard),
                lambda got: sum(isinstance(e, Hello) for e in got) == 2,
                what="both streams open",
            )
            async with aiohttp.ClientSession() as http:
                action = f"{web_world.base_url}/r/{token}"
                async with http.post(action, data={"score": "5"}) as resp:
                    assert resp.status == 200
            rated = await eventually(
                lambda: asyncio.sleep(0, heard),
                lambda got: any(
                    isinstance(e, MessageChanged) and e.message.rating == 5 for e in got
                ),
                what="the rated message on the streams",
            )
            changed = [e for e in rated if isinstance(e, MessageChanged) and e.message.rating]
            assert {e.interaction_id for e in changed} == {interaction_id}
            await eventually(
                lambda: asyncio.sleep(0, heard),
                lambda got: any(
                    isinstance(e, StatsChanged)
                    and any(c.rating_count == 1 for c in e.stats.campaigns)
                    for e in got
                ),
                what="the statistics counting the rating",
            )
        finally:
            for task in tasks:
                task.cancel()


async def test_the_engine_warns_when_rating_links_would_point_nowhere(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """No public base URL: the links are built on the listening address, which customers
    cannot reach. The engine says so, naming the campaigns, and says nothing otherwise."""
    assert not world.engine.settings.web_base_url
    with caplog.at_level(logging.WARNING, logger="engine.engine"):
        await world.engine._check_web_url()
        assert "POSTDESK_WEB_BASE_URL" not in caplog.text  # no campaign carries links
        await world.operator.update_campaign(
            "Support", CampaignPatch(qualification_enabled=True, qualification_motivation="Rate")
        )
        await world.engine._check_web_url()
    assert "POSTDESK_WEB_BASE_URL is not set" in caplog.text and "Support" in caplog.text


async def test_a_mail_to_the_unsubscribe_address_unsubscribes_and_reaches_no_agent(
    web_world: WebWorld,
) -> None:
    """The mailto of List-Unsubscribe: the campaign's address, `unsubscribe <token>` as the
    subject. It blocks that campaign's mail to the message's recipient, once, and is filed;
    a person who merely writes "unsubscribe" is a customer like any other."""
    world = web_world.world
    interaction_id, _mail = await replied(world)
    token = await dialer_message(world.engine, interaction_id, "Dan@Example.org")
    world.dovecot.append(world.mailbox, customer_mail(f"unsubscribe {token}", ""))
    world.dovecot.append(world.mailbox, customer_mail(f"UNSUBSCRIBE {token}", "again"))
    world.dovecot.append(world.mailbox, customer_mail("unsubscribe AAAAAAAAAAAAAAAAAAAAAA", "?"))
    rows = await eventually(
        lambda: world.operator.interactions(scope="all"),
        lambda rows: len(rows) == 4,
        what="the three mails stored",
    )
    filed = [r for r in rows if r.subject.lower() == f"unsubscribe {token}".lower()]
    assert len(filed) == 2 and all(r.state == "closed" and r.agent is None for r in filed)
    [person] = [r for r in rows if r.subject.startswith("unsubscribe AAAA")]
    assert person.state in ("queued", "assigned")  # an unknown token: a person's mail
    entries = [(e.email, e.campaign, e.source) for e in await world.operator.blacklist()]
    assert entries == [("dan@example.org", "Support", "mailto")]  # once, for its campaign
