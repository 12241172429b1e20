"""The control API: aiohttp on a Unix socket, caller identified by SO_PEERCRED.

An agent who logged in over SSH runs the console as their own OS user; the kernel tells us that
uid, so no second password is needed. The engine's own OS user and root are operators: they may
act as any Postdesk user through the `X-Postdesk-User` header (the demo's role switcher, tests
and `postdesk ctl`), and without it they hold every role. Every route checks the caller's role
here, whatever the console shows.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from aiohttp import HttpVersion10, HttpVersion11, web
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import NoResultFound

from data.models import (
    AgentStatus,
    BlacklistEntry,
    Campaign,
    Interaction,
    InteractionState,
    Membership,
    User,
)
from engine.api.schemas import (
    ID_MAX,
    AgentChanged,
    BlacklistOut,
    BreakReasonList,
    CampaignIn,
    CampaignPatch,
    CcBccIn,
    ChatIn,
    ChatReadIn,
    ChatSaid,
    DraftIn,
    Event,
    ForwardIn,
    HandIn,
    Hello,
    InteractionChanged,
    LimitsOut,
    LoggedOut,
    Me,
    MemberIn,
    MessageChanged,
    MonitorSnapshot,
    NewInteractionIn,
    RenderIn,
    ReplyIn,
    Schema,
    SchemaError,
    StatusIn,
    TemplateIn,
    UploadQuery,
    UserIn,
    UserPatch,
    as_roles,
    convert,
    decode,
    encode,
)
from engine.bus import Subscription
from engine.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from engine.server.listener import (
    HTTP_LOG,
    GatedUnixSite,
    ListenerLimits,
    Refusal,
    is_operator,
    os_user_name,
    peer_credentials,
    raise_descriptor_limit,
)
from engine.services import queries
from engine.services.admin.connection_test import check_campaign

if TYPE_CHECKING:
    from engine.engine import Engine

log = logging.getLogger(__name__)

ACT_AS_HEADER = "X-Postdesk-User"
ALL_ROLES = ["admin", "supervisor", "agent"]
M = TypeVar("M", bound=Schema)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Status reasons the engine writes itself, and reads back when the agent's console returns.
PAUSED_BY = "paused by "
LOGGED_OUT_BY = "logged out by "
EVENT_CHECK = 1.0  # how soon a console that left is noticed (and its agent made Offline)


@dataclass(frozen=True)
class Caller:
    os_user: str
    user_id: int | None  # None: an operator acting as nobody in particular
    username: str
    roles: tuple[str, ...]
    operator: bool

    def require(self, *roles: str) -> None:
        if not any(r in self.roles for r in roles):
            raise Forbidden(f"{self.username} needs the {' or '.join(roles)} role for this")

    def require_user(self) -> int:
        if self.user_id is None:
            # Said to a person at a console (a supervisor's chat line), not to a programmer.
            raise Forbidden(
                f"this needs a Postdesk user, and {self.os_user} is the engine's operator, not"
                " one of them: start the console as a user with `postdesk --as LOGIN`"
            )
        return self.user_id


CALLER = web.RequestKey("caller", Caller)


def peer_uid(request: web.Request) -> int:
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is None or sock.family != socket.AF_UNIX:
        raise Forbidden("the control API only accepts local Unix-socket callers")
    return peer_credentials(sock)[1]


def not_a_user(os_name: str) -> str:
    return (
        f"OS user {os_name!r} is not a Postdesk user; an admin can add it with "
        f"'postdesk ctl user add {os_name}'"
    )


def json_response(model: Schema | list[Any], status: int = 200) -> web.Response:
    return web.Response(body=encode(model), status=status, content_type="application/json")


async def parse_body(request: web.Request, schema: type[M]) -> M:
    try:
        return decode(await request.read(), schema)
    except SchemaError as exc:
        raise Invalid(str(exc)) from exc


def parse_query(request: web.Request, schema: type[M]) -> M:
    try:
        return convert(dict(request.query), schema)
    except SchemaError as exc:
        raise Invalid(str(exc)) from exc


def path_id(request: web.Request, what: str) -> int:
    """The route's `{id}`, read one way for every route.

    Ids are 64-bit signed integers in the database. A number beyond that names nothing, so
    it is answered like any id that does not exist, 404 naming the thing: to the person
    asking it is simply not there, not a malformed request. (The route's `\\d+` also matches
    non-ASCII digits, and `int()` refuses thousands of digits: neither gets that far.)
    """
    text = request.match_info["id"]
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or int(text) > ID_MAX:
        raise NotFound(
            f"no {what} {text}" if len(text) <= 60 else f"no {what} of {len(text)} digits"
        )
    return int(text)


def _supervised_status(user: User) -> str | None:
    """Why an agent may not change their own status now: a supervisor decided it."""
    if user.status == AgentStatus.PAUSED:
        return f"{user.status_reason or 'a supervisor paused you'}: only a supervisor resumes you"
    if user.status == AgentStatus.OFFLINE and user.status_reason.startswith(LOGGED_OUT_BY):
        return f"{user.status_reason}: open the console again to work"
    return None


class ApiServer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.app = web.Application(
            middlewares=[self._http1_only, self._errors, self._identify],
            # Uploads carry files up to the attachment limit; JSON bodies up to ~4 MB of text.
            client_max_size=max(engine.settings.max_attachment_bytes, 4 * 1024 * 1024) + 65536,
        )
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._agent_connections: dict[int, int] = {}
        self._supervisor_connections: dict[int, int] = {}  # on duty: a raised hand reaches them
        r = self.app.router
        r.add_get("/api/v1/me", self.get_me)
        r.add_post("/api/v1/me/status", self.post_status)
        r.add_get("/api/v1/interactions", self.list_interactions)
        r.add_get("/api/v1/interactions/{id:\\d+}", self.get_interaction)
        r.add_post("/api/v1/interactions/{id:\\d+}/reply", self.post_reply)
        r.add_post("/api/v1/interactions/{id:\\d+}/close", self.post_close)
        r.add_put("/api/v1/interactions/{id:\\d+}/cc", self.put_cc)
        r.add_put("/api/v1/interactions/{id:\\d+}/draft", self.put_draft)
        r.add_post("/api/v1/interactions/{id:\\d+}/forward", self.post_forward)
        r.add_post("/api/v1/interactions", self.post_interaction)
        r.add_get("/api/v1/search", self.get_search)
        r.add_post("/api/v1/uploads", self.post_upload)
        r.add_get("/api/v1/attachments/{id:\\d+}", self.get_attachment)
        r.add_post("/api/v1/templates/render", self.post_render)
        r.add_get("/api/v1/limits", self.get_limits)
        r.add_get("/api/v1/break-reasons", self.get_break_reasons)
        r.add_put("/api/v1/break-reasons", self.put_break_reasons)
        r.add_get("/api/v1/monitor", self.get_monitor)
        r.add_get("/api/v1/mailboxes", self.get_mailboxes)
        r.add_post("/api/v1/agents/{username}/pause", self.post_pause)
        r.add_post("/api/v1/agents/{username}/resume", self.post_resume)
        r.add_post("/api/v1/agents/{username}/logout", self.post_logout)
        r.add_get("/api/v1/chat", self.get_chat)
        r.add_post("/api/v1/chat", self.post_chat)
        r.add_get("/api/v1/chat/unread", self.get_chat_unread)
        r.add_post("/api/v1/chat/read", self.post_chat_read)
        r.add_get("/api/v1/chat/supervisors", self.get_chat_supervisors)
        r.add_post("/api/v1/chat/hand", self.post_hand)
        r.add_get("/api/v1/users", self.get_users)
        r.add_post("/api/v1/users", self.post_user)
        r.add_patch("/api/v1/users/{username}", self.patch_user)
        r.add_get("/api/v1/campaigns", self.get_campaigns)
        r.add_post("/api/v1/campaigns", self.post_campaign)
        r.add_patch("/api/v1/campaigns/{name}", self.patch_campaign)
        r.add_post("/api/v1/campaigns/{name}/test", self.post_campaign_test)
        r.add_post("/api/v1/members", self.post_member)
        r.add_delete("/api/v1/members", self.delete_member)
        r.add_get("/api/v1/templates", self.get_templates)
        r.add_post("/api/v1/templates", self.post_template)
        r.add_put("/api/v1/templates/{id:\\d+}", self.put_template)
        r.add_delete("/api/v1/templates/{id:\\d+}", self.delete_template)
        r.add_get("/api/v1/blacklist", self.get_blacklist)
        r.add_get("/api/v1/quarantine", self.get_quarantine)
        r.add_get("/api/v1/quarantine/{id:\\d+}", self.get_quarantined)
        r.add_post("/api/v1/quarantine/{id:\\d+}/retry", self.post_retry)
        r.add_get("/api/v1/events", self.events)

    # ---- lifecycle ----
    async def start(self, path: Path, group: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            path.unlink()
        settings = self.engine.settings
        limits = ListenerLimits(
            header_timeout=settings.header_timeout,
            max_connections_per_uid=settings.max_connections_per_uid,
        )
        raise_descriptor_limit()
        self._runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            # aiohttp closes a connection whose handler still waits for a request when this
            # timer fires (armed at the hand-over and after each response): our header timeout.
            keepalive_timeout=limits.header_timeout,
            logger=HTTP_LOG,
        )
        await self._runner.setup()
        self.site = GatedUnixSite(self._runner, path, self._admission, limits=limits, group=group)
        await self.site.start()

    async def stop(self) -> None:
        self._stopping.set()  # ends every event stream
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _admission(self, uid: int) -> Refusal | None:
        """Right after accept: only operators and OS users who are Postdesk users may talk."""
        if is_operator(uid):
            return None
        os_name = os_user_name(uid)
        async with self.engine.db.session() as session:
            known = await session.scalar(select(User.id).where(User.username == os_name))
        return None if known is not None else Refusal(403, "Forbidden", not_a_user(os_name))

    # ---- middlewares ----
    @web.middleware
    async def _http1_only(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """HTTP/1.0 and 1.1 only: aiohttp answers `GET /path` (HTTP/0.9, no headers at all)
        and `HTTP/2.0` request lines as if they were HTTP/1.1."""
        if request.version not in (HttpVersion10, HttpVersion11):
            refused = web.json_response({"error": "the engine speaks HTTP/1.1 only"}, status=505)
            refused.force_close()
            return refused
        return await handler(request)

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ServiceError as exc:
            body = {"error": str(exc)} | ({"field": exc.field} if exc.field else {})
            return web.json_response(body, status=exc.status)
        except web.HTTPException:
            raise
        except NoResultFound:
            # A row the request named was read with get_one without a check first, or went
            # away after its check: the caller is told it is not there. Services name what
            # is missing themselves (NotFound); this line in the log says one did not.
            log.warning("a missing row on %s %s", request.method, request.path, exc_info=True)
            return web.json_response(
                {"error": f"not found: {request.path} names something that does not exist"},
                status=404,
            )
        except Exception as exc:
            log.exception("internal error on %s %s", request.method, request.path)
            return web.json_response(
                {"error": f"internal engine error ({exc.__class__.__name__}); see the engine log"},
                status=500,
            )

    @web.middleware
    async def _identify(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        request[CALLER] = await self._caller(request)
        return await handler(request)

    async def _caller(self, request: web.Request) -> Caller:
        uid = peer_uid(request)
        os_name = os_user_name(uid)
        operator = is_operator(uid)
        act_as = request.headers.get(ACT_AS_HEADER, "")
        if act_as and not operator:
            raise Forbidden(f"OS user {os_name} may not act as another user")
        wanted = act_as or os_name
        async with self.engine.db.session() as session:
            user = await session.scalar(select(User).where(User.username == wanted))
        if user is not None:
            return Caller(os_name, user.id, user.username, tuple(user.roles), operator)
        if act_as:
            raise NotFound(f"no Postdesk user {act_as!r}")
        if operator:
            return Caller(os_name, None, os_name, tuple(ALL_ROLES), True)
        raise Forbidden(not_a_user(os_name))

    # ---- identity and status ----
    async def get_me(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        if caller.user_id is None:
            now = datetime.now(UTC)
            return json_response(
                Me(
                    username=caller.username,
                    display_name=caller.username,
                    roles=as_roles(caller.roles),
                    status="offline",
                    status_reason="",
                    status_since=now,
                    operator=True,
                )
            )
        async with self.engine.db.session() as session:
            user = await session.get_one(User, caller.user_id)
            campaigns = sorted(
                (
                    await session.execute(
                        select(Campaign.name)
                        .join(Membership)
                        .where(Membership.user_id == caller.user_id)
                    )
                ).scalars()
            )
            return json_response(
                Me(
                    username=user.username,
                    display_name=user.display_name,
                    roles=as_roles(user.roles),
                    status=user.status.value,
                    status_reason=user.status_reason,
                    status_since=user.status_since,
                    operator=caller.operator,
                    campaigns=campaigns,
                )
            )

    async def post_status(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        caller.require("agent")
        body = await parse_body(request, StatusIn)
        # Only a break has a reason; Free with one would show on the supervisors' grid.
        reason = body.reason if body.status == "break" else ""
        if body.status == "break":
            await self.engine.break_reasons.check(reason)
        await self.engine.work.set_status(
            caller.require_user(), AgentStatus(body.status), reason, unless=_supervised_status
        )
        return await self.get_me(request)

    # ---- supervisors acting on an agent (the manual's "Actions with agents") ----
    async def _agent_for(self, request: web.Request) -> tuple[User, User]:
        """The agent the route names, and the supervisor acting (operators act as none)."""
        caller = request[CALLER]
        caller.require("supervisor")
        username = request.match_info["username"]
        async with self.engine.db.session() as session:
            agent = await session.scalar(select(User).where(User.username == username))
            supervisor = (
                await session.get(User, caller.user_id) if caller.user_id is not None else None
            )
        if agent is None or "agent" not in agent.roles:
            raise NotFound(f"no agent {username!r}")
        if caller.user_id == agent.id:
            raise Conflict("that is you: another supervisor can do it")
        return agent, supervisor or User(username=caller.username, display_name=caller.username)

    async def _agent_row(self, agent_id: int) -> web.Response:
        async with self.engine.db.session() as session:
            user = await session.get_one(User, agent_id, populate_existing=True)
            return json_response(await queries.agent_row(session, user))

    async def post_pause(self, request: web.Request) -> web.Response:
        """No new interactions for the agent until a supervisor resumes them; the ones they
        have stay theirs, and they cannot leave the pause themselves (nor by closing their
        console: they come back Paused)."""
        agent, supervisor = await self._agent_for(request)
        if agent.status == AgentStatus.OFFLINE:
            raise Conflict(f"{agent.username} is not logged in")
        if agent.status == AgentStatus.PAUSED:
            raise Conflict(f"{agent.username} is already paused ({agent.status_reason})")
        by = supervisor.display_name or supervisor.username
        await self.engine.work.set_status(
            agent.id, AgentStatus.PAUSED, PAUSED_BY + by, by=supervisor.id
        )
        return await self._agent_row(agent.id)

    async def post_resume(self, request: web.Request) -> web.Response:
        agent, supervisor = await self._agent_for(request)
        if agent.status != AgentStatus.PAUSED:
            raise Conflict(f"{agent.username} is not paused")
        await self.engine.work.set_status(agent.id, AgentStatus.FREE, by=supervisor.id)
        self.engine.router.kick()
        return await self._agent_row(agent.id)

    async def post_logout(self, request: web.Request) -> web.Response:
        """The agent's consoles leave and the agent is Offline: no new interactions until
        they open a console again. What they were typing is kept as drafts."""
        agent, supervisor = await self._agent_for(request)
        if agent.status == AgentStatus.OFFLINE:
            raise Conflict(f"{agent.username} is not logged in")
        by = supervisor.display_name or supervisor.username
        # Offline first (the router hands them nothing more), then their consoles are told.
        await self.engine.work.set_status(
            agent.id, AgentStatus.OFFLINE, LOGGED_OUT_BY + by, by=supervisor.id
        )
        self.engine.bus.publish(LoggedOut(username=agent.username, by=by))
        return await self._agent_row(agent.id)

    # ---- chat between supervisors and agents (rules in services/chat.py) ----
    async def get_chat(self, request: web.Request) -> web.Response:
        """The last 200 lines between the caller and `with`, oldest first."""
        caller = request[CALLER]
        lines = await self.engine.chat.history(caller.require_user(), request.query.get("with", ""))
        return json_response(lines)

    async def post_chat(self, request: web.Request) -> web.Response:
        body = await parse_body(request, ChatIn)
        line = await self.engine.chat.say(request[CALLER].require_user(), body.to, body.text)
        return json_response(line, status=201)

    async def get_chat_unread(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        if caller.user_id is None:  # an operator as nobody: nobody writes to them
            return json_response([])
        return json_response(await self.engine.chat.unread(caller.user_id))

    async def post_chat_read(self, request: web.Request) -> web.Response:
        body = await parse_body(request, ChatReadIn)
        await self.engine.chat.mark_read(request[CALLER].require_user(), body.peer)
        return web.json_response({})

    def _on_duty(self) -> set[int]:
        return {user_id for user_id, n in self._supervisor_connections.items() if n > 0}

    async def get_chat_supervisors(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        caller.require("agent")
        return json_response(
            await self.engine.chat.supervisors(caller.require_user(), self._on_duty())
        )

    async def post_hand(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        caller.require("agent")
        body = await parse_body(request, HandIn)
        lines = await self.engine.chat.raise_hand(caller.require_user(), body.text, self._on_duty())
        return json_response(lines, status=201)

    # ---- interactions ----
    async def list_interactions(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        scope = request.query.get("scope", "mine")
        state = request.query.get("state")
        conditions: list[ColumnElement[bool]] = []
        if scope == "all":
            caller.require("supervisor", "admin")
            if agent := request.query.get("agent"):  # one agent's, for a supervisor watching
                conditions.append(Interaction.agent.has(User.username == agent))
        elif scope == "mine":
            caller.require("agent")
            conditions.append(Interaction.agent_id == caller.require_user())
        else:
            raise Invalid("scope must be 'mine' or 'all'")
        if state:
            try:
                conditions.append(Interaction.state == InteractionState(state))
            except ValueError as exc:
                raise Invalid(f"unknown state {state!r}") from exc
        elif scope == "mine":
            conditions.append(
                or_(
                    Interaction.state == InteractionState.ASSIGNED,
                    Interaction.closed_at.is_not(None),
                )
            )
        async with self.engine.db.session() as session:
            return json_response(await queries.summaries_where(session, *conditions))

    async def _visible(self, caller: Caller, interaction_id: int) -> None:
        async with self.engine.db.session() as session:
            interaction = await session.get(Interaction, interaction_id)
        if interaction is None:
            raise NotFound(f"no interaction {interaction_id}")
        if "supervisor" in caller.roles or "admin" in caller.roles:
            return
        if interaction.agent_id is None or interaction.agent_id != caller.user_id:
            raise Forbidden(f"interaction {interaction_id} is not yours")

    async def get_interaction(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        interaction_id = path_id(request, "interaction")
        await self._visible(caller, interaction_id)
        # `?read=0`: a preview the agent did not ask for (a console's pane following a new
        # assignment) leaves the interaction unread.
        if caller.user_id is not None and request.query.get("read", "1") != "0":
            async with self.engine.db.session() as session:
                row = await session.get_one(Interaction, interaction_id)
                mine = row.agent_id == caller.user_id
            if mine:
                await self.engine.work.mark_read(caller.user_id, interaction_id)
        async with self.engine.db.session() as session:
            return json_response(await queries.detail(session, interaction_id))

    async def post_reply(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        caller.require("agent")
        interaction_id = path_id(request, "interaction")
        body = await parse_body(request, ReplyIn)
        await self.engine.work.reply(
            caller.require_user(),
            interaction_id,
            body.body,
            with_history=body.with_history,
            uploads=body.uploads,
        )
        async with self.engine.db.session() as session:
            return json_response(await queries.detail(session, interaction_id))

    async def _detail(self, interaction_id: int) -> web.Response:
        async with self.engine.db.session() as session:
            return json_response(await queries.detail(session, interaction_id))

    async def put_cc(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        caller.require("agent")
        interaction_id = path_id(request, "interaction")
        body = await parse_body(request, CcBccIn)
        await self.engine.work.set_cc_bcc(caller.require_user(), interaction_id, body.cc, body.bcc)
        return await self._detail(interaction_id)

    async def put_draft(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        caller.require("agent")
        body = await parse_body(request, DraftIn)
        await self.engine.work.save_draft(
            caller.require_user(), path_id(request, "interaction"), body.text
        )
        return web.json_response({})

    async def post_forward(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        caller.require("agent")
        interaction_id = path_id(request, "interaction")
        body = await parse_body(request, ForwardIn)
        await self.engine.agent_mail.forward(caller.require_user(), interaction_id, body)
        return await self._detail(interaction_id)

    async def post_interaction(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        caller.require("agent")
        body = await parse_body(request, NewInteractionIn)
        interaction_id = await self.engine.agent_mail.new_interaction(caller.require_user(), body)
        return await self._detail(interaction_id)

    async def get_search(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        scope = request.query.get("scope", "mine")
        if scope == "all":
            caller.require("supervisor", "admin")
            user_id = None
        else:
            caller.require("agent")
            user_id = caller.require_user()
        ids = await self.engine.agent_mail.search(request.query.get("q", ""), user_id)
        async with self.engine.db.session() as session:
            rows = (
                (await session.execute(select(Interaction).where(Interaction.id.in_(ids))))
                .scalars()
                .all()
            )
            order = {interaction_id: n for n, interaction_id in enumerate(ids)}
            rows = sorted(rows, key=lambda r: order[r.id])
            return json_response(await queries.summaries(session, rows))

    async def post_upload(self, request: web.Request) -> web.Response:
        request[CALLER].require("agent", "admin")
        limit = self.engine.settings.max_attachment_bytes
        if request.content_length is not None and request.content_length > limit:
            raise Invalid(f"the file is larger than the {limit} bytes limit")
        query = parse_query(request, UploadQuery)
        data = await request.read()
        uploaded = await self.engine.agent_mail.upload(
            request[CALLER].user_id, query.filename, query.content_type, data
        )
        return json_response(uploaded, status=201)

    async def get_attachment(self, request: web.Request) -> web.StreamResponse:
        caller = request[CALLER]
        attachment, data = await self.engine.agent_mail.attachment(
            path_id(request, "attachment"),
            caller.user_id,
            sees_all="supervisor" in caller.roles or "admin" in caller.roles,
        )
        return web.Response(
            body=data,
            content_type="application/octet-stream",
            headers={"X-Filename": quote(attachment.filename, safe="")},
        )

    async def post_render(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        body = await parse_body(request, RenderIn)
        if body.interaction_id is not None:
            await self._visible(caller, body.interaction_id)
        return json_response(
            await self.engine.agent_mail.render(
                caller.user_id, body.template_id, body.interaction_id
            )
        )

    async def get_limits(self, request: web.Request) -> web.Response:
        settings = self.engine.settings
        return json_response(
            LimitsOut(
                max_attachment_bytes=settings.max_attachment_bytes,
                break_reasons=await self.engine.break_reasons.names(),
            )
        )

    async def get_break_reasons(self, request: web.Request) -> web.Response:
        return json_response(BreakReasonList(reasons=await self.engine.break_reasons.names()))

    async def put_break_reasons(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        body = await parse_body(request, BreakReasonList)
        names = await self.engine.break_reasons.replace(body.reasons)
        return json_response(BreakReasonList(reasons=names))

    async def post_close(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        caller.require("agent")
        interaction_id = path_id(request, "interaction")
        await self.engine.work.close(caller.require_user(), interaction_id)
        async with self.engine.db.session() as session:
            return json_response(await queries.summary_of(session, interaction_id))

    # ---- supervision ----
    async def get_monitor(self, request: web.Request) -> web.Response:
        request[CALLER].require("supervisor", "admin")
        async with self.engine.db.session() as session:
            shown, total = await queries.queue_rows(session)
            snapshot = MonitorSnapshot(
                agents=await queries.agent_rows(session), queue=shown, queue_total=total
            )
        return json_response(snapshot)

    async def get_mailboxes(self, request: web.Request) -> web.Response:
        request[CALLER].require("supervisor", "admin")
        return json_response(self.engine.mailboxes.all())

    # ---- administration ----
    async def get_users(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin", "supervisor")
        return json_response(await self.engine.admin.users())

    async def post_user(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        body = await parse_body(request, UserIn)
        return json_response(await self.engine.admin.add_user(body), status=201)

    async def patch_user(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        body = await parse_body(request, UserPatch)
        username = request.match_info["username"]
        return json_response(await self.engine.admin.patch_user(username, body))

    async def get_campaigns(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin", "supervisor")
        return json_response(await self.engine.admin.campaigns())

    async def post_campaign(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        body = await parse_body(request, CampaignIn)
        return json_response(await self.engine.admin.add_campaign(body), status=201)

    async def patch_campaign(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        body = await parse_body(request, CampaignPatch)
        return json_response(
            await self.engine.admin.patch_campaign(request.match_info["name"], body)
        )

    async def post_campaign_test(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        name = request.match_info["name"]
        async with self.engine.db.session() as session:
            campaign = await session.scalar(select(Campaign).where(Campaign.name == name))
        if campaign is None:
            raise NotFound(f"no campaign {name!r}")
        return json_response(await check_campaign(campaign, self.engine.secrets))

    async def get_templates(self, request: web.Request) -> web.Response:
        caller = request[CALLER]
        if "admin" in caller.roles or "supervisor" in caller.roles:
            return json_response(await self.engine.admin.templates())
        caller.require("agent")
        async with self.engine.db.session() as session:
            mine = await queries.working_campaigns(session, caller.require_user())
        return json_response(await self.engine.admin.templates(sorted(mine)))

    async def post_template(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        body = await parse_body(request, TemplateIn)
        return json_response(await self.engine.admin.add_template(body), status=201)

    async def put_template(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        body = await parse_body(request, TemplateIn)
        template_id = path_id(request, "template")
        return json_response(await self.engine.admin.replace_template(template_id, body))

    async def delete_template(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        await self.engine.admin.delete_template(path_id(request, "template"))
        return web.Response(status=204)

    async def post_member(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        body = await parse_body(request, MemberIn)
        campaign = await self.engine.admin.add_member(body.campaign, body.username)
        self.engine.router.kick()  # mail waiting in the campaign's queue may go to them now
        return json_response(campaign)

    async def delete_member(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        body = await parse_body(request, MemberIn)
        return json_response(await self.engine.admin.remove_member(body.campaign, body.username))

    async def get_blacklist(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin", "supervisor")
        async with self.engine.db.session() as session:
            rows = await session.execute(select(BlacklistEntry).order_by(BlacklistEntry.email))
            return json_response(
                [
                    BlacklistOut(email=b.email, reason=b.reason, created_at=b.created_at)
                    for b in rows.scalars()
                ]
            )

    # ---- quarantine ----
    async def get_quarantine(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        return json_response(await self.engine.quarantine.list())

    async def get_quarantined(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        return json_response(
            await self.engine.quarantine.show(path_id(request, "quarantined mail"))
        )

    async def post_retry(self, request: web.Request) -> web.Response:
        request[CALLER].require("admin")
        return json_response(
            await self.engine.quarantine.retry(path_id(request, "quarantined mail"))
        )

    # ---- events ----
    async def events(self, request: web.Request) -> web.StreamResponse:
        """One JSON event per line (NDJSON) in a chunked body that lasts as long as the
        console; an empty line after `event_heartbeat` seconds in which this console was sent
        nothing tells it we are alive (the hello says how often, so it knows when to worry)."""
        caller = request[CALLER]
        stream = web.StreamResponse(
            headers={"Content-Type": "application/x-ndjson", "Cache-Control": "no-store"}
        )
        await stream.prepare(request)
        is_agent = caller.user_id is not None and "agent" in caller.roles
        supervisor = caller.user_id if "supervisor" in caller.roles else None
        on_duty, counted = self._supervisor_connections, False
        try:
            async with self.engine.bus.subscribe() as sub:
                # Subscribed first, then hello: a console that loads its data on hello
                # cannot miss a change made in between.
                hello = Hello(
                    username=caller.username, heartbeat=self.engine.settings.event_heartbeat
                )
                await stream.write(encode(hello) + b"\n")
                if is_agent:
                    await self._agent_connected(caller, resuming=request.query.get("resume") == "1")
                if supervisor is not None:
                    on_duty[supervisor] = on_duty.get(supervisor, 0) + 1
                    counted = True
                await self._relay(request, stream, caller, sub)
        except ConnectionError:
            pass  # the console went away mid-write
        finally:
            if counted and supervisor is not None:
                on_duty[supervisor] -= 1
            if is_agent:
                await self._agent_disconnected(caller)
        return stream

    async def _relay(
        self, request: web.Request, stream: web.StreamResponse, caller: Caller, sub: Subscription
    ) -> None:
        # The heartbeat is due after a quiet period of what *this console* was sent: events it
        # may not see do not count. Counting them kept an idle agent's stream silent for as
        # long as other agents were busy, until its client gave the engine up for lost.
        loop = asyncio.get_running_loop()
        heartbeat = self.engine.settings.event_heartbeat
        last_write = loop.time()
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            while True:
                wait = min(EVENT_CHECK, max(last_write + heartbeat - loop.time(), 0.0))
                getter = asyncio.create_task(sub.get())
                done, _ = await asyncio.wait(
                    {getter, stopping}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                if stopping in done:
                    getter.cancel()
                    return
                if getter in done:
                    event = getter.result()
                    if event is None:  # the bus closed: the engine is stopping
                        return
                    if self._allowed(caller, event):
                        await stream.write(encode(event) + b"\n")
                        last_write = loop.time()
                else:
                    getter.cancel()
                # A console that left is only noticed by looking (nothing is read from it), also
                # while a flow of events it may not see keeps this loop from ever timing out.
                transport = request.transport
                if transport is None or transport.is_closing():
                    return
                if loop.time() - last_write >= heartbeat:
                    await stream.write(b"\n")
                    last_write = loop.time()
        finally:
            stopping.cancel()

    def _allowed(self, caller: Caller, event: Event) -> bool:
        if isinstance(event, ChatSaid):  # private, other supervisors included
            return caller.username in (event.line.sender, event.line.recipient)
        if "supervisor" in caller.roles or "admin" in caller.roles:
            return True
        match event:
            case InteractionChanged(interaction=item):
                return item.agent == caller.username
            case MessageChanged(agent=agent):
                return agent == caller.username
            case AgentChanged(agent=row):
                return row.username == caller.username
            case LoggedOut(username=username):
                return username == caller.username
        return False

    async def _agent_connected(self, caller: Caller, *, resuming: bool = False) -> None:
        """An agent whose console is open is logged in: Offline agents come back Free, those
        paused when their console left come back Paused, and a console only reconnecting
        (`resume=1`) after a supervisor logged its agent out hears of it now and leaves."""
        user_id = caller.require_user()
        self._agent_connections[user_id] = self._agent_connections.get(user_id, 0) + 1
        async with self.engine.db.session() as session:
            user = await session.get_one(User, user_id)
            status, reason = user.status, user.status_reason
        if status != AgentStatus.OFFLINE:
            return
        if reason.startswith(LOGGED_OUT_BY) and resuming:
            by = reason.removeprefix(LOGGED_OUT_BY)
            self.engine.bus.publish(LoggedOut(username=caller.username, by=by))
        elif reason.startswith(PAUSED_BY):
            await self.engine.work.set_status(user_id, AgentStatus.PAUSED, reason)
        else:
            await self.engine.work.set_status(user_id, AgentStatus.FREE)

    async def _agent_disconnected(self, caller: Caller) -> None:
        user_id = caller.require_user()
        left = self._agent_connections.get(user_id, 1) - 1
        self._agent_connections[user_id] = left
        if left <= 0 and not self.engine.stopping:
            async with self.engine.db.session() as session:
                user = await session.get_one(User, user_id)
                paused = user.status == AgentStatus.PAUSED
                reason = user.status_reason if paused or user.status == AgentStatus.OFFLINE else ""
            # A pause outlives the console: it is taken up again when the agent comes back.
            await self.engine.work.set_status(user_id, AgentStatus.OFFLINE, reason)
