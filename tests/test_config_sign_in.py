"""`sign_in.oidc` in app.yaml: what single sign-on needs, validated with the line of each mistake, and
`zonedesk check` naming a client secret the environment lacks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, secret_problems

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = (ROOT / "app.yaml").read_text()
GOOD = {
    "issuer": "https://login.example.test/8f1c2d3e-0000-4000-8000-000000000000/v2.0",
    "client_id": "5a6b7c8d-0000-4000-8000-000000000000",
    "client_secret_env": "OIDC_CLIENT_SECRET",
    "label": "Microsoft",
}


def _write(tmp_path: Path, **keys: str) -> Path:
    oidc = {**GOOD, **keys}
    block = "sign_in:\n  oidc:\n" + "".join(f"    {k}: {v}\n" for k, v in oidc.items() if v != "-")
    path = tmp_path / "app.yaml"
    path.write_text(SAMPLE + "\n" + block, encoding="utf-8")
    return path


def test_single_sign_on_is_read_with_its_defaults(tmp_path: Path) -> None:
    oidc = load_config(_write(tmp_path)).sign_in.oidc
    assert oidc is not None and oidc.label == "Microsoft" and oidc.issuer == GOOD["issuer"]
    assert oidc.scopes == ("openid", "email", "profile")
    assert oidc.allowed_domains == () and oidc.trust_email_claim is None
    assert oidc.domain_allowed("anyone@anywhere.example")
    assert load_config(ROOT / "app.yaml").sign_in.oidc is None  # the sample ships it commented out


def test_scopes_and_domains_may_be_written_as_people_write_them(tmp_path: Path) -> None:
    oidc = load_config(_write(tmp_path, scopes="openid email", allowed_domains="[Nordlys.Example]",
                              trust_email_claim="preferred_username", issuer="http://127.0.0.1:8080")).sign_in.oidc
    assert oidc is not None and oidc.scopes == ("openid", "email")
    assert oidc.allowed_domains == ("nordlys.example",)
    assert oidc.domain_allowed("ivar@NORDLYS.example") and not oidc.domain_allowed("ivar@evil.example")


BAD = [
    ({"issuer": "http://login.example.com"}, "sign_in.oidc.issuer", "must be https", "issuer:"),
    ({"issuer": "login.example.test"}, "sign_in.oidc.issuer", "expected a URL", "issuer:"),
    ({"client_secret_env": "'s3cr3t~value'"}, "sign_in.oidc.client_secret_env",
     "expected the name of an environment variable", "client_secret_env:"),
    ({"scopes": "[email, profile]"}, "sign_in.oidc.scopes", "must include openid", "scopes:"),
    ({"allowed_domains": "['@nordlys.example']"}, "sign_in.oidc.allowed_domains",
     "write the domain without '@'", "allowed_domains:"),
    ({"allowed_domains": "[nordlys]"}, "sign_in.oidc.allowed_domains", "is not a domain", "allowed_domains:"),
    ({"trust_email_claim": "preferred_username"}, "sign_in.oidc", "trust_email_claim needs allowed_domains",
     "issuer:"),  # a problem of the whole mapping: its first line
    ({"trust_email_claim": "upn", "allowed_domains": "[nordlys.example]"}, "sign_in.oidc.trust_email_claim",
     "expected 'email' or 'preferred_username'", "trust_email_claim:"),
    ({"client_secret": "abc"}, "sign_in.oidc.client_secret", "unknown key", "client_secret:"),
    ({"label": "-"}, "sign_in.oidc.label", "required key is missing", "issuer:"),
]


@pytest.mark.parametrize(("keys", "path", "message", "on_line"), BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_a_mistake_names_its_key_and_line(tmp_path: Path, keys: dict[str, str], path: str, message: str,
                                          on_line: str) -> None:
    bad = _write(tmp_path, **keys)
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    text = str(caught.value)
    assert f": {path}: " in text and message in text, text
    line = next(p.line for p in caught.value.problems if p.path == path)
    assert line is not None and on_line in bad.read_text().splitlines()[line - 1], line


def test_a_missing_secret_is_a_problem_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path)
    config = load_config(path)
    assert secret_problems(path, config, {"OIDC_CLIENT_SECRET": "x"}) == []
    [problem] = secret_problems(path, config, {})
    assert problem.path == "sign_in.oidc.client_secret_env" and "OIDC_CLIENT_SECRET is not set" in str(problem)
    assert problem.line is not None and "client_secret_env:" in path.read_text().splitlines()[problem.line - 1]


def test_zonedesk_check_reports_a_missing_secret(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "forms", tmp_path / "forms")
    shutil.copytree(ROOT / "saved_replies", tmp_path / "saved_replies")
    path = _write(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "OIDC_CLIENT_SECRET"}
    command = [sys.executable, "-m", "bot.cli", "check", "--config", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1
    assert f"{path}:" in done.stderr and "sign_in.oidc.client_secret_env: the environment variable " \
        "OIDC_CLIENT_SECRET is not set" in done.stderr
    done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                          env={**env, "OIDC_CLIENT_SECRET": "from-the-vault"})
    assert done.returncode == 0 and "no problems" in done.stdout, done.stderr


def test_the_commented_example_in_the_sample_is_valid(tmp_path: Path) -> None:
    lines = SAMPLE.splitlines()
    start = lines.index("# sign_in:")
    example = [line.removeprefix("# ") for line in lines[start:start + 8]]
    path = tmp_path / "app.yaml"
    path.write_text("\n".join(lines[:start] + example) + "\n", encoding="utf-8")
    oidc = load_config(path).sign_in.oidc
    assert oidc is not None and oidc.label == "Microsoft" and oidc.trust_email_claim == "preferred_username"
    assert oidc.allowed_domains == ("nordlys.example",)
