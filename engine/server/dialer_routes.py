"""Routes of the email dialer's configuration (admin only): dialers, their lists (CSV
uploads, streamed to the service as they arrive) and dialer attachments.

Each route checks the role, decodes, calls one service and encodes the answer."""

from __future__ import annotations

from aiohttp import web

from engine.api.schemas import (
    DialerAttachmentQuery,
    DialerIn,
    DialerListQuery,
    DialerPatch,
    DialerRecordQuery,
)
from engine.server.caller import CALLER
from engine.server.http import engine_of, json_response, parse_body, parse_query, path_id

routes = web.RouteTableDef()
CHUNK = 256 * 1024


@routes.get("/api/v1/dialers")
async def get_dialers(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    return json_response(await engine_of(request).dialers.all())


@routes.post("/api/v1/dialers")
async def post_dialer(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, DialerIn)
    return json_response(await engine_of(request).dialers.add(body), status=201)


@routes.patch("/api/v1/dialers/{name}")
async def patch_dialer(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, DialerPatch)
    name = request.match_info["name"]
    return json_response(await engine_of(request).dialers.patch(name, body))


@routes.delete("/api/v1/dialers/{name}")
async def delete_dialer(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    await engine_of(request).dialers.remove(request.match_info["name"])
    return web.Response(status=204)


@routes.get("/api/v1/dialers/{name}/lists")
async def get_lists(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    return json_response(await engine_of(request).dialer_lists.lists(request.match_info["name"]))


@routes.post("/api/v1/dialers/{name}/lists")
async def post_list(request: web.Request) -> web.Response:
    """The body is the CSV itself, read in chunks as it arrives (never whole in memory)."""
    request[CALLER].require("admin")
    query = parse_query(request, DialerListQuery)
    report = await engine_of(request).dialer_lists.upload(
        request.match_info["name"],
        query,
        request.content.iter_chunked(CHUNK),
        request.content_length,
    )
    return json_response(report, status=201)


@routes.delete("/api/v1/dialer-lists/{id:\\d+}")
async def delete_list(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    await engine_of(request).dialer_lists.remove(path_id(request, "dialer list"))
    return web.Response(status=204)


@routes.get("/api/v1/dialer-example.csv")
async def get_example(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    text = engine_of(request).dialer_lists.example(request.query.get("campaign", ""))
    return web.Response(text=text, content_type="text/csv", charset="utf-8")


@routes.get("/api/v1/dialer-attachments")
async def get_attachments(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    return json_response(await engine_of(request).dialer_attachments.all())


@routes.post("/api/v1/dialer-attachments")
async def post_attachment(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("admin")
    query = parse_query(request, DialerAttachmentQuery)
    attached = await engine_of(request).dialer_attachments.attach(
        caller.user_id,
        query.filename,
        query.content_type,
        request.content.iter_chunked(CHUNK),
        request.content_length,
    )
    return json_response(attached, status=201)


@routes.delete("/api/v1/dialer-attachments/{token}")
async def delete_attachment(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    await engine_of(request).dialer_attachments.remove(request.match_info["token"])
    return web.Response(status=204)


# ---- the dialer sends (issue 13): play, stop, status (supervisors run them, as the manual's
# monitoring screen does; admins too) ----
@routes.post("/api/v1/dialers/{name}/play")
async def post_play(request: web.Request) -> web.Response:
    request[CALLER].require("admin", "supervisor")
    return json_response(await engine_of(request).dialer_runner.play(request.match_info["name"]))


@routes.post("/api/v1/dialers/{name}/stop")
async def post_stop(request: web.Request) -> web.Response:
    request[CALLER].require("admin", "supervisor")
    return json_response(await engine_of(request).dialer_runner.stop(request.match_info["name"]))


@routes.get("/api/v1/dialers/{name}/status")
async def get_status(request: web.Request) -> web.Response:
    request[CALLER].require("admin", "supervisor")
    return json_response(await engine_of(request).dialer_runner.status(request.match_info["name"]))


# ---- the supervisor's dialer dashboard (issue 14): what it opens on, then events ----
@routes.get("/api/v1/dialer-board")
async def get_board(request: web.Request) -> web.Response:
    request[CALLER].require("admin", "supervisor")
    return json_response(await engine_of(request).dialer_board.rows())


@routes.get("/api/v1/dialers/{name}/records")
async def get_dialer_records(request: web.Request) -> web.Response:
    """The records one by one, by state and text (the dashboard's drill-down)."""
    request[CALLER].require("admin", "supervisor")
    query = parse_query(request, DialerRecordQuery, lax=True)
    name = request.match_info["name"]
    return json_response(await engine_of(request).dialer_records.page(name, query))
