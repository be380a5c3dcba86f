"""The `zonedesk` command: serve, db upgrade, login-link, check, and the data commands."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.config import ConfigError

log = logging.getLogger("zonedesk")


def _config_path(value: str | None) -> Path:
    return Path(value or os.environ.get("ZONEDESK_CONFIG") or "app.yaml")


def _setup_logging() -> None:
    level = os.environ.get("ZONEDESK_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "aiohttp.access", "slack_bolt", "msrest", "botbuilder", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


async def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.scheduler import install
    from bot.server import CHANNELS, build_services, create_app, prepare_database

    services = build_services(_config_path(args.config))
    await prepare_database(services)
    install(services)  # timers follow every change; the tick runs unless ZONEDESK_SCHEDULER=off
    app = await create_app(services)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    # Everything loaded so far (modules, config, the app) lives as long as the process: keep it out of
    # the cyclic collector, whose full passes over it stalled the loop ~80 ms (bench/slack_ack.py p99).
    gc.collect()
    gc.freeze()
    channels: tuple[str, ...] = app[CHANNELS]
    print(f"Zonedesk is serving on http://{args.host}:{args.port}/ (portal at /, agent desk at /desk; "
          f"channels: {', '.join(channels)})", flush=True)
    print("Sign in with a one-time link: zonedesk login-link you@example.com", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    return 0


async def _login_link(args: argparse.Namespace) -> int:
    from bot.people.signin import SignIn
    from bot.server import build_services

    services = build_services(_config_path(args.config))
    from bot.server import prepare_database

    await prepare_database(services)
    base = args.base_url or services.config.organisation.base_url
    link = await SignIn(services.sessions, services.clock, services.secret_key, base).create_link(args.email)
    await services.engine.dispose()
    print(link)
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot import store

    store.upgrade(os.environ.get("ZONEDESK_DATABASE_URL") or store.DEFAULT_DATABASE_URL)
    print("database is up to date")
    return 0


def _check(args: argparse.Namespace) -> int:
    from bot.config import load_config

    path = _config_path(args.config)
    problems: list[str] = []
    try:
        config = load_config(path)
    except ConfigError as exc:
        problems += [str(p) for p in exc.problems]
        config = None
    if config is not None:
        try:
            load_catalog = __import__("bot.catalog", fromlist=["load_catalog"]).load_catalog
        except ImportError:  # forms and saved replies arrive with their feature
            load_catalog = None
        if load_catalog is not None:
            try:
                load_catalog(config, path.resolve().parent)
            except ConfigError as exc:
                problems += [str(p) for p in exc.problems]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"{path}: configuration is valid")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="zonedesk", description="An internal service desk for Slack and Teams.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (web portal, Slack and Teams when configured)")
    serve.add_argument("--config", help="path to app.yaml (default: ./app.yaml or $ZONEDESK_CONFIG)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations ($ZONEDESK_DATABASE_URL)")
    link = sub.add_parser("login-link", help="print a one-time sign-in link for a person")
    link.add_argument("email")
    link.add_argument("--config")
    link.add_argument("--base-url", help="override organisation.base_url for the link")
    check = sub.add_parser("check", help="validate app.yaml, forms/ and saved_replies/")
    check.add_argument("--config")
    for extension in _extensions():
        extension(sub)
    return parser


def _extensions() -> list[Callable[[Any], None]]:
    """Sub-commands that live beside their feature (seed, export-form...), registered if present."""
    found = []
    for module in ("bot.store.seed", "bot.catalog.exports", "bot.store.backup"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ImportError:
            continue
        found.append(mod.register)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `zonedesk` console script."""
    _setup_logging()
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return asyncio.run(_serve(args))
        if args.command == "db":
            return _db_upgrade(args)
        if args.command == "login-link":
            return asyncio.run(_login_link(args))
        if args.command == "check":
            return _check(args)
        handler = getattr(args, "handler", None)
        if handler is not None:
            return int(handler(args))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Exception as exc:
        from bot.server import StartupError

        if isinstance(exc, StartupError):
            print(f"zonedesk: {exc}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
