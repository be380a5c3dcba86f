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

from bot.config import AppConfig, ConfigError
from bot.errors import DeskError

log = logging.getLogger("zonedesk")


def _config_path(value: str | None) -> Path:
    return Path(value or os.environ.get("ZONEDESK_CONFIG") or "app.yaml")


def _setup_logging(command: str | None = None) -> None:
    """Logs go to stderr, so what a command prints on stdout (a link, a CSV) is its output alone.

    `serve` logs at INFO; the other commands only warn unless ZONEDESK_LOG_LEVEL says otherwise.
    Alembic's progress lines (seven on a fresh database) only show when ZONEDESK_LOG_LEVEL asks for them.
    """
    chosen = os.environ.get("ZONEDESK_LOG_LEVEL", "").strip().upper()
    level = chosen or ("INFO" if command == "serve" else "WARNING")
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "aiohttp.access", "slack_bolt", "msrest", "botbuilder", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    if not chosen:
        logging.getLogger("alembic").setLevel(logging.WARNING)


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
    from bot.people.signin import SignIn, email_address
    from bot.server import build_services, prepare_database

    email = email_address(args.email)  # refused before anything is opened or migrated
    services = build_services(_config_path(args.config))
    try:
        await prepare_database(services)
        base = args.base_url or services.config.organisation.base_url
        link = await SignIn(services.sessions, services.clock, services.secret_key, base).create_link(email)
    finally:
        await services.engine.dispose()
    print(link)
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot import store

    store.upgrade(os.environ.get("ZONEDESK_DATABASE_URL") or store.DEFAULT_DATABASE_URL)
    print("database is up to date")
    return 0


def _readable_config(path: Path) -> AppConfig | None:
    """The configuration as far as its schema holds, even when its cross-references do not (so forms can
    still be checked against its zones and teams); None when not even the schema does."""
    from pydantic import ValidationError

    from bot.config import load_yaml

    try:
        data, _ = load_yaml(path)
        return AppConfig.model_validate(data)
    except (ConfigError, ValidationError, ValueError):
        return None


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _check(args: argparse.Namespace) -> int:
    """Validate app.yaml, forms/ and saved_replies/ in one run; list every problem and say what was checked."""
    from bot.catalog import check_catalog
    from bot.config import load_config, secret_problems

    path = _config_path(args.config)
    problems: list[str] = []
    config: AppConfig | None
    try:
        config = load_config(path)
    except ConfigError as exc:
        problems += [str(p) for p in exc.problems]
        config = _readable_config(path)
    if config is not None:  # secrets app.yaml names but this environment lacks (single sign-on's client secret)
        problems += [str(p) for p in secret_problems(path, config, os.environ)]
    checked = check_catalog(config, path.resolve().parent)
    problems += [str(p) for p in checked.problems]
    # Languages a form or saved reply lacks somewhere, and placeholders that differ between its templates:
    # the desk runs with them (the default language is read instead), but an operator fixes them here.
    problems += [str(p) for p in checked.languages]
    read = f" ({_count(len(config.zones), 'zone', 'zones')}, {_count(len(config.teams), 'team', 'teams')})" \
        if config is not None else ""
    summary = (f"checked {path}{read}, {_count(checked.form_files, 'form', 'forms')}, "
               f"{_count(checked.reply_files, 'saved reply', 'saved replies')}")
    if not problems:
        print(f"{summary}: no problems")
        return 0
    for problem in problems:
        print(problem, file=sys.stderr)
    if config is None and (checked.form_files or checked.reply_files):
        print(f"(forms and saved replies were checked on their own; what they name in {path.name} is checked "
              "once its problems above are fixed)", file=sys.stderr)
    print(f"{summary}: {_count(len(problems), 'problem', 'problems')} found", file=sys.stderr)
    return 1


CONFIG_HELP = "path to app.yaml (default: ./app.yaml or $ZONEDESK_CONFIG)"
# Help for the arguments of sub-commands registered beside their feature that came without one; keyed by
# (command, argument) or by the argument alone when it means the same everywhere.
EXTENSION_HELP: dict[tuple[str, str] | str, str] = {
    "config": CONFIG_HELP,
    ("seed", "requests"): "how many requests to create (default: %(default)s)",
    ("export", "file"): "the file to write (JSON Lines; it holds what people wrote: keep it safe)",
    ("import", "file"): "a file written by `zonedesk export`",
    ("erase", "person"): "the e-mail address of the person to erase",
}


def build_parser() -> argparse.ArgumentParser:
    """The command line; every argument of every sub-command says what it is in --help."""
    parser = argparse.ArgumentParser(prog="zonedesk", description="An internal service desk for Slack and Teams.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (web portal, Slack and Teams when configured)")
    serve.add_argument("--config", help=CONFIG_HELP)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=3000, help="port to listen on (default: %(default)s)")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations ($ZONEDESK_DATABASE_URL)")
    link = sub.add_parser("login-link", help="print a one-time sign-in link for a person")
    link.add_argument("email", help="the e-mail address the link signs in, e.g. you@example.com")
    link.add_argument("--config", help=CONFIG_HELP)
    link.add_argument("--base-url", help="override organisation.base_url for the link")
    check = sub.add_parser("check", help="validate app.yaml, forms/ and saved_replies/")
    check.add_argument("--config", help=CONFIG_HELP)
    for extension in _extensions():
        extension(sub)
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.help is None:
                action.help = EXTENSION_HELP.get((name, action.dest)) or EXTENSION_HELP.get(action.dest)
    return parser


def _extensions() -> list[Callable[[Any], None]]:
    """Sub-commands that live beside their feature (seed, export-form...), registered if present."""
    found = []
    for module in ("bot.store.seed", "bot.catalog.exports", "bot.store.backup", "bot.i18n.catalogues",
                   "bot.analytics.measuring"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ImportError:
            continue
        found.append(mod.register)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `zonedesk` console script."""
    args = build_parser().parse_args(argv)
    _setup_logging(args.command)
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
    except DeskError as exc:  # what the person typed cannot be done (e.g. login-link with no e-mail address)
        print(f"zonedesk {args.command}: {exc.message}", file=sys.stderr)
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
