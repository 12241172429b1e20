"""Routes a supervisor's console uses: the live grid and queue, the campaign statistics and an
agent's information window, mailbox health, the blacklist,
and the actions on an agent (pause, resume, log out: the manual's "Actions with agents").

Each route checks the role, decodes, calls one service and encodes the answer."""

from __future__ import annotations

from aiohttp import web

from engine.api.schemas import BlacklistQuery, RatingsQuery, StatsQuery
from engine.server.caller import CALLER
from engine.server.http import engine_of, json_response, parse_query
from engine.services.people.presence import Actor

routes = web.RouteTableDef()


@routes.get("/api/v1/monitor")
async def get_monitor(request: web.Request) -> web.Response:
    request[CALLER].require("supervisor", "admin")
    return json_response(await engine_of(request).queries.monitor())


@routes.get("/api/v1/stats")
async def get_stats(request: web.Request) -> web.Response:
    request[CALLER].require("supervisor", "admin")
    query = parse_query(request, StatsQuery)
    return json_response(await engine_of(request).queries.stats(query.since, query.until))


@routes.get("/api/v1/agents/{username}/info")
async def get_agent_info(request: web.Request) -> web.Response:
    request[CALLER].require("supervisor", "admin")
    return json_response(
        await engine_of(request).queries.agent_info(request.match_info["username"])
    )


@routes.get("/api/v1/mailboxes")
async def get_mailboxes(request: web.Request) -> web.Response:
    request[CALLER].require("supervisor", "admin")
    return json_response(await engine_of(request).mailboxes.all())


@routes.get("/api/v1/blacklist")
async def get_blacklist(request: web.Request) -> web.Response:
    request[CALLER].require("admin", "supervisor")
    wanted = parse_query(request, BlacklistQuery)
    return json_response(await engine_of(request).blacklist.entries(wanted.search))


@routes.get("/api/v1/ratings")
async def get_ratings(request: web.Request) -> web.Response:
    request[CALLER].require("admin", "supervisor")
    wanted = parse_query(request, RatingsQuery)
    return json_response(await engine_of(request).ratings.listing(wanted))


@routes.get("/api/v1/ratings/agents")
async def get_agent_ratings(request: web.Request) -> web.Response:
    request[CALLER].require("admin", "supervisor")
    wanted = parse_query(request, RatingsQuery)
    return json_response(await engine_of(request).ratings.by_agent(wanted))


@routes.get("/api/v1/ratings/campaigns")
async def get_campaign_ratings(request: web.Request) -> web.Response:
    request[CALLER].require("admin", "supervisor")
    wanted = parse_query(request, RatingsQuery)
    return json_response(await engine_of(request).ratings.by_campaign(wanted))


def _supervisor(request: web.Request) -> Actor:
    caller = request[CALLER]
    caller.require("supervisor")
    return Actor(caller.user_id, caller.username)


@routes.post("/api/v1/agents/{username}/pause")
async def post_pause(request: web.Request) -> web.Response:
    actor = _supervisor(request)
    row = await engine_of(request).presence.pause(actor, request.match_info["username"])
    return json_response(row)


@routes.post("/api/v1/agents/{username}/resume")
async def post_resume(request: web.Request) -> web.Response:
    actor = _supervisor(request)
    row = await engine_of(request).presence.resume(actor, request.match_info["username"])
    return json_response(row)


@routes.post("/api/v1/agents/{username}/logout")
async def post_logout(request: web.Request) -> web.Response:
    actor = _supervisor(request)
    row = await engine_of(request).presence.log_out(actor, request.match_info["username"])
    return json_response(row)


# ---- wrap-up codes counted (docs/wrapup.md) ----
@routes.get("/api/v1/stats/dispositions")
async def get_disposition_stats(request: web.Request) -> web.Response:
    request[CALLER].require("supervisor", "admin")
    query = parse_query(request, StatsQuery)
    return json_response(await engine_of(request).wrapups.stats(query.since, query.until))
