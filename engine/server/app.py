"""The control API server: aiohttp on a Unix socket, its middlewares and its routes.

Connections are admitted right after accept (`listener.py`): only operators and OS users who
are Postdesk users may talk. Each request is then identified (`caller.py`), and answered by a
route of `agent_routes`, `supervisor_routes`, `chat_routes`, `admin_routes` or
`event_stream`. Every route checks the caller's role, whatever the console shows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import HttpVersion10, HttpVersion11, web

from engine.aiohttp_release import release_middleware_chains
from engine.errors import MissingRow, ServiceError
from engine.server import (
    admin_routes,
    agent_routes,
    chat_routes,
    dialer_routes,
    event_stream,
    monitor_routes,
    recordings_routes,
    supervisor_routes,
    transfer_routes,
)
from engine.server.caller import ACT_AS_HEADER, CALLER, identify, not_a_user
from engine.server.http import ENGINE
from engine.server.listener import (
    HTTP_LOG,
    GatedUnixSite,
    ListenerLimits,
    Refusal,
    is_operator,
    os_user_name,
    raise_descriptor_limit,
)

if TYPE_CHECKING:
    from engine.engine import Engine

__all__ = ["ACT_AS_HEADER", "ApiServer"]

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ROUTES = (
    agent_routes.routes,
    supervisor_routes.routes,
    chat_routes.routes,
    admin_routes.routes,
    event_stream.routes,
    transfer_routes.routes,
    dialer_routes.routes,
    recordings_routes.routes,
    monitor_routes.routes,
)


class ApiServer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.app = web.Application(
            middlewares=[_http1_only, _errors, self._identify],
            # Uploads carry files up to the attachment limit; JSON bodies up to ~4 MB of text.
            client_max_size=max(engine.settings.max_attachment_bytes, 4 * 1024 * 1024) + 65536,
        )
        self.app[ENGINE] = engine
        for table in ROUTES:
            self.app.router.add_routes(table)
        self._runner: web.AppRunner | None = None

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
        self.engine.bus.close()  # ends every event stream
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        release_middleware_chains()  # they hold this app, and so the engine (aiohttp_release)

    async def _admission(self, uid: int) -> Refusal | None:
        """Right after accept: only operators and OS users who are Postdesk users may talk."""
        if is_operator(uid):
            return None
        os_name = os_user_name(uid)
        if await self.engine.identity.user(os_name) is not None:
            return None
        return Refusal(403, "Forbidden", not_a_user(os_name))

    @web.middleware
    async def _identify(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        request[CALLER] = await identify(request, self.engine.identity)
        return await handler(request)


@web.middleware
async def _http1_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """HTTP/1.0 and 1.1 only: aiohttp answers `GET /path` (HTTP/0.9, no headers at all) and
    `HTTP/2.0` request lines as if they were HTTP/1.1."""
    if request.version not in (HttpVersion10, HttpVersion11):
        refused = web.json_response({"error": "the engine speaks HTTP/1.1 only"}, status=505)
        refused.force_close()
        return refused
    return await handler(request)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A refusal is answered with its status, message and field; anything else is logged and
    answered 500 without details (no input should get there: the tests probe for it)."""
    try:
        return await handler(request)
    except ServiceError as exc:
        body = {"error": str(exc)} | ({"field": exc.field} if exc.field else {})
        return web.json_response(body, status=exc.status)
    except web.HTTPException:
        raise
    except MissingRow:
        # A row the request named went away between its check and its read: the caller is
        # told it is not there, and the log says which route did not name it itself.
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
