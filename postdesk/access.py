"""Why this OS user cannot reach the engine, in words that say what to do about it.

Agents reach the engine through its socket, mode 0660 and owned by the socket group
(`POSTDESK_SOCKET_GROUP`). A user outside that group must be told which group to join: not
shown a traceback, and not given a second engine of their own in a data dir that is not theirs.
"""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path

from engine.client import EngineError, EngineUnavailable


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _group(gid: int) -> grp.struct_group | None:
    try:
        return grp.getgrgid(gid)
    except KeyError:
        return None


def _blocking(path: Path) -> tuple[Path, os.stat_result] | None:
    """The first directory on the way that we may not pass, or the socket if we may not write
    to it, with its stat; None when nothing on the way refuses us (any more)."""
    for step in [*reversed(path.parents), path]:
        try:
            st = step.stat()
        except OSError:
            return None
        if not os.access(step, os.W_OK if step == path else os.X_OK):
            return step, st
    return None


def socket_denied_message(socket: Path) -> str:
    """One line: the socket refused us; the group to join, and how."""
    user = _user()
    found = _blocking(socket)
    if found is None:
        return f"you ({user}) may not open the Postdesk engine's socket {socket}"
    where, st = found
    group = _group(st.st_gid)
    name = group.gr_name if group else str(st.st_gid)
    what = "socket" if where == socket else f"socket (the directory {where} refuses you)"
    if group is not None and user in group.gr_mem and st.st_gid not in os.getgroups():
        return (
            f"you ({user}) were added to the group {name} after this login: log out and in "
            f"again to use the Postdesk engine's {what} {socket}"
        )
    return (
        f"you ({user}) may not open the Postdesk engine's {what} {socket}: it is for the group "
        f"{name}; ask an administrator to add you (usermod -aG {name} {user}), then log in again"
    )


def denied(exc: EngineUnavailable, socket: Path) -> EngineError | None:
    """The engine is there but its socket refused us: an error that must not be taken for a
    missing engine (that would start a second one)."""
    if isinstance(exc.__cause__, PermissionError):
        return EngineError(socket_denied_message(socket))
    return None


def check_socket_group(group: str) -> None:
    """Before an engine starts: it can hand its socket to `group` only as a member of it."""
    if not group:
        return
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise EngineError(
            f"POSTDESK_SOCKET_GROUP={group}: there is no such group "
            f"(create it: groupadd --system {group})"
        ) from None
    if os.geteuid() == 0 or gid == os.getegid() or gid in os.getgroups():
        return
    user = _user()
    raise EngineError(
        f"the engine runs as {user}, who is not in the socket group {group} and so cannot give "
        f"it the socket: usermod -aG {group} {user} (or SupplementaryGroups={group} in the "
        "systemd unit), then start the engine again"
    )


def check_own_data_dir(home: Path, socket: Path, group: str = "") -> None:
    """Before running an engine in-process: the data dir must be ours to write, else the
    installation's engine is simply not running and a second one must not start."""
    check_socket_group(group)
    target = home if home.exists() else next((p for p in home.parents if p.exists()), home)
    try:
        owner_uid = target.stat().st_uid
    except OSError:
        owner_uid = -1
    try:
        owner = pwd.getpwuid(owner_uid).pw_name
    except KeyError:
        owner = "another user"
    if os.geteuid() == 0 and home.exists() and owner_uid != 0:
        # Root may write anywhere, but files it created there (database, key) would lock the
        # installation's own engine out of them.
        raise EngineError(
            f"no Postdesk engine answers at {socket}, and the data dir {home} belongs to "
            f"{owner}: start the engine first (systemctl start postdesk), or run this as "
            f"{owner} (runuser -u {owner} -- postdesk ...) so the files it creates stay theirs"
        )
    if os.access(target, os.W_OK | os.X_OK):
        return
    raise EngineError(
        f"no Postdesk engine answers at {socket}, and the data dir {home} belongs to {owner}: "
        "ask an administrator to start the engine (systemctl start postdesk)"
    )
