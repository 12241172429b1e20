"""Routes that move work between people (docs/transfer.md): an agent's transfer and the
targets it offers, internal notes, and a supervisor's reassignment of an absent agent's work.

Each route checks the role, decodes, calls one service and encodes the answer. Which
interaction a caller may move (their own; a supervisor any) is the service's rule."""

from __future__ import annotations

from aiohttp import web

from engine.api.schemas import NoteIn, ReassignIn, TransferIn
from engine.server.caller import CALLER, Caller
from engine.server.http import engine_of, json_response, parse_body, path_id
from engine.services.work.transfer import Mover

routes = web.RouteTableDef()
INTERACTION = "/api/v1/interactions/{id:\\d+}"


def _mover(caller: Caller) -> Mover:
    caller.require("agent", "supervisor")
    supervisor = "supervisor" in caller.roles
    if not supervisor:
        caller.require_user()
    return Mover(caller.user_id, caller.username, supervisor)


@routes.get(INTERACTION + "/targets")
async def get_targets(request: web.Request) -> web.Response:
    mover = _mover(request[CALLER])
    targets = await engine_of(request).transfers.targets(mover, path_id(request, "interaction"))
    return json_response(targets)


@routes.post(INTERACTION + "/transfer")
async def post_transfer(request: web.Request) -> web.Response:
    mover = _mover(request[CALLER])
    interaction_id = path_id(request, "interaction")
    body = await parse_body(request, TransferIn)
    engine = engine_of(request)
    await engine.transfers.transfer(mover, interaction_id, body)
    return json_response(await engine.queries.summary(interaction_id))


@routes.post(INTERACTION + "/notes")
async def post_note(request: web.Request) -> web.Response:
    mover = _mover(request[CALLER])
    interaction_id = path_id(request, "interaction")
    body = await parse_body(request, NoteIn)
    engine = engine_of(request)
    await engine.transfers.add_note(mover, interaction_id, body.text)
    return json_response(await engine.queries.detail(interaction_id))


@routes.post("/api/v1/agents/{username}/reassign")
async def post_reassign(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("supervisor")
    body = await parse_body(request, ReassignIn)
    moved = await engine_of(request).transfers.reassign(
        Mover(caller.user_id, caller.username, True), request.match_info["username"], body
    )
    return json_response(moved)
