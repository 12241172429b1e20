"""Routes of the chat between supervisors and agents, and of an agent's raised hand. Who may
write to whom is decided by `engine.services.people.chat`."""

from __future__ import annotations

from aiohttp import web

from engine.api.schemas import ChatIn, ChatReadIn, HandIn
from engine.server.caller import CALLER
from engine.server.http import engine_of, json_response, parse_body

routes = web.RouteTableDef()


@routes.get("/api/v1/chat")
async def get_chat(request: web.Request) -> web.Response:
    """The last 200 lines between the caller and `with`, oldest first."""
    me = request[CALLER].require_user()
    lines = await engine_of(request).chat.history(me, request.query.get("with", ""))
    return json_response(lines)


@routes.post("/api/v1/chat")
async def post_chat(request: web.Request) -> web.Response:
    body = await parse_body(request, ChatIn)
    me = request[CALLER].require_user()
    return json_response(await engine_of(request).chat.say(me, body.to, body.text), status=201)


@routes.get("/api/v1/chat/unread")
async def get_chat_unread(request: web.Request) -> web.Response:
    caller = request[CALLER]
    if caller.user_id is None:  # an operator as nobody: nobody writes to them
        return json_response([])
    return json_response(await engine_of(request).chat.unread(caller.user_id))


@routes.post("/api/v1/chat/read")
async def post_chat_read(request: web.Request) -> web.Response:
    body = await parse_body(request, ChatReadIn)
    await engine_of(request).chat.mark_read(request[CALLER].require_user(), body.peer)
    return web.json_response({})


@routes.get("/api/v1/chat/supervisors")
async def get_chat_supervisors(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    return json_response(await engine_of(request).chat.supervisors(caller.require_user()))


@routes.post("/api/v1/chat/hand")
async def post_hand(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    body = await parse_body(request, HandIn)
    lines = await engine_of(request).chat.raise_hand(caller.require_user(), body.text)
    return json_response(lines, status=201)
