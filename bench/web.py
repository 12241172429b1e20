"""bench/web: tracking-image hits per second, Postdesk's public web service against a minimal
aiohttp handler, in one run.

1. The reference: a minimal aiohttp app answering the same 1x1 GIF from memory, nothing
   recorded (the framework's own ceiling on this machine).
2. `postdesk web` itself, as deployed (its own process, limit per client off), on a fresh
   data dir: every hit looks its token up and counts it in the database, committed before
   the answer (SQLite WAL, synchronous=NORMAL: a killed process loses no answered hit).

Both run as separate processes and are loaded the same way from this one (keep-alive
connections, CONCURRENCY requests in flight). Afterwards the counts in the database must equal
the hits answered 200: every hit durable. Target (issue 12): at least 0.5x the minimal handler.

    uv run python -m bench.web [--hits 4000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import aiohttp

from data.db import Database
from data.models import (
    Campaign,
    Direction,
    Interaction,
    Message,
    MessageLink,
    MessageState,
)
from engine.config import Settings
from engine.services.customer.links import new_token
from tests.servers import free_port

MINIMAL = textwrap.dedent(
    """
    import sys
    from aiohttp import web
    from engine.domain.web_links import PIXEL_GIF

    async def pixel(request):
        return web.Response(body=PIXEL_GIF, content_type="image/gif",
                            headers={"Cache-Control": "no-store"})

    app = web.Application()
    app.router.add_get("/p/{token}.gif", pixel)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None,
                print=None)
    """
)


async def prepare(home: Path, tokens: int) -> list[str]:
    """A data dir with one campaign, one interaction and `tokens` sent replies."""
    settings = Settings(home=home)
    home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    await db.upgrade()
    made = [new_token() for _ in range(tokens)]
    async with db.session() as session, session.begin():
        campaign = Campaign(name="Bench", email_address="bench@postdesk.test", smtp_host="x")
        interaction = Interaction(campaign=campaign, client_email="carol@example.net")
        session.add(interaction)
        for token in made:
            message = Message(
                interaction=interaction,
                direction=Direction.OUTBOUND,
                state=MessageState.SENT,
                kind="reply",
                to=["carol@example.net"],
            )
            session.add(MessageLink(message=message, token=token))
    await db.close()
    return made


async def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError(f"nothing listens on {port}")


async def load(port: int, tokens: list[str], hits: int, concurrency: int) -> tuple[float, int]:
    """Hits per second and how many were answered 200."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    ok = 0
    queue = iter(range(hits))

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal ok
        for n in queue:
            url = f"http://127.0.0.1:{port}/p/{tokens[n % len(tokens)]}.gif"
            async with http.get(url) as resp:
                await resp.read()
                ok += resp.status == 200

    async with aiohttp.ClientSession(connector=connector) as http:
        # Warm up the connections (not counted).
        async with http.get(f"http://127.0.0.1:{port}/p/{'x' * 22}.gif") as resp:
            await resp.read()
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return hits / elapsed, ok


def counted(home: Path) -> int:
    conn = sqlite3.connect(f"file:{home / 'postdesk.db'}?mode=ro", uri=True, timeout=10)
    try:
        return int(
            conn.execute("SELECT COALESCE(SUM(seen_count), 0) FROM message_links").fetchone()[0]
        )
    finally:
        conn.close()


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=2000, help="per server and round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=200)
    options = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTDESK_")}
    with tempfile.TemporaryDirectory(prefix="postdesk-bench-web-") as tmp:
        home = Path(tmp) / "home"
        tokens = await prepare(home, options.tokens)
        minimal_port, postdesk_port = free_port(), free_port()
        web_env = env | {
            "POSTDESK_WEB_BIND": f"127.0.0.1:{postdesk_port}",
            "POSTDESK_WEB_RATE": "0",  # the limit per client is off: one client makes all hits
        }
        minimal = start([sys.executable, "-c", MINIMAL, str(minimal_port)], env)
        postdesk = start(
            [sys.executable, "-m", "postdesk.cli", "web", "--data-dir", str(home)], web_env
        )
        # Rounds alternate between the two servers, both up all along, so that a machine
        # busy with other work slows both alike; the figure is the median round's.
        reference: list[float] = []
        ours: list[float] = []
        answered = 0
        try:
            await wait_listening(minimal_port, minimal)
            await wait_listening(postdesk_port, postdesk)
            for _ in range(options.rounds):
                rate, ok = await load(minimal_port, tokens, options.hits, options.concurrency)
                reference.append(rate)
                rate, ok = await load(postdesk_port, tokens, options.hits, options.concurrency)
                ours.append(rate)
                answered += ok
        finally:
            stop(minimal)
            stop(postdesk)
        durable = counted(home)

    ratios = sorted(o / r for o, r in zip(ours, reference, strict=True))
    ratio = statistics.median(ratios)
    print(
        f"hits:     {options.hits} per server in each of {options.rounds} rounds, "
        f"{options.concurrency} in flight"
    )
    print(
        f"minimal:  {statistics.median(reference):8.0f} hits/s (aiohttp handler, nothing recorded)"
    )
    print(
        f"postdesk: {statistics.median(ours):8.0f} hits/s (postdesk web, each counted, committed)"
    )
    print(f"rounds:   {' '.join(f'{r:.2f}' for r in ratios)} x")
    total = options.hits * options.rounds
    print(f"durable:  {durable} of {answered} answered hits counted in the database")
    if durable != answered or answered != total:
        print("FAILED: a hit was answered but not counted, or not answered")
        sys.exit(1)
    print(f"target pixel-vs-aiohttp: {ratio:.2f} x (goal >= 0.5)")


if __name__ == "__main__":
    asyncio.run(main())
