"""The live view of an agent's screen across engine nodes: a supervisor on node B watches an
agent whose console is on node A. The agent's console is told who watches, its frames reach
the supervisor whole (a full frame of a large terminal is bigger than a NOTIFY payload), and
when the watch ends the agent is told and its frames stop.

Several nodes need PostgreSQL whatever the run: run once (tests/conftest.py: test_nodes_*)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.api.schemas import (
    ScreenChanged,
    ScreenFrame,
    ScreenLine,
    ScreenWatchers,
    UserIn,
    UserPatch,
    encode,
)
from engine.client import EngineClient
from engine.engine import Engine
from tests.engine_fixtures import engine_settings, eventually
from tests.nodes import Stream, nodes
from tests.patience import PATIENCE
from tests.postgres_server import PostgresServer

BEAT = 0.5  # seconds of presence beat: a console's lease is three


def _frame(width: int, height: int, tag: str) -> ScreenFrame:
    """Every row, each in its own style: a big terminal's full frame is ~40 KB of JSON."""
    lines = [
        ScreenLine(y=y, spans=[(f"{tag} row {y} ".ljust(width, "."), y % 4)]) for y in range(height)
    ]
    styles = ["", "bold", "reverse", "#ff8800 on #202020"]
    return ScreenFrame(
        width=width, height=height, full=True, source="c1", styles=styles, lines=lines
    )


async def test_a_supervisor_on_another_node_watches_an_agents_screen(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    async with nodes(tmp_path, postgres.new_database(), 2) as (a, b):
        async with EngineClient(a.socket_path) as op:
            await op.add_user(UserIn(username="ann", display_name="Ann", roles=["agent"]))
            await op.add_user(UserIn(username="sue", display_name="Sue", roles=["supervisor"]))
            await op.update_user("ann", UserPatch(screen_monitoring_allowed=True))
        async with (
            EngineClient(a.socket_path, act_as="ann") as ann,  # ann's console: node A
            EngineClient(b.socket_path, act_as="sue") as sue,  # sue's: node B
            Stream(ann) as ann_stream,
            Stream(sue) as sue_stream,
        ):
            assert (await ann.send_screen(_frame(80, 24, "before"))).watched is False
            watch = await sue.watch("screen", "ann")
            told = await ann_stream.until(
                lambda e: isinstance(e, ScreenWatchers) and e.watchers == ["Sue"],
                "Sue named to ann's console on node A",
            )
            big = _frame(200, 60, "full")
            assert len(big.lines[0].spans[0][0]) == 200
            sent = time.monotonic()
            assert (await ann.send_screen(big)).watched is True
            got = await sue_stream.until(
                lambda e: (
                    isinstance(e, ScreenChanged) and e.frame.lines[0].spans[0][0][:4] == "full"
                ),
                "ann's full frame on sue's stream (node B)",
            )
            took = time.monotonic() - sent
            assert isinstance(got, ScreenChanged)
            assert got.agent == "ann" and got.to == ["sue"]
            assert got.frame == big  # whole: every row, every style
            small = ScreenFrame(
                width=200,
                height=60,
                source="c1",
                styles=[""],
                lines=[ScreenLine(y=3, spans=[("typing a reply", 0)])],
            )
            assert (await ann.send_screen(small)).watched is True
            await sue_stream.until(
                lambda e: isinstance(e, ScreenChanged) and not e.frame.full,
                "a diff frame after it",
            )
            await sue.end_watch(watch.id)
            await ann_stream.until(
                lambda e: (
                    isinstance(e, ScreenWatchers)
                    and e.watchers == []
                    and e.generation > told.generation  # type: ignore[attr-defined]
                ),
                "nobody watches, told to ann's console",
            )
            assert (await ann.send_screen(small)).watched is False  # the console stops
            # Nothing reaches sue once the watch ended.
            frames = [e for e in sue_stream.events if isinstance(e, ScreenChanged)]
            assert len(frames) == 2
            async with EngineClient(b.socket_path) as op:
                audit = await op.audit()
            assert [(r.kind, r.actor, r.subject) for r in audit] == [("screen", "sue", "ann")]
            assert audit[0].ended_at is not None
            size = len(encode(big))
            assert size > 8000  # more than one NOTIFY payload
            print(f"\na 200x60 full frame ({size:,} bytes of JSON) crossed in {took:.3f} s")


async def test_the_screen_views_of_a_node_that_died_end(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    url = postgres.new_database()
    a = Engine(engine_settings(tmp_path / "a", database_url=url, node_name="a", presence_beat=BEAT))
    await a.start()
    node_b: subprocess.Popen[bytes] | None = None
    try:
        async with EngineClient(a.socket_path) as op:
            await op.add_user(UserIn(username="ann", display_name="Ann", roles=["agent"]))
            await op.add_user(UserIn(username="sue", display_name="Sue", roles=["supervisor"]))
            await op.update_user("ann", UserPatch(screen_monitoring_allowed=True))
        home_b = tmp_path / "b"
        with open(tmp_path / "b.log", "ab") as stderr:
            node_b = subprocess.Popen(
                [sys.executable, "-m", "postdesk.cli", "--data-dir", str(home_b), "engine"],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env={
                    **os.environ,
                    "POSTDESK_DATABASE_URL": url,
                    "POSTDESK_NODE_NAME": "b",
                    "POSTDESK_PRESENCE_BEAT": str(BEAT),
                },
            )
        b_socket = engine_settings(home_b, database_url=url).socket
        await eventually(lambda: asyncio.sleep(0, b_socket.exists()), bool, what="node B")
        async with (
            EngineClient(a.socket_path, act_as="ann") as ann,
            EngineClient(b_socket, act_as="sue") as sue,
            Stream(ann) as ann_stream,
        ):
            sue_stream = await Stream(sue).__aenter__()  # sue's console is on node B
            await sue.watch("screen", "ann")
            await ann_stream.until(
                lambda e: isinstance(e, ScreenWatchers) and e.watchers == ["Sue"], "Sue named"
            )
            node_b.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            node_b.wait(timeout=PATIENCE)
            with contextlib.suppress(Exception):
                await sue_stream.__aexit__()
            await ann_stream.until(
                lambda e: isinstance(e, ScreenWatchers) and e.watchers == [],
                "nobody watches any more, told to ann's console",
            )
            took = time.monotonic() - killed
            assert took <= 4 * BEAT + 1.0, took  # the console lease: three beats
            assert (await ann.send_screen(_frame(80, 24, "after"))).watched is False
            async with EngineClient(a.socket_path) as op:
                [row] = await op.audit()
            assert (row.actor, row.subject, row.ended_at is not None) == ("sue", "ann", True)
            print(
                f"\nnode B killed: sue's view of ann ended {took:.2f} s after (lease {3 * BEAT} s)"
            )
    finally:
        if node_b is not None and node_b.poll() is None:
            node_b.kill()
            node_b.wait()
        await a.stop()
