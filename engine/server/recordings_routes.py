"""Routes of the recordings search (`GET /api/v1/recordings`, its pick lists).

Any user may search: an agent finds only their own interactions (the service applies it),
supervisors and admins everyone's unless they ask for `mine`."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from engine.api.schemas import RecordingQuery
from engine.server.caller import CALLER
from engine.server.http import engine_of, json_response, parse_query, path_id

routes = web.RouteTableDef()


@routes.get("/api/v1/recordings")
async def get_recordings(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent", "supervisor", "admin")
    query = parse_query(request, RecordingQuery, lax=True)  # numbers arrive as text
    user_id = None if caller.sees_all and not query.mine else caller.require_user()
    return json_response(await engine_of(request).recordings.search(query, user_id))


@routes.get("/api/v1/recordings/choices")
async def get_recording_choices(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent", "supervisor", "admin")
    user_id = None if caller.sees_all else caller.require_user()
    return json_response(await engine_of(request).recordings.choices(user_id))


# ---- printing and export (issue 15): the viewer's print key, `ctl recordings print|export`.
# Any user; the service lets an agent have only their own interactions.
RECORDING = "/api/v1/recordings/{id:\\d+}"


def _file(name: str, data: bytes, content_type: str) -> web.Response:
    return web.Response(
        body=data, content_type=content_type, headers={"X-Filename": quote(name, safe="")}
    )


@routes.get(RECORDING + "/pdf")
async def get_recording_pdf(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent", "supervisor", "admin")
    name, data = await engine_of(request).recording_files.pdf(
        path_id(request, "interaction"), caller.user_id, sees_all=caller.sees_all
    )
    return _file(name, data, "application/pdf")


@routes.get(RECORDING + "/mbox")
async def get_recording_mbox(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent", "supervisor", "admin")
    name, data = await engine_of(request).recording_files.mbox(
        path_id(request, "interaction"), caller.user_id, sees_all=caller.sees_all
    )
    return _file(name, data, "application/mbox")


@routes.get(RECORDING + "/mails")
async def get_recording_mails(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent", "supervisor", "admin")
    mails = await engine_of(request).recording_files.mails(
        path_id(request, "interaction"), caller.user_id, sees_all=caller.sees_all
    )
    return json_response(mails)
