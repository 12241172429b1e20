"""Every route of the control API against a real engine: whatever a caller sends, the answer
is a 2xx or a 4xx, never a 5xx, and the engine logs no internal error.

The routes are read from the engine's own router, so a route added later is fuzzed without
touching this file. Bodies are arbitrary JSON, JSON shaped like the wire schema the route
decodes (found in its handler) with hostile values (controls, line separators, encoded words,
ids beyond 64 bits), and bytes that are not JSON at all; path parameters are ids that exist,
huge and negative numbers and arbitrary text; the caller is each role, the operator (every
role, no user) and a user who does not exist. The engine runs without mail transport: fuzzed
campaign settings must not make it connect to arbitrary hosts or create Maildirs anywhere.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import h11
import msgspec
import msgspec.inspect as mi
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from engine.api import schemas
from engine.api.schemas import (
    ID_MAX,
    CampaignIn,
    CampaignPatch,
    ForwardIn,
    NewInteractionIn,
    TemplateIn,
    UserIn,
    UserPatch,
)
from engine.client import EngineClient, Invalid, NotFound
from engine.config import Settings
from engine.engine import Engine
from engine.server.app import ACT_AS_HEADER, ApiServer
from engine.services.inbound.prepare import Position
from tests.engine_fixtures import World, engine_settings
from tests.servers import start_smtp_sink

# None: the operator (every role, no user); agent1 owns the work, so it comes up most.
CALLERS = ("agent1", "agent1", "agent1", "agent2", "super1", "admin1", None, "ghost")
HOSTILE = [
    "",
    " ",
    "a\x0bb",
    "a\x0cb",
    "a\x1cb",
    "a\x1fb",
    "a\x85b",
    "a\u2028b",
    "a\u2029b",
    "a\u202eb",
    "a\x00b",
    "a\x7fb",
    "a\r\nBcc: victim@bank.example",
    "a\nb",
    "a\rb",
    "=?utf-8?q?hi=0D=0AReply-To:_pay@evil.example?=",
    "=?utf-8?b?aGkNCkJjYzogdkBldmlsLmV4YW1wbGU=?=",
    "text/plain\r\nX-Evil: 1",
    "bogus",
    "text/",
    "/plain",
    "multipart/mixed",
    "message/rfc822",
    "../",
    "..",
    "${name}",
    "%",
    "x" * 1200,
    '"quoted local"@example.com',
    "ñandú@example.com",
    "<>",
    "a@b",
]
HUGE = [0, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**70, -(2**63) - 1, -(2**70)]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # canonical, e.g. /api/v1/interactions/{id}
    handler: str
    schema: type[msgspec.Struct] | None  # the body it decodes, if any
    query: tuple[str, ...]  # the query parameters it reads
    query_schema: bool  # its query is decoded as a schema (unknown parameters refused)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _routes() -> list[Route]:
    """The engine's routes as its router has them (an ApiServer is built but never started)."""
    server = ApiServer(Engine(Settings(home=Path("/nonexistent/postdesk"))))
    found = []
    for route in server.app.router.routes():
        assert route.resource is not None
        source = inspect.getsource(route.handler)
        body = re.search(r"parse_body\(request, (\w+)\)", source)
        schema = getattr(schemas, body[1]) if body else None
        query = re.findall(r"request\.query\.get\(\"(\w+)\"", source)
        # parse_query(request, X[, lax=True]) or convert(dict(request.query), X, ...)
        decoded = re.search(
            r"(?:parse_query\(request|convert\(dict\(request\.query\)), (\w+)[,)]", source
        )
        if decoded:
            query += list(getattr(schemas, decoded[1]).__struct_fields__)
        name = getattr(route.handler, "__name__", repr(route.handler))
        path = route.resource.canonical
        found.append(Route(route.method, path, name, schema, tuple(query), bool(decoded)))
    return found


ROUTES = _routes()


@dataclass
class Seeded:
    """A small installation with one of everything a path or body can name."""

    engine: Engine
    ids: list[int] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # names, tokens, addresses that exist
    # Values that get a body past its first checks, by field name, so the fuzz goes deep.
    fits: dict[str, list[str]] = field(default_factory=dict)


def _mail_with_attachment() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Carol Customer <carol@example.net>"
    msg["To"] = "support@postdesk.test"
    msg["Subject"] = "Invoice attached"
    msg["Message-ID"] = "<fuzz-1@example.net>"
    msg.set_content("See the attached invoice.")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="i.pdf")
    return msg.as_bytes()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Seeded]:
    sink = start_smtp_sink()
    engine = Engine(engine_settings(tmp_path_factory.mktemp("fuzz") / "home"), run_mail=False)
    await engine.start()
    try:
        async with EngineClient(engine.socket_path) as operator:
            for name, role in [
                ("agent1", "agent"),
                ("agent2", "agent"),
                ("super1", "supervisor"),
                ("admin1", "admin"),
            ]:
                await operator.add_user(UserIn(username=name, roles=[role]))  # type: ignore[list-item]
            campaign = await operator.add_campaign(
                schemas.CampaignIn(
                    name="Support",
                    email_address="support@postdesk.test",
                    inbound="none",
                    smtp_host=sink.host,
                    smtp_port=sink.port,
                    smtp_security="plain",
                )
            )
            await operator.add_member("Support", "agent1")
            # A dialer with a list, so its routes (lists, records, status) are fuzzed deep.
            await operator.add_dialer(schemas.DialerIn(name="Outreach", campaign="Support"))
            await operator.upload_list(
                "Outreach", b"email,name\r\nzoe@example.org,Zoe\r\n", name="Spring"
            )
            template = await operator.add_template(TemplateIn(name="Hello", body_text="Hi ${name}"))
            seed = Seeded(engine, words=["Support", "agent1", "super1", "Hello", "Lunch"])
            async with EngineClient(engine.socket_path, act_as="agent1") as agent:
                await agent.set_status("free")
                upload = await agent.upload("notes.txt", b"notes", "text/plain")
                detail = await agent.new_interaction(
                    NewInteractionIn(
                        campaign="Support",
                        to="dana@example.com",
                        subject="Renewal",
                        uploads=[upload.token],
                    )
                )
                spare = await agent.upload("spare.txt", b"spare", "text/plain")
            async with EngineClient(engine.socket_path, act_as="super1") as supervisor:
                await supervisor.say("agent1", "hello")
            inbound = await engine.ingestor.ingest(
                campaign.id, _mail_with_attachment(), Position("fuzz")
            )
            await engine.ingestor.ingest(campaign.id, b"\r\n", Position("fuzz"))
            inbound_detail = await operator.interaction(inbound.interaction_id or 0)
            [quarantined] = await operator.quarantine()
            seed.words += [spare.token, "dana@example.com", "carol@example.net"]
            addresses = ["dana@example.com", "Eve <eve@example.org>, f@example.org"]
            seed.fits = {
                "campaign": ["Support"],
                "to": addresses + ["agent1", "super1"],
                "cc": addresses,
                "bcc": addresses,
                "username": ["agent1", "agent2", "super1"],
                "email_address": ["help@postdesk.test"],
                "uploads": [spare.token],
                "filename": ["report.pdf", "a b.txt"],
                "content_type": ["text/plain", "application/pdf", ""],
                "reason": ["Lunch"],
                "status": ["free", "break"],
                "scope": ["mine", "all"],  # query parameters
                "state": ["queued", "assigned", "closed"],
                "agent": ["agent1"],
                "q": ["Renewal", "example"],
                "with": ["agent1", "super1"],
                "read": ["0", "1"],
                "resume": ["1"],
                "name": ["Support", "Outreach"],  # path parameters too
                "list": ["Spring"],
                "search": ["zoe", "%", "_"],
                "page": ["1", "2", "0", "1000001", "9" * 30],
                "page_size": ["1", "40", "1000", "0"],
                "limit": ["1", "100000", "0"],
                "wait": ["0", "0.01", "26", "nan"],
                "start": ["2026-01-01", "2026-02-30", "1-1-1"],
                "end": ["2026-12-31", "9999-12-31"],
                "since": ["2026-01-01T00:00:00Z", "2026-01-01", "yesterday"],
                "until": ["2026-12-31T00:00:00+01:00"],
                "sort": ["last", "created", "client", "subject"],
                "descending": ["true", "false", "1"],
                "mine": ["true", "0"],
                "direction": ["inbound", "outbound"],
                "any": ["Renewal", "dana", "%_\\"],
            }
            for item in (detail, inbound_detail):
                seed.ids.append(item.id)
                for message in item.messages:
                    seed.ids.append(message.id)
                    seed.ids += [a.id for a in message.attachments]
            seed.ids += [campaign.id, template.id, quarantined.id]
            seed.fits["id"] = [str(i) for i in seed.ids]
        yield seed
    finally:
        await engine.stop()
        sink.stop()


# ---- what a caller may send ----
_WORD = st.text(max_size=24)


def _text(seed: Seeded, name: str = "") -> st.SearchStrategy[str]:
    known = st.sampled_from(seed.fits.get(name) or seed.words)
    hostile = st.sampled_from(HOSTILE)
    return st.one_of(
        known,
        hostile,
        _WORD,
        st.tuples(st.one_of(known, _WORD), hostile, st.one_of(known, _WORD)).map("".join),
    )


def _ints(seed: Seeded) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from(seed.ids), st.sampled_from(HUGE), st.integers())


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _WORD,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_WORD, inner, max_size=3),
    max_leaves=8,
)


def _value(kind: mi.Type, seed: Seeded, name: str) -> st.SearchStrategy[Any]:
    shaped: st.SearchStrategy[Any]
    match kind:
        case mi.StrType():
            fits = st.sampled_from(seed.fits.get(name) or seed.words)
            shaped = st.one_of(fits, fits, _text(seed, name))
        case mi.IntType():
            shaped = _ints(seed)
        case mi.BoolType():
            shaped = st.booleans()
        case mi.NoneType():
            shaped = st.none()
        case mi.LiteralType(values=values):
            shaped = st.sampled_from(values)
        case mi.ListType(item_type=item):
            shaped = st.lists(_value(item, seed, name), max_size=3)
        case mi.UnionType(types=types):
            shaped = st.one_of([_value(t, seed, name) for t in types])
        case _:
            shaped = _JSON
    # Mostly the right kind, sometimes anything at all.
    return st.one_of(shaped, shaped, shaped, _JSON)


def _shaped(schema: type[msgspec.Struct], seed: Seeded) -> st.SearchStrategy[bytes]:
    info = mi.type_info(schema)
    assert isinstance(info, mi.StructType)
    required = {f.encode_name: _value(f.type, seed, f.name) for f in info.fields if f.required}
    optional = {f.encode_name: _value(f.type, seed, f.name) for f in info.fields if not f.required}
    body = st.fixed_dictionaries(required, optional=optional)
    return body.map(lambda d: json.dumps(d).encode())


def _body(route: Route, seed: Seeded) -> st.SearchStrategy[bytes]:
    anything = _JSON.map(lambda v: json.dumps(v).encode())
    raw = st.binary(max_size=64)
    if route.schema is None:
        return st.one_of(anything, raw, st.just(b""))
    shaped = _shaped(route.schema, seed)
    return st.one_of(shaped, shaped, shaped, anything, raw)


def _target(route: Route, seed: Seeded) -> st.SearchStrategy[str]:
    names = re.findall(r"\{(\w+)\}", route.path)
    odd = st.sampled_from(["-1", "0x10", "1e3", "١٢", "9" * 5000, "%00", "."])
    segments = []
    for name in names:
        fits = st.sampled_from(seed.fits.get(name) or seed.words)
        segments.append(st.one_of(fits, fits, fits, _ints(seed).map(str), _text(seed), odd))
    query = st.dictionaries(st.sampled_from([*route.query, "x"]), _text(seed), max_size=3)
    if route.query_schema:
        query = st.fixed_dictionaries(
            {}, optional={name: _text(seed, name) for name in [*route.query, "x"]}
        )

    def build(values: list[str], query: dict[str, str]) -> str:
        path = route.path
        for name, value in zip(names, values, strict=True):
            path = path.replace("{" + name + "}", quote(value, safe=""), 1)
        return path + ("?" + urlencode(query, quote_via=quote) if query else "")

    return st.builds(
        build,
        st.tuples(*segments).map(list),
        query,
    )


# ---- one request, as raw as a console could make it ----
async def _status(
    socket: Path, method: str, target: str, caller: str | None, body: bytes
) -> tuple[int, bytes]:
    """The status, and for an error the body; a 2xx is not read further (the event stream
    never ends)."""
    reader, writer = await asyncio.open_unix_connection(str(socket))
    try:
        conn = h11.Connection(h11.CLIENT)
        headers = [("Host", "postdesk"), ("Connection", "close")]
        headers += [(ACT_AS_HEADER, caller)] if caller else []
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        writer.write(conn.send(h11.Request(method=method, target=target, headers=headers)) or b"")
        writer.write(conn.send(h11.Data(data=body)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        status, chunks = 0, []
        async with asyncio.timeout(30):
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(65536))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                    if status < 400:
                        return status, b""
                elif isinstance(event, h11.Data):
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    return status, b"".join(chunks)
    finally:
        writer.transport.abort()


def _internal_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# ---- the inputs that found their way to a 500, each answered under its field now ----
# Every character that breaks or hides a header line once decoded.
LINE_BREAKERS = [
    "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\u2028", "\u2029",
    "\r\n", "\r", "\n", "\x00", "\x07", "\x1b", "\x7f", "\x9b", "\u202e", "\u2066",
]  # fmt: skip


def _client(seed: Seeded, username: str | None = None) -> EngineClient:
    return EngineClient(seed.engine.socket_path, act_as=username)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("char", LINE_BREAKERS, ids=ascii)
async def test_a_subject_that_would_break_its_header_line_is_refused_under_its_field(
    seeded: Seeded, char: str
) -> None:
    async with _client(seeded, "agent1") as agent:
        before = [r.id for r in await agent.interactions()]
        with pytest.raises(Invalid) as refused:
            await agent.new_interaction(
                NewInteractionIn(
                    campaign="Support", to="dana@example.com", subject=f"Your order{char}Bcc: x"
                )
            )
        assert refused.value.status == 422
        assert refused.value.message.startswith("subject: must be one line of text")
        assert [r.id for r in await agent.interactions()] == before  # nothing made, nothing sent


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("char", ["\r\n", "\n", "\x0b", "\x85", "\u2028", "\u202e"], ids=ascii)
async def test_names_that_would_break_a_header_line_are_refused_under_their_field(
    seeded: Seeded, char: str
) -> None:
    bad = f"Support{char}Bcc: victim@bank.example"
    async with _client(seeded) as operator, _client(seeded, "agent1") as agent:
        campaign = CampaignIn(name="Sales", email_address="sales@postdesk.test", inbound="none")
        refusals = {
            "from_name": lambda: operator.add_campaign(replace(campaign, from_name=bad)),
            "name": lambda: operator.add_campaign(replace(campaign, name=bad)),
            "email_address": lambda: operator.add_campaign(replace(campaign, email_address=bad)),
            "display_name": lambda: operator.add_user(UserIn(username="bea", display_name=bad)),
            "filename": lambda: agent.upload(f"invoice{char}.pdf", b"%PDF"),
        }
        patches = {
            "from_name": lambda: operator.update_campaign("Support", CampaignPatch(from_name=bad)),
            "display_name": lambda: operator.update_user("agent1", UserPatch(display_name=bad)),
            "name": lambda: operator.add_template(TemplateIn(name=bad)),
        }
        for field_name, call in [*refusals.items(), *patches.items()]:
            with pytest.raises(Invalid) as refused:
                await call()
            assert refused.value.message.startswith(f"{field_name}: must be one line"), (
                field_name,
                refused.value.message,
            )
        campaigns = await operator.campaigns()
        assert bad not in {c.from_name for c in campaigns} | {c.name for c in campaigns}
        assert bad not in {u.display_name for u in await operator.users()}
        assert bad not in {t.name for t in await operator.templates()}


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain\r\nX-Evil: 1",
        "text/plain\nX-Evil: 1",
        "bogus",
        "text/",
        "/plain",
        "text/pl ain",
        "text/plain; charset=utf-8",
        "text/pl\u2028ain",
        "=?utf-8?q?text/plain?=",
    ],
    ids=ascii,
)
async def test_an_upload_with_a_content_type_that_is_not_type_subtype_is_refused(
    seeded: Seeded, content_type: str
) -> None:
    async with _client(seeded, "agent1") as agent:
        with pytest.raises(Invalid) as refused:
            await agent.upload("notes.txt", b"notes", content_type)
    assert refused.value.message.startswith("content_type: must be a media type"), (
        refused.value.message
    )


@pytest.mark.asyncio(loop_scope="module")
async def test_an_upload_with_a_media_type_is_accepted(seeded: Seeded) -> None:
    kept = {
        "application/pdf": "application/pdf",
        "Text/Plain": "Text/Plain",
        "application/vnd.ms-excel": "application/vnd.ms-excel",
        "": "application/octet-stream",
        "multipart/voice-message": "application/octet-stream",  # a file has no parts
    }
    async with _client(seeded, "agent1") as agent:
        for given, stored in kept.items():
            uploaded = await agent.upload("notes.txt", b"notes", given)
            assert uploaded.content_type == stored


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("number", [2**31, 2**40, 2**63, 2**64 - 1, 2**64, 2**70, 10**40])
async def test_an_id_beyond_the_database_range_is_not_found_or_refused_by_field(
    seeded: Seeded, number: int
) -> None:
    """In a path it names nothing, like any id that does not exist (404); in a body it is
    a field with a range, refused under its name (422)."""
    async with _client(seeded) as operator, _client(seeded, "agent1") as agent:
        not_found = {
            "interaction": [
                lambda: agent.interaction(number),
                lambda: agent.reply(number, "hi"),
                lambda: agent.close_interaction(number),
                lambda: agent.save_draft(number, "hi"),
                lambda: agent.set_cc_bcc(number, "", ""),
                lambda: agent.forward(number, ForwardIn(to="billing@example.org")),
                lambda: operator.interaction(number),
            ],
            "attachment": [lambda: agent.attachment(number), lambda: operator.attachment(number)],
            "template": [
                lambda: operator.replace_template(number, TemplateIn(name="Hello")),
                lambda: operator.delete_template(number),
            ],
            "quarantined mail": [
                lambda: operator.quarantined(number),
                lambda: operator.retry_quarantined(number),
            ],
        }
        for thing, calls in not_found.items():
            for call in calls:
                with pytest.raises(NotFound) as missing:
                    await call()
                assert missing.value.message == f"no {thing} {number}"
        [own, *_] = [r.id for r in await agent.interactions()]
        refused_fields = {
            "template_id": lambda: agent.render_template(number),
            "interaction_id": lambda: agent.render_template(1, number),
            "message_id": lambda: agent.forward(
                own, ForwardIn(to="b@example.org", message_id=number)
            ),
            "attachment_ids.0": lambda: agent.forward(
                own, ForwardIn(to="b@example.org", attachment_ids=[number])
            ),
        }
        for field_name, call in refused_fields.items():
            with pytest.raises(Invalid) as refused:
                await call()
            assert refused.value.message.startswith(f"{field_name}: must be at most"), (
                refused.value.message
            )


@pytest.mark.asyncio(loop_scope="module")
async def test_an_id_of_thousands_of_digits_is_not_found(seeded: Seeded) -> None:
    digits = "9" * 5000  # int() refuses more than 4300 digits
    for path in ["interactions", "attachments", "templates", "quarantine"]:
        status, answer = await _status(
            seeded.engine.socket_path, "GET", f"/api/v1/{path}/{digits}", None, b""
        )
        assert status in (404, 405), (path, answer)  # GET /templates/{id} is not a route


@pytest.mark.asyncio(loop_scope="module")
async def test_forwarding_an_interaction_that_does_not_exist_says_so(seeded: Seeded) -> None:
    async with _client(seeded, "agent1") as agent:
        for missing in (999_999, ID_MAX):
            with pytest.raises(NotFound) as refused:
                await agent.forward(missing, ForwardIn(to="billing@example.org"))
            assert refused.value.message == f"no interaction {missing}"


# ---- any input at all ----
@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("route", ROUTES, ids=str)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_input_makes_a_route_fail_with_a_5xx(
    route: Route, seeded: Seeded, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.set_level(logging.ERROR)
    caller = data.draw(st.sampled_from(CALLERS), label="caller")
    target = data.draw(_target(route, seeded), label="target")
    body = data.draw(_body(route, seeded), label="body")
    status, answer = await _status(seeded.engine.socket_path, route.method, target, caller, body)
    assert status < 500, answer
    assert not _internal_errors(caplog)


def test_every_route_is_fuzzed_with_its_schema() -> None:
    """The handler scan finds the body schemas; a route whose decoding it no longer sees
    would only get arbitrary JSON."""
    decoded = {r.handler: r.schema for r in ROUTES if r.schema is not None}
    assert decoded["post_forward"] is schemas.ForwardIn
    assert decoded["post_interaction"] is schemas.NewInteractionIn
    assert decoded["patch_campaign"] is schemas.CampaignPatch
    assert len({r.path for r in ROUTES}) >= 30
    assert all(isinstance(r.handler, str) for r in ROUTES)


def test_every_route_that_reads_its_query_is_fuzzed_with_its_parameters() -> None:
    """A handler that reads its query string in a way the scan does not know would be fuzzed
    with an empty query: the drill-down records, recordings and audit once were."""
    server = ApiServer(Engine(Settings(home=Path("/nonexistent/postdesk"))))
    reads = {
        getattr(r.handler, "__name__", "")
        for r in server.app.router.routes()
        if "request.query" in inspect.getsource(r.handler)
    }
    blind = sorted(r.handler for r in ROUTES if r.handler in reads and not r.query)
    assert blind == [], f"query parameters not found for {blind}"
    by_handler = {r.handler: r for r in ROUTES}
    assert {"page", "search", "state"} <= set(by_handler["get_dialer_records"].query)
    assert {"any", "start", "page_size", "mine"} <= set(by_handler["get_recordings"].query)
    assert {"since", "limit"} <= set(by_handler["get_audit"].query)


async def test_an_accepted_upload_goes_out_with_the_type_it_was_given(world: World) -> None:
    """What the upload accepts, the message builder accepts too: nothing fails at sending."""
    given = ["application/pdf", "Text/Plain", "application/vnd.ms-excel", "", "multipart/x"]
    async with world.client("agent1") as agent:
        uploads = [
            (await agent.upload(f"file{n}.bin", b"data %d" % n, content_type)).token
            for n, content_type in enumerate(given)
        ]
        await agent.new_interaction(
            NewInteractionIn(
                campaign="Support", to="dana@example.com", subject="Files", uploads=uploads
            )
        )
        sent = (await world.sink.await_count(1))[0].message
    assert [(p.get_filename(), p.get_content_type()) for p in sent.iter_attachments()] == [
        ("file0.bin", "application/pdf"),
        ("file1.bin", "text/plain"),
        ("file2.bin", "application/vnd.ms-excel"),
        ("file3.bin", "application/octet-stream"),
        ("file4.bin", "application/octet-stream"),
    ]
