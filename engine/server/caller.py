"""Who is calling: the OS user on the other end of the Unix socket (SO_PEERCRED), the
Postdesk user they are, and the roles every route checks.

An agent who logged in over SSH runs the console as their own OS user; the kernel tells us that
uid, so no second password is needed. The engine's own OS user and root are operators: they may
act as any Postdesk user through the `X-Postdesk-User` header (the demo's role switcher, tests
and `postdesk ctl`), and without it they hold every role.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from aiohttp import web

from engine.errors import Forbidden, NotFound
from engine.server.listener import is_operator, os_user_name, peer_credentials
from engine.services.people.identity import Identity

ACT_AS_HEADER = "X-Postdesk-User"
ALL_ROLES = ("admin", "supervisor", "agent")


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

    @property
    def sees_all(self) -> bool:
        """Supervisors and admins see every interaction; agents their own."""
        return "supervisor" in self.roles or "admin" in self.roles


CALLER = web.RequestKey("caller", Caller)


def not_a_user(os_name: str) -> str:
    return (
        f"OS user {os_name!r} is not a Postdesk user; an admin can add it with "
        f"'postdesk ctl user add {os_name}'"
    )


def peer_uid(request: web.Request) -> int:
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is None or sock.family != socket.AF_UNIX:
        raise Forbidden("the control API only accepts local Unix-socket callers")
    return peer_credentials(sock)[1]


async def identify(request: web.Request, identity: Identity) -> Caller:
    uid = peer_uid(request)
    os_name = os_user_name(uid)
    operator = is_operator(uid)
    act_as = request.headers.get(ACT_AS_HEADER, "")
    if act_as and not operator:
        raise Forbidden(f"OS user {os_name} may not act as another user")
    user = await identity.user(act_as or os_name)
    if user is not None:
        return Caller(os_name, user.id, user.username, user.roles, operator)
    if act_as:
        raise NotFound(f"no Postdesk user {act_as!r}")
    if operator:
        return Caller(os_name, None, os_name, ALL_ROLES, True)
    raise Forbidden(not_a_user(os_name))
