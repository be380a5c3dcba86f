"""`zonedesk serve` as a real process: migrates an empty database, reports health, says what it mounts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_migrates_an_empty_database_and_reports_health(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "ZONEDESK_"))}
    env.update(ZONEDESK_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/fresh.db", ZONEDESK_SCHEDULER="off")
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(ROOT / "app.yaml"), "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline and status != 200:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        status = response.status
                        health = await response.json()
                except aiohttp.ClientConnectionError:
                    await __import__("asyncio").sleep(0.1)
            assert status == 200 and health["database"] == "ok" and "web" in health["channels"]
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                metrics = await response.text()
            assert "zonedesk_outbox_pending 0.0" in metrics and "zonedesk_http_requests_total" in metrics
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert "Traceback" not in output, "a clean stop logs no stack"
    assert (tmp_path / "fresh.db").exists()
    assert "empty database: creating the schema" in output
    assert "channel slack: not configured, not mounted" in output
    assert "channel teams: not configured, not mounted" in output
    key = tmp_path / ".zonedesk-secret-key"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"
    assert "generated one and kept it in" in output
