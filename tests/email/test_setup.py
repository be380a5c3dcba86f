"""Setting the e-mail channel up: `app.yaml` checked with lines, `zonedesk check` naming an unset IMAP password,
the server refusing bad settings with a sentence, and staying as it was without them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adapters.email import EmailChannel
from adapters.email.sender import SmtpSettings
from bot.config import ConfigError, load_config
from bot.server import StartupError, build_services, create_app
from tests.conftest import ROOT

SAMPLE = (ROOT / "app.yaml").read_text(encoding="utf-8")
IT_LINE = "    description: Accounts, laptops, software and access.\n"


def _config(tmp_path: Path, it: str = "", tail: str = "") -> Path:
    text = SAMPLE.replace(IT_LINE, IT_LINE + it, 1)
    path = tmp_path / "app.yaml"
    path.write_text(text + tail, encoding="utf-8")
    return path


def test_a_zone_address_and_mailbox_load(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, "    email: IT@Nordlys.example\n    imap: {host: imap.nordlys.example, "
                                           "user: it@nordlys.example, password_env: IMAP_IT}\n"))
    zone = config.zone("it")
    assert zone is not None and zone.email == "it@nordlys.example" and zone.imap is not None
    assert (zone.imap.port, zone.imap.folder, zone.imap.tls) == (993, "INBOX", True)
    assert config.email.automatic_per_hour == 10


@pytest.mark.parametrize(("it", "tail", "path", "message"), [
    ("    email: not-an-address\n", "", "zones[1].email", "expected an e-mail address"),
    ("    imap: {host: h, user: u, password_env: IMAP_IT}\n", "", "zones[1].imap",
     "needs the zone's email address too"),
    ("    email: it+x@nordlys.example\n", "", "zones[1].email", "has no '+'"),
    ("    email: it@nordlys.example\n    imap: {host: h, user: u, password: secret}\n", "", "zones[1].imap",
     "password_env"),
    ("", "\nemail: {domains: ['@nordlys.example']}\n", "email.domains", "is not a domain"),
    ("", "\nemail: {max_recipients: 0}\n", "email.max_recipients", "greater than or equal to 1"),
    ("", "\nemail: {smtp: x}\n", "email.smtp", "unknown key"),
])
def test_bad_mail_settings_are_named_with_their_key(tmp_path: Path, it: str, tail: str, path: str,
                                                   message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, it, tail=tail))
    text = str(caught.value)
    assert path in text and message in text, text


def test_two_zones_with_one_address_are_refused(tmp_path: Path) -> None:
    text = SAMPLE.replace(IT_LINE, IT_LINE + "    email: desk@nordlys.example\n", 1)
    text = text.replace("  - id: hr\n    name: HR\n", "  - id: hr\n    name: HR\n    email: desk@nordlys.example\n", 1)
    assert "email: desk@nordlys.example" in text.split("- id: hr", 1)[1]
    path = tmp_path / "app.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="already the address of zone 'it'"):
        load_config(path)


def test_check_names_an_unset_imap_password(tmp_path: Path) -> None:
    import shutil

    _config(tmp_path, "    email: it@nordlys.example\n    imap: {host: imap.nordlys.example, user: it@nordlys.example, "
                      "password_env: ZD_TEST_IMAP_IT}\n")
    shutil.copytree(ROOT / "forms", tmp_path / "forms")
    shutil.copytree(ROOT / "saved_replies", tmp_path / "saved_replies")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "check", "--config", str(tmp_path / "app.yaml")],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert "ZD_TEST_IMAP_IT is not set" in done.stdout + done.stderr
    assert "zones[1].imap.password_env" in done.stdout + done.stderr


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://127.0.0.1:2525", SmtpSettings("127.0.0.1", 2525)),
    ("smtp://relay.nordlys.example", SmtpSettings("relay.nordlys.example", 25)),
    ("smtps://desk%40nordlys.example:p%3Ass@mail.nordlys.example", SmtpSettings(
        "mail.nordlys.example", 465, "desk@nordlys.example", "p:ss", True)),
])
def test_smtp_urls(url: str, expected: SmtpSettings) -> None:
    assert SmtpSettings.from_url(url) == expected


@pytest.mark.parametrize(("env", "says"), [
    ({"ZONEDESK_SMTP_URL": "http://relay:25"}, "ZONEDESK_SMTP_URL must be smtp://"),
    ({"ZONEDESK_SMTP_URL": "smtp://user:secret@relay:notaport"}, "port that is not a number"),
    ({"ZONEDESK_SMTP_LISTEN": "2525"}, "ZONEDESK_SMTP_LISTEN must be HOST:PORT"),
])
async def test_bad_settings_stop_the_server_with_a_sentence(tmp_path: Path, sqlite_url: str, env: dict[str, str],
                                                           says: str) -> None:
    env = {"ZONEDESK_SECRET_KEY": "test-secret-key-0123456789abcdef", **env}
    services = build_services(ROOT / "app.yaml", sqlite_url, env=env)
    try:
        with pytest.raises(StartupError) as caught:
            await create_app(services, env=env, background=False)
        assert says in str(caught.value) and "secret" not in str(caught.value)
    finally:
        await services.engine.dispose()


async def test_without_its_variables_the_channel_is_not_mounted(sqlite_url: str) -> None:
    env = {"ZONEDESK_SECRET_KEY": "test-secret-key-0123456789abcdef"}
    assert not EmailChannel().configured(env)
    services = build_services(ROOT / "app.yaml", sqlite_url, env=env)
    try:
        app = await create_app(services, env=env, background=False)
        assert "email" not in services.channels and "email" not in services.extras
        assert not any(r.resource is not None and "/mail/" in r.resource.canonical for r in app.router.routes())
    finally:
        await services.engine.dispose()
