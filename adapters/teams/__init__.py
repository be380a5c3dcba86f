"""The Microsoft Teams channel: botbuilder's CloudAdapter and TeamsActivityHandler behind our own types.

Mounted at `POST /api/messages` when `MICROSOFT_APP_ID` or `MICROSOFT_APP_PASSWORD` is in the
environment; either one missing or empty then stops the server (`StartupError`): an empty app id would
switch the SDK's authentication off. `MICROSOFT_APP_TYPE` (MultiTenant, SingleTenant) and
`MICROSOFT_APP_TENANT_ID` choose the authority of outbound tokens; `BOTFRAMEWORK_OPENID_METADATA_URL`,
`BOTFRAMEWORK_TOKEN_ISSUER` and `BOTFRAMEWORK_TOKEN_URL` point at other endpoints (tests, sovereign
clouds). The Bot Framework SDK is archived by Microsoft, so nothing outside this package imports it.
See docs/decisions/0005-teams-sdk-workarounds.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from adapters.teams.app import CHANNEL, TeamsRuntime, build_runtime
from adapters.teams.dialogs import Dialog, DialogRequest, Dialogs, ShowCard, ShowMessage, built_in
from adapters.teams.forms import FormDialog
from bot.server import Services

ROUTE = "/api/messages"


class TeamsChannel:
    """The `zonedesk.channels` entry point for Teams."""

    name = "teams"

    def __init__(self) -> None:
        # Dialogs by name; the forms feature registers its own (`channel.dialogs.register("form", ...)`).
        self.dialogs: Dialogs = built_in()

    def configured(self, env: Mapping[str, str]) -> bool:
        """Teams is wanted when either of its secrets is in the environment (even empty: that is an error)."""
        return "MICROSOFT_APP_ID" in env or "MICROSOFT_APP_PASSWORD" in env

    def mount(self, app: web.Application, services: Services, env: Mapping[str, str]) -> None:
        """Add `POST /api/messages` and the outbox sender; fetch the signing keys at start-up."""
        self.dialogs.register("form", FormDialog(services.catalog))  # forms/ of this server's configuration
        runtime = build_runtime(services, env, self.dialogs)
        app.router.add_post(ROUTE, runtime.route)
        app.on_startup.append(runtime.start)
        app.on_cleanup.append(runtime.close)
        services.extras["teams"] = runtime


channel = TeamsChannel()

__all__ = ["CHANNEL", "ROUTE", "Dialog", "DialogRequest", "Dialogs", "ShowCard", "ShowMessage", "TeamsChannel",
           "TeamsRuntime", "channel"]
