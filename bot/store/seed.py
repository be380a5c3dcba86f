"""`zonedesk seed --requests N`: fake but plausible history for measuring dashboards and load at volume.

Requests are spread over the zones and categories of `app.yaml`, filed over the last months during
working hours, by a few hundred requesters, with replies, notes, status changes and ratings in
believable proportions. Rows are written with bulk INSERTs (the use cases would take minutes for
100,000 requests, and the point here is volume, not the use cases, which the tests cover).

The history the analytics read comes with them: about 7% of resolved requests were resolved
once before, reopened and resolved again (the request keeps its latest resolution); every request of
a zone with SLA rules has its two clocks (met, breached or running, due in calendar hours here, which
is close enough for volume); every closed request was sent a survey, answered with its rating when it
has one, else expired or still open. These are drawn from a random stream of their own, so the same
seed still gives the same requests, comments and events as before they were added (events numbered
after a reopening move along).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, insert, select

from bot import store
from bot.config import AppConfig, load_config
from bot.model import Comment, Event, Request, SlaClock, Survey
from bot.scheduler.sla import FIRST_RESPONSE, RESOLUTION, rule_for

FIRST = ["Zack", "Max", "Ingrid", "Lars", "Sofia", "Emil", "Nora", "Jonas", "Sara", "Henrik", "Maja", "Anders",
         "Ida", "Tobias", "Elin", "Magnus", "Kari", "Ola", "Liv", "Sven"]
LAST = ["McKinnon", "Meyer", "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen",
        "Kristiansen", "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen"]
SUBJECTS: dict[str, list[str]] = {
    "software-access": ["Access to {app}", "Need a licence for {app}", "{app} says I have no permission"],
    "new-hire": ["Account for new hire starting {day}", "Laptop and accounts for our new colleague"],
    "laptop": ["Laptop will not start", "Battery drains in an hour", "Keyboard missing keys"],
    "peripherals": ["Second screen flickers", "Docking station not detected", "Headset for calls"],
    "outage": ["{app} is down", "Cannot reach {app} from the office", "VPN drops every few minutes"],
    "leave": ["Parental leave from {day}", "How many holiday days do I have left?", "Sick leave registration"],
    "contract": ["Change to part-time", "Copy of my employment contract", "Notice period question"],
    "sensitive": ["I would like to talk about a situation in my team", "Confidential matter"],
    "payroll-error": ["Overtime not paid in {month}", "Wrong tax deduction in {month}", "Bonus missing"],
    "expenses": ["Expense report rejected", "Travel advance for conference", "Receipt for taxi"],
    "invoices": ["Supplier invoice for {app} is overdue", "Invoice sent to the wrong department"],
    "office-event": ["Summer party in {month}", "Team breakfast on Friday", "Room for a 40-person workshop"],
    "building": ["Key card does not open the 3rd floor", "Parking permit", "Lost access badge"],
    "repairs": ["Leaking tap in the kitchen", "Broken chair in meeting room Fjord", "Lights flicker"],
    "general": ["Who do I ask about {app}?", "Question about the new policy"],
}
APPS = ["Expensify", "Jira", "Salesforce", "Figma", "the VPN", "SAP", "Workday", "GitHub", "Zoom"]
MONTHS = ["January", "February", "March", "April", "May", "June", "August", "September", "October"]
REPLIES = ["Thanks, we are looking into it.", "Done: please check and tell us if it works.",
           "Could you send a screenshot?", "I have forwarded this to the right colleague.",
           "This is fixed in the next payroll run."]


def _title(rng: random.Random, category: str | None) -> str:
    template = rng.choice(SUBJECTS.get(category or "general", SUBJECTS["general"]))
    day = f"{rng.randint(1, 28)}.{rng.randint(1, 12)}"
    return template.format(app=rng.choice(APPS), month=rng.choice(MONTHS), day=day)


def _working_moment(rng: random.Random, now: datetime, days_back: int) -> datetime:
    while True:
        day = now - timedelta(days=rng.randint(0, days_back))
        if day.weekday() < 5:
            return day.replace(hour=rng.randint(7, 14), minute=rng.randint(0, 59), second=rng.randint(0, 59),
                               microsecond=0)


def _leaves(config: AppConfig) -> list[tuple[str, str | None, str | None]]:
    """(zone, category, team) combinations to file into, weighted by how busy such zones are."""
    combos: list[tuple[str, str | None, str | None]] = []
    for zone in config.zones:
        ids = sorted(zone.category_ids()) or [None]  # type: ignore[list-item]
        for category in ids:
            team = next((t.id for t in config.teams_in(zone.id) if category in t.categories), zone.default_team)
            weight = 4 if zone.id == "it" else 1
            combos += [(zone.id, category, team)] * weight
    return combos


def _origins(config: AppConfig) -> list[str]:
    """Platforms to file from, one draw each: the chat platforms `app.yaml` names (intake and triage
    channels), each as often as it names a channel there, and the web for about a quarter of requests."""
    triage = [*(zone.triage for zone in config.zones), *(team.triage for team in config.teams)]
    named = Counter(platform for refs in triage for platform in refs)
    named.update({platform: len(channels) for platform, channels in config.intake.channels.items()})
    named.pop("web", None)
    chat = [platform for platform, count in sorted(named.items()) for _ in range(count)]
    return chat + ["web"] * max(1, len(chat) // 3)


def _staff(config: AppConfig, zone: str, team: str | None) -> list[str]:
    members = [m for t in config.teams_in(zone) if team is None or t.id == team for m in t.members]
    return members or [m for t in config.teams_in(zone) for m in t.members]


def _clock(number: int, kind: str, target: float, started: datetime, ended: datetime | None,
           now: datetime) -> dict[str, Any]:
    due = started + timedelta(hours=target)
    met = ended if ended is not None and ended <= due else None
    breached = due if met is None and due <= now else None
    return {"request_id": number, "kind": kind, "target_hours": target, "started_at": started, "paused_at": None,
            "paused_hours": 0.0, "due_at": due, "met_at": met, "breached_at": breached, "warned_at": None}


def _history(config: AppConfig, later: random.Random, row: dict[str, Any], now: datetime,
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """A request's reopening (events), SLA clocks and survey, drawn from `later`, its stream of its own."""
    number, created = row["id"], row["created_at"]
    replied, resolved, closed = row["first_response_at"], row["resolved_at"], row["closed_at"]
    who = row["assignee_email"] or row["requester_email"]
    events: list[dict[str, Any]] = []
    if resolved and resolved - (replied or created) > timedelta(hours=4) and later.random() < 0.08:
        # Resolved too early once: the requester reopened it, and the request's resolution is the second one.
        first = (replied or created) + (resolved - (replied or created)) / 3
        reopened = first + (resolved - first) / 2
        events += [
            {"request_id": number, "at": first, "actor_email": who, "actor_name": who, "channel": "seed",
             "kind": "status", "data": {"previous": "in_progress", "status": "resolved"}},
            {"request_id": number, "at": reopened, "actor_email": row["requester_email"],
             "actor_name": row["requester_name"], "channel": "seed", "kind": "status",
             "data": {"previous": "resolved", "status": "reopened"}},
        ]
    clocks: list[dict[str, Any]] = []
    zone = config.zone(row["zone_id"])
    probe = Request(priority=row["priority"], category_id=row["category_id"], team_id=row["team_id"])
    rule = rule_for(zone, probe) if zone is not None else None
    if rule is not None:
        clocks += [_clock(number, FIRST_RESPONSE, rule.first_response_hours, created, replied, now),
                   _clock(number, RESOLUTION, rule.resolution_hours, created, resolved, now)]
    surveys: list[dict[str, Any]] = []
    if closed:
        expires = closed + timedelta(days=7)
        rating = row["satisfaction"]
        status = "answered" if rating else ("expired" if expires <= now else "sent")
        surveys.append({"request_id": number, "requester_email": row["requester_email"], "status": status,
                        "rating": rating, "comment": None, "sent_at": closed, "expires_at": expires,
                        "answered_at": closed + timedelta(hours=later.randint(1, 72)) if rating else None})
    return events, clocks, surveys


async def seed(config: AppConfig, url: str, count: int, rng_seed: int = 7, now: datetime | None = None,
               days: int = 180) -> int:
    """Insert `count` requests filed over the last `days` days with their history, comments, SLA clocks and
    surveys; returns the number of requests inserted."""
    rng = random.Random(rng_seed)
    later = random.Random(rng_seed + 1_000_003)  # the history added since: the requests stay as they were
    now = now or datetime.now(UTC)
    combos = _leaves(config)
    origins = _origins(config)
    names = [(rng.choice(FIRST), rng.choice(LAST)) for _ in range(400)]
    requesters = [(f"{first.lower()}.{last.lower()}{i}@nordlys.example", f"{first} {last}")
                  for i, (first, last) in enumerate(names)]
    statuses = ["closed"] * 55 + ["resolved"] * 10 + ["in_progress"] * 10 + ["new"] * 8 + ["accepted"] * 6 + [
        "waiting"] * 6 + ["cancelled"] * 5
    engine = store.create_engine(url)
    tables = [cast(Table, m.__table__) for m in (Request, Event, Comment, SlaClock, Survey)]
    inserted = 0
    try:
        async with engine.connect() as conn:
            start_id = int((await conn.scalar(select(func.coalesce(func.max(Request.id), 0)))) or 0)
        chunk = 2000
        for offset in range(0, count, chunk):
            requests: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            comments: list[dict[str, Any]] = []
            clocks: list[dict[str, Any]] = []
            surveys: list[dict[str, Any]] = []
            for n in range(min(chunk, count - offset)):
                number = start_id + offset + n + 1
                zone, category, team = rng.choice(combos)
                email, name = rng.choice(requesters)
                created = _working_moment(rng, now, days)
                status = rng.choice(statuses)
                staff = _staff(config, zone, team)
                assignee = rng.choice(staff) if staff and status not in {"new", "cancelled"} else None
                replied = created + timedelta(minutes=rng.randint(5, 60 * 30)) if assignee else None
                resolved = (replied or created) + timedelta(hours=rng.randint(1, 120)) if status in {
                    "resolved", "closed"} else None
                closed = resolved + timedelta(days=rng.randint(0, 5)) if status == "closed" and resolved else None
                urgency = rng.choices(["low", "normal", "high"], [2, 6, 2])[0]
                requests.append({
                    "id": number, "zone_id": zone, "team_id": team, "assignee_email": assignee,
                    "requester_email": email, "requester_name": name, "filed_by_email": email,
                    "title": _title(rng, category), "description": "Filed by zonedesk seed.", "type": "request",
                    "status": status, "waiting_reason": "requester" if status == "waiting" else None,
                    "urgency": urgency, "weight": None, "priority": urgency, "category_id": category,
                    "internal_category": None, "deadline": None, "form_id": None, "project_id": None,
                    "origin_platform": rng.choice(origins), "origin_workspace": None,
                    "origin_channel": None, "origin_thread": None, "origin_message": None, "origin_user": None,
                    "satisfaction": rng.choices([5, 4, 3, 2, 1], [50, 30, 10, 6, 4])[0] if closed and rng.random() < 0.4
                    else None,
                    "created_at": created, "updated_at": closed or resolved or replied or created,
                    "first_response_at": replied, "resolved_at": resolved, "closed_at": closed,
                    "closed_by": ("auto" if rng.random() < 0.3 else "agent") if closed else None,
                })
                events.append({"request_id": number, "at": created, "actor_email": email, "actor_name": name,
                               "channel": "seed", "kind": "filed", "data": {"zone": zone}})
                if replied and assignee:
                    comments.append({"request_id": number, "author_email": assignee, "author_name": assignee,
                                     "public": True, "body": rng.choice(REPLIES), "channel": "seed",
                                     "created_at": replied})
                    events.append({"request_id": number, "at": replied, "actor_email": assignee,
                                   "actor_name": assignee, "channel": "seed", "kind": "replied", "data": {}})
                if rng.random() < 0.2 and assignee:
                    comments.append({"request_id": number, "author_email": assignee, "author_name": assignee,
                                     "public": False, "body": "Checked the logs; see ticket history.",
                                     "channel": "seed", "created_at": replied or created})
                # Status moves as the desk records them: the analytics replay the backlog from these.
                if resolved:
                    events.append({"request_id": number, "at": resolved, "actor_email": assignee or email,
                                   "actor_name": assignee or name, "channel": "seed", "kind": "status",
                                   "data": {"previous": "in_progress" if replied else "new", "status": "resolved"}})
                if closed:
                    events.append({"request_id": number, "at": closed, "actor_email": assignee or email,
                                   "actor_name": assignee or name, "channel": "seed", "kind": "status",
                                   "data": {"previous": "resolved", "status": "closed"}})
                if status == "cancelled":
                    events.append({"request_id": number, "at": created + timedelta(hours=4),
                                   "actor_email": email, "actor_name": name, "channel": "seed", "kind": "status",
                                   "data": {"previous": "new", "status": "cancelled"}})
                reopening, its_clocks, its_surveys = _history(config, later, requests[-1], now)
                events += reopening
                clocks += its_clocks
                surveys += its_surveys
            async with engine.begin() as conn:
                for table, rows in zip(tables, (requests, events, comments, clocks, surveys), strict=True):
                    if rows:
                        await conn.execute(insert(table), rows)
            inserted += len(requests)
        # First response and resolution times, measured from this history as the desk measures them when they
        # happen (`bot.analytics.measuring`).
        from bot.analytics.measuring import rebuild

        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: rebuild(sync, config, first_id=start_id + 1, last_id=start_id + count))
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:
                await conn.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('requests', 'id'), (SELECT MAX(id) FROM requests))")
    finally:
        await engine.dispose()
    return inserted


def _run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config or "app.yaml"))
    url = store.database_url()
    store.upgrade(url)
    started = time.perf_counter()
    count = asyncio.run(seed(config, url, args.requests, args.seed, days=args.days))
    print(f"seeded {count} requests in {time.perf_counter() - started:.1f} s into {url.split('@')[-1]}")
    return 0


def register(sub: Any) -> None:
    """Add `zonedesk seed` to the command line."""
    parser = sub.add_parser("seed", help="fill the database with fake but plausible requests (for measuring)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7, help="random seed: the same seed gives the same data")
    parser.add_argument("--days", type=int, default=180, help="how far back requests were filed")
    parser.add_argument("--config")
    parser.set_defaults(handler=_run)
