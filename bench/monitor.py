"""bench/monitor: the live view of an agent's screen (issue 15, docs/supervisor.md).

A real engine (no mail) with one agent whose long thread is open in a real agent console, run
headless in its own process (so its CPU is its own), and a supervisor watching through the
engine client's event stream, as the supervisor's console does. Measured:

- latency: the agent scrolls one line at a time, like a person reading (a step every
  ~0.6 s); from the change on the agent's screen until the watcher holds the same rows
  (p50, p99);
- frames and bytes a second the engine relays while the agent scrolls without pause (a line
  every 50 ms);
- the agent console's CPU while it scrolls, unwatched and watched (process time / wall time),
  and the frames it sent unwatched (the goal: none).

    uv run python -m bench.monitor [--seconds 10] [--steps 40] [--size 120x36]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

AGENT = "agent1"
SUPERVISOR = "super1"
MESSAGES = 60


def reply_text(n: int) -> str:
    lines = [f"Message {n}, line {i}: the parcel, the invoice and the refund." for i in range(6)]
    return "\n".join(lines)


# ---- the agent's console, in its own process ----
async def agent_child(socket: str, size: tuple[int, int]) -> None:
    from console.app import PostdeskApp
    from console.screen_share import capture
    from console.screens.agent import AgentScreen
    from engine.client import EngineClient
    from tests.console_helpers import screen_text, settle, until

    app = PostdeskApp(lambda _u: EngineClient(Path(socket), act_as=AGENT), mode="agent")
    loop = asyncio.get_running_loop()

    def say(value: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: "Order 1 missing" in screen_text(app), what="the inbox")
        screen = app.screen
        assert isinstance(screen, AgentScreen)
        await pilot.press("enter")
        await until(pilot, lambda: "Message 59, line 0" in screen_text(app), what="the thread")
        scroller = max(screen.query("*"), key=lambda w: w.max_scroll_y)
        direction = 1

        def step() -> None:
            nonlocal direction
            if not 0 <= scroller.scroll_y + direction <= scroller.max_scroll_y:
                direction = -direction
            scroller.scroll_relative(y=direction, animate=False, immediate=True)

        say({"ready": True, "scroll_max": scroller.max_scroll_y})
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
            if not line or line[0] == "quit":
                return
            if line[0] == "step":
                app.call_later(step)
                await settle(pilot)
                rows = [strip.text.rstrip() for strip in capture(app)]
                say({"t": time.time(), "rows": rows})
            elif line[0] == "scroll":
                seconds = float(line[1])
                sharer = screen.screen_share
                sent = sharer.frames_sent
                cpu, wall = time.process_time(), time.monotonic()
                while time.monotonic() - wall < seconds:
                    app.call_later(step)
                    await pilot.pause(0.05)
                say(
                    {
                        "cpu": time.process_time() - cpu,
                        "wall": time.monotonic() - wall,
                        "frames": sharer.frames_sent - sent,
                        "watched": sharer.watched,
                    }
                )


# ---- the engine and the watcher ----
async def seed(engine: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, select

    from data.models import Direction, Interaction, InteractionState, Message, MessageState, User
    from engine.api.schemas import CampaignIn, UserIn
    from engine.client import EngineClient

    async with EngineClient(engine.socket_path) as operator:
        await operator.add_user(
            UserIn(
                username=AGENT,
                display_name="Agent One",
                roles=["agent"],
                screen_monitoring_allowed=True,
            )
        )
        await operator.add_user(
            UserIn(username=SUPERVISOR, display_name="Sam Supervisor", roles=["supervisor"])
        )
        campaign = await operator.add_campaign(
            CampaignIn(
                name="Support",
                email_address="support@postdesk.test",
                inbound="none",
                smtp_host="127.0.0.1",
                smtp_security="plain",
                check=False,
            )
        )
        await operator.add_member("Support", AGENT)
    start = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    async with engine.db.session() as session, session.begin():
        agent_id = (await session.execute(select(User.id).where(User.username == AGENT))).scalar()
        await session.execute(
            insert(Interaction),
            [
                {
                    "campaign_id": campaign.id,
                    "agent_id": agent_id,
                    "state": InteractionState.ASSIGNED,
                    "client_email": "carol@example.net",
                    "client_name": "Carol Customer",
                    "subject": "Order 1 missing",
                    "unread": False,
                    "queued_at": start,
                    "assigned_at": start,
                    "last_message_at": start,
                }
            ],
        )
        [interaction_id] = (await session.execute(select(Interaction.id))).scalars()
        await session.execute(
            insert(Message),
            [
                {
                    "interaction_id": interaction_id,
                    "direction": Direction.INBOUND if n % 2 == 0 else Direction.OUTBOUND,
                    "state": MessageState.RECEIVED if n % 2 == 0 else MessageState.SENT,
                    "message_id": f"<bench-{n}@example.net>",
                    "from_email": "carol@example.net",
                    "from_name": "Carol Customer",
                    "to": ["support@postdesk.test"],
                    "subject": "Order 1 missing",
                    "text": reply_text(n),
                    "created_at": start + timedelta(minutes=n),
                    "sent_at": None if n % 2 == 0 else start + timedelta(minutes=n),
                }
                for n in range(MESSAGES)
            ],
        )


class Watcher:
    """What a supervisor's console holds: the rows of the agent's screen, from the frames."""

    def __init__(self) -> None:
        self.rows: list[str] = []
        self.frames = 0
        self.bytes = 0
        self.arrivals: list[float] = []
        self.changed = asyncio.Event()
        self.hello = asyncio.Event()

    async def run(self, client: Any) -> None:
        from engine.api.schemas import Hello, ScreenChanged, encode

        async for event in client.events():
            if isinstance(event, Hello):
                self.hello.set()
            if not isinstance(event, ScreenChanged):
                continue
            frame = event.frame
            self.frames += 1
            self.arrivals.append(time.monotonic())
            self.bytes += len(encode(event)) + 1  # one NDJSON line
            if frame.full or len(self.rows) != frame.height:
                self.rows = [""] * frame.height
            for line in frame.lines:
                self.rows[line.y] = "".join(text for text, _ in line.spans).rstrip()
            self.changed.set()


async def measure(args: argparse.Namespace) -> None:
    from engine.client import EngineClient
    from engine.config import Settings
    from engine.engine import Engine

    work = Path(tempfile.mkdtemp(prefix="postdesk-bench-monitor-"))
    engine = Engine(Settings(home=work / "home"), run_mail=False)
    await engine.start()
    child = None
    try:
        await seed(engine)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.monitor",
            "--agent-child",
            str(engine.socket_path),
            "--size",
            args.size,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**24,
        )
        assert child.stdin is not None and child.stdout is not None

        async def ask(command: str) -> dict[str, Any]:
            assert child is not None and child.stdin is not None and child.stdout is not None
            child.stdin.write(command.encode() + b"\n")
            await child.stdin.drain()
            return dict(json.loads(await child.stdout.readline()))

        ready = json.loads(await child.stdout.readline())
        print(f"agent console {args.size}, thread of {MESSAGES} messages, ready: {ready}")

        unwatched = await ask(f"scroll {args.seconds}")
        parent_cpu = time.process_time()
        async with EngineClient(engine.socket_path, act_as=SUPERVISOR) as supervisor:
            watcher = Watcher()
            listening = asyncio.create_task(watcher.run(supervisor))
            await asyncio.wait_for(watcher.hello.wait(), 10)  # listening before watching
            watching = await supervisor.watch("screen", AGENT)
            while not watcher.rows:
                await asyncio.wait_for(watcher.changed.wait(), 10)
                watcher.changed.clear()

            latencies = []
            for _ in range(args.steps):
                shown = await ask("step")
                # The rows the scroll moves: the status bar's clock ticks on its own.
                wanted, changed_at = shown["rows"][1:-2], shown["t"]
                while watcher.rows[1:-2] != wanted:
                    watcher.changed.clear()
                    try:
                        await asyncio.wait_for(watcher.changed.wait(), 10)
                    except TimeoutError as exc:
                        diff = [
                            (y, a, b)
                            for y, (a, b) in enumerate(
                                zip(watcher.rows[1:-2], wanted, strict=False)
                            )
                            if a != b
                        ]
                        message = f"the watcher never saw the agent's rows: {diff[:3]}"
                        raise SystemExit(message) from exc
                latencies.append(time.time() - changed_at)
                await asyncio.sleep(0.6)

            frames, sent = watcher.frames, watcher.bytes
            watcher.arrivals = []
            parent_cpu, parent_wall = time.process_time(), time.monotonic()
            watched = await ask(f"scroll {args.seconds}")
            relayed_frames = watcher.frames - frames
            relayed_bytes = watcher.bytes - sent
            engine_cpu = time.process_time() - parent_cpu
            engine_wall = time.monotonic() - parent_wall
            await supervisor.end_watch(watching.id)
            listening.cancel()
        child.stdin.write(b"quit\n")
        await child.stdin.drain()
        await child.wait()
    finally:
        if child is not None and child.returncode is None:
            child.kill()
        await engine.stop()

    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))] * 1000
    # The rate between the first and the last frame of the run: counting frames over the
    # run's wall time would also count one already on its way when it started.
    arrived = watcher.arrivals
    fps = (len(arrived) - 1) / (arrived[-1] - arrived[0]) if len(arrived) > 1 else 0.0
    bps = relayed_bytes / watched["wall"]
    cpu_off = 100 * unwatched["cpu"] / unwatched["wall"]
    cpu_on = 100 * watched["cpu"] / watched["wall"]
    print(f"latency over {len(latencies)} scroll steps: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print(
        f"scrolling a line every 50 ms for {watched['wall']:.1f} s: {relayed_frames} frames"
        f" relayed ({fps:.1f}/s), {relayed_bytes / 1000:.0f} kB ({bps / 1000:.1f} kB/s)"
    )
    print(
        f"agent console CPU while scrolling: {cpu_off:.1f}% unwatched"
        f" ({unwatched['frames']} frames sent), {cpu_on:.1f}% watched ({watched['frames']} sent)"
    )
    print(f"engine + watcher process CPU while relaying: {100 * engine_cpu / engine_wall:.1f}%")
    print(f"target monitor-latency-p99: {p99:.0f} ms (goal <= 1000)")
    print(f"target monitor-frames-per-s: {fps:.1f} frames/s (goal <= 4)")
    print(f"target monitor-unwatched-frames: {unwatched['frames']} frames (goal == 0)")
    print(f"target monitor-cpu-watched-minus-unwatched: {cpu_on - cpu_off:.1f} % (goal <= 10)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--size", default="120x36")
    parser.add_argument("--agent-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    if args.agent_child:
        asyncio.run(agent_child(args.agent_child, (width, height)))
    else:
        asyncio.run(measure(args))


if __name__ == "__main__":
    main()
