"""Dialer mail after it is sent, against a real engine, Dovecot, SMTP sink and the public web
service with a real HTTP client: the tracking image marks a record seen once, the unsubscribe
page and RFC 8058's one-click POST blacklist the record's address for the dialer's campaign
(a GET never does), hostile tokens get the plain page and change nothing, bounces of every
shape reject their record and complaints mark it spam and blacklist the address everywhere,
while the reports themselves are filed, answered by nothing and seen by no agent; and the
engine tells one hook which dialer's records changed."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable

import aiohttp
from sqlalchemy import select, update

from data.models import BouncingAddress, CustomerEvent, DialerRecord, DialerRecordState
from engine.services.customer.watch import CustomerEventWatcher
from tests.dialer_helpers import (
    arf_message_id_only,
    arf_with_original,
    exchange_ndr,
    postfix_dsn,
    quoted_plain_bounce,
    record_rows,
    sent_records,
    set_state,
    threading_only_dsn,
)
from tests.engine_fixtures import World, eventually
from tests.mail_factory import customer_mail
from tests.mailcorpus import AUTOMATED, hotmail_complaint, sample_of
from tests.web_helpers import WebWorld

NOT_VALID = "This link is not valid."


async def events(world: World) -> list[tuple[str, int | None]]:
    async with world.engine.db.session() as session:
        rows = await session.execute(
            select(CustomerEvent.kind, CustomerEvent.dialer_record_id).order_by(CustomerEvent.id)
        )
        return [(kind, rid) for kind, rid in rows]


def hooked(world: World) -> list[int]:
    """What the engine tells the dialer's progress publisher: the dialer ids, in order."""
    told: list[int] = []

    async def changed(dialer_id: int) -> None:
        told.append(dialer_id)

    world.engine.customer_events.dialer_records_changed = changed
    return told


async def told(heard: list[int], dialer_id: int) -> None:
    await eventually(
        lambda: asyncio.sleep(0, heard), lambda got: dialer_id in got, what="the hook told"
    )


# ---- the web service ----


async def test_the_image_marks_a_sent_record_seen_once_and_never_undoes_a_report(
    web_world: WebWorld,
) -> None:
    world, base = web_world.world, web_world.base_url
    heard = hooked(world)
    first, second, bounced, spam = await sent_records(
        world, ["ann@example.org", "bob@example.org", "cy@example.org", "di@example.org"]
    )
    await set_state(world, bounced.id, DialerRecordState.REJECTED)
    await set_state(world, spam.id, DialerRecordState.SPAM)
    timings: list[float] = []
    async with aiohttp.ClientSession() as http:
        for record in (first, first, first, bounced, spam):
            started = time.perf_counter()
            async with http.get(f"{base}/p/{record.token}.gif") as resp:
                assert resp.status == 200 and resp.content_type == "image/gif"
                assert (await resp.read()).startswith(b"GIF89a")
                assert resp.headers["Cache-Control"] == "no-store"
            timings.append(time.perf_counter() - started)
    rows = await record_rows(world, [first.id, second.id, bounced.id, spam.id])
    assert rows[first.id].state == DialerRecordState.SEEN and rows[first.id].seen_at is not None
    assert rows[second.id].state == DialerRecordState.SENT and rows[second.id].seen_at is None
    # A bounce or a complaint is what happened to the mail: an image fetch undoes neither.
    assert rows[bounced.id].state == DialerRecordState.REJECTED
    assert rows[spam.id].state == DialerRecordState.SPAM
    # Three fetches, one change, one event.
    assert await events(world) == [("dialer-seen", first.id)]
    await told(heard, first.dialer_id)
    seen_at = rows[first.id].seen_at
    async with aiohttp.ClientSession() as http, http.get(f"{base}/p/{first.token}.gif") as resp:
        assert resp.status == 200
    assert (await record_rows(world, [first.id]))[first.id].seen_at == seen_at
    print(f"seen request: first {timings[0] * 1000:.1f} ms, repeat {timings[1] * 1000:.1f} ms")


async def test_the_unsubscribe_page_takes_one_click_and_one_click_takes_none(
    web_world: WebWorld,
) -> None:
    world, base = web_world.world, web_world.base_url
    heard = hooked(world)
    ann, bob = await sent_records(world, ["Ann@Example.org", "bob@example.org"])
    async with aiohttp.ClientSession() as http:
        # What a link scanner does: GET and HEAD. Nothing changes.
        for _ in range(2):
            async with http.get(f"{base}/u/{ann.token}") as resp:
                page = await resp.text()
                assert resp.status == 200 and 'id="send"' in page and "Support" in page
                assert resp.headers["Referrer-Policy"] == "no-referrer"
            async with http.head(f"{base}/u/{ann.token}") as resp:
                assert resp.status == 200
        assert await world.operator.blacklist() == []
        # The page's button.
        async with http.post(f"{base}/u/{ann.token}", data={"confirm": "1"}) as resp:
            assert resp.status == 200 and "You are unsubscribed" in await resp.text()
        async with http.get(f"{base}/u/{ann.token}") as resp:
            assert "You are unsubscribed" in await resp.text()
        # RFC 8058 one-click, as a mailbox provider's server posts it: no page.
        async with http.post(
            f"{base}/u/{bob.token}", data={"List-Unsubscribe": "One-Click"}
        ) as resp:
            assert resp.status == 200 and await resp.text() == ""
        # Twice changes nothing more.
        async with http.post(
            f"{base}/u/{bob.token}", data={"List-Unsubscribe": "One-Click"}
        ) as resp:
            assert resp.status == 200
    entries = {e.email: (e.source, e.campaign) for e in await world.operator.blacklist()}
    assert entries == {
        "ann@example.org": ("unsubscribe-link", "Support"),
        "bob@example.org": ("one-click", "Support"),
    }
    assert await events(world) == [("dialer-unsubscribe", ann.id), ("dialer-unsubscribe", bob.id)]
    await told(heard, ann.dialer_id)
    # The records keep their own state: an unsubscribe is about the address, not this mail.
    rows = await record_rows(world, [ann.id, bob.id])
    assert {r.state for r in rows.values()} == {DialerRecordState.SENT}


async def test_hostile_tokens_get_the_plain_page_and_change_nothing(web_world: WebWorld) -> None:
    world, base = web_world.world, web_world.base_url
    ann, bob = await sent_records(world, ["ann@example.org", "bob@example.org"])
    unknown = secrets.token_urlsafe(16)
    shapes = [
        unknown,
        ann.token[:-1],
        ann.token + "A",
        ann.token.upper() if ann.token.upper() != ann.token else ann.token.lower(),
        "x" * 22 + "%00",
        "%2e%2e%2f" * 3,
        "' OR 1=1 --",
        "A" * 4000,
        str(ann.id),
        ann.message_id,
    ]
    async with aiohttp.ClientSession() as http:
        for token in shapes:
            for path in (f"/p/{token}.gif", f"/u/{token}"):
                async with http.get(base + path) as resp:
                    assert resp.status in (400, 404, 414), path
                    if resp.status == 404:
                        assert NOT_VALID in await resp.text()
            for data in ({"confirm": "1"}, {"List-Unsubscribe": "One-Click"}, {}):
                async with http.post(f"{base}/u/{token}", data=data) as resp:
                    assert resp.status < 500 and resp.status != 200, (token, data)
        # Another site's form with a token it learned.
        cross = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
        async with http.post(f"{base}/u/{ann.token}", data={"confirm": "1"}, headers=cross) as resp:
            assert resp.status == 403
        # A rating link with a dialer record's token: no such page.
        async with http.get(f"{base}/r/{ann.token}/5") as resp:
            assert resp.status == 404 and NOT_VALID in await resp.text()
        # Another record's token unsubscribes that record's address, never this one's.
        async with http.post(f"{base}/u/{bob.token}", data={"confirm": "1"}) as resp:
            assert resp.status == 200
    assert [e.email for e in await world.operator.blacklist()] == ["bob@example.org"]
    rows = await record_rows(world, [ann.id, bob.id])
    assert {r.state for r in rows.values()} == {DialerRecordState.SENT}
    assert await events(world) == [("dialer-unsubscribe", bob.id)]


async def test_a_mail_to_the_unsubscribe_address_with_a_records_token_unsubscribes(
    web_world: WebWorld,
) -> None:
    """The mailto of List-Unsubscribe, with the record's token in the subject."""
    world = web_world.world
    [ann] = await sent_records(world, ["ann@example.org"])
    world.dovecot.append(world.mailbox, customer_mail(f"unsubscribe {ann.token}", ""))
    entries = await eventually(world.operator.blacklist, lambda rows: len(rows) == 1)
    assert [(e.email, e.campaign, e.source) for e in entries] == [
        ("ann@example.org", "Support", "mailto")
    ]
    [row] = await world.operator.interactions(scope="all")
    assert (row.state, row.agent) == ("closed", None)
    assert ("dialer-unsubscribe", ann.id) in await events(world)


# ---- bounces and complaints ----

BOUNCES: dict[str, Callable[[str, str], bytes]] = {
    "postfix": postfix_dsn,
    "exchange": exchange_ndr,
    "plain-quoted": quoted_plain_bounce,
    "threading-only": threading_only_dsn,
}
COMPLAINTS: dict[str, Callable[[str, str], bytes]] = {
    "arf-original": arf_with_original,
    "arf-message-id-only": arf_message_id_only,
    "hotmail": hotmail_complaint,
}


async def filed_closed(world: World, count: int) -> None:
    """Every report stored, each filed closed with no agent (and nothing answered them)."""
    rows = await eventually(
        lambda: world.operator.interactions(scope="all"),
        lambda rows: len(rows) == count,
        what=f"{count} reports stored",
    )
    assert {(r.state, r.agent) for r in rows} == {("closed", None)}
    assert world.sink.messages == []


async def test_bounces_of_every_shape_reject_their_record_and_mark_the_address(
    world: World,
) -> None:
    heard = hooked(world)
    names = [name for name in AUTOMATED if name.startswith("bounce-")]
    corpus = [sample_of(name, 10 * n + k) for n, name in enumerate(names) for k in (1, 2)]
    # Each its own mail: the generator's ids repeat across classes for one seed.
    assert len({s.original_id for s in corpus}) == len({s.raw for s in corpus}) == len(corpus)
    addresses = [f"b{n}@example.org" for n in range(len(BOUNCES) + 2)] + [
        (s.recipient or "").lower() for s in corpus
    ]
    records = await sent_records(world, addresses)
    shaped, (delayed, untouched), from_corpus = (
        records[: len(BOUNCES)],
        records[len(BOUNCES) : len(BOUNCES) + 2],
        records[len(BOUNCES) + 2 :],
    )
    # The corpus samples carry their own Message-IDs: the sender would have stored them.
    async with world.engine.db.session() as session, session.begin():
        for record, sample in zip(from_corpus, corpus, strict=True):
            await session.execute(
                update(DialerRecord)
                .where(DialerRecord.id == record.id)
                .values(rfc_message_id=sample.original_id)
            )
    mails = [
        make(r.message_id, r.destination) for r, make in zip(shaped, BOUNCES.values(), strict=True)
    ]
    mails += [sample.raw for sample in corpus]
    mails.append(
        postfix_dsn(delayed.message_id, delayed.destination, action="delayed", status="4.4.7")
    )
    # A bounce about a mail the dialer never sent (a stranger's word) changes nothing.
    mails.append(postfix_dsn("forged@elsewhere.example", "b9@example.org"))
    # One MULTIAPPEND: the mailbox gets them at once, as a busy bounce queue delivers them.
    world.dovecot.append_many(world.mailbox, mails)
    rejected = [*shaped, *from_corpus]
    await filed_closed(world, len(rejected) + 2)
    rows = await record_rows(world, [r.id for r in records])
    assert {rows[r.id].state for r in rejected} == {DialerRecordState.REJECTED}
    assert all(rows[r.id].error.startswith("bounced") for r in rejected)
    assert "5.1.10" in rows[shaped[1].id].error  # Exchange's own code and words
    assert "RecipientNotFound" in rows[shaped[1].id].error
    assert rows[delayed.id].state == rows[untouched.id].state == DialerRecordState.SENT
    # The hard-bounce effect still applies; a bounce is no complaint.
    async with world.engine.db.session() as session:
        marked = set((await session.scalars(select(BouncingAddress.email))).all())
    assert {r.destination for r in shaped} <= marked
    assert delayed.destination not in marked and "b9@example.org" not in marked
    assert await world.operator.blacklist() == []
    kinds = await events(world)
    assert sorted(rid for kind, rid in kinds if kind == "dialer-rejected") == sorted(
        r.id for r in rejected
    )
    await told(heard, records[0].dialer_id)


async def test_complaints_mark_their_record_spam_and_blacklist_it_everywhere(
    world: World,
) -> None:
    heard = hooked(world)
    records = await sent_records(world, [f"c{n}@example.org" for n in range(len(COMPLAINTS) + 1)])
    # A sender may keep the Message-ID with its angle brackets: it is found all the same.
    async with world.engine.db.session() as session, session.begin():
        await session.execute(
            update(DialerRecord)
            .where(DialerRecord.id == records[0].id)
            .values(rfc_message_id=f"<{records[0].message_id}>")
        )
    mails = [
        make(record.message_id, record.destination)
        for record, make in zip(records[: len(COMPLAINTS)], COMPLAINTS.values(), strict=True)
    ]
    untouched = records[-1]
    # A complaint about something else: no dialer record changes.
    mails.append(arf_message_id_only("other@elsewhere.example", "x@y.z"))
    world.dovecot.append_many(world.mailbox, mails)
    await filed_closed(world, len(COMPLAINTS) + 1)
    rows = await record_rows(world, [r.id for r in records])
    complained = records[: len(COMPLAINTS)]
    assert {rows[r.id].state for r in complained} == {DialerRecordState.SPAM}
    assert all(rows[r.id].error.startswith("complaint") for r in complained)
    assert rows[untouched.id].state == DialerRecordState.SENT
    entries = {(e.email, e.campaign, e.source) for e in await world.operator.blacklist()}
    assert entries == {(r.destination, None, "complaint") for r in complained}
    assert sorted(rid for kind, rid in await events(world) if kind == "dialer-spam") == [
        r.id for r in complained
    ]
    await told(heard, records[0].dialer_id)


async def test_a_complaint_after_a_seen_and_a_bounce_after_a_complaint(web_world: WebWorld) -> None:
    """The order of states: seen -> spam; a later bounce leaves spam as it is."""
    world, base = web_world.world, web_world.base_url
    [ann] = await sent_records(world, ["ann@example.org"])
    async with aiohttp.ClientSession() as http, http.get(f"{base}/p/{ann.token}.gif") as resp:
        assert resp.status == 200
    world.dovecot.append(world.mailbox, arf_with_original(ann.message_id, ann.destination))
    await eventually(
        lambda: record_rows(world, [ann.id]),
        lambda rows: rows[ann.id].state == DialerRecordState.SPAM,
        what="the record spam",
    )
    world.dovecot.append(world.mailbox, postfix_dsn(ann.message_id, ann.destination))
    await filed_closed(world, 2)
    row = (await record_rows(world, [ann.id]))[ann.id]
    assert row.state == DialerRecordState.SPAM and row.seen_at is not None
    assert [k for k, _ in await events(world)] == ["dialer-seen", "dialer-spam"]


async def test_the_watcher_tells_each_dialer_once_per_read_and_survives_a_failing_hook(
    web_world: WebWorld,
) -> None:
    """Many records of one dialer changing is one call for that dialer; a hook that fails is
    logged and the next dialer is told all the same."""
    world, base = web_world.world, web_world.base_url
    news = await sent_records(world, ["a@example.org", "b@example.org", "c@example.org"])
    [offers] = await sent_records(world, ["d@example.org"], dialer="Offers")
    async with aiohttp.ClientSession() as http:
        for record in (*news, *news, offers):
            async with http.get(f"{base}/p/{record.token}.gif") as resp:
                assert resp.status == 200
        async with http.post(f"{base}/u/{news[0].token}", data={"confirm": "1"}) as resp:
            assert resp.status == 200
    calls: list[int] = []

    def changed(dialer_id: int) -> None:
        calls.append(dialer_id)
        if dialer_id == news[0].dialer_id:
            raise RuntimeError("the publisher is down")

    # A watcher of its own reading every row from the start (the engine's runs alongside).
    watcher = CustomerEventWatcher(
        world.engine.db, world.engine.notifier, dialer_records_changed=changed
    )
    assert await watcher.poll() == 5  # four records seen, one unsubscribe
    assert calls == [news[0].dialer_id, offers.dialer_id]
    assert await watcher.poll() == 0 and len(calls) == 2  # nothing new: nobody told


async def test_an_image_fetched_before_the_answer_is_recorded_stays_seen(
    web_world: WebWorld,
) -> None:
    """A link scanner may fetch the image the moment the mail arrives, before the runner has
    recorded the server's answer: the record is seen, and the answer does not undo it (nor
    a bounce that came that early)."""
    from engine.services.dialer.smtp_pool import Outcome, Outgoing

    world, base = web_world.world, web_world.base_url
    early, bounced = await sent_records(world, ["ann@example.org", "bob@example.org"])
    await set_state(world, early.id, DialerRecordState.SENDING)
    await set_state(world, bounced.id, DialerRecordState.REJECTED)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/p/{early.token}.gif") as resp:
            assert resp.status == 200
    assert (await record_rows(world, [early.id]))[early.id].state == DialerRecordState.SEEN
    await world.engine.dialer_runner._record(
        [
            (Outgoing(early.id, early.destination, b"", 0), Outcome.SENT, ""),
            (Outgoing(bounced.id, bounced.destination, b"", 0), Outcome.SENT, ""),
        ]
    )
    rows = await record_rows(world, [early.id, bounced.id])
    assert rows[early.id].state == DialerRecordState.SEEN and rows[early.id].seen_at is not None
    assert rows[bounced.id].state == DialerRecordState.REJECTED
    assert await events(world) == [("dialer-seen", early.id)]
