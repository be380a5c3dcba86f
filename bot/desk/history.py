"""A request's history in words: one sentence per event kind, and who it is meant for.

Every event recorded with `Tx.record` (or a scheduler job's `JobContext.event`) reads as a sentence
a requester or agent understands, with its old and new values in words: people, zones and categories
by the names `app.yaml` gives them, statuses as the pages show them ("Waiting on requester"), times
in the zone's time zone. Each sentence says its audience: `REQUESTER` events are shown to everyone
who may see the request, `STAFF` events (notes, internal categories, weights, tasks, SLA clocks,
relations, delivery failures) only to readers and agents. A free-text reason an agent typed (on a
transfer, a cancellation, an approver's vote) is added for staff only; the requester reads their own.
A kind this module does not know (a newer feature's) still reads as a sentence, for staff only, and
nothing here raises: an event whose data a sentence cannot read gets that plain line too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import AppConfig
from bot.desk.types import EventView

log = logging.getLogger(__name__)


class Audience(Enum):
    """Who an event is for."""

    REQUESTER = "requester"  # the requester and staff
    STAFF = "staff"  # readers and agents of the request only


REQUESTER, STAFF = Audience.REQUESTER, Audience.STAFF


@dataclass(frozen=True)
class Sentence:
    """One event in words, and who may read it."""

    text: str
    audience: Audience


STATUS_NAMES = {
    "new": "New", "assigned": "Assigned", "accepted": "Accepted", "in_progress": "In progress",
    "waiting": "Waiting", "resolved": "Resolved", "closed": "Closed", "reopened": "Reopened",
    "cancelled": "Cancelled",
}
WAITING_ON = {"requester": "Waiting on requester", "approval": "Waiting on approval", "task": "Waiting on a task"}
SLA_CLOCKS = {"first_response": "first response", "resolution": "resolution"}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def scalar(value: Any) -> str:
    """A value an event must hold (an id, a number) as text; anything else (missing, a list, a mapping)
    raises ValueError, and `sentence` falls back to a plain line rather than print it."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValueError(f"expected a name or number, got {value!r}")
    return str(value)


def names(value: Any) -> list[str]:
    """A list of names or addresses an event holds (none when missing)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {value!r}")
    return [scalar(v) for v in value]


def words_of(value: Any) -> str:
    """An identifier as words: 'service-request' -> 'Service request'."""
    text = scalar(value).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Words:
    """What a sentence needs to name things: the configuration, the request's zone and requester, and
    whether the reader is staff (who also read the reasons agents typed)."""

    config: AppConfig
    zone_id: str | None = None
    requester: str = "the requester"
    requester_email: str = ""
    staff: bool = True

    def person(self, email: Any, fallback: str = "") -> str:
        """A person's name from `app.yaml`, else the name recorded, else the address."""
        found = self.config.person(scalar(email))
        return found.name if found else fallback or scalar(email)

    def actor(self, event: EventView) -> str:
        """Who did it."""
        return self.person(event.actor_email, event.actor_name)

    def zone(self, zone_id: Any) -> str:
        """A zone's name."""
        found = self.config.zone(scalar(zone_id))
        return found.name if found else words_of(zone_id)

    def team(self, team_id: Any) -> str:
        """A team's name."""
        found = self.config.team(scalar(team_id))
        return found.name if found else words_of(team_id)

    def category(self, category_id: Any, zone_id: Any = None) -> str:
        """A category's name, looked up in the given zone, the request's zone, then every zone."""
        zones = [self.config.zone(str(z)) for z in (zone_id, self.zone_id) if z]
        for zone in [*zones, *self.config.zones]:
            found = zone.category(scalar(category_id)) if zone is not None else None
            if found is not None:
                return found.name
        return words_of(category_id)

    def status(self, status: Any, reason: Any = None) -> str:
        """A status as the pages show it: 'waiting' on 'requester' is 'Waiting on requester'."""
        if status == "waiting" and reason:
            return WAITING_ON.get(scalar(reason), f"Waiting on {words_of(reason).lower()}")
        return STATUS_NAMES.get(scalar(status), words_of(status))

    def when(self, value: Any) -> str:
        """An ISO time in the zone's time zone: '11 December 2026 16:00'."""
        moment = datetime.fromisoformat(scalar(value))
        zone = self.config.zone(self.zone_id or "")
        calendar = self.config.calendars.get(zone.calendar if zone else "default")
        if moment.tzinfo is not None and calendar is not None:
            moment = moment.astimezone(ZoneInfo(calendar.timezone))
        return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year} {moment:%H:%M}"

    def staff_detail(self, event: EventView, text: Any, joiner: str = ": ") -> str:
        """Text an agent typed (a reason), for staff readers only; the requester reads their own."""
        mine = bool(self.requester_email) and event.actor_email == self.requester_email
        return _with(text, joiner) if self.staff or mine else ""


def _listing(names: Sequence[str], last: str = "and") -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {last} {names[-1]}"


def _tidy(text: str) -> str:
    """One full stop at the end, also after a reason that brought its own ('Replaced the fan.')."""
    return re.sub(r"([.!?])\.$", r"\1", text)


def _with(text: Any, joiner: str = ": ") -> str:
    """Free text someone typed, after `joiner`; nothing when there is none (or it is not text)."""
    return f"{joiner}{str(text).strip()}" if isinstance(text, str | int) and str(text).strip() else ""


# ---------------------------------------------------------------- one function per event kind
def filed(w: Words, e: EventView) -> Sentence:
    """The request was filed (perhaps by someone on the requester's behalf)."""
    d = e.data
    who = f"{w.actor(e)} filed it for {w.requester}" if d.get("on_behalf") else f"{w.actor(e)} filed it"
    category = f", category {w.category(d['category'], d.get('zone'))}" if d.get("category") else ""
    return Sentence(f"{who} with {w.zone(d.get('zone') or w.zone_id)}{category}.", REQUESTER)


def replied(w: Words, e: EventView) -> Sentence:
    """An agent answered the requester."""
    where = " in the chat thread" if e.data.get("in_thread") else ""
    return Sentence(f"{w.actor(e)} replied to the requester{where}.", REQUESTER)


def noted(w: Words, e: EventView) -> Sentence:
    """An internal note (its text is in the notes, never here)."""
    return Sentence(f"{w.actor(e)} added an internal note.", STAFF)


def commented(w: Words, e: EventView) -> Sentence:
    """The requester wrote; an answer to 'waiting on requester' moves the request on."""
    moved = e.data.get("status")
    then = f" It moved from {w.status('waiting', 'requester')} to {w.status(moved)}." if moved else ""
    return Sentence(f"{w.actor(e)} answered.{then}", REQUESTER)


def claimed(w: Words, e: EventView) -> Sentence:
    """An agent took the request."""
    previous = e.data.get("previous")
    over = f" over from {w.person(previous)}" if previous and previous != e.actor_email else ""
    return Sentence(f"{w.actor(e)} took it{over}.", REQUESTER)


def assigned(w: Words, e: EventView) -> Sentence:
    """Someone gave the request to an agent."""
    previous = e.data.get("previous")
    source = f" from {w.person(previous)}" if previous else ""
    return Sentence(f"{w.actor(e)} assigned it{source} to {w.person(scalar(e.data.get('assignee')))}.", REQUESTER)


def accepted(w: Words, e: EventView) -> Sentence:
    """The assignee accepted the request."""
    return Sentence(f"{w.actor(e)} accepted it.", REQUESTER)


def status(w: Words, e: EventView) -> Sentence:
    """A move through the status machine, with the resolution note when there is one."""
    d = e.data
    new, actor = d.get("status"), w.actor(e)
    if new == "closed" and e.channel == "scheduler":
        return Sentence(f"{actor} closed it: nobody said it was not solved.", REQUESTER)
    if new == "reopened":
        return Sentence(f"{actor} reopened it.", REQUESTER)
    if new == "cancelled":
        return Sentence(f"{actor} cancelled it{w.staff_detail(e, d.get('reason'))}.", REQUESTER)
    moved = f"from {w.status(d['previous'])} to " if d.get("previous") else "to "
    text = f"{actor} moved it {moved}{w.status(new, d.get('reason'))}"
    if new == "resolved" and (d.get("note") or d.get("resolution")):
        text += _with(d.get("note") or d.get("resolution"))  # the requester was sent this note
    return Sentence(f"{text}.", REQUESTER)


def _changed(w: Words, e: EventView, what: str, key: str, name: Callable[[Any], str],
             audience: Audience) -> Sentence:
    """A field set from one value to another (or cleared)."""
    new, old = e.data.get(key), e.data.get("previous")
    actor = w.actor(e)
    if new is None and old is None:
        return Sentence(f"{actor} left the {what} empty.", audience)
    if new is None:
        return Sentence(f"{actor} removed the {what} {name(old)}.", audience)
    if old is None:
        return Sentence(f"{actor} set the {what} to {name(new)}.", audience)
    return Sentence(f"{actor} changed the {what} from {name(old)} to {name(new)}.", audience)


def _priority(w: Words, e: EventView, sentence: Sentence) -> Sentence:
    priority = e.data.get("priority")
    return Sentence(f"{sentence.text[:-1]}; the priority is {words_of(priority)}.", sentence.audience) \
        if priority else sentence


def urgency(w: Words, e: EventView) -> Sentence:
    """The requester's (or an agent's) urgency."""
    return _priority(w, e, _changed(w, e, "urgency", "urgency", words_of, REQUESTER))


def weight(w: Words, e: EventView) -> Sentence:
    """The dispatcher's weight: staff only, as on the page."""
    return _priority(w, e, _changed(w, e, "weight", "weight", words_of, STAFF))


def category(w: Words, e: EventView) -> Sentence:
    """The request's category (requesters choose it and see it)."""
    return _priority(w, e, _changed(w, e, "category", "category", w.category, REQUESTER))


def internal_category(w: Words, e: EventView) -> Sentence:
    """The team's own classification: never shown to requesters."""
    return _priority(w, e, _changed(w, e, "internal category", "internal", words_of, STAFF))


def deadline(w: Words, e: EventView) -> Sentence:
    """The due date, in the zone's time zone."""
    return _changed(w, e, "deadline", "deadline", w.when, REQUESTER)


def related(w: Words, e: EventView) -> Sentence:
    """Two requests of a zone related (the other may be someone else's: staff only)."""
    return Sentence(f"{w.actor(e)} related it to #{scalar(e.data.get('other'))}.", STAFF)


def transferred(w: Words, e: EventView) -> Sentence:
    """Handed to another zone; the agent's reason for staff only."""
    d = e.data
    target = d.get("target")
    into = f", category {w.category(d['category'], target)}" if d.get("category") else ""
    return Sentence(f"{w.actor(e)} transferred it from {w.zone(d.get('source'))} to {w.zone(target)}{into}"
                    f"{w.staff_detail(e, d.get('reason'))}.", REQUESTER)


def task_created(w: Words, e: EventView) -> Sentence:
    """A task to a team, zone or agent (tasks are staff business)."""
    d = e.data
    receiver = w.person(d["agent"]) if d.get("agent") else w.team(d["team"]) if d.get("team") else w.zone(
        d.get("zone"))
    return Sentence(f"{w.actor(e)} asked {receiver} for task T{scalar(d.get('task'))}{_with(d.get('title'))}.",
                    STAFF)


def task_done(w: Words, e: EventView) -> Sentence:
    """A task finished, with its outcome."""
    return Sentence(f"{w.actor(e)} marked task T{scalar(e.data.get('task'))} done{_with(e.data.get('outcome'))}.",
                    STAFF)


def approval_requested(w: Words, e: EventView) -> Sentence:
    """Approvers asked for a decision."""
    d = e.data
    emails, recorded = names(d.get("approvers")), d.get("names")
    recorded = names(recorded) if isinstance(recorded, list) else []
    named = recorded if len(recorded) == len(emails) else [w.person(a) for a in emails]
    if d.get("mode") == "all":
        who = _listing(named) + (" (in that order)" if d.get("ordered") and len(named) > 1 else "")
    else:
        who = _listing(named, "or")
    return Sentence(f"{w.actor(e)} asked {who or 'an approver'} for approval.", REQUESTER)


def approval_vote(w: Words, e: EventView) -> Sentence:
    """One approver's decision; their comment for staff (the requester hears the final one in the thread)."""
    decision = {"approved": "approved", "rejected": "rejected"}.get(str(e.data.get("decision")), "decided")
    return Sentence(f"{w.actor(e)} {decision}{w.staff_detail(e, e.data.get('comment'))}.", REQUESTER)


def approval_decided(w: Words, e: EventView) -> Sentence:
    """The approval's outcome (the requester was told it in their thread, comment included), and where
    the request went."""
    d = e.data
    outcome = scalar(d.get("outcome") or "decided")
    by = f" by {w.person(d['decided_by'], _with(d.get('decided_by_name'), ''))}" if d.get("decided_by") else ""
    then = f" The request is {w.status(d['status'])} again." if d.get("status") else ""
    return Sentence(f"The approval was {outcome}{by}{_with(d.get('comment'))}.{then}", REQUESTER)


def approval_withdrawn(w: Words, e: EventView) -> Sentence:
    """A pending approval nobody needs any more; `reason` is the desk's own words ("request #12 was
    cancelled"); staff also read who had not decided yet."""
    reason = _with(e.data.get("reason"), "")
    text = f"The approval was withdrawn because {reason}" if reason else f"{w.actor(e)} withdrew the approval"
    waiting = names(e.data.get("waiting"))
    if waiting and w.staff:
        text += f" ({_listing(waiting)} had not decided)"
    return Sentence(f"{text}.", REQUESTER)


def rated(w: Words, e: EventView) -> Sentence:
    """The requester's rating, with their own comment."""
    return Sentence(f"{w.actor(e)} rated it {scalar(e.data.get('rating'))} out of 5{_with(e.data.get('comment'))}.",
                    REQUESTER)


def survey_sent(w: Words, e: EventView) -> Sentence:
    """The satisfaction survey went to the requester."""
    return Sentence(f"{w.actor(e)} asked {w.requester} how it went.", REQUESTER)


def survey_expired(w: Words, e: EventView) -> Sentence:
    """Nobody answered the survey."""
    return Sentence("The satisfaction survey ended without an answer.", STAFF)


def sla_warning(w: Words, e: EventView) -> Sentence:
    """An SLA clock is near its target."""
    clock = SLA_CLOCKS.get(str(e.data.get("clock")), words_of(e.data.get("clock")).lower())
    return Sentence(f"The {clock} target is near: due {w.when(e.data.get('due'))}.", STAFF)


def sla_breached(w: Words, e: EventView) -> Sentence:
    """An SLA clock passed its target."""
    clock = SLA_CLOCKS.get(str(e.data.get("clock")), words_of(e.data.get("clock")).lower())
    return Sentence(f"The {clock} target was missed: it was due {w.when(e.data.get('due'))}.", STAFF)


def delivery_failed(w: Words, e: EventView) -> Sentence:
    """The outbox gave up on a message."""
    what = words_of(e.data.get("what") or "message").lower()
    tries = _with(e.data.get("attempts"), "")
    after = f" after {tries} attempt{'s' if tries != '1' else ''}" if tries else ""
    return Sentence(f"A message ({what}) could not be delivered on {words_of(e.channel)}{after}.", STAFF)


def unknown(w: Words, e: EventView) -> Sentence:
    """A kind this module does not know yet: a sentence all the same, for staff only."""
    return Sentence(f"{w.actor(e)}: {words_of(e.kind or 'change').lower()}.", STAFF)


SENTENCES: dict[str, Callable[[Words, EventView], Sentence]] = {
    f.__name__: f for f in (
        filed, replied, noted, commented, claimed, assigned, accepted, status, urgency, weight, category,
        internal_category, deadline, related, transferred, task_created, task_done, approval_requested,
        approval_vote, approval_decided, approval_withdrawn, rated, survey_sent, survey_expired, sla_warning,
        sla_breached, delivery_failed,
    )
}


def sentence(words: Words, event: EventView) -> Sentence:
    """The event as a sentence, and its audience. Never raises: data a sentence cannot read (an event
    written by an older version, a hand-edited row) falls back to the unknown kind's sentence, which
    only staff see."""
    try:
        said = SENTENCES.get(event.kind, unknown)(words, event)
        return Sentence(_tidy(said.text), said.audience)
    except Exception:  # a history line must never take the request page down
        log.warning("history: event %s with data %r could not be put in words", event.kind, event.data,
                    exc_info=True)
        try:
            return unknown(words, event)
        except Exception:
            return Sentence("A change was recorded.", STAFF)
