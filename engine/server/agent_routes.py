"""Routes an agent's console uses: who am I and my status, my interactions and what I do with
them (reply, copies, drafts, forward, new, close), what waits in pick-mode campaigns and
taking from it, search, uploads, attachments, templates.

Each route checks the role, decodes, calls one service and encodes the answer."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from aiohttp import web

from engine.api.schemas import (
    BreakReasonList,
    CcBccIn,
    CloseIn,
    DraftIn,
    ForwardIn,
    LimitsOut,
    Me,
    NewInteractionIn,
    RenderIn,
    ReplyIn,
    StatusIn,
    UploadQuery,
    as_roles,
)
from engine.errors import Invalid
from engine.server.caller import CALLER, Caller
from engine.server.http import engine_of, json_response, parse_body, parse_query, path_id

routes = web.RouteTableDef()
INTERACTION = "/api/v1/interactions/{id:\\d+}"


# ---- identity and status ----
async def me(request: web.Request, caller: Caller) -> web.Response:
    if caller.user_id is None:  # an operator acting as nobody
        return json_response(
            Me(
                username=caller.username,
                display_name=caller.username,
                roles=as_roles(caller.roles),
                status="offline",
                status_reason="",
                status_since=datetime.now(UTC),
                operator=True,
            )
        )
    return json_response(
        await engine_of(request).queries.me(caller.user_id, operator=caller.operator)
    )


@routes.get("/api/v1/me")
async def get_me(request: web.Request) -> web.Response:
    return await me(request, request[CALLER])


@routes.post("/api/v1/me/status")
async def post_status(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    body = await parse_body(request, StatusIn)
    await engine_of(request).presence.agent_sets(caller.require_user(), body.status, body.reason)
    return await me(request, caller)


# ---- interactions ----
@routes.get("/api/v1/interactions")
async def list_interactions(request: web.Request) -> web.Response:
    caller = request[CALLER]
    scope = request.query.get("scope", "mine")
    if scope == "all":
        caller.require("supervisor", "admin")
        agent_id = None
    elif scope == "mine":
        caller.require("agent")
        agent_id = caller.require_user()
    else:
        raise Invalid("scope must be 'mine' or 'all'")
    listed = await engine_of(request).queries.interactions(
        agent_id=agent_id,
        agent=request.query.get("agent") if agent_id is None else None,
        state=request.query.get("state"),
    )
    return json_response(listed)


@routes.get(INTERACTION)
async def get_interaction(request: web.Request) -> web.Response:
    caller = request[CALLER]
    detail = await engine_of(request).work.open(
        caller.user_id,
        path_id(request, "interaction"),
        sees_all=caller.sees_all,
        read=request.query.get("read", "1") != "0",
    )
    return json_response(detail)


async def _detail(request: web.Request, interaction_id: int) -> web.Response:
    return json_response(await engine_of(request).queries.detail(interaction_id))


@routes.post(INTERACTION + "/reply")
async def post_reply(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    interaction_id = path_id(request, "interaction")
    body = await parse_body(request, ReplyIn)
    await engine_of(request).work.reply(
        caller.require_user(),
        interaction_id,
        body.body,
        with_history=body.with_history,
        uploads=body.uploads,
    )
    return await _detail(request, interaction_id)


@routes.put(INTERACTION + "/cc")
async def put_cc(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    interaction_id = path_id(request, "interaction")
    body = await parse_body(request, CcBccIn)
    await engine_of(request).work.set_cc_bcc(
        caller.require_user(), interaction_id, body.cc, body.bcc
    )
    return await _detail(request, interaction_id)


@routes.put(INTERACTION + "/draft")
async def put_draft(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    body = await parse_body(request, DraftIn)
    await engine_of(request).work.save_draft(
        caller.require_user(), path_id(request, "interaction"), body.text
    )
    return web.json_response({})


@routes.post(INTERACTION + "/forward")
async def post_forward(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    interaction_id = path_id(request, "interaction")
    body = await parse_body(request, ForwardIn)
    await engine_of(request).agent_mail.forward(caller.require_user(), interaction_id, body)
    return await _detail(request, interaction_id)


@routes.post("/api/v1/interactions")
async def post_interaction(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    body = await parse_body(request, NewInteractionIn)
    interaction_id = await engine_of(request).agent_mail.new_interaction(
        caller.require_user(), body
    )
    return await _detail(request, interaction_id)


@routes.post(INTERACTION + "/close")
async def post_close(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    interaction_id = path_id(request, "interaction")
    # No body: a close without a wrap-up (refused where the campaign asks for a code).
    body = await parse_body(request, CloseIn) if request.can_read_body else CloseIn()
    engine = engine_of(request)
    await engine.work.close(
        caller.require_user(), interaction_id, disposition=body.disposition, note=body.note
    )
    return json_response(await engine.queries.summary(interaction_id))


@routes.get("/api/v1/pick")
async def get_pick(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    return json_response(await engine_of(request).picking.queue(caller.require_user()))


@routes.post(INTERACTION + "/take")
async def post_take(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    interaction_id = path_id(request, "interaction")
    engine = engine_of(request)
    await engine.picking.take(caller.require_user(), interaction_id)
    return json_response(await engine.queries.summary(interaction_id))


# ---- files and templates ----
@routes.post("/api/v1/uploads")
async def post_upload(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent", "admin")
    engine = engine_of(request)
    limit = engine.settings.max_attachment_bytes
    if request.content_length is not None and request.content_length > limit:
        raise Invalid(f"the file is larger than the {limit} bytes limit")
    query = parse_query(request, UploadQuery)
    data = await request.read()
    uploaded = await engine.agent_mail.upload(
        caller.user_id, query.filename, query.content_type, data
    )
    return json_response(uploaded, status=201)


@routes.get("/api/v1/attachments/{id:\\d+}")
async def get_attachment(request: web.Request) -> web.StreamResponse:
    caller = request[CALLER]
    attachment, data = await engine_of(request).agent_mail.attachment(
        path_id(request, "attachment"), caller.user_id, sees_all=caller.sees_all
    )
    return web.Response(
        body=data,
        content_type="application/octet-stream",
        headers={"X-Filename": quote(attachment.filename, safe="")},
    )


@routes.get("/api/v1/templates")
async def get_templates(request: web.Request) -> web.Response:
    caller = request[CALLER]
    if not caller.sees_all:
        caller.require("agent")
        caller.require_user()
    templates = await engine_of(request).admin.templates_for(
        caller.user_id, sees_all=caller.sees_all
    )
    return json_response(templates)


@routes.post("/api/v1/templates/render")
async def post_render(request: web.Request) -> web.Response:
    caller = request[CALLER]
    body = await parse_body(request, RenderIn)
    rendered = await engine_of(request).agent_mail.render(
        caller.user_id, body.template_id, body.interaction_id, sees_all=caller.sees_all
    )
    return json_response(rendered)


@routes.get("/api/v1/limits")
async def get_limits(request: web.Request) -> web.Response:
    engine = engine_of(request)
    return json_response(
        LimitsOut(
            max_attachment_bytes=engine.settings.max_attachment_bytes,
            break_reasons=await engine.break_reasons.names(),
        )
    )


@routes.get("/api/v1/break-reasons")
async def get_break_reasons(request: web.Request) -> web.Response:
    names = await engine_of(request).break_reasons.names()
    return json_response(BreakReasonList(reasons=names))


# ---- wrap-up (docs/wrapup.md) ----
@routes.get(INTERACTION + "/dispositions")
async def get_close_choices(request: web.Request) -> web.Response:
    caller = request[CALLER]
    caller.require("agent")
    choices = await engine_of(request).wrapups.choices(
        caller.require_user(), path_id(request, "interaction")
    )
    return json_response(choices)
