"""A message a chat channel received, decided once for every channel: file it, add it to its request, or not.

Is it in a thread that belongs to a request? Then it is a note (the triage thread) or the requester's
comment (the original thread). Is it written where requests are filed, or to the desk directly? Then
it is filed in the zone the place is mapped to, or the dispatcher zone, or the person must choose a
zone. Anything else (a channel's chatter the desk merely reads) is left alone. A channel adapter
translates its platform's event into an `Origin` and renders the `Received` outcome; the decision is
here, the same for Slack, Teams and e-mail.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from sqlalchemy import select

from bot.access import Actor
from bot.config import Zone
from bot.desk.conversation import comment, note
from bot.desk.intake import Filed, Intake, mapped_zone, title_from_text
from bot.desk.types import Origin
from bot.desk.unit import Tx, Unit
from bot.errors import Duplicate
from bot.files.attachments import FileRef, record_files
from bot.model import Inbound, Request, ThreadLink


class Outcome(enum.Enum):
    """What became of a received message."""

    FILED = "filed"  # a new request
    COMMENT = "comment"  # added to its request in the requester's thread
    NOTE = "note"  # an internal note, written in the triage thread
    CHOOSE_ZONE = "choose_zone"  # written where no zone is known: the person must choose one
    EMPTY = "empty"  # addressed to the desk with nothing to file
    IGNORED = "ignored"  # not for the desk


@dataclass(frozen=True)
class Received:
    """A received message's outcome, for the adapter to render."""

    outcome: Outcome
    number: int | None = None  # the request it was filed as or added to
    filed: Filed | None = None
    actor: Actor | None = None  # who wrote it, when the desk needed to know
    zones: tuple[Zone, ...] = ()  # with CHOOSE_ZONE: the zones to choose from


# Who wrote the message, asked only when the desk acts on it (a platform may need an API call to know).
Writer = Callable[[], Awaitable[Actor]]


async def receive(intake: Intake, writer: Writer, origin: Origin, text: str, key: str, *, addressed: bool,
                  direct: bool, reply_to: str | None = None, aliases: Sequence[str] = (),
                  files: Sequence[FileRef] = ()) -> Received:
    """Decide what a received chat message is, and do it (exactly once per `key`).

    `addressed`: written to the desk (a direct message, a mention), not merely seen in a channel.
    `direct`: a one-to-one conversation with the desk. `reply_to`: the thread or message it answers,
    when that could belong to a request (defaults to the origin's thread). `aliases`: other ids of
    the same channel that `app.yaml` may map (Teams names a channel two ways). `files`: the files that
    came with the message, recorded as references on the request or comment in the same transaction (a
    message with files and no words is named by its files).
    """
    unit = intake
    if files and not text:
        text = ", ".join(f.name for f in files)[:200]
    reply_to = reply_to or origin.thread
    if reply_to and origin.channel:
        linked = await thread_request(unit, origin.platform, origin.channel, reply_to)
        if linked is not None:
            number, purpose = linked
            if not text:
                return Received(Outcome.IGNORED, number)
            actor = await writer()

            async def with_files(tx: Tx, request: Request, comment_id: int) -> None:
                await record_files(tx, request, comment_id, purpose != "triage", actor, files)

            after = with_files if files else None
            if purpose == "triage":
                await note(unit, actor, number, text, dedupe_key=key, after=after)
                return Received(Outcome.NOTE, number, actor=actor)
            added = await comment(unit, actor, number, text, dedupe_key=key, from_thread=True, after=after)
            return Received(Outcome.COMMENT if added is not None else Outcome.IGNORED, number, actor=actor)
        if not addressed:
            return Received(Outcome.IGNORED)  # a thread of no request, not written to the desk
    mapped = mapped_zone(unit.config, origin.platform, origin.channel, *aliases)
    if not (direct or addressed or mapped):
        return Received(Outcome.IGNORED)  # chatter in a channel that is not for requests
    if not text:
        return Received(Outcome.EMPTY)
    zone = mapped or (unit.config.intake.dispatcher_zone if unit.config.intake.unrouted == "dispatcher" else None)
    if zone is None:
        return Received(Outcome.CHOOSE_ZONE, zones=tuple(unit.config.zones))
    actor = await writer()
    filed = await intake.file_request(actor, origin, title_from_text(text), text, zone_id=zone, dedupe_key=key,
                                      after=filing_files(actor, files))
    return Received(Outcome.FILED, filed.number, filed, actor)


async def thread_request(unit: Unit, platform: str, channel: str, thread: str) -> tuple[int, str] | None:
    """The request a chat thread belongs to, and whether it is the origin or the triage thread."""
    async with unit.sessions() as session:
        row = (await session.execute(select(ThreadLink.request_id, ThreadLink.purpose).where(
            ThreadLink.platform == platform, ThreadLink.channel == channel, ThreadLink.thread == thread))).first()
    return None if row is None else (int(row[0]), str(row[1]))


async def handled(unit: Unit, key: str) -> bool:
    """Whether an inbound key was marked processed (a platform re-sending something already answered)."""
    async with unit.sessions() as session:
        return await session.scalar(
            select(Inbound.key).where(Inbound.key == key, Inbound.processed_at.is_not(None))) is not None


async def mark_handled(unit: Unit, key: str, source: str) -> None:
    """Mark an inbound key processed on its own (an answer that changed nothing); a second mark is a no-op."""
    with suppress(Duplicate):
        async with unit.transaction(dedupe_key=key, source=source):
            pass


def filing_files(actor: Actor, files: Sequence[FileRef]) -> Callable[[Tx, Request], Awaitable[None]] | None:
    """What `file_request(after=...)` runs to record the files of the message that filed a request."""
    if not files:
        return None

    async def recorded(tx: Tx, request: Request) -> None:
        await record_files(tx, request, None, True, actor, files)

    return recorded
