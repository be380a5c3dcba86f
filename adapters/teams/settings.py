"""The Teams channel's settings, read from the environment and checked before anything is mounted.

`MICROSOFT_APP_ID` and `MICROSOFT_APP_PASSWORD` are required and never empty: the SDK reads an empty app id
as "authentication disabled", and we never run a bot that accepts unsigned requests. The Microsoft
endpoints can be pointed elsewhere (tests, sovereign clouds) with `BOTFRAMEWORK_OPENID_METADATA_URL`,
`BOTFRAMEWORK_TOKEN_ISSUER` and `BOTFRAMEWORK_TOKEN_URL`; plain HTTP is accepted only on loopback hosts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.server import StartupError, required_setting

DEFAULT_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
DEFAULT_TOKEN_ISSUER = "https://api.botframework.com"  # noqa: S105 - an issuer URL, not a secret
CHANNEL_SCOPE = "https://api.botframework.com"  # the audience of our outbound tokens
LOGIN_URL_PREFIX = "https://login.microsoftonline.com/"
MULTI_TENANT_AUTHORITY = "botframework.com"
APP_TYPES = {"multitenant": "MultiTenant", "singletenant": "SingleTenant"}


def is_loopback(host: str | None) -> bool:
    """True for localhost and loopback addresses (where plain HTTP cannot leave the machine)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def checked_url(name: str, value: str) -> str:
    """An endpoint URL: https anywhere, plain http only on loopback; otherwise a StartupError naming the setting."""
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return value
    raise StartupError(f"{name} must be an https:// URL (plain http only on 127.0.0.1/localhost), not {value!r}.")


@dataclass(frozen=True)
class TeamsSettings:
    """What the Teams channel needs to authenticate both ways."""

    app_id: str
    app_password: str = field(repr=False)
    app_type: str = "MultiTenant"
    tenant_id: str | None = None
    openid_metadata_url: str = DEFAULT_OPENID_METADATA_URL
    token_issuer: str = DEFAULT_TOKEN_ISSUER
    token_url: str | None = None  # None: Microsoft's login endpoint through the SDK's own (MSAL) path

    @property
    def login_url(self) -> str:
        """The authority of outbound tokens: the bot's tenant for single-tenant bots, else botframework.com."""
        tenant = self.tenant_id if self.app_type == "SingleTenant" and self.tenant_id else MULTI_TENANT_AUTHORITY
        return LOGIN_URL_PREFIX + tenant

    @property
    def bot_id(self) -> str:
        """The bot's account id in Teams conversations."""
        return f"28:{self.app_id}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TeamsSettings:
        """Read and check the settings; a StartupError says what to fix."""
        app_id = required_setting(env, "MICROSOFT_APP_ID", "copy the Microsoft App ID from your Azure Bot resource "
                                  "(an empty id would switch the Bot Framework's authentication off).")
        password = required_setting(env, "MICROSOFT_APP_PASSWORD", "create a client secret for the bot's app "
                                    "registration and put it in MICROSOFT_APP_PASSWORD.")
        raw_type = (env.get("MICROSOFT_APP_TYPE") or "MultiTenant").strip()
        app_type = APP_TYPES.get(raw_type.lower())
        if app_type is None:
            raise StartupError(f"MICROSOFT_APP_TYPE is {raw_type!r}: use MultiTenant or SingleTenant "
                               "(UserAssignedMSI is not supported yet).")
        tenant = (env.get("MICROSOFT_APP_TENANT_ID") or "").strip() or None
        if app_type == "SingleTenant" and tenant is None:
            raise StartupError("MICROSOFT_APP_TYPE is SingleTenant but MICROSOFT_APP_TENANT_ID is not set: "
                               "give the Directory (tenant) ID of the bot's app registration.")
        metadata = (env.get("BOTFRAMEWORK_OPENID_METADATA_URL") or "").strip() or DEFAULT_OPENID_METADATA_URL
        issuer = (env.get("BOTFRAMEWORK_TOKEN_ISSUER") or "").strip() or DEFAULT_TOKEN_ISSUER
        token_url = (env.get("BOTFRAMEWORK_TOKEN_URL") or "").strip() or None
        return cls(
            app_id=app_id,
            app_password=password,
            app_type=app_type,
            tenant_id=tenant,
            openid_metadata_url=checked_url("BOTFRAMEWORK_OPENID_METADATA_URL", metadata),
            token_issuer=issuer,
            token_url=checked_url("BOTFRAMEWORK_TOKEN_URL", token_url) if token_url else None,
        )
