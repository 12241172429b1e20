"""The `postdesk` command: the one composition root that wires consoles, engine and scripting.

Kept thin on purpose: it parses arguments, finds or starts an engine, and hands over to the
console app, the engine or the `ctl` commands (postdesk/ctl.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from postdesk import __version__

if TYPE_CHECKING:
    from engine.config import Settings


def _say(text: str) -> None:
    """An error line on stderr, through the terminal sanitiser: an error may quote what a
    stranger wrote (a mail's header in a refusal), and stderr is a terminal."""
    from engine.text.sanitize import sanitize

    print(sanitize(text), file=sys.stderr)


def _add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS if suppress else None,
        help="data directory (default: $POSTDESK_HOME or the platform's user data dir)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="log more",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="postdesk", description="Terminal email contact center.")
    parser.add_argument("--version", action="version", version=f"postdesk {__version__}")
    _add_global_options(parser, suppress=False)
    # Every subcommand accepts the global options too (`postdesk engine --data-dir D`); their
    # default is SUPPRESS so that a subparser never overwrites a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser(
        "engine",
        parents=[common],
        help="run the engine in the foreground (SIGINT/SIGTERM stops it)",
    )
    sub.add_parser(
        "web",
        parents=[common],
        help="run the public web service (rating pages, tracking image, unsubscribe): "
        "POSTDESK_WEB_BIND, POSTDESK_WEB_BASE_URL",
    )
    for mode in ("agent", "supervisor", "admin"):
        p = sub.add_parser(mode, parents=[common], help=f"open the {mode} console")
        p.add_argument(
            "--as", dest="act_as", default=None, help="operators only: act as this Postdesk user"
        )
    sub.add_parser(
        "keys",
        parents=[common],
        help="print every console key binding id with its default keys (for console.toml)",
    )
    demo = sub.add_parser(
        "demo", parents=[common], help="standalone engine with a simulated mail world"
    )
    demo.add_argument("--keep", action="store_true", help="keep the throwaway data dir")
    demo.add_argument("--headless-seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    from postdesk.ctl import add_ctl_parser

    add_ctl_parser(sub, common)
    return parser


def _private_log(path: Path) -> logging.Handler:
    """A log file only its owner reads, like the rest of the data dir: logs name customers,
    agents and mailboxes. One written before logs were private is made so."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        if os.fstat(fd).st_uid == os.geteuid():
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    return logging.FileHandler(path)


class _TerminalSafeFormatter(logging.Formatter):
    """A log line is read on a terminal (stderr, `tail -f engine.log`) and quotes strangers
    (a failed write's parameters, a server's reply): it goes through the terminal sanitiser,
    so escape sequences and bidi overrides are shown as nothing, never run."""

    def format(self, record: logging.LogRecord) -> str:
        from engine.text.sanitize import sanitize

        return sanitize(super().format(record))


def configure_logging(verbose: bool, log_file: Path | None = None) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    if log_file is not None:
        try:
            handler = _private_log(log_file)
        except OSError:  # no data dir yet, or not ours to write: log only problems, to stderr
            level = logging.WARNING
    handler.setFormatter(_TerminalSafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # alembic.runtime.plugins: seven "setup plugin" lines on every engine start.
    for noisy in ("aioimaplib", "aiosqlite", "asyncio", "mail.log", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from engine.config import SettingsError, settings_for

    try:
        settings = settings_for(args.data_dir)
    except SettingsError as exc:
        _say(f"postdesk: {exc}")
        return 2
    command = args.command
    if command == "engine":
        configure_logging(args.verbose)
        return asyncio.run(_run_engine(settings))
    if command == "web":
        configure_logging(args.verbose)
        return asyncio.run(_run_web(settings))
    if command == "demo":
        from postdesk.demo import run_demo

        return run_demo(keep=args.keep, headless_seconds=args.headless_seconds)
    if command == "keys":
        from console.config import keys_listing

        print(keys_listing(), end="")
        return 0
    if command == "ctl":
        from postdesk.ctl import run_ctl

        configure_logging(args.verbose, settings.home / "ctl.log" if not args.verbose else None)
        return run_ctl(settings, args)
    mode = command if command in ("agent", "supervisor", "admin") else None
    from postdesk.consoles import run_console

    return run_console(settings, mode=mode, act_as=getattr(args, "act_as", None))


async def _run_web(settings: Settings) -> int:
    """The public web service in this process, apart from the engine: see docs/web.md."""
    from engine.config import SettingsError
    from engine.services.customer.feedback import CustomerFeedback, SchemaBehind
    from engine.web.app import serve

    try:
        host, port = settings.web_host_port
        feedback = await CustomerFeedback.open(settings.db_url)
    except (SettingsError, SchemaBehind) as exc:
        _say(f"postdesk: {exc}")
        return 1
    await serve(
        feedback,
        host=host,
        port=port,
        base_url=settings.web_url,
        rate=settings.web_rate,
        burst=settings.web_burst,
        trusted=settings.web_trusted_proxies,
    )
    return 0


async def _run_engine(settings: Settings) -> int:
    from data.secrets import SecretError
    from engine.client import EngineError
    from engine.engine import Engine, EngineAlreadyRunning
    from postdesk.access import check_socket_group

    try:
        check_socket_group(settings.socket_group)
    except EngineError as exc:
        _say(f"postdesk: {exc.message}")
        return 1
    try:
        await Engine(settings).serve_forever()
    except (EngineAlreadyRunning, SecretError) as exc:
        _say(f"postdesk: {exc}")
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
