"""Routes of watching agents (docs/supervisor.md): a supervisor starts and ends a watch (a
view of an agent's screen, or a spy on one of their interactions), the watched agent's
console sends its frames, and admins read the audit log.

Each route checks the role, decodes, calls one service (`engine/services/people/monitoring.py`,
where the rules are) and encodes the answer."""

from __future__ import annotations

from aiohttp import web

from engine.api.schemas import AuditQuery, ScreenFrame, WatchIn
from engine.server.caller import CALLER
from engine.server.http import engine_of, json_response, parse_body, parse_query, path_id
from engine.services.people.presence import Actor

routes = web.RouteTableDef()


@routes.post("/api/v1/watches")
async def post_watch(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("supervisor")
    wanted = await parse_body(request, WatchIn)
    actor = Actor(caller.user_id, caller.username)
    return json_response(await engine_of(request).monitoring.watch(actor, wanted), status=201)


@routes.delete(r"/api/v1/watches/{id:\d+}")
async def delete_watch(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("supervisor")
    actor = Actor(caller.user_id, caller.username)
    await engine_of(request).monitoring.end(
        actor, path_id(request, "watch"), operator=caller.operator
    )
    return web.Response(status=204)


@routes.post("/api/v1/me/screen")
async def post_screen(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    frame = await parse_body(request, ScreenFrame)
    return json_response(await engine_of(request).monitoring.frame(caller.username, frame))


@routes.get("/api/v1/audit")
async def get_audit(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    query = parse_query(request, AuditQuery, lax=True)  # numbers arrive as text
    return json_response(await engine_of(request).monitoring.audit(query))
