"""Who verified ID token claims sign in, table-driven: a verified address, or the claim `trust_email_claim`
names, of an allowed domain (`RelyingParty.person`; the flow around it is in tests/web/test_single_sign_on.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.config import OidcSignIn
from bot.people.single_sign_on import ATTEMPT_TTL, Attempt, Refusal, Refused, RelyingParty

ISSUER = "https://login.example.com"
ENTRA = {"trust_email_claim": "preferred_username", "allowed_domains": ("nordlys.example",)}
TRUST_EMAIL = {"trust_email_claim": "email", "allowed_domains": ("nordlys.example",)}
ONLY_NORDLYS = {"allowed_domains": ("nordlys.example",)}
ZACK = "zack@nordlys.example"

CASES: list[tuple[str, dict[str, Any], dict[str, Any], str | Refusal]] = [
    ("verified", {}, {"email": ZACK, "email_verified": True}, ZACK),
    ("verified as text", {}, {"email": "Zack@Nordlys.Example", "email_verified": "true"}, ZACK),
    ("unverified", {}, {"email": ZACK, "email_verified": False}, Refusal.UNVERIFIED),
    ("no email_verified", {}, {"email": ZACK}, Refusal.UNVERIFIED),
    ("no address at all", {}, {"sub": "1"}, Refusal.NO_EMAIL),
    ("not an address", {}, {"email": "zack", "email_verified": True}, Refusal.NO_EMAIL),
    ("entra: the sign-in name", ENTRA, {"preferred_username": ZACK}, ZACK),
    ("entra: a verified email wins", ENTRA, {"email": "z@nordlys.example", "email_verified": True,
                                             "preferred_username": ZACK}, "z@nordlys.example"),
    ("entra: another domain", ENTRA, {"preferred_username": "zack@evil.example"}, Refusal.DOMAIN),
    ("entra: no sign-in name, an unverified email", ENTRA, {"email": ZACK}, Refusal.UNVERIFIED),
    ("entra: neither", ENTRA, {"sub": "1"}, Refusal.NO_EMAIL),
    ("trusted email", TRUST_EMAIL, {"email": ZACK}, ZACK),
    ("trusted email marked unverified", TRUST_EMAIL, {"email": ZACK, "email_verified": False}, Refusal.UNVERIFIED),
    ("allowed domain", ONLY_NORDLYS, {"email": ZACK, "email_verified": True}, ZACK),
    ("a domain not allowed", ONLY_NORDLYS, {"email": "zack@nordlys.example.evil.example", "email_verified": True},
     Refusal.DOMAIN),
]


def _party(**settings: Any) -> RelyingParty:
    oidc = OidcSignIn(issuer=ISSUER, client_id="c", client_secret_env="S", label="Microsoft", **settings)
    return RelyingParty(oidc, "secret", "https://desk.example/auth/oidc/callback",
                        FakeClock(datetime(2026, 11, 24, tzinfo=UTC)), None)  # type: ignore[arg-type]


@pytest.mark.parametrize(("settings", "claims", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_who_the_claims_sign_in(settings: dict[str, Any], claims: dict[str, Any], expected: str | Refusal) -> None:
    party = _party(**settings)
    if isinstance(expected, Refusal):
        with pytest.raises(Refused) as refused:
            party.person(claims)
        assert refused.value.reason is expected
        assert "zack" not in str(refused.value) and "zack" not in (refused.value.domain or "")  # never the address
    else:
        assert party.person(claims).email == expected


def test_the_name_is_what_the_provider_says_if_anything() -> None:
    party = _party()
    assert party.person({"email": ZACK, "email_verified": True, "name": " Zack M "}).name == "Zack M"
    assert party.person({"email": ZACK, "email_verified": True, "name": 42}).name is None


def test_an_attempt_lives_ten_minutes_and_matches_only_its_state() -> None:
    now = datetime(2026, 11, 24, tzinfo=UTC)
    attempt = Attempt.new("/requests", now)
    assert 43 <= len(attempt.verifier) <= 128 and attempt.state != attempt.nonce
    assert attempt.matches(attempt.state) and not attempt.matches(attempt.state[:-1] + "x")
    assert not attempt.matches("ø" * 43)  # not ASCII: no error, no match
    assert not attempt.expired(now + ATTEMPT_TTL) and attempt.expired(now + ATTEMPT_TTL * 2)
