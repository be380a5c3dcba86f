"""Bundles: related requests grouped to act on together (one outage, many reports).

A bundle has a title and members; a request is in one bundle at most. An agent makes one from requests
they may work, adds and removes members (each an agent's change of that request, recorded in its
history), and replies to or moves the bundle: the reply and the status change go to each member on its
own through the same use cases as `reply` and `status` (`bot.desk.bulk.each`), so every requester hears
it in their own thread and language, and a member that may not move is listed with the reason.

What a person is shown of a bundle is the policy's (`Policy.bundle_member_clause`, `sees_bundle`): only
the members they may read as staff; a bundle with none of those (and not theirs) was not found. A
reply or status change reaches the members the actor is shown, never one they may not see. See
docs/decisions/0013-bulk-actions-and-bundles.md (why a bundle may span zones).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Actor, Level
from bot.desk import conversation
from bot.desk.bulk import Outcome, Refused, change_status, each, selection, status_of
from bot.desk.history import SENTENCES, STAFF, Sentence, Words, scalar, typed
from bot.desk.types import EventView, RequestSummary
from bot.desk.unit import TEXT_MAX, TEXT_REFUSALS, Tx, Unit, clean_text
from bot.errors import DeskError
from bot.i18n import N_, _
from bot.model import Bundle, BundleMember, Request

TITLE_MAX = 200
TEXT_REFUSALS["bundle title"] = (N_("The bundle's title is empty; write a few words."),
                                 N_("The bundle's title is too long ({length} characters; at most {limit})."))


@dataclass(frozen=True)
class BundleView:
    """A bundle as one person is shown it: only the members they may read as staff."""

    id: int
    title: str
    created_by: str
    created_at: datetime
    members: tuple[RequestSummary, ...]


@dataclass(frozen=True)
class BundleLine:
    """One bundle in a list: how many of its members its reader is shown."""

    id: int
    title: str
    created_by: str
    shown: int


def bundle_number(token: str) -> int:
    """A bundle number as typed: `3` or `B3`; anything else raises ValueError."""
    value = token.strip()
    if value[:1] in {"B", "b"}:
        value = value[1:]
    if not value.isdigit() or len(value) > 12:
        raise ValueError(token)
    return int(value)


class BundleNotFound(DeskError):
    """The bundle does not exist, or shows its reader nothing: the same answer for both."""

    def __init__(self, bundle_id: int) -> None:
        super().__init__(_("Bundle B{bundle} was not found.", bundle=bundle_id))
        self.bundle_id = bundle_id


def _require_bundler(unit: Unit, actor: Actor) -> None:
    if not unit.policy.can_bundle(actor):
        raise DeskError(_("Only agents keep bundles."))


async def _visible(unit: Unit, session: AsyncSession, actor: Actor, bundle_id: int) -> tuple[Bundle, list[Request]]:
    """The bundle and the members the actor is shown, or BundleNotFound."""
    _require_bundler(unit, actor)
    bundle = await session.get(Bundle, bundle_id)
    if bundle is None:
        raise BundleNotFound(bundle_id)
    members = list((await session.execute(
        select(Request).join(BundleMember, BundleMember.request_id == Request.id)
        .where(BundleMember.bundle_id == bundle_id, unit.policy.bundle_member_clause(actor))
        .order_by(Request.id))).scalars())
    if not unit.policy.sees_bundle(actor, bundle.created_by, len(members)):
        raise BundleNotFound(bundle_id)
    return bundle, members


async def _join(tx: Tx, actor: Actor, bundle: Bundle, number: int) -> None:
    """Add one request the actor may work to the bundle, with its history event; refused before anything
    is written."""
    request = await tx.load(actor, number, Level.AGENT, N_("bundle it"))
    current = await tx.session.scalar(select(BundleMember.bundle_id).where(BundleMember.request_id == number))
    if current == bundle.id:
        raise DeskError(_("#{number} is already in bundle B{bundle}.", number=number, bundle=bundle.id))
    if current is not None:
        raise DeskError(_("#{number} is already in bundle B{other}; take it out of that bundle first.",
                          number=number, other=current))
    try:
        async with tx.session.begin_nested():
            tx.session.add(BundleMember(bundle_id=bundle.id, request_id=number, added_by=actor.email,
                                        added_at=tx.now))
    except IntegrityError as exc:  # bundled by someone else this very moment
        raise DeskError(_("#{number} was just added to another bundle.", number=number)) from exc
    await tx.record(request, actor, "bundled", bundle=bundle.id, title=bundle.title)


async def _join_each(tx: Tx, actor: Actor, bundle: Bundle, numbers: Iterable[int]) -> Outcome:
    done: list[int] = []
    refused: list[Refused] = []
    for number in numbers:
        try:
            await _join(tx, actor, bundle, number)
        except DeskError as exc:
            refused.append(Refused(number, exc.message))
        else:
            done.append(number)
    return Outcome(tuple(done), tuple(refused))


async def create_bundle(unit: Unit, actor: Actor, title: str, numbers: Iterable[str | int], *,
                        dedupe_key: str | None = None) -> tuple[int, Outcome]:
    """Make a bundle of the requests the actor may work; each is checked on its own, and the others are
    listed with the reason. When none may join, no bundle is made and the reasons are the refusal."""
    _require_bundler(unit, actor)
    title = clean_text(title, "bundle title", required=True, limit=TITLE_MAX)
    chosen = selection(numbers)
    async with unit.transaction(dedupe_key) as tx:
        bundle = Bundle(title=title, created_by=actor.email, created_at=tx.now)
        tx.session.add(bundle)
        await tx.session.flush()
        outcome = await _join_each(tx, actor, bundle, chosen)
        if not outcome.done:
            reasons = "\n".join(f"#{r.number}: {r.reason}" for r in outcome.refused)
            raise DeskError(_("No request could join the bundle, so none was made:\n{reasons}", reasons=reasons))
        return bundle.id, outcome


async def add_to_bundle(unit: Unit, actor: Actor, bundle_id: int, numbers: Iterable[str | int], *,
                        dedupe_key: str | None = None) -> Outcome:
    """Add requests the actor may work to a bundle they are shown; each checked on its own."""
    chosen = selection(numbers)
    async with unit.transaction(dedupe_key) as tx:
        bundle, _members = await _visible(unit, tx.session, actor, bundle_id)
        return await _join_each(tx, actor, bundle, chosen)


async def remove_from_bundle(unit: Unit, actor: Actor, bundle_id: int, numbers: Iterable[str | int], *,
                             dedupe_key: str | None = None) -> Outcome:
    """Take requests the actor may work out of a bundle they are shown; each checked on its own."""
    chosen = selection(numbers)
    done: list[int] = []
    refused: list[Refused] = []
    async with unit.transaction(dedupe_key) as tx:
        bundle, _members = await _visible(unit, tx.session, actor, bundle_id)
        for number in chosen:
            try:
                request = await tx.load(actor, number, Level.AGENT, N_("take it out of a bundle"))
                gone = await tx.session.execute(delete(BundleMember).where(
                    BundleMember.bundle_id == bundle.id, BundleMember.request_id == number))
                if not gone.rowcount:  # type: ignore[attr-defined]
                    raise DeskError(_("#{number} is not in bundle B{bundle}.", number=number, bundle=bundle.id))
                await tx.record(request, actor, "unbundled", bundle=bundle.id, title=bundle.title)
            except DeskError as exc:
                refused.append(Refused(number, exc.message))
            else:
                done.append(number)
    return Outcome(tuple(done), tuple(refused))


async def get_bundle(unit: Unit, actor: Actor, bundle_id: int) -> BundleView:
    """A bundle as the actor is shown it (BundleNotFound when it shows them nothing)."""
    async with unit.sessions() as session:
        bundle, members = await _visible(unit, session, actor, bundle_id)
        return BundleView(bundle.id, bundle.title, bundle.created_by, bundle.created_at, tuple(
            RequestSummary(r.id, r.title, r.zone_id, r.team_id, r.status, r.priority, r.assignee_email,
                           r.requester_email, r.requester_name, r.updated_at, r.created_at) for r in members))


async def list_bundles(unit: Unit, actor: Actor, *, limit: int = 50) -> list[BundleLine]:
    """The bundles the actor is shown, newest first, each with how many of its members they see."""
    if not unit.policy.can_bundle(actor):
        return []
    shown = (select(BundleMember.bundle_id, func.count().label("shown"))
             .join(Request, Request.id == BundleMember.request_id)
             .where(unit.policy.bundle_member_clause(actor)).group_by(BundleMember.bundle_id).subquery())
    count = func.coalesce(shown.c.shown, 0)
    query = (select(Bundle.id, Bundle.title, Bundle.created_by, count).outerjoin(shown, shown.c.bundle_id == Bundle.id)
             .where(or_(shown.c.shown > 0, Bundle.created_by == actor.email)).order_by(Bundle.id.desc()).limit(limit))
    async with unit.sessions() as session:
        return [BundleLine(int(i), t, c, int(n)) for i, t, c, n in (await session.execute(query)).all()]


async def bundles_of(unit: Unit, actor: Actor, number: int) -> list[tuple[int, str]]:
    """The bundles request `number` is in, as (number, title), for a reader it shows as a member (who may read
    it as staff, `bundle_member_clause`); nobody else learns that it is bundled."""
    if not unit.policy.can_bundle(actor):
        return []
    query = (select(Bundle.id, Bundle.title).join(BundleMember, BundleMember.bundle_id == Bundle.id)
             .join(Request, Request.id == BundleMember.request_id)
             .where(BundleMember.request_id == number, unit.policy.bundle_member_clause(actor))
             .order_by(Bundle.id))
    async with unit.sessions() as session:
        return [(int(i), str(t)) for i, t in (await session.execute(query)).all()]


async def reply_to_bundle(unit: Unit, actor: Actor, bundle_id: int, text: str, *,
                          dedupe_key: str | None = None) -> Outcome:
    """The same public reply on every member the actor is shown, each through `reply` on its own: each
    requester gets it in their own thread."""
    said = clean_text(text, "reply", required=True, limit=TEXT_MAX)
    view = await get_bundle(unit, actor, bundle_id)

    async def act(number: int, key: str | None) -> object:
        return await conversation.reply(unit, actor, number, said, dedupe_key=key)

    return await each((m.number for m in view.members), act, dedupe_key)


async def set_bundle_status(unit: Unit, actor: Actor, bundle_id: int, status: str, reason: str | None = None, *,
                            dedupe_key: str | None = None) -> Outcome:
    """Move every member the actor is shown, each as the `status` verb moves it; a member that may not
    move (already closed, another zone's) is listed with the reason."""
    moved = status_of(status)
    view = await get_bundle(unit, actor, bundle_id)

    async def act(number: int, key: str | None) -> object:
        await change_status(unit, actor, number, moved, reason, dedupe_key=key)
        return None

    return await each((m.number for m in view.members), act, dedupe_key)


# ---------------------------------------------------------------- history
def bundled(w: Words, e: EventView) -> Sentence:
    """The request joined a bundle (staff only: a bundle is the desk's way of working)."""
    return Sentence(_("{actor} added it to bundle B{bundle}: {title}.", actor=w.actor(e),
                      bundle=scalar(e.data.get("bundle")), title=typed(e.data.get("title"))), STAFF)


def unbundled(w: Words, e: EventView) -> Sentence:
    """The request left a bundle."""
    return Sentence(_("{actor} took it out of bundle B{bundle}.", actor=w.actor(e),
                      bundle=scalar(e.data.get("bundle"))), STAFF)


SENTENCES.update(bundled=bundled, unbundled=unbundled)
