"""The weekly report's timers: each team's last week, in its triage channels, on its zone's first working day
of the week, when that working day starts (08:00 in the sample's Oslo calendar).

One timer per team and reported week (`weekly:<team>:<monday of the reported week>`), so the report is
sent once per (team, week) whatever the number of replicas, restarts or crashes: the key is unique, the
runner marks the row done in the transaction that queues the outbox rows (decision 0006). Each tick makes
sure every team's next report is armed; a report that ran arms the next. The first working day follows
the zone's calendar: a Monday holiday moves it to Tuesday. Each report covers the calendar week (Monday to
Sunday) before the one it is sent in; a week without any working day sends none (so the week before it is
only on the analytics page).
A team whose managers turned the report off (`bot.analytics.weekly`) gets nothing, and its timer moves on;
so does a team whose week was empty (nothing filed, resolved, open or surveyed): a page of zeros is noise.
The figures are read and the message written in the zone's language (`Unit.channel_language`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.analytics.weekly import figures_link, last_week, report_enabled, weekly_figures, weekly_message
from bot.config import Team, Zone
from bot.delivery.messages import Message
from bot.scheduler import rows
from bot.scheduler.calendar import WorkingCalendar
from bot.scheduler.calendars import local_moment
from bot.scheduler.runner import TICK_STEPS, JobContext, Scheduler, job
from bot.scheduler.team_posts import arm_next, triage_teams

WEEKLY = "weekly"
REPORT = "report"  # the outbox kind of a report: a post of its own in the channel


def first_working_day(calendar: WorkingCalendar, day: date) -> date | None:
    """The first working day of the week (Monday to Sunday) that `day` is in, if it has one."""
    monday = day - timedelta(days=day.weekday())
    return next((d for d in (monday + timedelta(days=i) for i in range(7)) if calendar.is_working_day(d)), None)


def next_weekly(scheduler: Scheduler, zone: Zone, after: datetime) -> tuple[date, datetime]:
    """The first weekly-report moment of a zone strictly after `after`: the first working day of a week, when
    the zone's working day starts. Returns that day and the moment."""
    calendar = scheduler.calendars.of_zone(zone.id)
    day = after.astimezone(calendar.zone).date()
    for _week in range(530):
        first = first_working_day(calendar, day)
        if first is not None:
            moment = local_moment(calendar, first, calendar.start)
            if moment > after:
                return first, moment
        day += timedelta(days=7 - day.weekday())
    raise ValueError(f"the calendar of zone {zone.id} has no working day in ten years")


def _timer(team: Team, day: date, moment: datetime) -> rows.Timer:
    first, _last = last_week(day)
    return rows.Timer(f"{WEEKLY}:{team.id}:{first.isoformat()}", WEEKLY, moment, None,
                      {"team": team.id, "from": first.isoformat()}, keep=True)


async def ensure_weekly(scheduler: Scheduler, now: datetime) -> None:
    """Make sure each team's next report is armed (once per process and week; the key makes it once overall)."""
    await arm_next(scheduler, now, "weekly", triage_teams(scheduler), next_weekly, _timer)


TICK_STEPS.append(ensure_weekly)


@job(WEEKLY)
async def send_weekly(context: JobContext) -> str:
    """Arm the next week's report, then (unless turned off) read the team's last week and post it."""
    config = context.config
    team = config.team(str(context.data.get("team", "")))
    zone = config.zone(team.zone) if team is not None else None
    if team is None or zone is None:
        return "moot: no such team"
    day, moment = next_weekly(context.scheduler, zone, max(context.now, context.row.due_at))
    await rows.ensure(context.tx.session, [_timer(team, day, moment)])
    if not await report_enabled(context.tx.session, team.id):
        return "turned off"
    channels = [(p, c) for p, c in context.desk.triage_channels(zone.id, team.id) if p in context.desk.platforms]
    if not channels:
        return "moot: no live triage channel"
    first = date.fromisoformat(str(context.data["from"]))
    last = first + timedelta(days=6)
    week = await weekly_figures(context.desk, team, first, last)
    if not (week.filed or week.resolved or week.open_at_start or week.open_at_end or week.surveys_sent):
        return "quiet week: nothing to report"
    link = figures_link(config.organisation.base_url, team.id, first, last)

    def report() -> Message:
        return weekly_message(week, link)

    message = await context.tx.say(context.desk.channel_language(zone.id), report)
    for platform, channel in channels:
        # "report": a new post in the channel, like a triage announcement (Teams needs no stored conversation
        # for it), but never folded into a digest of new requests as announcements queued together are
        context.tx.enqueue(platform=platform, kind=REPORT, conversation=f"{channel}:",
                           target={"channel": channel}, message=message)
    return f"sent: {week.filed} filed, {week.resolved} resolved"
