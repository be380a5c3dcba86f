"""The zones' addresses, and the per-request reply address that proves a reply came from its thread.

A zone's `email` is one address (`it@nordlys.example`). Mail the desk sends about request 42 of that
zone answers to `it+r42-TOKEN@nordlys.example`, TOKEN a short HMAC of the request number and the zone's
address with the server's key (`ZONEDESK_SECRET_KEY`): only someone who received our mail knows it, so a
reply to it may comment on request 42 (`adapters.email.inbound`), where a forged `From` alone may not.
The receiver accepts the zone's address and its plus-addressed forms; anything else is refused at
RCPT time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from bot.config import AppConfig, Zone

_TAG = re.compile(r"^r(?P<number>\d{1,12})-(?P<token>[a-z0-9]{10,40})$")
TOKEN_LENGTH = 16


@dataclass(frozen=True)
class Recipient:
    """A recipient that is one of our zones: the zone, and the request its tag names (a valid token only)."""

    zone: Zone
    number: int | None = None  # the request of a valid per-request reply address
    tagged: bool = False  # the address carried a tag (valid or not)


def token(secret: bytes, zone_email: str, number: int) -> str:
    """The per-request token (lower-case hex, so mail systems that fold case keep it valid)."""
    mac = hmac.new(secret, f"zonedesk-reply:{zone_email.lower()}:{number}".encode(), hashlib.sha256)
    return mac.hexdigest()[:TOKEN_LENGTH]


def reply_address(secret: bytes, zone_email: str, number: int) -> str:
    """`it+r42-TOKEN@domain`: where replies about request `number` of this zone go."""
    local, domain = zone_email.split("@", 1)
    return f"{local}+r{number}-{token(secret, zone_email, number)}@{domain}"


def recipient(config: AppConfig, secret: bytes, address: str) -> Recipient | None:
    """The zone an address reaches (plain or plus-addressed), or None when it is none of ours."""
    address = address.strip().strip("<>").lower()
    if "@" not in address:
        return None
    local, domain = address.rsplit("@", 1)
    base, _plus, tag = local.partition("+")
    for zone in config.zones:
        if zone.email is None or zone.email != f"{base}@{domain}":
            continue
        if not _plus:
            return Recipient(zone)
        found = _TAG.match(tag)
        if found is None:
            return Recipient(zone, tagged=True)  # it+anything@: the zone, but no request
        number = int(found["number"])
        valid = hmac.compare_digest(found["token"], token(secret, zone.email, number))
        return Recipient(zone, number if valid else None, tagged=True)
    return None


def mail_domains(config: AppConfig) -> tuple[str, ...]:
    """The organisation's mail domains: its people's in `app.yaml`, its zones' addresses', single sign-on's
    allowed ones and `email.domains`. Mail from other domains is outside mail (see `inbound`)."""
    found = {p.email.rsplit("@", 1)[-1] for p in config.people}
    found |= {z.email.rsplit("@", 1)[-1] for z in config.zones if z.email}
    found |= set(config.email.domains)
    if config.sign_in.oidc is not None:
        found |= set(config.sign_in.oidc.allowed_domains)
    return tuple(sorted(d.lower() for d in found))
