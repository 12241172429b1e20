"""`postdesk demo`: a standalone engine on a throwaway data dir with a simulated mail world.

The console opens on a role switcher (agent Ana, supervisor Sam, admin Ada); the data dir is
removed on exit unless `--keep` is given. Ben Bot, a simulated agent, has a console of his own,
headless, so that Sam can view an agent's screen (`v` on the grid) without a second terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config import Settings
from postdesk.cli import configure_logging
from postdesk.consoles import client_factory

if TYPE_CHECKING:
    from textual.app import App

log = logging.getLogger(__name__)

# Whose console runs headless beside the demo's own (engine.demo_cast.BOTS), at the size of
# the smallest terminal Postdesk supports.
WATCHED_BOT = "ben"
WATCHED_SIZE = (80, 24)

SWITCH_USERS = [
    ("ana", "Ana Alvarez: agent, works the Support queue"),
    ("sam", "Sam Supervisor: watches the agent grid and the queue"),
    ("root-admin", "Ada Admin: campaigns and users"),
]


@contextlib.asynccontextmanager
async def bot_console(socket: Path, username: str = WATCHED_BOT) -> AsyncIterator[App[Any]]:
    """The agent console of a simulated agent, headless, while the block runs: its inbox
    follows what the bot does, and its screen is shared like any console's while a supervisor
    views it."""
    from console.app import PostdeskApp

    app = PostdeskApp(client_factory(socket, username), mode="agent")
    task = asyncio.create_task(app.run_async(headless=True, size=WATCHED_SIZE))
    try:
        yield app
    finally:
        app.exit()
        try:
            await asyncio.wait_for(task, 15)
        except Exception:  # noqa: BLE001 - the demo goes on, and ends, without it
            log.exception("%s's console failed", username)


async def _demo(root: Path, headless_seconds: float) -> int:
    from console.app import PostdeskApp
    from console.config import load_console_config
    from engine.demo import DemoWorld, free_port
    from engine.engine import Engine
    from engine.services.customer.feedback import CustomerFeedback
    from engine.web.app import WebService, build_app

    configure_logging(False, root / "engine.log")
    # The public web service on a free loopback port: links in the demo's mail reach it.
    settings = Settings.from_env(home=root / "data", web_bind=f"127.0.0.1:{free_port()}")
    engine = Engine(settings)
    await engine.start()
    # In this process for the demo's sake; a real installation runs `postdesk web` apart.
    feedback = await CustomerFeedback.open(settings.db_url)
    web = WebService(
        build_app(feedback, base_url=settings.web_url, rate=settings.web_rate, burst=100)
    )
    host, port = settings.web_host_port
    await web.start(host, port)
    world = DemoWorld(engine, root)
    await world.start()
    try:
        app = PostdeskApp(
            client_factory(settings.socket, None),
            switch_users=SWITCH_USERS,
            config=load_console_config(),
        )
        async with bot_console(settings.socket):
            if headless_seconds:
                async with app.run_test(size=(100, 30)):
                    await asyncio.sleep(headless_seconds)
                return 0
            await app.run_async()
            return app.return_code or 0
    finally:
        await world.stop()
        await web.stop()
        await feedback.close()
        await engine.stop()


def run_demo(*, keep: bool, headless_seconds: float = 0.0) -> int:
    root = Path(tempfile.mkdtemp(prefix="postdesk-demo-"))
    try:
        return asyncio.run(_demo(root, headless_seconds))
    finally:
        if keep:
            print(f"demo data kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
