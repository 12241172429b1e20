"""Routes of the admin console and `postdesk ctl`: users, campaigns (and their connection
test), members, templates, break reasons and the quarantine.

Each route checks the role, decodes, calls one service and encodes the answer."""

from __future__ import annotations

from aiohttp import web

from engine.api.schemas import (
    BlacklistIn,
    BlacklistRemove,
    BreakReasonList,
    CampaignIn,
    CampaignPatch,
    CampaignRemoveIn,
    DispositionTree,
    MemberChanges,
    MemberIn,
    MemberPatch,
    OAuthSettingsIn,
    OAuthStatusQuery,
    TemplateIn,
    UserIn,
    UserPatch,
)
from engine.server.caller import CALLER
from engine.server.http import engine_of, json_response, parse_body, parse_query, path_id

routes = web.RouteTableDef()


# ---- users ----
@routes.get("/api/v1/users")
async def get_users(request: web.Request) -> web.Response:
    request[CALLER].require("admin", "supervisor")
    return json_response(await engine_of(request).admin.users())


@routes.post("/api/v1/users")
async def post_user(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, UserIn)
    return json_response(await engine_of(request).admin.add_user(body), status=201)


@routes.patch("/api/v1/users/{username}")
async def patch_user(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, UserPatch)
    username = request.match_info["username"]
    return json_response(await engine_of(request).admin.patch_user(username, body))


# ---- campaigns and their members ----
@routes.get("/api/v1/campaigns")
async def get_campaigns(request: web.Request) -> web.Response:
    request[CALLER].require("admin", "supervisor")
    return json_response(await engine_of(request).admin.campaigns())


@routes.post("/api/v1/campaigns")
async def post_campaign(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, CampaignIn)
    return json_response(await engine_of(request).admin.add_campaign(body), status=201)


@routes.patch("/api/v1/campaigns/{name}")
async def patch_campaign(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, CampaignPatch)
    name = request.match_info["name"]
    return json_response(await engine_of(request).admin.patch_campaign(name, body))


@routes.post("/api/v1/campaigns/{name}/test")
async def post_campaign_test(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    return json_response(await engine_of(request).admin.test_campaign(request.match_info["name"]))


@routes.post("/api/v1/members")
async def post_member(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, MemberIn)
    return json_response(await engine_of(request).admin.add_member(body.campaign, body.username))


@routes.patch("/api/v1/members")
async def patch_member(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, MemberPatch)
    return json_response(await engine_of(request).admin.patch_member(body))


@routes.delete("/api/v1/members")
async def delete_member(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, MemberIn)
    campaign = await engine_of(request).admin.remove_member(body.campaign, body.username)
    return json_response(campaign)


# ---- templates and break reasons ----
@routes.post("/api/v1/templates")
async def post_template(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, TemplateIn)
    return json_response(await engine_of(request).admin.add_template(body), status=201)


@routes.put("/api/v1/templates/{id:\\d+}")
async def put_template(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, TemplateIn)
    template_id = path_id(request, "template")
    return json_response(await engine_of(request).admin.replace_template(template_id, body))


@routes.delete("/api/v1/templates/{id:\\d+}")
async def delete_template(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    await engine_of(request).admin.delete_template(path_id(request, "template"))
    return web.Response(status=204)


@routes.put("/api/v1/break-reasons")
async def put_break_reasons(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, BreakReasonList)
    names = await engine_of(request).break_reasons.replace(body.reasons)
    return json_response(BreakReasonList(reasons=names))


# ---- quarantine ----
@routes.get("/api/v1/quarantine")
async def get_quarantine(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    return json_response(await engine_of(request).quarantine.list())


@routes.get("/api/v1/quarantine/{id:\\d+}")
async def get_quarantined(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    found = await engine_of(request).quarantine.show(path_id(request, "quarantined mail"))
    return json_response(found)


@routes.post("/api/v1/quarantine/{id:\\d+}/retry")
async def post_retry(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    retried = await engine_of(request).quarantine.retry(path_id(request, "quarantined mail"))
    return json_response(retried)


# ---- the blacklist (listed by supervisors too: supervisor_routes.py) ----
@routes.post("/api/v1/blacklist")
async def post_blacklist(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, BlacklistIn)
    return json_response(await engine_of(request).blacklist.add(body), status=201)


@routes.delete("/api/v1/blacklist")
async def delete_blacklist(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, BlacklistRemove)
    await engine_of(request).blacklist.remove(body.email, body.campaign)
    return web.Response(status=204)


# ---- a campaign's wrap-up codes (docs/wrapup.md) ----
@routes.get("/api/v1/campaigns/{name}/dispositions")
async def get_dispositions(request: web.Request) -> web.Response:
    request[CALLER].require("admin", "supervisor")
    return json_response(await engine_of(request).wrapups.tree(request.match_info["name"]))


@routes.put("/api/v1/campaigns/{name}/dispositions")
async def put_dispositions(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, DispositionTree)
    name = request.match_info["name"]
    return json_response(await engine_of(request).wrapups.replace(name, body))


# ---- campaign removal and members in bulk ----
@routes.get("/api/v1/campaigns/{name}/removal")
async def get_campaign_removal(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    name = request.match_info["name"]
    return json_response(await engine_of(request).campaign_removal.plan(name))


@routes.post("/api/v1/campaigns/{name}/remove")
async def post_campaign_remove(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, CampaignRemoveIn)
    name = request.match_info["name"]
    return json_response(await engine_of(request).campaign_removal.remove(name, body.move_to))


@routes.post("/api/v1/members/changes")
async def post_member_changes(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, MemberChanges)
    return json_response(await engine_of(request).admin.change_members(body))


# ---- OAuth2 mailboxes (issue 17): settings, device flow, state; never a token ----
@routes.get("/api/v1/campaigns/{name}/oauth")
async def get_campaign_oauth(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    query = parse_query(request, OAuthStatusQuery, lax=True)
    return json_response(
        await engine_of(request).oauth.status(request.match_info["name"], wait=query.wait)
    )


@routes.put("/api/v1/campaigns/{name}/oauth")
async def put_campaign_oauth(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    body = await parse_body(request, OAuthSettingsIn)
    name = request.match_info["name"]
    return json_response(await engine_of(request).oauth.configure(name, body))


@routes.post("/api/v1/campaigns/{name}/oauth/authorize")
async def post_campaign_authorize(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    return json_response(await engine_of(request).oauth.authorize(request.match_info["name"]))


@routes.delete("/api/v1/campaigns/{name}/oauth/authorize")
async def delete_campaign_authorize(request: web.Request) -> web.Response:
    request[CALLER].require("admin")
    return json_response(await engine_of(request).oauth.cancel(request.match_info["name"]))
