"""Running one `postdesk ctl` command: against the running engine, or an in-process engine
without mail services when none runs (provisioning before the first start)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from engine.api.schemas import (
    ConnectionReport,
    SchemaError,
)
from engine.client import EngineClient, EngineError, EngineUnavailable
from engine.config import Settings
from engine.text.sanitize import sanitize
from postdesk.access import check_own_data_dir, denied
from postdesk.ctl.commands import dispatch, read_secrets
from postdesk.ctl.db import run_db
from postdesk.ctl.errors import CtlInputError
from postdesk.ctl.oauth import failed as oauth_failed
from postdesk.ctl.output import print_result


async def _ctl(settings: Settings, args: argparse.Namespace) -> Any:
    read_secrets(args)
    client = EngineClient(settings.socket, act_as=args.act_as)
    try:
        return await dispatch(client, args)
    except EngineUnavailable as exc:
        refused = denied(exc, settings.socket)
        if refused is not None:
            raise refused from exc
        if settings.socket.exists() and _engine_lock_held(settings):
            raise
    finally:
        await client.close()
    # No engine: run one without mail services just for this command.
    from engine.engine import Engine, EngineAlreadyRunning

    check_own_data_dir(settings.home, settings.socket, settings.socket_group)

    engine = Engine(settings, run_mail=False)
    try:
        await engine.start()
    except EngineAlreadyRunning as exc:  # an engine holds the lock but is not answering (yet)
        # No engine.stop() here: it would unlink the other engine's socket.
        raise EngineUnavailable(f"{exc}, but it does not answer on {settings.socket}") from exc
    try:
        async with EngineClient(settings.socket, act_as=args.act_as) as client:
            return await dispatch(client, args)
    finally:
        await engine.stop()


def _engine_lock_held(settings: Settings) -> bool:
    import fcntl

    lock = settings.socket.parent / "engine.lock"
    if not lock.exists():
        return False
    with open(lock, "rb") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def run_ctl(settings: Settings, args: argparse.Namespace) -> int:
    if args.group == "db":  # the engine stopped, the database copied (postdesk/ctl/db.py)
        return run_db(settings, args)
    try:
        result = asyncio.run(_ctl(settings, args))
    except SchemaError as exc:
        print(sanitize(f"postdesk ctl: invalid input: {exc}"), file=sys.stderr)
        return 2
    except CtlInputError as exc:
        print(sanitize(f"postdesk ctl: {exc}"), file=sys.stderr)
        return 2
    except EngineError as exc:
        print(sanitize(f"postdesk ctl: {exc.message}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C, e.g. while `campaign authorize` waits
        print("postdesk ctl: interrupted", file=sys.stderr)
        return 130
    try:
        print_result(result, args.json)
        sys.stdout.flush()
    except BrokenPipeError:
        # `postdesk ctl ... | head`: the reader left; that is not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if isinstance(result, ConnectionReport) and not result.ok:
        return 1  # a failed connection test fails the command, so scripts can check it
    if oauth_failed(result, args):
        return 1  # the device flow was refused or expired
    return 0
