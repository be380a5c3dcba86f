"""What the daily digest and the weekly report share: the teams with a triage channel to post in, and
arming each team's next post as a keyed timer row (once per process and period here; the row's unique key
makes it once across replicas, decision 0006)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from bot.config import Team, Zone
from bot.errors import DeskError
from bot.scheduler import rows
from bot.scheduler.runner import Scheduler


def triage_teams(scheduler: Scheduler, wanted: Callable[[Zone], bool] = lambda _zone: True
                 ) -> list[tuple[Team, Zone]]:
    """Teams with somewhere to post (a triage channel of their own or, unless private, their zone's), in
    zones `wanted` accepts."""
    config = scheduler.desk.config
    found = []
    for team in config.teams:
        zone = config.zone(team.zone)
        if zone is None or not wanted(zone):
            continue
        try:
            if scheduler.desk.triage_channels(zone.id, team.id):
                found.append((team, zone))
        except DeskError:
            continue
    return found


async def arm_next(scheduler: Scheduler, now: datetime, memory: str, teams: list[tuple[Team, Zone]],
                   next_post: Callable[[Scheduler, Zone, datetime], tuple[date, datetime]],
                   timer: Callable[[Team, date, datetime], rows.Timer]) -> None:
    """Make sure each team's next post is armed: `next_post` finds its day and moment strictly after now,
    `timer` makes its row. `memory` names what this process remembers it armed."""
    done: dict[str, date] = scheduler.memory.setdefault(memory, {})
    wanted = []
    for team, zone in teams:
        day, moment = next_post(scheduler, zone, now - timedelta(microseconds=1))
        if done.get(team.id) != day:
            wanted.append((team.id, day, timer(team, day, moment)))
    if not wanted:
        return
    async with scheduler.sessions() as session, session.begin():
        await rows.ensure(session, [armed for _team, _day, armed in wanted])
    for team_id, day, _armed in wanted:
        done[team_id] = day
