"""Satisfaction surveys: after a close, the requester rates the help from 1 to 5, with an optional comment.

Asked once, in the request's original thread (or by direct message when it came from elsewhere),
after an agent closed it or the requester confirmed it solved. Never after an auto-close or a
cancel, never to a requester who handled their own request, at most once per person per cool-down,
and to a deterministic sample of requests when the zone samples. A rating is recorded once (a
conditional update), stored on the survey and on the request, and shown in the request's history.
A survey expires after `expires_days`; reopening the request withdraws it. The question is asked in
the requester's language (`Tx.to_thread` and `Tx.to_person` build it while it is spoken).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bot.access import Actor
from bot.config import Zone
from bot.delivery.messages import Button, Message
from bot.desk.actions import Outcome, action
from bot.desk.unit import Tx, Unit
from bot.errors import DeskError
from bot.i18n import _
from bot.model import Identity, Request, Survey

COMMENT_MAX = 2000
RATINGS = range(1, 6)


def sampled(request_id: int, rate: float) -> bool:
    """Whether a request is in the survey sample: a stable hash of its number, so reruns agree."""
    if rate >= 1:
        return True
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"zonedesk-survey:{request_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def survey_message(desk: Unit, request: Request, survey_id: int) -> Message:
    """The question: five buttons and room for a comment, in the language being spoken."""
    return Message(
        title=_("How did we do with #{number}?", number=request.id),
        text="\n".join((request.title,
                        _("Rate our help from 1 (poor) to 5 (excellent). You may add a comment first."))),
        buttons=tuple(Button("rate", str(n), f"{survey_id}:{n}") for n in RATINGS),
        link=desk.link(request.id),
        link_label=_("Open #{number}", number=request.id),
        extra={"number": request.id, "survey": survey_id, "comment": True},
    )


async def _why_not(desk: Unit, tx: Tx, request: Request, zone: Zone) -> str | None:
    """Why this request gets no survey now, or None when it does."""
    if request.status != "closed" or request.closed_by == "auto":
        return "not closed by a person"
    if not zone.survey.enabled:
        return "surveys are off in this zone"
    if request.assignee_email and request.assignee_email == request.requester_email:
        return "the requester handled it"
    if not sampled(request.id, zone.survey.sample_rate):
        return "not in the sample"
    if await tx.session.scalar(select(Survey.id).where(Survey.request_id == request.id,
                                                       Survey.status == "answered").limit(1)):
        return "already rated"
    if zone.survey.cooldown_days:
        since = tx.now - timedelta(days=zone.survey.cooldown_days)
        if await tx.session.scalar(select(Survey.id).where(Survey.requester_email == request.requester_email,
                                                           Survey.sent_at > since).limit(1)):
            return "asked recently"
    if not await _reachable(desk, tx, request):
        return "no chat to ask in"
    return None


async def _reachable(desk: Unit, tx: Tx, request: Request) -> bool:
    if request.origin_platform in desk.platforms and request.origin_channel:
        return True
    seen = await tx.session.scalar(select(Identity.platform).where(
        Identity.email == request.requester_email.lower(), Identity.platform.in_(sorted(desk.platforms))).limit(1))
    return seen is not None


async def send_survey(desk: Unit, tx: Tx, request: Request, zone: Zone) -> tuple[str, Survey | None]:
    """Ask the requester for a rating if the rules allow; returns what happened and the survey sent."""
    reason = await _why_not(desk, tx, request, zone)
    if reason is not None:
        return f"skipped: {reason}", None
    survey = Survey(request_id=request.id, requester_email=request.requester_email, status="sent",
                    sent_at=tx.now, expires_at=tx.now + timedelta(days=zone.survey.expires_days))
    tx.session.add(survey)
    await tx.session.flush()
    survey_id = survey.id

    def message() -> Message:  # built in the requester's language
        return survey_message(desk, request, survey_id)

    if request.origin_platform in desk.platforms and request.origin_channel:
        await tx.to_thread(request, message, kind="survey")
    else:
        await tx.to_person(request.requester_email, message, request.id, request.zone_id)
    return "sent", survey


async def expire_survey(tx: Tx, survey_id: int) -> bool:
    """An unanswered survey past its time no longer takes a rating; True if it was still open."""
    result = await tx.session.execute(update(Survey).where(Survey.id == survey_id, Survey.status == "sent")
                                      .values(status="expired").execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def rate(desk: Unit, actor: Actor, survey_id: int, rating: int, comment: str = "", *,
               dedupe_key: str | None = None) -> Outcome:
    """Record the requester's rating (and comment) once; it shows on the request and in its history."""
    if rating not in RATINGS:
        raise DeskError(_("A rating is a number from 1 to 5."))
    comment = comment.strip()[:COMMENT_MAX]
    async with desk.transaction(dedupe_key) as tx:
        survey = await tx.session.get(Survey, survey_id)
        if survey is None or survey.requester_email != actor.email:
            raise DeskError(_("This survey is not yours to answer."))
        refusal = _closed_survey(survey, tx.now)
        if refusal is not None:
            return Outcome(refusal, Message(text=refusal), final=True)
        answered = await tx.session.execute(
            update(Survey).where(Survey.id == survey.id, Survey.status == "sent")
            .values(status="answered", rating=rating, comment=comment or None, answered_at=tx.now)
            .execution_options(synchronize_session=False))
        if answered.rowcount != 1:  # type: ignore[attr-defined]
            return Outcome(_("You already rated this request. Thank you!"), final=True)
        query = select(Request).where(Request.id == survey.request_id)
        if tx.session.bind.dialect.name == "postgresql":
            query = query.with_for_update()
        request = (await tx.session.execute(query)).scalar_one()
        request.satisfaction = rating
        await tx.record(request, actor, "rated", survey=survey.id, rating=rating, comment=comment or None)
        number = request.id
    # The rater's own answer and card: in their language, which the adapter speaks around this.
    line = _("Rated {rating}/5 by {name}.", rating=rating, name=actor.name)
    if comment:
        line = " ".join((line, _("Comment: {comment}", comment=comment)))
    return Outcome(_("Thank you for rating #{number}: {rating}/5.", number=number, rating=rating),
                   Message(title=_("Request #{number}", number=number), text=line, extra={"number": number}),
                   final=True)


def _closed_survey(survey: Survey, now: datetime) -> str | None:
    if survey.status == "answered":
        return _("You already rated this request. Thank you!")
    if survey.status == "withdrawn":
        return _("This survey was withdrawn: the request was reopened.")
    if survey.status == "expired" or survey.expires_at <= now:
        return _("This survey has expired.")
    return None


def parse_rating(value: str) -> tuple[int, int, str]:
    """A rate button's value '<survey>:<n>' (with ':<comment>' when the card's comment box was filled)."""
    survey, _colon, rest = value.partition(":")
    rating, _colon, comment = rest.partition(":")
    try:
        return int(survey), int(rating), comment
    except ValueError as exc:
        raise DeskError(_("This button refers to no survey.")) from exc


@action("rate")
async def _rate(desk: Unit, actor: Actor, value: str, dedupe_key: str | None) -> Outcome:
    survey_id, rating, comment = parse_rating(value)
    return await rate(desk, actor, survey_id, rating, comment, dedupe_key=dedupe_key)
