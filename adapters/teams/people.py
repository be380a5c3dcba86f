"""Who a Teams user is: their e-mail (or UPN) from the roster, cached in the core's directory by AAD object id.

People are matched to `app.yaml` by e-mail; anyone not listed is a plain requester. The roster lookup
(`TeamsInfo.get_member`, one connector call) happens once per person and cache period; the directory
also keeps the Teams user id, tenant and service URL, so the desk can reach the person later.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import ChannelAccount
from botframework.connector.models import ErrorResponseException

from adapters.teams.conversations import PLATFORM, tenant_of
from bot.access import Actor
from bot.desk import Desk
from bot.people.identity import Directory

log = logging.getLogger(__name__)
MENTION_TOKEN = re.compile(r"^<at:([^<>\s]+)>$")


def http_status(exc: ErrorResponseException) -> int:
    """The HTTP status of a connector error (an aiohttp or a requests response underneath)."""
    response = exc.response
    return int(getattr(response, "status_code", None) or getattr(response, "status", None) or 0)


def person_key(account: ChannelAccount) -> str:
    """The directory key of a Teams account: its AAD object id (the Teams user id when there is none)."""
    return str(account.aad_object_id or account.id)


class TeamsPeople:
    """Teams accounts to actors."""

    def __init__(self, desk: Desk, directory: Directory) -> None:
        self.desk = desk
        self.directory = directory

    async def identify(self, turn: TurnContext, account: ChannelAccount) -> tuple[str, str]:
        """The (e-mail, display name) of a Teams account: from the cache, else from the roster."""
        key = person_key(account)
        known = await self.directory.lookup(PLATFORM, key)
        if known is not None and known[0]:
            return known[0], known[1]
        try:
            member = await TeamsInfo.get_member(turn, account.id)
        except ErrorResponseException as exc:
            status = http_status(exc)
            if status not in (403, 404):
                raise  # a passing connector failure: the turn fails and Teams sends the activity again
            log.warning("teams: %s is not in the roster (%s); treating as a requester", key, status)
            return f"{key.lower()}@teams.invalid", account.name or key
        email = member.email or member.user_principal_name
        name = member.name or account.name or key
        if not email:
            log.warning("teams: %s has neither e-mail nor UPN; treating as a requester", key)
            return f"{key.lower()}@teams.invalid", name
        activity = turn.activity
        # Keyed by the AAD object id the roster gives (a mention names a person by Teams user id only).
        await self.directory.remember(PLATFORM, str(member.aad_object_id or key), email, name, {
            "id": member.id or account.id, "tenant": tenant_of(activity), "service_url": activity.service_url})
        return email.lower(), name

    async def actor(self, turn: TurnContext) -> Actor:
        """The actor for the sender of this activity."""
        account = turn.activity.from_property
        email, name = await self.identify(turn, account)
        found = self.desk.actor(email, name, channel=PLATFORM)
        return Actor(email=found.email, name=found.name, channel=found.channel, roles=found.roles, teams=found.teams,
                     zones=found.zones, manages=found.manages, known=found.known,
                     extra={"teams_user": str(account.id), "aad": person_key(account),
                            # the client's language: a person's language when nothing they set says otherwise
                            **({"locale": turn.activity.locale} if turn.activity.locale else {})})

    def resolver(self, turn: TurnContext) -> Callable[[str], Awaitable[str | None]]:
        """The command interpreter's person resolver for this turn: a mention token `<at:ID>` to an e-mail."""

        async def resolve(token: str) -> str | None:
            match = MENTION_TOKEN.match(token.strip())
            if match is None:
                return None
            email, _ = await self.identify(turn, ChannelAccount(id=match.group(1)))
            return None if email.endswith("@teams.invalid") else email

        return resolve
