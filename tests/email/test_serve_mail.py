"""`zonedesk serve` as a real process with mail in and out: the receiver runs inside it on its own loop, a mail
to a zone's address files a request and its confirmation reaches the relay within seconds."""

from __future__ import annotations

import asyncio
import os
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import aiohttp

from tests.email.conftest import IT, Sink, free_port, mail_config
from tests.slack.conftest import config_variant


async def test_serve_takes_mail_and_answers_it(tmp_path: Path) -> None:
    config = config_variant(tmp_path, mail_config)
    port, smtp_port = free_port(), free_port()
    sink = Sink(free_port())
    sink.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "ZONEDESK_"))}
    env.update(ZONEDESK_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/mail.db", ZONEDESK_SCHEDULER="off",
               ZONEDESK_SMTP_LISTEN=f"127.0.0.1:{smtp_port}", ZONEDESK_SMTP_URL=f"smtp://127.0.0.1:{sink.port}",
               ZONEDESK_SECRET_KEY="serve-secret-key-0123456789abcdef")
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--config", str(config), "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        health: dict[str, object] = {}
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline and not health:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        health = await response.json() if response.status == 200 else {}
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        assert "email" in health["channels"]  # type: ignore[operator]
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "zack@nordlys.example", IT, "Monitor flickers"
        mail["Message-ID"] = "<serve-1@mail.nordlys.example>"
        mail.set_content("Since this morning.")

        def send() -> None:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
                client.send_message(mail)

        await asyncio.to_thread(send)
        assert await asyncio.to_thread(sink.arrived.wait, 30)  # the outbox worker sends it after the commit
        [confirmation] = sink.to("zack@nordlys.example")
        assert confirmation["Subject"] == "Re: [#1] Monitor flickers"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
        await asyncio.to_thread(sink.stop)
    assert server.returncode == 0, output
    assert "Traceback" not in output
    assert "channel email: mounted" in output and f"SMTP receiver listening on 127.0.0.1:{smtp_port}" in output
