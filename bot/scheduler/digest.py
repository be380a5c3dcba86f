"""The daily digest: each team's open, unassigned, SLA-breaching and waiting requests, in its triage channel.

Sent on working days of the team's zone calendar, at the zone's `digest.at` (local time; by default
when the working day starts). One timer per team and day (`digest:<team>:<date>`): each tick makes
sure the next one exists (a unique key, so replicas agree), and a digest that ran arms the next. It is
written in the zone's language (`Unit.channel_language`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from babel import dates
from sqlalchemy import and_, case, func, select

from bot.config import Team, Zone
from bot.delivery.messages import Message
from bot.desk.status import OPEN
from bot.i18n import SOURCE, _, current
from bot.model import Request, SlaClock
from bot.scheduler import rows
from bot.scheduler.calendars import local_moment
from bot.scheduler.runner import TICK_STEPS, JobContext, Scheduler, job
from bot.scheduler.team_posts import arm_next, triage_teams

DIGEST = "digest"
LISTED = 10


def _digest_time(scheduler: Scheduler, zone: Zone) -> time:
    if zone.digest.at is not None:
        hour, minute = zone.digest.at.split(":")
        return time(int(hour), int(minute))
    return scheduler.calendars.of_zone(zone.id).start


def next_digest(scheduler: Scheduler, zone: Zone, after: datetime) -> tuple[date, datetime]:
    """The first digest moment of a zone strictly after `after`: a working day at the digest time."""
    calendar = scheduler.calendars.of_zone(zone.id)
    at = _digest_time(scheduler, zone)
    day = after.astimezone(calendar.zone).date()
    for _attempt in range(3660):
        if calendar.is_working_day(day):
            moment = local_moment(calendar, day, at)
            if moment > after:
                return day, moment
        day += timedelta(days=1)
    raise ValueError(f"the calendar of zone {zone.id} has no working day in ten years")


def _timer(team: Team, day: date, moment: datetime) -> rows.Timer:
    return rows.Timer(f"{DIGEST}:{team.id}:{day.isoformat()}", DIGEST, moment, None, {"team": team.id,
                                                                                      "day": day.isoformat()},
                      keep=True)


async def ensure_digests(scheduler: Scheduler, now: datetime) -> None:
    """Make sure each team's next digest is armed (once per process and day; the key makes it once overall)."""
    await arm_next(scheduler, now, "digests", triage_teams(scheduler, lambda zone: zone.digest.enabled),
                   next_digest, _timer)


TICK_STEPS.append(ensure_digests)


@job(DIGEST)
async def send_digest(context: JobContext) -> str:
    """Count and list the team's work, post it, and arm the next working day's digest."""
    config = context.config
    team = config.team(str(context.data.get("team", "")))
    zone = config.zone(team.zone) if team is not None else None
    if team is None or zone is None or not zone.digest.enabled:
        return "moot: no such team"
    session = context.tx.session
    mine = and_(Request.team_id == team.id, Request.status.in_(sorted(OPEN)))
    open_count, unassigned, waiting = (await session.execute(select(
        func.count(),
        func.coalesce(func.sum(case((Request.assignee_email.is_(None), 1), else_=0)), 0),
        func.coalesce(func.sum(case((Request.status == "waiting", 1), else_=0)), 0),
    ).where(mine))).one()
    day_armed, moment = next_digest(context.scheduler, zone, max(context.now, context.row.due_at))
    await rows.ensure(session, [_timer(team, day_armed, moment)])
    if not open_count:
        return "nothing open"
    breaching_q = (select(Request.id, Request.title).join(SlaClock, SlaClock.request_id == Request.id)
                   .where(mine, SlaClock.met_at.is_(None), SlaClock.breached_at.is_not(None))
                   .group_by(Request.id, Request.title).order_by(Request.id))
    breaching = (await session.execute(breaching_q)).all()
    nobody = (await session.execute(select(Request.id, Request.title).where(mine, Request.assignee_email.is_(None))
                                    .order_by(Request.created_at, Request.id).limit(LISTED))).all()
    calendar = context.scheduler.calendars.of_zone(zone.id)
    today = context.now.astimezone(calendar.zone)
    breached = {b[0] for b in breaching}

    def digest() -> Message:
        """The digest in the language being spoken (the zone's)."""
        said = current()
        lines = [_("#{number} {title} (SLA breached)", number=number, title=title)
                 for number, title in breaching[:LISTED]]
        lines += [_("#{number} {title} (nobody has it)", number=number, title=title)
                  for number, title in nobody if number not in breached][: max(0, LISTED - len(lines))]
        day = (today.strftime("%A %d %B") if said.language == SOURCE else
               dates.format_date(today.date(), "full", locale=said.locale))
        return Message(
            title=_("{team}: daily digest for {day}", team=team.name, day=day),
            text="\n".join(lines) if lines else _("Nothing breaching or unassigned."),
            fields=((_("Open"), said.number(open_count)), (_("Unassigned"), said.number(unassigned)),
                    (_("Breaching SLA"), said.number(len(breaching))), (_("Waiting"), said.number(waiting))),
            link=f"{config.organisation.base_url.rstrip('/')}/desk", link_label=_("Open the desk"),
            extra={"digest": team.id},
        )

    message = await context.tx.say(context.desk.channel_language(zone.id), digest)
    for platform, channel in context.desk.triage_channels(zone.id, team.id):
        if platform in context.desk.platforms:
            # "digest": a post of its own in the channel, like the weekly report (Teams needs no stored
            # conversation for it). Not "triage": announcements waiting together for a channel are folded into
            # one "new requests arrived together" post, which would swallow the digest.
            context.tx.enqueue(platform=platform, kind=DIGEST, conversation=f"{channel}:",
                               target={"channel": channel}, message=message)
    return f"sent: {open_count} open"
