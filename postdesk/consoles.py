"""Open a console: connect to the running engine, or run one in-process (standalone mode).

Standalone mode is the embedded default: with no engine reachable and a local data dir, the
engine runs in the console's own event loop and logs to a file so the screen stays clean.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from engine.client import EngineClient, EngineError, EngineUnavailable
from engine.config import Settings
from postdesk.access import check_own_data_dir, denied
from postdesk.cli import configure_logging

log = logging.getLogger(__name__)


def client_factory(socket: Path, default_as: str | None) -> Callable[[str | None], EngineClient]:
    def make(username: str | None) -> EngineClient:
        return EngineClient(socket, act_as=username or default_as)

    return make


async def _reachable(settings: Settings) -> bool:
    async with EngineClient(settings.socket) as probe:
        try:
            await probe.me()
        except EngineUnavailable as exc:
            refused = denied(exc, settings.socket)
            if refused is not None:
                raise refused from exc
            return False
        except EngineError:
            return True  # it answered, only not for us: the console will say why
    return True


async def _console(settings: Settings, mode: str | None, act_as: str | None) -> int:
    from console.app import PostdeskApp
    from console.config import load_console_config

    engine = None
    if not await _reachable(settings):
        from engine.engine import Engine

        check_own_data_dir(settings.home, settings.socket, settings.socket_group)
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        configure_logging(False, settings.home / "engine.log")
        engine = Engine(settings)
        await engine.start()
    try:
        app = PostdeskApp(
            client_factory(settings.socket, act_as), mode=mode, config=load_console_config()
        )
        await app.run_async()
        return app.return_code or 0
    finally:
        if engine is not None:
            await engine.stop()


def run_console(settings: Settings, *, mode: str | None, act_as: str | None) -> int:
    try:
        return asyncio.run(_console(settings, mode, act_as))
    except EngineError as exc:
        print(f"postdesk: {exc.message}", file=sys.stderr)
        return 1
