"""A request's fields (urgency, weight, categories, deadline), personal labels and relations.

Every field is set by one path (`_set`): load at the level the field needs, check the value, set it,
and record the change with the old and new value; the fields that feed the priority recompute it.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.access import Actor, Level
from bot.config import AppConfig
from bot.desk.intake import check_category, check_urgency
from bot.desk.unit import Unit
from bot.errors import DeskError
from bot.i18n import N_, _
from bot.model import Label, Relation, Request

LABEL_RE = re.compile(r"^[\w-]{1,40}$")


def _no_check(unit: Unit, request: Request, value: Any) -> None:
    return None


def _category_of_zone(unit: Unit, request: Request, value: Any) -> None:
    if value is not None:
        check_category(unit.zone(request.zone_id), value)


def _internal_category_of_zone(unit: Unit, request: Request, value: Any) -> None:
    zone = unit.zone(request.zone_id)
    if value is not None and value not in zone.internal_categories:
        if not zone.internal_categories:
            raise DeskError(_("'{value}' is not an internal category of {zone}: none are defined.", value=value,
                              zone=zone.name))
        raise DeskError(_("'{value}' is not an internal category of {zone}: {allowed}.", value=value, zone=zone.name,
                          allowed=", ".join(zone.internal_categories)))


def _in_future(unit: Unit, request: Request, value: Any) -> None:
    if value is not None and value <= unit.clock.now():
        raise DeskError(_("That deadline is in the past."))


def zone_timezone(config: AppConfig, zone_id: str) -> zoneinfo.ZoneInfo:
    """The time zone a zone's deadlines are typed and shown in: its working-day calendar's."""
    zone = config.zone(zone_id)
    calendar = config.calendars.get(zone.calendar if zone else "default")
    return zoneinfo.ZoneInfo(calendar.timezone if calendar else "UTC")


def local_deadline(config: AppConfig, zone_id: str, day: date, at: time | None = None) -> datetime:
    """A deadline typed as a local date (and time) in the zone's time zone; a date alone means the end
    of the zone's working day (chat's `deadline` verb and the request page read it alike)."""
    tz = zone_timezone(config, zone_id)
    if at is not None:
        return datetime.combine(day, at, tz)
    zone = config.zone(zone_id)
    calendar = config.calendars.get(zone.calendar if zone else "default")
    hours, minutes = (int(p) for p in (calendar.hours if calendar else "08:00-16:00").split("-")[1].split(":"))
    return datetime.combine(day, time(0), tz) + timedelta(hours=hours, minutes=minutes)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class _Field:
    """How one field of a request is set."""

    column: str  # the attribute of `Request`
    kind: str  # the history event's kind
    key: str  # the new value's name in the event
    doing: str  # what the person tried, for refusals (marked N_, said by bot.access): "weigh it"
    check: Callable[[Unit, Request, Any], None] = _no_check  # refuses a value the request cannot take
    prioritised: bool = True  # the priority is computed from it
    requester_too: str | None = None  # the requester may set it too; the refusal's wording for others


_URGENCY = _Field("urgency", "urgency", "urgency", N_("change its urgency"), requester_too=N_("change the urgency"))
_WEIGHT = _Field("weight", "weight", "weight", N_("weigh it"))
_CATEGORY = _Field("category_id", "category", "category", N_("change its category"), _category_of_zone)
_INTERNAL = _Field("internal_category", "internal_category", "internal", N_("change its internal category"),
                   _internal_category_of_zone)
_DEADLINE = _Field("deadline", "deadline", "deadline", N_("set its deadline"), _in_future, prioritised=False)


async def _set(unit: Unit, actor: Actor, number: int, spec: _Field, value: Any,
               dedupe_key: str | None = None) -> Request:
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.REQUESTER if spec.requester_too else Level.AGENT, spec.doing)
        if spec.requester_too:
            unit.policy.require_requester_or_agent(actor, request, spec.requester_too)
        spec.check(unit, request, value)
        previous = getattr(request, spec.column)
        setattr(request, spec.column, value)
        await tx.record(request, actor, spec.kind, reprioritise=spec.prioritised, previous=_iso(previous),
                        **{spec.key: _iso(value)})
        return request


async def set_urgency(unit: Unit, actor: Actor, number: int, urgency: str, *,
                     dedupe_key: str | None = None) -> str:
    """The requester's (or an agent's) urgency; the priority is computed again."""
    return (await _set(unit, actor, number, _URGENCY, check_urgency(unit.config, urgency), dedupe_key)).priority


async def set_weight(unit: Unit, actor: Actor, number: int, weight: str, *,
                    dedupe_key: str | None = None) -> str:
    """The dispatcher's (or agent's) weight; the priority is computed again."""
    return (await _set(unit, actor, number, _WEIGHT, check_urgency(unit.config, weight, "weight"), dedupe_key)).priority


async def set_category(unit: Unit, actor: Actor, number: int, category_id: str | None, *,
                      dedupe_key: str | None = None) -> str:
    """A category of the request's own zone (or none)."""
    return (await _set(unit, actor, number, _CATEGORY, category_id, dedupe_key)).priority


async def set_internal_category(unit: Unit, actor: Actor, number: int, internal: str | None, *,
                               dedupe_key: str | None = None) -> str:
    """The team's own classification (incident, change...), from the zone's list."""
    return (await _set(unit, actor, number, _INTERNAL, internal, dedupe_key)).priority


async def set_deadline(unit: Unit, actor: Actor, number: int, deadline: datetime | None, *,
                       dedupe_key: str | None = None) -> None:
    """A due date for the request (or none)."""
    if deadline is not None and deadline.tzinfo is None:
        raise DeskError(_("The deadline needs a time zone."))
    await _set(unit, actor, number, _DEADLINE, deadline, dedupe_key)


async def add_label(unit: Unit, actor: Actor, number: int, label: str, *, dedupe_key: str | None = None) -> None:
    """A personal label: only its owner sees it, so it is not part of the shared history."""
    label = label.strip().lower()
    if not LABEL_RE.match(label):
        raise DeskError(_("A label is one word of letters, digits, '-' or '_' (at most 40)."))
    async with unit.transaction(dedupe_key) as tx:
        await tx.load(actor, number, Level.REQUESTER, N_("label it"))
        try:
            async with tx.session.begin_nested():
                tx.session.add(Label(request_id=number, owner_email=actor.email, label=label))
        except IntegrityError:
            pass  # already labelled: the outcome the person wanted


async def remove_label(unit: Unit, actor: Actor, number: int, label: str, *,
                       dedupe_key: str | None = None) -> None:
    """Remove one of the actor's own labels."""
    async with unit.transaction(dedupe_key) as tx:
        await tx.load(actor, number, Level.REQUESTER, N_("label it"))
        await tx.session.execute(delete(Label).where(
            Label.request_id == number, Label.owner_email == actor.email, Label.label == label.strip().lower()))


async def relate(unit: Unit, actor: Actor, number: int, other: int, *, dedupe_key: str | None = None) -> None:
    """Relate two requests of the same zone: an agent of the first who may read the second."""
    if number == other:
        raise DeskError(_("A request cannot be related to itself."))
    async with unit.transaction(dedupe_key) as tx:
        first = await tx.load(actor, number, Level.AGENT, N_("relate it"))
        second = await tx.load(actor, other, Level.READER, N_("relate to it"))
        if first.zone_id != second.zone_id:
            raise DeskError(_("Relations exist only between requests of the same {zone}.",
                              zone=unit.config.organisation.zone_noun))
        a, b = sorted((number, other))
        try:
            async with tx.session.begin_nested():
                tx.session.add(Relation(a_id=a, b_id=b))
        except IntegrityError as exc:
            raise DeskError(_("#{number} and #{other} are already related.", number=number, other=other)) from exc
        await tx.record(first, actor, "related", other=other)
        await tx.record(second, actor, "related", other=number)


async def unrelate(unit: Unit, actor: Actor, number: int, other: int, *, dedupe_key: str | None = None) -> None:
    """Undo a relation: the same people who may relate the two requests, recorded on both."""
    async with unit.transaction(dedupe_key) as tx:
        first = await tx.load(actor, number, Level.AGENT, N_("relate it"))
        second = await tx.load(actor, other, Level.READER, N_("relate to it"))
        a, b = sorted((number, other))
        gone = await tx.session.execute(delete(Relation).where(Relation.a_id == a, Relation.b_id == b))
        if not gone.rowcount:  # type: ignore[attr-defined]
            raise DeskError(_("#{number} and #{other} are not related.", number=number, other=other))
        await tx.record(first, actor, "unrelated", other=other)
        await tx.record(second, actor, "unrelated", other=number)
