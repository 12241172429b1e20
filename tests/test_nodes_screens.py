"""The live view of an agent's screen across engine nodes: a supervisor on node B watches an
agent whose console is on node A. The agent's console is told who watches, its frames reach
the supervisor whole (a full frame of a large terminal is bigger than a NOTIFY payload), and
when the watch ends the agent is told and its frames stop.

Several nodes need PostgreSQL whatever the run: run once (tests/conftest.py: test_nodes_*)."""

from __future__ import annotations

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
from tests.nodes import Stream, nodes
from tests.postgres_server import PostgresServer


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
