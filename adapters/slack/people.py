"""Who a Slack user is: their e-mail from `users.info`, cached with expiry in the core's directory.

People are matched to `app.yaml` by e-mail; anyone not listed is a plain requester. Every lookup is
remembered (`Directory.remember`) so the desk can DM a person later by their e-mail. `users.info` is
asked with `include_locale`: the language their Slack client is set to (`nb-NO`) is kept with the rest
(in the directory's data, and per process) and handed to the desk as the actor's hint
(`actor.extra["locale"]`, read by `Unit.language`) when they chose no language themselves.
"""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Actor
from bot.desk import Desk
from bot.people.identity import Directory

log = logging.getLogger(__name__)
PLATFORM = "slack"
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


class SlackPeople:
    """Slack user ids to actors and back."""

    def __init__(self, desk: Desk, directory: Directory, client: AsyncWebClient) -> None:
        self.desk = desk
        self.directory = directory
        self.client = client
        # What each user's Slack client said their language is (None: it said nothing), per process; the
        # directory's cache holds the e-mail and name, and its stored data the locale for a new process.
        self._locales: dict[str, str | None] = {}

    async def identify(self, user_id: str) -> tuple[str, str]:
        """The (e-mail, display name) of a Slack user: from the cache, else from `users.info`."""
        known = await self.directory.lookup(PLATFORM, user_id)
        if known is not None and known[0]:
            return known[0], known[1]
        try:
            response = await self.client.users_info(user=user_id, include_locale=True)
        except SlackApiError:
            stale = await self.directory.lookup(PLATFORM, user_id, stale_ok=True)
            if stale is not None and stale[0]:
                log.warning("slack: users.info failed for %s; using what we knew before", user_id)
                return stale[0], stale[1]
            raise
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        email = profile.get("email")
        name = (profile.get("real_name") or user.get("real_name") or profile.get("display_name")
                or user.get("name") or user_id)
        if not email:
            # No e-mail (a guest, or the app lacks users:read.email): a requester known only by id.
            log.warning("slack: user %s has no e-mail visible to the app; treating as a requester", user_id)
            email = f"{user_id.lower()}@slack.invalid"
        locale = user.get("locale") or None
        self._locales[user_id] = locale
        await self.directory.remember(PLATFORM, user_id, email, name,
                                      {"team": user.get("team_id"), "tz": user.get("tz"), "locale": locale})
        return email.lower(), name

    async def locale(self, user_id: str, email: str) -> str | None:
        """The language a user's Slack client is set to (`nb-NO`), as `users.info` last said it.

        Known in this process after a lookup; otherwise read once from what the directory stored (a
        restarted process keeps the cached e-mail for hours, and must not fall back to the organisation's
        language meanwhile, nor ask Slack again).
        """
        if user_id not in self._locales:
            stored = dict(await self.directory.users_of(email, PLATFORM)).get(user_id) or {}
            self._locales[user_id] = stored.get("locale") or None
        return self._locales[user_id]

    async def actor(self, user_id: str) -> Actor:
        """The actor for a Slack user (staff as `app.yaml` lists them, anyone else a requester), with their Slack
        client's language as a hint (`extra["locale"]`) when Slack told it."""
        email, name = await self.identify(user_id)
        actor = self.desk.actor(email, name, channel=PLATFORM)
        extra: dict[str, str] = {"slack_user": user_id}
        locale = await self.locale(user_id, email)
        if locale:
            extra["locale"] = locale
        return Actor(email=actor.email, name=actor.name, channel=actor.channel, roles=actor.roles, teams=actor.teams,
                     zones=actor.zones, manages=actor.manages, known=actor.known, extra=extra)

    async def email_of_mention(self, token: str) -> str | None:
        """An e-mail from a `<@U123|name>` mention or a bare user id, for the command interpreter."""
        match = MENTION.match(token.strip())
        user_id = match.group(1) if match else (token if re.fullmatch(r"[UW][A-Z0-9]{6,}", token) else None)
        if user_id is None:
            return None
        email, _ = await self.identify(user_id)
        return email

    async def user_ids(self, email: str) -> list[str]:
        """Slack user ids remembered for an e-mail (to refresh their App Home, to DM them)."""
        return [user_id for user_id, _ in await self.directory.users_of(email, PLATFORM)]
