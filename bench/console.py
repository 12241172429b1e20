"""bench/console: the agent console's cold start and thread opening, against minimal Textual apps.

A real engine on real SQLite (in a temp dir) is seeded through its data layer with 500 assigned
interactions for one agent, one of them a 200-message thread whose messages each quote the one
before. Then, in the same run:

1. Cold start: from spawning a fresh Python process to the first painted frame that shows
   the 500 rows. The reference is a minimal Textual app, a DataTable filled with 500 rows
   from memory; Postdesk is `PostdeskApp` in agent mode, logging in over the engine socket
   and loading the inbox as it always does. Both run headless in subprocesses, so imports
   count for both. Median of --runs, run alternately. The same is measured for the command
   an agent types, `postdesk --data-dir D agent` (argument parsing, settings, the engine
   reachability check, then the same console), with the terminal swapped for headless.
2. Opening the thread: from pressing Enter on the 200-message interaction (80 columns: the
   thread opens full width and is loaded by Enter) to the first frame that shows its newest
   message. Postdesk fetches it from the engine and builds the thread view (which gives only
   the newest messages a widget); the reference mounts 200 Statics with the same texts from
   memory, as a naive thread view would. Median of --opens, each after opening another
   interaction, so the thread is fetched and built again every time.

"Painted" is observed by wrapping `App._display`, which Textual calls with every composited
frame (also headless), and checking the compositor's visible widgets. Targets (issue): first
paint within 1.5x of the minimal app; opening the thread under 100 ms.

    uv run python -m bench.console [--runs 5] [--opens 7]

The probes run this file again (`--probe ...`), so everything heavy is imported inside the
functions that need it: each probe pays for its own imports only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

INTERACTIONS = 500
THREAD_MESSAGES = 200
SIZE = (80, 24)
AGENT = "agent1"
PARAGRAPH = (
    "Hello, I am writing about my order. The parcel was supposed to arrive last week and "
    "the tracking page has not changed since. Could you please check with the carrier?"
)


# ---- the data, shared by the seeding and the minimal reference ----


def reply_text(n: int) -> str:
    """Message `n` of the long thread: a short answer quoting the previous message."""
    if n == 0:
        return _own_text(0)
    quoted = "\n".join(f"> {line}" if line else ">" for line in _own_text(n - 1).split("\n"))
    return f"{_own_text(n)}\n\nOn Mon, 3 Mar 2025 at 10:{n % 60:02d}, Someone wrote:\n{quoted}"


def _own_text(n: int) -> str:
    return f"Message {n}: {PARAGRAPH}\n\nBest regards,\n{'Carol' if n % 2 == 0 else 'Support'}"


def inbox_row(n: int) -> tuple[str, str, str, str, str]:
    return ("•" if n % 7 == 0 else " ", "Support", f"Customer {n}", f"Order {n} missing", "5m")


# ---- probes: one fresh process each ----


def _watch_paint(app: Any, painted: Callable[[], bool], on_paint: Callable[[float], None]) -> None:
    """Call `on_paint(time)` for every composited frame for which `painted()` holds."""
    display = app._display

    def spy(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is not None and painted():
            on_paint(time.monotonic())

    app._display = spy


def _visible(app: Any, widget: Any) -> bool:
    return widget in app.screen._compositor.visible_widgets


def probe_minimal_start() -> dict[str, float]:
    from rich.text import Text
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    imported = time.monotonic()

    class Minimal(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(cursor_type="row", zebra_stripes=True)

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns(" ", "Campaign", "Client", "Subject", "Waiting")
            for n in range(INTERACTIONS):
                table.add_row(*(Text(cell) for cell in inbox_row(n)), key=str(n))

    app = Minimal()
    times: dict[str, float] = {"imported": imported}

    def painted() -> bool:
        table = app.query_one(DataTable)
        return table.row_count == INTERACTIONS and _visible(app, table)

    return _run_until_painted(app, painted, times)


def _run_until_painted(
    app: Any, painted: Callable[[], bool], times: dict[str, float]
) -> dict[str, float]:
    """Run `app` headless until the first frame where `painted()` holds; its moment is
    `times["painted"]`."""

    def done(moment: float) -> None:
        times.setdefault("painted", moment)
        app.exit()

    _watch_paint(app, painted, done)
    app.run(headless=True, size=SIZE)
    return times


def probe_postdesk_start(socket: str) -> dict[str, float]:
    from console.app import PostdeskApp
    from console.screens.agent import AgentScreen
    from engine.client import EngineClient

    imported = time.monotonic()
    app = PostdeskApp(lambda _user: EngineClient(Path(socket), act_as=AGENT), mode="agent")
    times: dict[str, float] = {"imported": imported}

    def painted() -> bool:
        times.setdefault("first frame", time.monotonic())
        screen = app.screen
        if not isinstance(screen, AgentScreen):
            return False
        times.setdefault("agent screen", time.monotonic())
        return screen.inbox.row_count == INTERACTIONS and _visible(app, screen.inbox)

    return _run_until_painted(app, painted, times)


def probe_command_start(home: str) -> dict[str, float]:
    import console.app
    from console.screens.agent import AgentScreen
    from postdesk.cli import main

    times: dict[str, float] = {}
    run_async = console.app.PostdeskApp.run_async

    async def headless(app: Any, **_: Any) -> None:
        def painted() -> bool:
            screen = app.screen
            return (
                isinstance(screen, AgentScreen)
                and screen.inbox.row_count == INTERACTIONS
                and _visible(app, screen.inbox)
            )

        def done(moment: float) -> None:
            times.setdefault("painted", moment)
            app.exit()

        _watch_paint(app, painted, done)
        await run_async(app, headless=True, size=SIZE)

    console.app.PostdeskApp.run_async = headless  # type: ignore[method-assign]
    main(["--data-dir", home, "agent", "--as", AGENT])
    return times


async def _open_and_time(pilot: Any, armed: dict[str, Any], runs: int, reset: Any) -> list[float]:
    """Press Enter `runs` times (after `reset()` each time); seconds until `armed` fired."""
    timings: list[float] = []
    for _ in range(runs):
        await reset()
        armed["at"] = None
        armed["on"] = True
        started = time.monotonic()
        await pilot.press("enter")
        while armed["at"] is None:
            if time.monotonic() - started > 30:
                raise SystemExit("the thread was never painted")
            await pilot.pause(0.005)
        armed["on"] = False
        timings.append(armed["at"] - started)
        await pilot.press("escape")
        await pilot.pause(0.05)
    return timings


def probe_postdesk_thread(socket: str, big: int, small: int, runs: int) -> list[float]:
    from console.app import PostdeskApp
    from console.screens.agent import AgentScreen
    from engine.client import EngineClient

    app = PostdeskApp(lambda _user: EngineClient(Path(socket), act_as=AGENT), mode="agent")
    armed: dict[str, Any] = {"on": False, "at": None}

    newest = f"Message {THREAD_MESSAGES - 1}:"

    def thread_painted() -> bool:
        if not armed["on"] or armed["at"] is not None:
            return False
        screen = app.screen
        if not isinstance(screen, AgentScreen):
            return False
        thread = screen.thread
        rows = thread.messages.children
        # The console may mount only the newest messages: the newest one on screen counts.
        last = rows[-1] if rows and thread.interaction_id == big else None
        message = getattr(last, "message", None)
        return message is not None and message.text.startswith(newest) and _visible(app, last)

    def fired(moment: float) -> None:
        armed["at"] = moment

    _watch_paint(app, thread_painted, fired)

    async def run() -> list[float]:
        async with app.run_test(size=SIZE) as pilot:
            while not isinstance(app.screen, AgentScreen) or len(app.screen.inbox) == 0:
                await pilot.pause(0.05)
            inbox, thread = app.screen.inbox, app.screen.thread

            async def reset() -> None:
                # Open another interaction first, so the big one is fetched and built anew.
                inbox.move_cursor(row=inbox.order.index(small))
                await pilot.press("enter")
                while thread.interaction_id != small:
                    await pilot.pause(0.01)
                await pilot.press("escape")
                inbox.move_cursor(row=inbox.order.index(big))
                await pilot.pause(0.05)

            return await _open_and_time(pilot, armed, runs, reset)

    return asyncio.run(run())


def probe_minimal_thread(runs: int) -> list[float]:
    from rich.text import Text
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.widgets import DataTable, Static

    texts = [Text(f"← In  Customer  2025-03-03\n\n{reply_text(n)}") for n in range(THREAD_MESSAGES)]
    armed: dict[str, Any] = {"on": False, "at": None}

    class Minimal(App[None]):
        CSS = "Static { margin-bottom: 1; } VerticalScroll { display: none; }"
        BINDINGS = [("escape", "close_thread", "Back")]

        def compose(self) -> ComposeResult:
            yield DataTable(cursor_type="row")
            yield VerticalScroll()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns(" ", "Campaign", "Client", "Subject", "Waiting")
            for n in range(INTERACTIONS):
                table.add_row(*(Text(cell) for cell in inbox_row(n)), key=str(n))

        def on_data_table_row_selected(self) -> None:
            scroll = self.query_one(VerticalScroll)
            self.query_one(DataTable).display = False
            scroll.display = True
            scroll.mount_all(Static(text, markup=False) for text in texts)
            scroll.scroll_end(animate=False, immediate=False)
            scroll.focus()

        def action_close_thread(self) -> None:
            scroll = self.query_one(VerticalScroll)
            scroll.remove_children()
            scroll.display = False
            self.query_one(DataTable).display = True
            self.query_one(DataTable).focus()

    app = Minimal()

    def thread_painted() -> bool:
        if not armed["on"] or armed["at"] is not None:
            return False
        rows = app.query_one(VerticalScroll).children
        return len(rows) == THREAD_MESSAGES and _visible(app, rows[-1])

    def fired(moment: float) -> None:
        armed["at"] = moment

    _watch_paint(app, thread_painted, fired)

    async def run() -> list[float]:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.1)

            async def reset() -> None:
                await pilot.pause(0.05)

            return await _open_and_time(pilot, armed, runs, reset)

    return asyncio.run(run())


def run_probe(args: argparse.Namespace) -> None:
    kind = args.probe
    result: object
    if kind == "minimal-start":
        result = probe_minimal_start()
    elif kind == "postdesk-start":
        result = probe_postdesk_start(args.socket)
    elif kind == "command-start":
        result = probe_command_start(args.home)
    elif kind == "minimal-thread":
        result = probe_minimal_thread(args.opens)
    else:
        result = probe_postdesk_thread(args.socket, args.big, args.small, args.opens)
    print(json.dumps(result))


# ---- the parent: engine, data, probes, figures ----


async def seed(engine: Any) -> tuple[int, int]:
    """500 assigned interactions for the agent; returns (the long thread's id, another id)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, select

    from data.models import Direction, Interaction, InteractionState, Message, MessageState, User
    from engine.api.schemas import CampaignIn, UserIn
    from engine.client import EngineClient

    async with EngineClient(engine.socket_path) as operator:
        await operator.add_user(UserIn(username=AGENT, display_name="Agent One", roles=["agent"]))
        campaign = await operator.add_campaign(
            CampaignIn(
                name="Support",
                email_address="support@postdesk.test",
                inbound="none",
                smtp_host="127.0.0.1",
                smtp_security="plain",
                check=False,  # no SMTP server: the benchmark sends nothing
            )
        )
        await operator.add_member("Support", AGENT)
    start = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    async with engine.db.session() as session, session.begin():
        agent_id = (await session.execute(select(User.id).where(User.username == AGENT))).scalar()
        rows = [
            {
                "campaign_id": campaign.id,
                "agent_id": agent_id,
                "state": InteractionState.ASSIGNED,
                "client_email": f"customer{n}@example.net",
                "client_name": f"Customer {n}",
                "subject": f"Order {n} missing",
                "unread": n % 7 == 0,
                "queued_at": start,
                "assigned_at": start,
                "last_message_at": start + timedelta(minutes=n),
            }
            for n in range(INTERACTIONS)
        ]
        await session.execute(insert(Interaction), rows)
        ids = list(
            (await session.execute(select(Interaction.id).order_by(Interaction.id))).scalars()
        )
        big, small = ids[0], ids[1]

        def message(interaction_id: int, n: int, text: str) -> dict[str, object]:
            inbound = n % 2 == 0
            return {
                "interaction_id": interaction_id,
                "direction": Direction.INBOUND if inbound else Direction.OUTBOUND,
                "state": MessageState.RECEIVED if inbound else MessageState.SENT,
                "message_id": f"<bench-{interaction_id}-{n}@example.net>",
                "from_email": "carol@example.net" if inbound else "support@postdesk.test",
                "from_name": "Carol Customer" if inbound else "Postdesk Support",
                "to": ["support@postdesk.test"] if inbound else ["carol@example.net"],
                "subject": "Order missing",
                "text": text,
                "created_at": start + timedelta(minutes=n),
                "sent_at": None if inbound else start + timedelta(minutes=n),
            }

        messages = [message(big, n, reply_text(n)) for n in range(THREAD_MESSAGES)]
        messages += [message(i, 0, reply_text(0)) for i in ids[1:]]
        await session.execute(insert(Message), messages)
    return big, small


async def spawn(*args: str) -> Any:
    """Run one probe in a fresh interpreter; returns its JSON and when it was spawned."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.console",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"probe {args[1]} failed:\n{err.decode(errors='replace')}")
    return started, json.loads(out.decode().strip().splitlines()[-1])


async def measure(runs: int, opens: int) -> dict[str, Any]:
    from engine.config import Settings
    from engine.engine import Engine

    work = Path(tempfile.mkdtemp(prefix="postdesk-bench-console-"))
    engine = Engine(Settings(home=work / "home"), run_mail=False)
    await engine.start()
    try:
        big, small = await seed(engine)
        socket = str(engine.socket_path)
        starts: dict[str, list[dict[str, float]]] = {"minimal": [], "postdesk": [], "command": []}
        for _ in range(runs):
            for kind, args in (
                ("minimal", ("--probe", "minimal-start")),
                ("postdesk", ("--probe", "postdesk-start", "--socket", socket)),
                ("command", ("--probe", "command-start", "--home", str(engine.settings.home))),
            ):
                spawned, times = await spawn(*args)
                starts[kind].append({name: t - spawned for name, t in times.items()})
        _, minimal_opens = await spawn("--probe", "minimal-thread", "--opens", str(opens))
        _, postdesk_opens = await spawn(
            "--probe", "postdesk-thread", "--socket", socket, "--opens", str(opens),
            "--big", str(big), "--small", str(small),
        )  # fmt: skip
    finally:
        await engine.stop()
        shutil.rmtree(work, ignore_errors=True)
    return {"starts": starts, "opens": {"minimal": minimal_opens, "postdesk": postdesk_opens}}


def median_of(samples: list[dict[str, float]], name: str) -> float:
    return statistics.median(s[name] for s in samples if name in s)


def report(figures: dict[str, Any], runs: int, opens: int) -> None:
    starts, thread = figures["starts"], figures["opens"]
    minimal = median_of(starts["minimal"], "painted")
    postdesk = median_of(starts["postdesk"], "painted")
    width, height = SIZE
    print(
        f"inbox: {INTERACTIONS} interactions; thread: {THREAD_MESSAGES} messages; "
        f"terminal {width}x{height}, headless"
    )
    print(f"cold start to first painted inbox (median of {runs}, spawn to paint)")
    print(
        f"  minimal textual: {minimal * 1000:6.0f} ms"
        f"  (imports done at {median_of(starts['minimal'], 'imported') * 1000:.0f} ms)"
    )
    steps = ", ".join(
        f"{name} {median_of(starts['postdesk'], name) * 1000:.0f} ms"
        for name in ("imported", "first frame", "agent screen")
    )
    print(f"  postdesk:        {postdesk * 1000:6.0f} ms  ({steps})")
    print(f"  ratio:           {postdesk / minimal:6.2f}x minimal (target <= 1.5x)")
    command = median_of(starts["command"], "painted")
    print(
        f"  postdesk agent:  {command * 1000:6.0f} ms  (the command, with its argument parsing,"
        f" settings and engine check: {command / minimal:.2f}x)"
    )
    minimal_open = statistics.median(thread["minimal"])
    postdesk_open = statistics.median(thread["postdesk"])
    print(f"opening the {THREAD_MESSAGES}-message thread, Enter to painted (median of {opens})")
    print(f"  minimal textual: {minimal_open * 1000:6.0f} ms  (200 Statics from memory)")
    print(
        f"  postdesk:        {postdesk_open * 1000:6.0f} ms  (target < 100 ms; "
        f"all: {', '.join(f'{t * 1000:.0f}' for t in thread['postdesk'])})"
    )
    print(f"  ratio:           {postdesk_open / minimal_open:6.2f}x minimal")
    print(f"target console-cold-start: {postdesk / minimal:.2f} x (goal <= 1.5)")
    print(f"target thread-open: {postdesk_open * 1000:.0f} ms (goal < 100)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="cold starts of each app")
    parser.add_argument("--opens", type=int, default=7, help="thread openings of each app")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--socket", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--big", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--small", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        run_probe(args)
        return
    figures = asyncio.run(measure(args.runs, args.opens))
    report(figures, args.runs, args.opens)


if __name__ == "__main__":
    main()
