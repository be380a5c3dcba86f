"""What a channel is, as it declares itself when the server mounts it: the core keeps no list of platforms.

A chat channel (Slack, Teams, e-mail next) tells the core its platform name, whether a request's
answers can go back into the thread it came from, and the rate limits its platform sets per
conversation. The desk writes outbox rows only for channels declared this way, and the delivery
worker paces each conversation by its channel's limits, so a new channel is a new folder under
`adapters/` that declares itself: nothing in `bot/` names it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """At most `count` messages per conversation in `seconds`."""

    count: int
    seconds: float


@dataclass(frozen=True)
class ChannelInfo:
    """A live channel that messages are delivered through."""

    platform: str  # the name in origins, identities, outbox rows and `app.yaml` keys: 'slack', 'teams'...
    threads: bool = True  # answers go into the thread (or mail thread) a request came from
    rate_limits: tuple[RateLimit, ...] = ()  # per conversation, enforced where the outbox claims rows
