"""The Slack channel: slack-bolt `AsyncApp` listeners over the desk, mounted at `POST /slack/events`.

Mounted when `SLACK_BOT_TOKEN` or `SLACK_SIGNING_SECRET` is present in the environment; a missing or
empty secret then stops the server (`StartupError`) instead of failing on the first request.
`SLACK_API_URL` points the Web API elsewhere (tests, proxies). See `adapters/slack/app.py`.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from adapters.slack.app import CHANNEL, SlackRuntime, build_runtime
from adapters.slack.inbound import FormModals
from bot.server import Services


class SlackChannel:
    """The `zonedesk.channels` entry point for Slack."""

    name = "slack"

    def __init__(self) -> None:
        # The forms feature sets this hook: `/request <form>` then opens that form's modal.
        self.forms: FormModals | None = None

    def configured(self, env: Mapping[str, str]) -> bool:
        """Slack is wanted when either of its secrets is in the environment (even empty: that is an error)."""
        return bool(env.get("SLACK_BOT_TOKEN")) or "SLACK_SIGNING_SECRET" in env

    def mount(self, app: web.Application, services: Services, env: Mapping[str, str]) -> None:
        """Add `POST /slack/events`, the inbox handler and the outbox sender."""
        runtime = build_runtime(services, env, self.forms)
        app.router.add_post("/slack/events", runtime.route)
        app.on_startup.append(runtime.start)
        app.on_cleanup.append(runtime.close)
        services.extras["slack"] = runtime


channel = SlackChannel()

__all__ = ["CHANNEL", "FormModals", "SlackChannel", "SlackRuntime", "channel"]
