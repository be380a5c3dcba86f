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

The sentences are in the language being spoken (`bot.i18n`), one whole sentence per case (with or
without a previous value, a category, a reason) so each language orders its words as it must; names
from `app.yaml` and what people typed are put in as they are. Times read as Babel writes them for the
language, except English, which keeps its "11 December 2026 16:00".
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

from babel import dates, lists

from bot.config import AppConfig
from bot.desk.types import EventView
from bot.i18n import N_, SOURCE, _, current, ngettext

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


# Translated where used (`_(STATUS_NAMES[status])`): the words are said in the reader's language.
STATUS_NAMES = {
    "new": N_("New"), "assigned": N_("Assigned"), "accepted": N_("Accepted"), "in_progress": N_("In progress"),
    "waiting": N_("Waiting"), "resolved": N_("Resolved"), "closed": N_("Closed"), "reopened": N_("Reopened"),
    "cancelled": N_("Cancelled"),
}
TASK_STATUS_NAMES = {"open": N_("Open"), "done": N_("Done")}
WAITING_ON = {"requester": N_("Waiting on requester"), "approval": N_("Waiting on approval"),
              "task": N_("Waiting on a task")}
# The pages' badges and status menu say it shorter, and "you" to the requester.
WAITING_LABELS = {"requester": N_("Waiting on requester"), "approval": N_("Waiting on approval"),
                  "task": N_("Waiting on task")}
SLA_CLOCKS = {"first_response": N_("first response"), "resolution": N_("resolution")}
SLA_NEAR = {"first_response": N_("The first response target is near: due {due}."),
            "resolution": N_("The resolution target is near: due {due}.")}
SLA_MISSED = {"first_response": N_("The first response target was missed: it was due {due}."),
              "resolution": N_("The resolution target was missed: it was due {due}.")}
# The priority levels `app.yaml` has by default (the pages' words for them); an organisation's own are
# shown as written.
LEVELS = {"low": N_("low"), "normal": N_("normal"), "high": N_("high"), "critical": N_("critical")}
# What an outbox row was (`Outbox.kind`), for a delivery failure.
MESSAGE_KINDS = {
    "thread_reply": N_("thread reply"), "dm": N_("dm"), "triage": N_("triage"), "confirm": N_("confirm"),
    "confirmation": N_("confirmation"), "status": N_("status"), "survey": N_("survey"), "replace": N_("replace"),
}
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


def level_word(level: str) -> str:
    """A priority level as a field shows it, in the language being spoken: 'high' (one `app.yaml` names
    itself as written)."""
    return _(LEVELS[level]) if level in LEVELS else level


def level_name(level: Any) -> str:
    """A priority, urgency or weight level as a value in a sentence: 'High', in the language being spoken."""
    if scalar(level) not in LEVELS:
        return words_of(level)
    said = level_word(level)
    return said[:1].upper() + said[1:]


def status_label(status: str, reason: str | None = None, *, for_requester: bool = False) -> str:
    """A request's (or task's) status as the pages show it, in the language being spoken: 'In progress';
    waiting says on what ('Waiting on task'; 'Waiting on you' to the requester)."""
    if status == "waiting" and reason:
        if for_requester and reason == "requester":
            return _("Waiting on you")
        known = WAITING_LABELS.get(reason)
        return _(known) if known else _("Waiting on {reason}", reason=reason.replace("_", " "))
    known = STATUS_NAMES.get(status) or TASK_STATUS_NAMES.get(status)
    return _(known) if known else status.replace("_", " ").capitalize()


def moment_text(moment: datetime) -> str:
    """A moment (already in the zone's time zone) written out: '11 December 2026 16:00' in English, the
    language's long date and short time elsewhere ('11. desember 2026, 16:00')."""
    said = current()
    if said.language == SOURCE:
        return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year} {moment:%H:%M}"
    locale = said.locale
    # CLDR's own way of joining a long date and a time ("{1}, {0}"), so each language reads as it should.
    pattern = (str(locale.datetime_formats["long"]).replace("{1}", locale.date_formats["long"].pattern)
               .replace("{0}", locale.time_formats["short"].pattern))
    return dates.format_datetime(moment, pattern, tzinfo=moment.tzinfo, locale=locale)


def listing(items: Sequence[str], *, either: bool = False) -> str:
    """Names joined as the language lists them: 'Marte, Ivar and Kim'; with `either`, '... or Kim'."""
    if len(items) <= 1:
        return "".join(items)
    said = current()
    if said.language == SOURCE:  # without the serial comma Babel's English would add
        return f"{', '.join(items[:-1])} {'or' if either else 'and'} {items[-1]}"
    return lists.format_list(list(items), style="or" if either else "standard", locale=said.locale)


@dataclass(frozen=True)
class Words:
    """What a sentence needs to name things: the configuration, the request's zone and requester, and
    whether the reader is staff (who also read the reasons agents typed). Without a requester's name the
    sentences say "the requester" in the reader's language."""

    config: AppConfig
    zone_id: str | None = None
    requester: str = ""
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
        """A status as the history says it, in the language being spoken: 'waiting' on 'requester' is
        'Waiting on requester'."""
        if status == "waiting" and reason:
            known = WAITING_ON.get(scalar(reason))
            return _(known) if known else _("Waiting on {reason}", reason=words_of(reason).lower())
        known = STATUS_NAMES.get(scalar(status))
        return _(known) if known else words_of(status)

    def when(self, value: Any) -> str:
        """An ISO time in the zone's time zone, as the language writes it: '11 December 2026 16:00'."""
        moment = datetime.fromisoformat(scalar(value))
        zone = self.config.zone(self.zone_id or "")
        calendar = self.config.calendars.get(zone.calendar if zone else "default")
        if moment.tzinfo is not None and calendar is not None:
            moment = moment.astimezone(ZoneInfo(calendar.timezone))
        return moment_text(moment)

    def reason(self, event: EventView, text: Any) -> str:
        """Text an agent typed (a reason), for staff readers only ('' for others); the requester reads
        their own."""
        mine = bool(self.requester_email) and event.actor_email == self.requester_email
        return typed(text) if self.staff or mine else ""


def typed(text: Any) -> str:
    """Free text someone typed, stripped; '' when there is none (or it is not text)."""
    return str(text).strip() if isinstance(text, str | int) and str(text).strip() else ""


def _tidy(text: str) -> str:
    """One full stop at the end, also after a reason that brought its own ('Replaced the fan.')."""
    return re.sub(r"([.!?])\.$", r"\1", text)


# ---------------------------------------------------------------- one function per event kind
def filed(w: Words, e: EventView) -> Sentence:
    """The request was filed (perhaps by someone on the requester's behalf)."""
    d = e.data
    actor, zone = w.actor(e), w.zone(d.get("zone") or w.zone_id)
    category = w.category(d["category"], d.get("zone")) if d.get("category") else ""
    if not d.get("on_behalf"):
        text = (_("{actor} filed it with {zone}, category {category}.", actor=actor, zone=zone, category=category)
                if category else _("{actor} filed it with {zone}.", actor=actor, zone=zone))
    elif w.requester:
        text = (_("{actor} filed it for {requester} with {zone}, category {category}.", actor=actor,
                  requester=w.requester, zone=zone, category=category) if category else
                _("{actor} filed it for {requester} with {zone}.", actor=actor, requester=w.requester, zone=zone))
    else:
        text = (_("{actor} filed it for the requester with {zone}, category {category}.", actor=actor, zone=zone,
                  category=category) if category else
                _("{actor} filed it for the requester with {zone}.", actor=actor, zone=zone))
    return Sentence(text, REQUESTER)


def replied(w: Words, e: EventView) -> Sentence:
    """An agent answered the requester."""
    if e.data.get("in_thread"):
        return Sentence(_("{actor} replied to the requester in the chat thread.", actor=w.actor(e)), REQUESTER)
    return Sentence(_("{actor} replied to the requester.", actor=w.actor(e)), REQUESTER)


def noted(w: Words, e: EventView) -> Sentence:
    """An internal note (its text is in the notes, never here)."""
    return Sentence(_("{actor} added an internal note.", actor=w.actor(e)), STAFF)


def commented(w: Words, e: EventView) -> Sentence:
    """The requester wrote; an answer to 'waiting on requester' moves the request on."""
    moved = e.data.get("status")
    if moved:
        return Sentence(_("{actor} answered. It moved from {previous} to {status}.", actor=w.actor(e),
                          previous=w.status("waiting", "requester"), status=w.status(moved)), REQUESTER)
    return Sentence(_("{actor} answered.", actor=w.actor(e)), REQUESTER)


def claimed(w: Words, e: EventView) -> Sentence:
    """An agent took the request."""
    previous = e.data.get("previous")
    if previous and previous != e.actor_email:
        return Sentence(_("{actor} took it over from {previous}.", actor=w.actor(e), previous=w.person(previous)),
                        REQUESTER)
    return Sentence(_("{actor} took it.", actor=w.actor(e)), REQUESTER)


def assigned(w: Words, e: EventView) -> Sentence:
    """Someone gave the request to an agent."""
    previous, assignee = e.data.get("previous"), w.person(scalar(e.data.get("assignee")))
    if previous:
        return Sentence(_("{actor} assigned it from {previous} to {assignee}.", actor=w.actor(e),
                          previous=w.person(previous), assignee=assignee), REQUESTER)
    return Sentence(_("{actor} assigned it to {assignee}.", actor=w.actor(e), assignee=assignee), REQUESTER)


def accepted(w: Words, e: EventView) -> Sentence:
    """The assignee accepted the request."""
    return Sentence(_("{actor} accepted it.", actor=w.actor(e)), REQUESTER)


def status(w: Words, e: EventView) -> Sentence:
    """A move through the status machine, with the resolution note when there is one."""
    d = e.data
    new, actor = d.get("status"), w.actor(e)
    if new == "closed" and e.channel == "scheduler":
        return Sentence(_("{actor} closed it: nobody said it was not solved.", actor=actor), REQUESTER)
    if new == "reopened":
        return Sentence(_("{actor} reopened it.", actor=actor), REQUESTER)
    if new == "cancelled":
        reason = w.reason(e, d.get("reason"))
        return Sentence(_("{actor} cancelled it: {reason}.", actor=actor, reason=reason) if reason else
                        _("{actor} cancelled it.", actor=actor), REQUESTER)
    to = w.status(new, d.get("reason"))
    note = typed(d.get("note") or d.get("resolution")) if new == "resolved" else ""  # the requester was sent it
    if d.get("previous"):
        previous = w.status(d["previous"])
        text = (_("{actor} moved it from {previous} to {status}: {note}.", actor=actor, previous=previous, status=to,
                  note=note) if note else
                _("{actor} moved it from {previous} to {status}.", actor=actor, previous=previous, status=to))
    else:
        text = (_("{actor} moved it to {status}: {note}.", actor=actor, status=to, note=note) if note else
                _("{actor} moved it to {status}.", actor=actor, status=to))
    return Sentence(text, REQUESTER)


@dataclass(frozen=True)
class _Field:
    """A field's four sentences: left empty, removed, set, changed (`{old}`, `{new}` its values)."""

    empty: str
    removed: str
    set: str
    changed: str


_URGENCY = _Field(N_("{actor} left the urgency empty."), N_("{actor} removed the urgency {old}."),
                  N_("{actor} set the urgency to {new}."), N_("{actor} changed the urgency from {old} to {new}."))
_WEIGHT = _Field(N_("{actor} left the weight empty."), N_("{actor} removed the weight {old}."),
                 N_("{actor} set the weight to {new}."), N_("{actor} changed the weight from {old} to {new}."))
_CATEGORY = _Field(N_("{actor} left the category empty."), N_("{actor} removed the category {old}."),
                   N_("{actor} set the category to {new}."), N_("{actor} changed the category from {old} to {new}."))
_INTERNAL = _Field(N_("{actor} left the internal category empty."),
                   N_("{actor} removed the internal category {old}."),
                   N_("{actor} set the internal category to {new}."),
                   N_("{actor} changed the internal category from {old} to {new}."))
_DEADLINE = _Field(N_("{actor} left the deadline empty."), N_("{actor} removed the deadline {old}."),
                   N_("{actor} set the deadline to {new}."), N_("{actor} changed the deadline from {old} to {new}."))


def _changed(w: Words, e: EventView, field: _Field, key: str, name: Callable[[Any], str],
             audience: Audience) -> Sentence:
    """A field set from one value to another (or cleared)."""
    new, old = e.data.get(key), e.data.get("previous")
    actor = w.actor(e)
    if new is None and old is None:
        return Sentence(_(field.empty, actor=actor), audience)
    if new is None:
        return Sentence(_(field.removed, actor=actor, old=name(old)), audience)
    if old is None:
        return Sentence(_(field.set, actor=actor, new=name(new)), audience)
    return Sentence(_(field.changed, actor=actor, old=name(old), new=name(new)), audience)


def _priority(w: Words, e: EventView, sentence: Sentence) -> Sentence:
    """The change, and the priority it gave."""
    priority = e.data.get("priority")
    if not priority:
        return sentence
    change = sentence.text[:-1] if sentence.text.endswith(".") else sentence.text
    return Sentence(_("{change}; the priority is {priority}.", change=change, priority=level_name(priority)),
                    sentence.audience)


def urgency(w: Words, e: EventView) -> Sentence:
    """The requester's (or an agent's) urgency."""
    return _priority(w, e, _changed(w, e, _URGENCY, "urgency", level_name, REQUESTER))


def weight(w: Words, e: EventView) -> Sentence:
    """The dispatcher's weight: staff only, as on the page."""
    return _priority(w, e, _changed(w, e, _WEIGHT, "weight", level_name, STAFF))


def category(w: Words, e: EventView) -> Sentence:
    """The request's category (requesters choose it and see it)."""
    return _priority(w, e, _changed(w, e, _CATEGORY, "category", w.category, REQUESTER))


def internal_category(w: Words, e: EventView) -> Sentence:
    """The team's own classification: never shown to requesters."""
    return _priority(w, e, _changed(w, e, _INTERNAL, "internal", words_of, STAFF))


def deadline(w: Words, e: EventView) -> Sentence:
    """The due date, in the zone's time zone."""
    return _changed(w, e, _DEADLINE, "deadline", w.when, REQUESTER)


def related(w: Words, e: EventView) -> Sentence:
    """Two requests of a zone related (the other may be someone else's: staff only)."""
    return Sentence(_("{actor} related it to #{other}.", actor=w.actor(e), other=scalar(e.data.get("other"))), STAFF)


def unrelated(w: Words, e: EventView) -> Sentence:
    """A relation undone (staff only, as relating is)."""
    return Sentence(_("{actor} removed its relation to #{other}.", actor=w.actor(e), other=scalar(e.data.get("other"))),
                    STAFF)


def transferred(w: Words, e: EventView) -> Sentence:
    """Handed to another zone; the agent's reason for staff only."""
    d = e.data
    actor, target = w.actor(e), d.get("target")
    source, into = w.zone(d.get("source")), w.zone(target)
    category = w.category(d["category"], target) if d.get("category") else ""
    reason = w.reason(e, d.get("reason"))
    if category and reason:
        text = _("{actor} transferred it from {source} to {target}, category {category}: {reason}.", actor=actor,
                 source=source, target=into, category=category, reason=reason)
    elif category:
        text = _("{actor} transferred it from {source} to {target}, category {category}.", actor=actor,
                 source=source, target=into, category=category)
    elif reason:
        text = _("{actor} transferred it from {source} to {target}: {reason}.", actor=actor, source=source,
                 target=into, reason=reason)
    else:
        text = _("{actor} transferred it from {source} to {target}.", actor=actor, source=source, target=into)
    return Sentence(text, REQUESTER)


def task_created(w: Words, e: EventView) -> Sentence:
    """A task to a team, zone or agent (tasks are staff business)."""
    d = e.data
    receiver = w.person(d["agent"]) if d.get("agent") else w.team(d["team"]) if d.get("team") else w.zone(
        d.get("zone"))
    task, title = scalar(d.get("task")), typed(d.get("title"))
    if title:
        return Sentence(_("{actor} asked {receiver} for task T{task}: {title}.", actor=w.actor(e), receiver=receiver,
                          task=task, title=title), STAFF)
    return Sentence(_("{actor} asked {receiver} for task T{task}.", actor=w.actor(e), receiver=receiver, task=task),
                    STAFF)


def task_done(w: Words, e: EventView) -> Sentence:
    """A task finished, with its outcome."""
    task, outcome = scalar(e.data.get("task")), typed(e.data.get("outcome"))
    if outcome:
        return Sentence(_("{actor} marked task T{task} done: {outcome}.", actor=w.actor(e), task=task,
                          outcome=outcome), STAFF)
    return Sentence(_("{actor} marked task T{task} done.", actor=w.actor(e), task=task), STAFF)


def approval_requested(w: Words, e: EventView) -> Sentence:
    """Approvers asked for a decision."""
    d = e.data
    emails, recorded = names(d.get("approvers")), d.get("names")
    recorded = names(recorded) if isinstance(recorded, list) else []
    named = recorded if len(recorded) == len(emails) else [w.person(a) for a in emails]
    actor = w.actor(e)
    if not named:
        return Sentence(_("{actor} asked an approver for approval.", actor=actor), REQUESTER)
    if d.get("mode") != "all":
        return Sentence(_("{actor} asked {approvers} for approval.", actor=actor,
                          approvers=listing(named, either=True)), REQUESTER)
    if d.get("ordered") and len(named) > 1:
        return Sentence(_("{actor} asked {approvers} (in that order) for approval.", actor=actor,
                          approvers=listing(named)), REQUESTER)
    return Sentence(_("{actor} asked {approvers} for approval.", actor=actor, approvers=listing(named)), REQUESTER)


def approval_vote(w: Words, e: EventView) -> Sentence:
    """One approver's decision; their comment for staff (the requester hears the final one in the thread)."""
    actor, decision, comment = w.actor(e), str(e.data.get("decision")), w.reason(e, e.data.get("comment"))
    if decision == "approved":
        text = (_("{actor} approved: {comment}.", actor=actor, comment=comment) if comment else
                _("{actor} approved.", actor=actor))
    elif decision == "rejected":
        text = (_("{actor} rejected: {comment}.", actor=actor, comment=comment) if comment else
                _("{actor} rejected.", actor=actor))
    else:
        text = (_("{actor} decided: {comment}.", actor=actor, comment=comment) if comment else
                _("{actor} decided.", actor=actor))
    return Sentence(text, REQUESTER)


def _decided(outcome: str, by: str, comment: str) -> str:
    """'The approval was approved by Marte Viken: Fine.', as each case reads."""
    if outcome == "approved":
        if by:
            return (_("The approval was approved by {name}: {comment}.", name=by, comment=comment) if comment else
                    _("The approval was approved by {name}.", name=by))
        return (_("The approval was approved: {comment}.", comment=comment) if comment else
                _("The approval was approved."))
    if outcome == "rejected":
        if by:
            return (_("The approval was rejected by {name}: {comment}.", name=by, comment=comment) if comment else
                    _("The approval was rejected by {name}.", name=by))
        return (_("The approval was rejected: {comment}.", comment=comment) if comment else
                _("The approval was rejected."))
    if by:
        return (_("The approval was decided by {name}: {comment}.", name=by, comment=comment) if comment else
                _("The approval was decided by {name}.", name=by))
    return (_("The approval was decided: {comment}.", comment=comment) if comment else
            _("The approval was decided."))


def approval_decided(w: Words, e: EventView) -> Sentence:
    """The approval's outcome (the requester was told it in their thread, comment included), and where
    the request went."""
    d = e.data
    outcome = scalar(d.get("outcome") or "decided")
    by = w.person(d["decided_by"], typed(d.get("decided_by_name"))) if d.get("decided_by") else ""
    text = _decided(outcome, by, typed(d.get("comment")))
    if d.get("status"):
        text = _tidy(text) + " " + _("The request is {status} again.", status=w.status(d["status"]))
    return Sentence(text, REQUESTER)


# The reasons the desk itself gives for a withdrawal, as `bot.desk.approvals` records them (in English).
_WITHDRAWN_CLOSED = re.compile(r"request #(?P<number>\d+) was (?P<status>cancelled|closed)")
_WITHDRAWN_MOVED = re.compile(r"request #(?P<number>\d+) was transferred to (?P<zone>.+)")


def _withdrawn_because(reason: str) -> str:
    """'The approval was withdrawn because request #4 was cancelled', in the reader's language when the
    reason is one of the desk's own."""
    found = _WITHDRAWN_CLOSED.fullmatch(reason)
    if found and found["status"] == "cancelled":
        return _("The approval was withdrawn because request #{number} was cancelled.", number=found["number"])
    if found:
        return _("The approval was withdrawn because request #{number} was closed.", number=found["number"])
    moved = _WITHDRAWN_MOVED.fullmatch(reason)
    if moved:
        return _("The approval was withdrawn because request #{number} was transferred to {zone}.",
                 number=moved["number"], zone=moved["zone"])
    return _("The approval was withdrawn because {reason}.", reason=reason)


def approval_withdrawn(w: Words, e: EventView) -> Sentence:
    """A pending approval nobody needs any more; `reason` is the desk's own words ("request #12 was
    cancelled"); staff also read who had not decided yet."""
    reason = typed(e.data.get("reason"))
    text = _withdrawn_because(reason) if reason else _("{actor} withdrew the approval.", actor=w.actor(e))
    waiting = names(e.data.get("waiting"))
    if waiting and w.staff:
        text = _("{withdrawn} ({waiting} had not decided).", withdrawn=text[:-1] if text.endswith(".") else text,
                 waiting=listing(waiting))
    return Sentence(text, REQUESTER)


def rated(w: Words, e: EventView) -> Sentence:
    """The requester's rating, with their own comment."""
    rating, comment = scalar(e.data.get("rating")), typed(e.data.get("comment"))
    if comment:
        return Sentence(_("{actor} rated it {rating} out of 5: {comment}.", actor=w.actor(e), rating=rating,
                          comment=comment), REQUESTER)
    return Sentence(_("{actor} rated it {rating} out of 5.", actor=w.actor(e), rating=rating), REQUESTER)


def survey_sent(w: Words, e: EventView) -> Sentence:
    """The satisfaction survey went to the requester."""
    if w.requester:
        return Sentence(_("{actor} asked {requester} how it went.", actor=w.actor(e), requester=w.requester),
                        REQUESTER)
    return Sentence(_("{actor} asked the requester how it went.", actor=w.actor(e)), REQUESTER)


def survey_expired(w: Words, e: EventView) -> Sentence:
    """Nobody answered the survey."""
    return Sentence(_("The satisfaction survey ended without an answer."), STAFF)


def clock_name(kind: str) -> str:
    """An SLA clock's name in the language being spoken ('first response')."""
    known = SLA_CLOCKS.get(kind)
    return _(known) if known else words_of(kind).lower()


def sla_warning(w: Words, e: EventView) -> Sentence:
    """An SLA clock is near its target."""
    kind, due = str(e.data.get("clock")), w.when(e.data.get("due"))
    known = SLA_NEAR.get(kind)
    return Sentence(_(known, due=due) if known else _("The {clock} target is near: due {due}.",
                                                      clock=clock_name(scalar(e.data.get("clock"))), due=due), STAFF)


def sla_breached(w: Words, e: EventView) -> Sentence:
    """An SLA clock passed its target."""
    kind, due = str(e.data.get("clock")), w.when(e.data.get("due"))
    known = SLA_MISSED.get(kind)
    return Sentence(_(known, due=due) if known else _("The {clock} target was missed: it was due {due}.",
                                                      clock=clock_name(scalar(e.data.get("clock"))), due=due), STAFF)


def delivery_failed(w: Words, e: EventView) -> Sentence:
    """The outbox gave up on a message."""
    kind = str(e.data.get("what") or "message")
    what = _(MESSAGE_KINDS[kind]) if kind in MESSAGE_KINDS else words_of(kind).lower()
    platform, tries = words_of(e.channel), typed(e.data.get("attempts"))
    if tries.isdigit():
        return Sentence(ngettext("A message ({what}) could not be delivered on {platform} after {count} attempt.",
                                 "A message ({what}) could not be delivered on {platform} after {count} attempts.",
                                 int(tries), what=what, platform=platform), STAFF)
    return Sentence(_("A message ({what}) could not be delivered on {platform}.", what=what, platform=platform),
                    STAFF)


def consulted(w: Words, e: EventView) -> Sentence:
    """An agent asked someone for their view (bot.desk.consultation): staff only, as is the answer."""
    person = w.person(e.data["person"], typed(e.data.get("name")))
    question = typed(e.data.get("question"))
    if question:
        return Sentence(_("{actor} asked {person} for their view: {question}", actor=w.actor(e), person=person,
                          question=question), STAFF)
    return Sentence(_("{actor} asked {person} for their view.", actor=w.actor(e), person=person), STAFF)


def consultation_withdrawn(w: Words, e: EventView) -> Sentence:
    """The question to a consultee was withdrawn: they no longer see the request."""
    return Sentence(_("{actor} withdrew the question to {person}.", actor=w.actor(e),
                      person=w.person(e.data["person"], typed(e.data.get("name")))), STAFF)


def consultation_answered(w: Words, e: EventView) -> Sentence:
    """A consultee answered: their view is an internal note."""
    return Sentence(_("{actor} gave their view in an internal note.", actor=w.actor(e)), STAFF)


def collaborator_invited(w: Words, e: EventView) -> Sentence:
    """An outside address was brought into the conversation by mail (bot.desk.collaborators): the requester
    reads it too, since that address receives the public replies."""
    return Sentence(_("{actor} brought {address} into the conversation by e-mail.", actor=w.actor(e),
                      address=scalar(e.data["address"])), REQUESTER)


def collaborator_removed(w: Words, e: EventView) -> Sentence:
    """An outside address was taken out of the conversation."""
    return Sentence(_("{actor} took {address} out of the conversation.", actor=w.actor(e),
                      address=scalar(e.data["address"])), REQUESTER)


def unknown(w: Words, e: EventView) -> Sentence:
    """A kind this module does not know yet: a sentence all the same, for staff only."""
    if not e.kind:
        return Sentence(_("{actor}: change.", actor=w.actor(e)), STAFF)
    return Sentence(_("{actor}: {change}.", actor=w.actor(e), change=words_of(e.kind).lower()), STAFF)


SENTENCES: dict[str, Callable[[Words, EventView], Sentence]] = {
    f.__name__: f for f in (
        filed, replied, noted, commented, claimed, assigned, accepted, status, urgency, weight, category,
        internal_category, deadline, related, unrelated, transferred, task_created, task_done, approval_requested,
        approval_vote, approval_decided, approval_withdrawn, rated, survey_sent, survey_expired, sla_warning,
        sla_breached, delivery_failed, consulted, consultation_withdrawn, consultation_answered,
        collaborator_invited, collaborator_removed,
    )
}


def register(kind: str, say: Callable[[Words, EventView], Sentence]) -> None:
    """A channel's own event kind and its sentence (the e-mail channel's "sender not verified", say), so the
    history reads it like the core's. A kind has one sentence: registering another for it is a mistake."""
    known = SENTENCES.get(kind)
    if known is not None and known is not say:
        raise ValueError(f"history event kind {kind!r} already has a sentence")
    SENTENCES[kind] = say


def sentence(words: Words, event: EventView) -> Sentence:
    """The event as a sentence in the language being spoken, and its audience. Never raises: data a
    sentence cannot read (an event written by an older version, a hand-edited row) falls back to the
    unknown kind's sentence, which only staff see."""
    try:
        said = SENTENCES.get(event.kind, unknown)(words, event)
        return Sentence(_tidy(said.text), said.audience)
    except Exception:  # a history line must never take the request page down
        log.warning("history: event %s with data %r could not be put in words", event.kind, event.data,
                    exc_info=True)
        try:
            return unknown(words, event)
        except Exception:
            return Sentence(_("A change was recorded."), STAFF)
