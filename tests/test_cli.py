"""The `zonedesk` command as an administrator runs it: what it prints where, what it refuses, what --help says."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
SECRET = "cli-test-secret-key-0123456789abcdef"


def _zonedesk(*args: str, database: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ZONEDESK_")}
    environment.update(ZONEDESK_DATABASE_URL=f"sqlite+aiosqlite:///{database}", ZONEDESK_SECRET_KEY=SECRET,
                       ZONEDESK_CONFIG=str(ROOT / "app.yaml"), **env)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60,
                          env=environment, cwd=ROOT)


def test_login_link_prints_the_link_alone_on_stdout(tmp_path: Path) -> None:
    """Issue 16 #11: `LINK=$(zonedesk login-link ...)` gets the link, not Alembic's seven INFO lines."""
    done = _zonedesk("login-link", "Zack@Nordlys.example", database=tmp_path / "fresh.db")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"http://127\.0\.0\.1:3000/login/[A-Za-z0-9_.-]+\n", done.stdout), done.stdout
    assert "alembic" not in done.stderr and "INFO" not in done.stderr  # a fresh database was migrated quietly


def test_asking_for_the_logs_shows_them_on_stderr_only(tmp_path: Path) -> None:
    done = _zonedesk("login-link", "zack@nordlys.example", database=tmp_path / "fresh.db", ZONEDESK_LOG_LEVEL="INFO")
    assert done.returncode == 0
    assert done.stdout.count("\n") == 1 and "/login/" in done.stdout
    assert "alembic.runtime.migration" in done.stderr


@pytest.mark.parametrize("typed", ["not-an-email", "", "  ", "zack@nordlys", "zack nordlys@example.com", "@example.com",
                                   "zack@", "a@b@c.example", "x" * 250 + "@example.com"])
def test_login_link_refuses_what_is_not_an_email_address(tmp_path: Path, typed: str) -> None:
    database = tmp_path / "never.db"
    done = _zonedesk("login-link", typed, database=database)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "is not an e-mail address" in done.stderr and "Traceback" not in done.stderr
    assert not database.exists()  # refused before anything was created


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(prefix or "zonedesk", parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _subcommands(sub, f"{prefix} {name}".strip())
    return found


def test_every_option_of_every_subcommand_has_help() -> None:
    missing = [f"{name}: {'/'.join(action.option_strings) or action.dest}"
               for name, parser in _subcommands(build_parser())
               for action in parser._actions
               if not isinstance(action, argparse._SubParsersAction) and not action.help]
    assert missing == []


def test_help_shows_the_defaults() -> None:
    serve = dict(_subcommands(build_parser()))["serve"].format_help()
    assert "address to listen on (default: 127.0.0.1)" in serve and "(default: 3000)" in serve


def _skip_reason(**env: str) -> str:
    """The PostgreSQL tests' skip reason as a test run with this environment reports it."""
    environment = {k: v for k, v in os.environ.items() if k != "ZONEDESK_TEST_POSTGRES_URL"}
    environment.update(env)
    environment.pop("CI", None)  # CI refuses to run at all when its database is unreachable
    probe = "from tests.conftest import database_params; print(database_params()[1].marks[1].kwargs['reason'])"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=environment)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_postgres_skip_reason_says_what_is_missing() -> None:
    """Issue 16 #15: "not reachable" only when a URL is set and does not answer; never the URL (a password)."""
    assert _skip_reason() == "ZONEDESK_TEST_POSTGRES_URL is not set (CI sets it)"
    unreachable = "postgresql+asyncpg://zonedesk:s3cret@127.0.0.1:9/zonedesk"  # the discard port: refused at once
    reason = _skip_reason(ZONEDESK_TEST_POSTGRES_URL=unreachable)
    assert reason == "ZONEDESK_TEST_POSTGRES_URL is set, but that PostgreSQL server is not reachable"
    assert "s3cret" not in reason
