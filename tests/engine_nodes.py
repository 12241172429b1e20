"""Several real engine processes (`postdesk engine`) on one PostgreSQL database: the nodes of
issue 16, for tests that kill one and watch another take over.

Each node has its own data dir (socket, logs, lock) and its own node name; they share the
database URL and one secrets key file (as an installation shares it: POSTDESK_KEY_FILE), so a
campaign password one node stored is usable by all. Blobs are in the database (the default
on PostgreSQL), so what one node stored every node reads.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from engine.client import EngineClient
from engine.config import Settings
from tests import db_probe
from tests.patience import PATIENCE


@dataclass
class Node:
    name: str
    home: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def socket(self) -> Path:
        return self.home / "run" / "engine.sock"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self) -> EngineClient:
        return EngineClient(self.socket)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


class Nodes:
    """Engine processes on the database `url`, sharing the key file under `root`."""

    def __init__(self, root: Path, url: str, **env: str) -> None:
        self.root = root
        self.url = url
        self.env = env  # POSTDESK_* for every node (poll seconds, ...)
        self.key_file = root / "secret.key"
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
        self.nodes: dict[str, Node] = {}
        # For raw SQL on the shared database (tests/db_probe.py).
        self.settings = Settings(home=root / "probe", database_url=url)

    def environment(self, node: Node) -> dict[str, str]:
        env = {
            **os.environ,
            "POSTDESK_DATABASE_URL": self.url,
            "POSTDESK_KEY_FILE": str(self.key_file),
            "POSTDESK_NODE_NAME": node.name,
            "POSTDESK_POLL_SECONDS": "0.5",
            "POSTDESK_OUTBOX_RETRY_BASE": "0.2",
            **self.env,
            **node.extra_env,
        }
        env.pop("POSTDESK_HOME", None)
        return env

    def start(self, name: str, **env: str) -> Node:
        node = self.nodes.get(name) or Node(name, self.root / name, self.root / f"{name}.log")
        node.extra_env.update(env)
        self.nodes[name] = node
        with open(node.log, "ab") as stderr:
            node.process = subprocess.Popen(
                [sys.executable, "-m", "postdesk.cli", "--data-dir", str(node.home), "engine"],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=self.environment(node),
            )
        return node

    async def ready(self, node: Node, timeout: float = PATIENCE) -> None:
        """Wait until the node answers on its socket."""
        deadline = time.monotonic() + timeout
        while True:
            if not node.alive():
                raise AssertionError(f"node {node.name} exited:\n{node.log_tail()}")
            if node.socket.exists():
                try:
                    async with node.client() as client:
                        await client.me()
                    return
                except (OSError, ConnectionError):
                    pass
            if time.monotonic() > deadline:
                raise AssertionError(f"node {node.name} never answered:\n{node.log_tail()}")
            await asyncio.sleep(0.05)

    async def start_all(self, *names: str) -> list[Node]:
        started = [self.start(name) for name in names]
        for node in started:
            await self.ready(node)
        return started

    def kill(self, node: Node) -> None:
        """kill -9: no shutdown, no lease given back."""
        assert node.process is not None
        node.process.send_signal(signal.SIGKILL)
        node.process.wait(timeout=PATIENCE)

    def stop(self, node: Node) -> None:
        if node.process is None or node.process.poll() is not None:
            return
        node.process.send_signal(signal.SIGTERM)
        try:
            node.process.wait(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()

    def stop_all(self) -> None:
        for node in self.nodes.values():
            self.stop(node)

    # ---- what the database says ----
    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return db_probe.rows(self.settings, sql, *args)

    def owners(self) -> dict[int, str | None]:
        """campaign id -> the node holding its lease (unexpired), None if nobody does."""
        found = self.rows(
            "SELECT campaign_id, CASE WHEN expires_at > clock_timestamp() THEN node END"
            " FROM mailbox_leases"
        )
        return {int(c): (str(n) if n is not None else None) for c, n in found}
