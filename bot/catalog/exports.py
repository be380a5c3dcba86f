"""`zonedesk export-form FORM [--since DATE] [--output FILE] [--as EMAIL]`: a form's answers as CSV."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path
from typing import Any

from bot.errors import DeskError


def _since(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date (YYYY-MM-DD)") from exc


async def _export(args: argparse.Namespace) -> str:
    from bot.catalog import export_form
    from bot.server import build_services, prepare_database

    services = build_services(Path(args.config or "app.yaml"))
    try:
        await prepare_database(services)
        actor = services.desk.actor(args.as_person, channel="cli") if args.as_person else None
        return await export_form(services.desk, services.catalog, actor, args.form, args.since)
    finally:
        await services.engine.dispose()


def _run(args: argparse.Namespace) -> int:
    try:
        text = asyncio.run(_export(args))
    except DeskError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {text.count(chr(10)) - 1} row(s) to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def register(sub: Any) -> None:
    """Add `zonedesk export-form` to the command line."""
    parser = sub.add_parser("export-form", help="write a form's answers as CSV (one row per request)")
    parser.add_argument("form", help="the form id, e.g. payroll-error")
    parser.add_argument("--since", type=_since, help="only requests filed on or after this date (YYYY-MM-DD)")
    parser.add_argument("--output", help="file to write (default: standard output)")
    parser.add_argument("--as", dest="as_person", metavar="EMAIL",
                        help="export only what this person may see (default: the whole organisation, as admin)")
    parser.add_argument("--config")
    parser.set_defaults(handler=_run)
