"""The control API knows who calls from the kernel (SO_PEERCRED), not from anything sent.

A child process switches to the OS user `nobody` and speaks raw HTTP on the engine's socket:
unknown OS users are refused with a clear message, a Postdesk user named like the OS user is
recognised without any password, and a non-operator can neither act as someone else nor use
routes beyond its role.
"""

from __future__ import annotations

import asyncio
import grp
import json
import os
import pwd
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.api.schemas import UserIn
from engine.client import EngineClient
from engine.config import Settings
from engine.engine import Engine
from tests import db_probe

NOBODY = pwd.getpwnam("nobody")


def _request_as_nobody(socket_path: Path, path: str, headers: dict[str, str]) -> tuple[int, dict]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, one raw HTTP request, report, exit
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY.pw_gid)
            os.setuid(NOBODY.pw_uid)
            extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(str(socket_path))
                sock.sendall(
                    f"GET {path} HTTP/1.1\r\nHost: postdesk\r\n{extra}"
                    "Connection: close\r\n\r\n".encode()
                )
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
            os.write(write_end, b"".join(chunks))
        except BaseException as exc:  # report anything, never return into pytest
            os.write(write_end, f"CHILD ERROR {exc!r}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    data = b""
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1"), data[:300]
    return int(head.split()[1]), json.loads(body)


async def as_nobody(socket_path: Path, path: str, **headers: str) -> tuple[int, dict]:
    return await asyncio.to_thread(_request_as_nobody, socket_path, path, headers)


@pytest.fixture
async def shared_engine() -> AsyncIterator[Engine]:
    root = Path(tempfile.mkdtemp(prefix="postdesk-ident-"))
    os.chmod(root, 0o711)
    group = grp.getgrgid(NOBODY.pw_gid).gr_name
    engine = Engine(Settings(home=root / "home", socket_group=group))
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


async def test_os_users_are_identified_by_the_kernel(shared_engine: Engine) -> None:
    sock = shared_engine.socket_path
    assert oct(sock.stat().st_mode & 0o777) == "0o660"
    assert oct(shared_engine.settings.home.stat().st_mode & 0o777) == "0o711"
    if not db_probe.is_postgresql(shared_engine.settings):  # a file only on SQLite
        assert (shared_engine.settings.home / "postdesk.db").stat().st_mode & 0o077 == 0

    status, body = await as_nobody(sock, "/api/v1/me")
    assert status == 403
    assert "'nobody' is not a Postdesk user" in body["error"]
    assert "postdesk ctl user add nobody" in body["error"]

    async with EngineClient(sock) as operator:
        await operator.add_user(UserIn(username="nobody", roles=["agent"]))
        await operator.add_user(UserIn(username="agent1", roles=["agent"]))

    status, body = await as_nobody(sock, "/api/v1/me")
    assert (status, body["username"], body["roles"], body["operator"]) == (
        200,
        "nobody",
        ["agent"],
        False,
    )
    status, body = await as_nobody(sock, "/api/v1/me", **{"X-Postdesk-User": "agent1"})
    assert status == 403 and "may not act as another user" in body["error"]
    status, body = await as_nobody(sock, "/api/v1/monitor")
    assert status == 403 and "supervisor" in body["error"]
    status, body = await as_nobody(sock, "/api/v1/interactions?scope=all")
    assert status == 403
