"""`GET /api/v1/events`: the stream of events a console lives on, one JSON event per line
(NDJSON) in a chunked body that lasts as long as the console. An empty line after
`event_heartbeat` seconds in which this console was sent nothing tells it we are alive (the
hello says how often, so it knows when to worry). The stream is also the console's presence:
opening it logs an agent in, and the last one closing logs them out (`people.presence`)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from engine.api.schemas import CampaignsChanged, Hello, encode
from engine.bus import Subscription
from engine.server.caller import CALLER
from engine.server.event_filter import may_see
from engine.server.http import engine_of

routes = web.RouteTableDef()
EVENT_CHECK = 1.0  # how soon a console that left is noticed (and its agent made Offline)


@routes.get("/api/v1/events")
async def events(request: web.Request) -> web.StreamResponse:
    caller = request[CALLER]
    engine = engine_of(request)
    stream = web.StreamResponse(
        headers={"Content-Type": "application/x-ndjson", "Cache-Control": "no-store"}
    )
    await stream.prepare(request)
    session_id: int | None = None
    # The agent's campaigns, whose waiting counts this stream carries: read once subscribed
    # and again whenever a campaign's members change.
    campaigns: set[str] = set()
    try:
        async with engine.bus.subscribe(
            lambda event: may_see(caller, event, campaigns),
            sees_all=caller.sees_all,
            username=caller.username,
        ) as sub:
            await _read_campaigns(request, campaigns)
            # Subscribed first, then present, then hello: a console that loads its data on
            # hello cannot miss a change made in between, and finds itself logged in (an
            # agent Free, a supervisor on duty for raised hands).
            missed = None
            if caller.user_id is not None:
                session_id, missed = await engine.presence.opened(
                    caller.user_id,
                    agent="agent" in caller.roles,
                    supervisor="supervisor" in caller.roles,
                    resuming=request.query.get("resume") == "1",
                )
            hello = Hello(username=caller.username, heartbeat=engine.settings.event_heartbeat)
            await stream.write(encode(hello) + b"\n")
            if missed is not None:  # this console reconnected after a log-out: it leaves
                await stream.write(encode(missed) + b"\n")
            watched = engine.monitoring.watchers_of(caller.username)
            if watched is not None:  # someone watches this agent's screen: send frames
                await stream.write(encode(watched) + b"\n")
            await _relay(request, stream, sub, campaigns)
    except ConnectionError:
        pass  # the console went away mid-write
    finally:
        if session_id is not None:
            await engine.presence.closed(session_id, engine_stopping=engine.stopping)
    return stream


async def _read_campaigns(request: web.Request, campaigns: set[str]) -> None:
    caller = request[CALLER]
    if caller.user_id is not None and "agent" in caller.roles and not caller.sees_all:
        names = await engine_of(request).queries.member_campaigns(caller.user_id)
        campaigns.clear()
        campaigns.update(names)


async def _relay(
    request: web.Request, stream: web.StreamResponse, sub: Subscription, campaigns: set[str]
) -> None:
    # The heartbeat is due after a quiet period of what *this console* was sent: the bus
    # hands it only the events it may see, so others' busy work never keeps it silent.
    loop = asyncio.get_running_loop()
    heartbeat = engine_of(request).settings.event_heartbeat
    last_write = loop.time()
    while True:
        wait = min(EVENT_CHECK, max(last_write + heartbeat - loop.time(), 0.0))
        got, event = await sub.next(wait)
        if got:
            if event is None:  # dropped as too slow, or the engine is stopping
                return
            if isinstance(event, CampaignsChanged):
                await _read_campaigns(request, campaigns)
            await stream.write(encode(event) + b"\n")
            last_write = loop.time()
        # A console that left is only noticed by looking (nothing is read from it).
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        if loop.time() - last_write >= heartbeat:
            await stream.write(b"\n")
            last_write = loop.time()
