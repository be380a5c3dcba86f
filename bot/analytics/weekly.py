"""The weekly report: last week's figures of one team, posted in its triage channels on the first working
day of its zone's week, and the switch its managers turn it off (and on) with.

The figures are the analytics page's (`bot.analytics.report.build_report`), for the team's requests over
the last local week (Monday to Sunday in the zone's time zone), read as the team's own members read them
(`Policy.team_reader`): the same definitions, computed in one place. The report links to the page with the
same query (`/analytics?team=...&from=...&to=...`).

When it goes out is the scheduler's business (`bot.scheduler.weekly`); who may turn it off is the
policy's (`Policy.can_switch_weekly_report`: a manager of the team's zone, or an administrator). A team
without a row in `weekly_reports` gets the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from babel import dates, numbers
from sqlalchemy import Boolean, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Actor
from bot.analytics.periods import RANGE
from bot.analytics.query import Query
from bot.analytics.report import build_report
from bot.config import Team
from bot.delivery.messages import Message
from bot.desk.unit import Unit
from bot.errors import DeskError
from bot.i18n import SOURCE, _, current
from bot.model import UtcDateTime, WeeklyReport

NOTHING = "\u2013"  # an en dash: no figure


@dataclass(frozen=True)
class WeeklyFigures:
    """One team's week, as the weekly report says it. Durations in seconds, None without a value."""

    team: Team
    first: date  # the Monday
    last: date  # the Sunday
    filed: int
    resolved: int
    open_at_start: int
    open_at_end: int
    first_response_median: float | None
    resolution_median: float | None
    sla_met: int
    sla_breached: int
    sla_running: int
    surveys_sent: int
    surveys_answered: int
    average_rating: float | None

    @property
    def backlog_change(self) -> int:
        """Open at the end minus open at the start."""
        return self.open_at_end - self.open_at_start

    @property
    def sla_attainment(self) -> float | None:
        """Met in time / decided, as the page computes it; None while none is decided."""
        decided = self.sla_met + self.sla_breached
        return self.sla_met / decided if decided else None

    @property
    def response_rate(self) -> float | None:
        """Share of the week's surveys answered; None when none was sent."""
        return self.surveys_answered / self.surveys_sent if self.surveys_sent else None


def last_week(day: date) -> tuple[date, date]:
    """The Monday and Sunday of the week before the one `day` is in."""
    monday = day - timedelta(days=day.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


async def weekly_figures(unit: Unit, team: Team, first: date, last: date) -> WeeklyFigures:
    """The team's figures for local days `first` to `last`, as the analytics page computes them for a member."""
    query = Query(team=team.id, period=RANGE, first=first, last=last)
    report = await build_report(unit, unit.policy.team_reader(team.id), query)
    totals = report.totals
    volume = totals.volume
    # The page replays the backlog (+1 filed, -1 resolved or cancelled, +1 reopened); undone over the week,
    # that replay gives what was open when the week began.
    open_at_start = volume.open_at_end - volume.filed + volume.resolved + volume.cancelled - volume.reopened
    summary = report.total_summary()
    return WeeklyFigures(
        team=team, first=first, last=last, filed=volume.filed, resolved=volume.resolved,
        open_at_start=open_at_start, open_at_end=volume.open_at_end,
        first_response_median=summary.first_response_median, resolution_median=summary.resolution_median,
        sla_met=summary.sla_met, sla_breached=summary.sla_breached, sla_running=sum(a.running for a in totals.sla),
        surveys_sent=totals.satisfaction.sent, surveys_answered=totals.satisfaction.answered,
        average_rating=summary.average_rating,
    )


def figures_link(base_url: str, team_id: str, first: date, last: date) -> str:
    """The analytics page with the report's query: the team, its week."""
    query = urlencode({"team": team_id, "from": first.isoformat(), "to": last.isoformat()})
    return f"{base_url.rstrip('/')}/analytics?{query}"


# ----------------------------------------------------------------------------- words

def _day(value: date) -> str:
    if current().language == SOURCE:
        return f"{value.day} {value.strftime('%b %Y')}"
    return dates.format_skeleton("yMMMd", value, locale=current().locale)


def _duration(seconds: float | None) -> str:
    """'45 min', '3 h 20 min', '2 d 4 h' (the analytics page's words); a dash for none."""
    if seconds is None:
        return NOTHING
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("{minutes} min", minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("{hours} h {minutes} min", hours=hours, minutes=minutes) if minutes else _("{hours} h", hours=hours)
    days, hours = divmod(hours, 24)
    return _("{days} d {hours} h", days=days, hours=hours) if hours else _("{days} d", days=days)


def _percent(value: float | None) -> str:
    return NOTHING if value is None else numbers.format_percent(value, locale=current().locale)


def _signed(value: int) -> str:
    shown = current().number(abs(value))
    return f"+{shown}" if value > 0 else (f"\u2212{shown}" if value < 0 else shown)


def weekly_message(week: WeeklyFigures, link: str) -> Message:
    """The report, in the language being spoken (a triage channel's: its zone's). Plain text: each adapter
    escapes the team's name and every figure for its platform."""
    said = current()
    n = said.number
    sla = (_("{met} met, {breached} breached, {running} still running", met=n(week.sla_met),
             breached=n(week.sla_breached), running=n(week.sla_running))
           if week.sla_met or week.sla_breached or week.sla_running else _("no SLA clocks started"))
    if week.sla_attainment is not None:
        sla = _("{counts} ({share} met in time)", counts=sla, share=_percent(week.sla_attainment))
    if not week.surveys_sent:
        rated = _("no surveys sent")
    elif week.average_rating is None:
        rated = _("none of {sent} surveys answered", sent=n(week.surveys_sent))
    else:
        rated = _("average {rating} of 5; {answered} of {sent} surveys answered ({share})",
                  rating=numbers.format_decimal(week.average_rating, format="0.0", locale=said.locale),
                  answered=n(week.surveys_answered), sent=n(week.surveys_sent), share=_percent(week.response_rate))
    return Message(
        title=_("{team}: weekly report for {first} to {last}", team=week.team.name, first=_day(week.first),
                last=_day(week.last)),
        text=_("Last week's figures for the requests of {team}, counted as the analytics page counts them.",
               team=week.team.name),
        fields=(
            (_("Filed"), n(week.filed)),
            (_("Resolved"), n(week.resolved)),
            (_("Open at the start"), n(week.open_at_start)),
            (_("Open at the end"), _("{count} ({change})", count=n(week.open_at_end),
                                     change=_signed(week.backlog_change))),
            (_("First response, median"), _duration(week.first_response_median)),
            (_("Resolution, median"), _duration(week.resolution_median)),
            (_("SLA targets"), sla),
            (_("Satisfaction"), rated),
        ),
        link=link, link_label=_("Open the figures"),
        extra={"weekly": week.team.id, "week": week.first.isoformat()},
    )


# ----------------------------------------------------------------------------- turning it off and on

# One statement, so two managers switching at once cannot both insert (the later one wins).
_SWITCH = text(
    "INSERT INTO weekly_reports (team_id, enabled, changed_by, changed_at) "
    "VALUES (:team_id, :enabled, :changed_by, :changed_at) "
    "ON CONFLICT (team_id) DO UPDATE SET enabled = excluded.enabled, changed_by = excluded.changed_by, "
    "changed_at = excluded.changed_at"
).bindparams(bindparam("enabled", type_=Boolean()), bindparam("changed_at", type_=UtcDateTime()))

async def report_enabled(session: AsyncSession, team_id: str) -> bool:
    """Whether the team gets its weekly report (no row: it does)."""
    found = await session.scalar(select(WeeklyReport.enabled).where(WeeklyReport.team_id == team_id))
    return True if found is None else bool(found)


def find_team(unit: Unit, name: str) -> Team:
    """A team by id or by name as typed (any case); an unknown one is refused with the teams there are."""
    wanted = name.strip().lower()
    for team in unit.config.teams:
        if wanted in (team.id, team.name.lower()):
            return team
    known = ", ".join(t.id for t in unit.config.teams)
    raise DeskError(_("There is no team '{team}'. Teams: {known}.", team=name.strip()[:40], known=known))


def require_switch(unit: Unit, actor: Actor, team: Team) -> None:
    """Refuse, saying who may, unless the actor may turn the team's weekly report off or on."""
    if not unit.policy.can_switch_weekly_report(actor, team.id):
        zone = unit.config.zone(team.zone)
        raise DeskError(_("Only a manager of {name}, where {team} belongs, or an administrator can turn its weekly "
                          "report off or on.", name=zone.name if zone else team.zone, team=team.name))


async def switch_weekly_report(unit: Unit, actor: Actor, team_id: str, enabled: bool,
                               dedupe_key: str | None = None) -> str:
    """Turn a team's weekly report on or off (a manager of its zone, or an administrator); returns what to tell
    them. Refused with DeskError (nothing written) for an unknown team or anyone else."""
    team = find_team(unit, team_id)
    require_switch(unit, actor, team)
    async with unit.transaction(dedupe_key) as tx:
        await tx.session.execute(_SWITCH, {"team_id": team.id, "enabled": enabled, "changed_by": actor.email,
                                           "changed_at": tx.now})
    if enabled:
        return _("The weekly report of {team} is on: it is posted in the team's triage channel on the first working "
                 "day of each week.", team=team.name)
    return _("The weekly report of {team} is off: nothing is posted until a manager turns it on again.",
             team=team.name)


async def weekly_setting(unit: Unit, actor: Actor, team_id: str | None) -> tuple[Team, bool] | None:
    """The team and whether its report is on, for someone who may switch it; None for anyone else."""
    team = unit.config.team(team_id) if team_id else None
    if team is None or not unit.policy.can_switch_weekly_report(actor, team.id):
        return None
    async with unit.sessions() as session:
        return team, await report_enabled(session, team.id)
