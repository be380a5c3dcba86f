"""Retries and double clicks against a real `zonedesk serve`: every Slack payload delivered up to four
times (retries carry X-Slack-Retry-Num, some overlap the original), every Teams activity twice (same
activity id), every button clicked twice (some clicks at once). Nothing is done twice: one request per
message or form, one comment per reply, one decision per approval, one close or reopen per Solved /
Not solved, and every confirmation, answer and card posted once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import POSTGRES_OK, POSTGRES_URL, drop_postgres, fresh_postgres
from tests.fakes.botframework import FakeConnector, OpenIdServer
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_signing import (
    block_actions_payload,
    command_body,
    event_body,
    interaction_body,
    view_submission_payload,
)
from tests.reliability.harness import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Served,
    SlackClient,
    database_rows,
    dm_event,
    folded_into_a_sent_digest,
    until,
    until_async,
)
from tests.reliability.teams_harness import (
    APP_ID,
    APP_PASSWORD,
    Answer,
    TeamsClient,
    TeamsPerson,
    buttons,
    card,
    card_text,
    click,
    enrol,
    invoke,
    message,
    new_threads,
    sent_to,
    teams_env,
    texts_in,
)

PEOPLE = 12  # per platform, each files by chat and follows up in the thread
FORMS = 4  # per platform: new-hire forms whose manager (another of the people) approves
SLACK = [(f"UDUP{i:02d}", f"slack.dup{i}@nordlys.example", f"Slack Dup{i}") for i in range(PEOPLE)]
TEAMS = [TeamsPerson(f"29:1dup{i:02d}", f"aad-dup-{i:04d}", f"Teams Dup{i}", f"teams.dup{i}@nordlys.example")
         for i in range(PEOPLE)]
FRIDA_SLACK = ("UFRIDA", "frida.dahl@nordlys.example", "Frida Dahl")  # the front desk's agent, on both
FRIDA_TEAMS = TeamsPerson("29:1frida", "aad-frida-0004", "Frida Dahl", "frida.dahl@nordlys.example")
ALEXIS_SLACK = ("UALEXIS", "alexis.baker@nordlys.example", "Alexis Baker")  # IT agents
IVAR_TEAMS = TeamsPerson("29:1ivar", "aad-ivar-0003", "Ivar Lund", "ivar.lund@nordlys.example")
FORM = "new-hire-account"
FRONT_DESK_SLACK, FRONT_DESK_TEAMS = "C0FRONTDESK", "19:frontdesk@thread.tacv2"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=[
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_OK, reason="needs ZONEDESK_TEST_POSTGRES_URL (CI sets it)")])])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database the served process migrates."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/duplicates.db"
    else:
        assert POSTGRES_URL
        url = await fresh_postgres(POSTGRES_URL, "zonedesk_duplicates")
        yield url
        await drop_postgres(url)


@dataclass
class Burst:
    """The fakes, a client per platform, and the rule for how often each thing is delivered."""

    fake: FakeSlackAPI
    connector: FakeConnector
    slack: SlackClient
    teams: TeamsClient
    database: str
    rng: random.Random

    async def slack_send(self, body: bytes, copies: int) -> None:
        """One payload and `copies - 1` retries of it: overlapping the original, or after its ack."""
        reasons = itertools.cycle(["http_timeout", "http_error", "http_timeout"])
        retries = [(n, next(reasons)) for n in range(1, copies)]
        if retries and self.rng.random() < 0.5:
            statuses = await asyncio.gather(self.slack.post(body),
                                            *(self.slack.post(body, retry=n, reason=r) for n, r in retries))
        else:
            statuses = [await self.slack.post(body)]
            for n, r in retries:
                statuses.append(await self.slack.post(body, retry=n, reason=r))
        assert set(statuses) == {200}, statuses

    def copies(self) -> int:
        return self.rng.randint(1, 4)

    async def teams_send(self, activity: dict[str, Any]) -> list[Answer]:
        """One activity delivered twice (Teams re-sends what it thinks failed): at once, or one after the other."""
        if self.rng.random() < 0.5:
            answers = list(await asyncio.gather(self.teams.post(activity), self.teams.post(activity)))
        else:
            answers = [await self.teams.post(activity), await self.teams.post(activity)]
        assert [a.status for a in answers] == [200, 200], answers
        return answers

    async def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return await database_rows(self.database, sql)

    async def count(self, sql: str) -> int:
        return int((await self.rows(sql))[0][0])

    # ---------------------------------------------------------------- what people see in Slack
    def slack_posts(self, channel: str, thread: str | None = None) -> list[str]:
        """Messages delivered into a Slack channel (or one thread of it), as text with their blocks."""
        return [json.dumps([c.args.get("text"), c.args.get("blocks")]) for c in self.fake.delivered("chat.postMessage")
                if _dm(c.args.get("channel")) == channel and (thread is None or c.args.get("thread_ts") == thread)]

    def answers_at(self, hook: str) -> list[str]:
        """Private answers posted to one response_url."""
        return [str(c.args.get("text")) for c in self.fake.delivered("response_url") if c.args.get("_hook") == hook]


def _dm(channel: Any) -> str:
    """Posting to a user id lands in the DM with them."""
    name = str(channel or "")
    return "D" + name if name[:1] in "UW" else name


def once(texts: list[str], needle: str) -> bool:
    return sum(needle in t for t in texts) == 1


async def gather(*work: Coroutine[Any, Any, Any]) -> list[Any]:
    return list(await asyncio.gather(*work))


async def test_retries_and_double_clicks_do_everything_once(database: str, tmp_path: Path) -> None:
    rng = random.Random(20261124)
    with OpenIdServer() as openid:
        async with FakeSlackAPI(token=BOT_TOKEN) as fake, FakeConnector(APP_ID, APP_PASSWORD) as connector, \
                aiohttp.ClientSession() as http:
            for user, email, name in [*SLACK, FRIDA_SLACK, ALEXIS_SLACK]:
                fake.add_user(user, email, name)
            enrol(connector, [*TEAMS, FRIDA_TEAMS, IVAR_TEAMS])
            env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                   "SLACK_API_URL": fake.base_url, **teams_env(openid, connector),
                   # The scheduler asks "Solved?" right after a resolution.
                   "ZONEDESK_SCHEDULER": "on", "ZONEDESK_SCHEDULER_INTERVAL": "0.2"}
            server = Served(tmp_path, database, env)
            await server.start()
            burst = Burst(fake, connector, SlackClient(http, server), TeamsClient(http, server, openid, connector),
                          database, rng)
            try:
                numbers = await _intake(burst)
                await _conversation(burst, numbers)
                forms = await _forms(burst)
                await _decisions(burst, forms)
                await _solved(burst, forms)
                await _each_outbox_row_once(burst)
                log = server.log.read_text()
                assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
            finally:
                server.stop()


# -------------------------------------------------------------------- 1. everyone files at once
async def _intake(burst: Burst) -> dict[str, int]:
    """Each person files by chat; returns request numbers by person (Slack user id or Teams AAD id)."""
    slack_ts: dict[str, str] = {}
    work: list[Coroutine[Any, Any, Any]] = []
    for i, (user, _, _) in enumerate(SLACK):
        body, slack_ts[user] = dm_event(user, f"Slack problem {i}: the badge reader beeps", f"EvDupFile{i}")
        work.append(burst.slack_send(body, 1 + i % 4))
    for i, person in enumerate(TEAMS):
        work.append(burst.teams_send(message(burst.connector, person, f"Teams problem {i}: no sound in meetings",
                                             f"dupfile{i}")))
    await gather(*work)
    total = 2 * PEOPLE
    await until_async(lambda: _requests_are(burst, total), lambda: burst.fake.calls[-3:])
    rows = await burst.rows("SELECT id, origin_platform, origin_channel, origin_message, origin_user FROM requests")
    assert len(rows) == total
    assert Counter((r[1], r[2], r[3]) for r in rows).most_common(1)[0][1] == 1, "a message was filed twice"
    numbers = {str(r[4]): int(r[0]) for r in rows}
    assert sorted(numbers) == sorted([u for u, _, _ in SLACK] + [p.aad for p in TEAMS])
    assert {r[3] for r in rows if r[1] == "slack"} == set(slack_ts.values())
    assert {r[3] for r in rows if r[1] == "teams"} == {f"dupfile{i}" for i in range(PEOPLE)}

    def confirmed() -> bool:
        return all(burst.slack_posts(f"D{u}", slack_ts[u]) for u, _, _ in SLACK) and all(
            texts_in(burst.connector, p.chat) for p in TEAMS) and all(
            f"New request #{n}:" in "".join(burst.slack_posts(FRONT_DESK_SLACK)) for n in numbers.values()) and all(
            f"New request #{n}:" in "".join(card_text(card(a)) for a in new_threads(burst.connector, FRONT_DESK_TEAMS))
            for n in numbers.values())

    await until(confirmed, lambda: (len(burst.fake.delivered("chat.postMessage")), len(burst.connector.calls)))
    for user, _, _ in SLACK:
        posts = burst.slack_posts(f"D{user}", slack_ts[user])
        assert once(posts, f"Request #{numbers[user]} is filed with Front desk"), posts
        assert len(posts) == 1, posts
    for person in TEAMS:
        texts = texts_in(burst.connector, person.chat)
        assert once(texts, f"Request #{numbers[person.aad]} is filed with Front desk"), texts
        assert len(texts) == 1, texts
    triage_slack = burst.slack_posts(FRONT_DESK_SLACK)
    triage_teams = [card_text(card(a)) for a in new_threads(burst.connector, FRONT_DESK_TEAMS)]
    for number in numbers.values():
        assert once(triage_slack, f"New request #{number}:") and once(triage_teams, f"New request #{number}:")
    for posts in (triage_slack, triage_teams):  # each post announces one request, or lists a burst of them
        assert sum(len(set(re.findall(r"New request #(\d+):", str(p)))) for p in posts) == total, posts
    return numbers


async def _requests_are(burst: Burst, total: int) -> bool:
    return await burst.count("SELECT count(*) FROM requests") >= total


# -------------------------------------------------------------------- 2. agents reply, requesters add details
async def _conversation(burst: Burst, numbers: dict[str, int]) -> None:
    """Frida answers every request from the other platform; every requester adds a detail in their thread."""
    slack_roots = {str(r[1]): str(r[0]) for r in await burst.rows(
        "SELECT origin_message, origin_user FROM requests WHERE origin_platform = 'slack'")}
    work: list[Coroutine[Any, Any, Any]] = []
    for i, (user, _, _) in enumerate(SLACK):
        number = numbers[user]
        command = f"desk reply {number} Reply R{number} from Teams: please restart the reader."
        work.append(burst.teams_send(message(burst.connector, FRIDA_TEAMS, command, f"dupreply{number}")))
        detail = {"type": "message", "channel": f"D{user}", "channel_type": "im", "user": user,
                  "text": f"Detail D{number} from Slack: it beeps twice", "ts": f"1710000100.{i:06d}",
                  "thread_ts": slack_roots[user], "event_ts": f"1710000100.{i:06d}", "team": "T1"}
        work.append(burst.slack_send(event_body(detail, f"EvDupDetail{i}"), burst.copies()))
    for i, person in enumerate(TEAMS):
        number = numbers[person.aad]
        body = command_body("/desk", f"reply {number} Reply R{number} from Slack: check the headset.",
                            FRIDA_SLACK[0], f"D{FRIDA_SLACK[0]}", trigger_id=f"trig-reply-{number}",
                            response_url=burst.fake.response_url(f"reply-{number}"))
        work.append(burst.slack_send(body, burst.copies()))
        work.append(burst.teams_send(message(burst.connector, person, f"Detail D{number} from Teams: both ears",
                                             f"dupdetail{i}", reply_to=f"dupfile{i}")))
    burst.rng.shuffle(work)
    await gather(*work)

    total = 4 * PEOPLE
    await until_async(lambda: _comments_are(burst, total))

    def delivered() -> bool:
        return all(any(f"Reply R{numbers[u]} from Teams" in t for t in burst.slack_posts(f"D{u}", slack_roots[u]))
                   for u, _, _ in SLACK) and all(
            any(f"Reply R{numbers[p.aad]} from Slack" in t for t in texts_in(burst.connector, p.chat))
            for p in TEAMS) and all(burst.answers_at(f"reply-{numbers[p.aad]}") for p in TEAMS)

    await until(delivered, lambda: burst.fake.calls[-3:])
    bodies = Counter(str(r[0]) for r in await burst.rows("SELECT body FROM comments"))
    assert len(bodies) == total and set(bodies.values()) == {1}, bodies.most_common(3)
    frida_chat = texts_in(burst.connector, FRIDA_TEAMS.chat)
    for user, _, _ in SLACK:
        number = numbers[user]
        assert once(burst.slack_posts(f"D{user}", slack_roots[user]), f"Reply R{number} from Teams")
        assert once(frida_chat, f"Your reply on #{number} is on its way to the requester.")
    for person in TEAMS:
        number = numbers[person.aad]
        assert once(texts_in(burst.connector, person.chat), f"Reply R{number} from Slack")
        assert burst.answers_at(f"reply-{number}") == [f"Your reply on #{number} is on its way to the requester."]


async def _comments_are(burst: Burst, total: int) -> bool:
    return await burst.count("SELECT count(*) FROM comments") >= total


# -------------------------------------------------------------------- 3. forms that need an approval
@dataclass(frozen=True)
class Filing:
    """A new-hire form: who filed it where, who approves, and how they decide."""

    platform: str
    filer: str  # Slack user id, or Teams AAD id
    name: str
    manager: str  # Slack user id, or Teams AAD id
    approve: bool
    number: int = 0
    thread: str = ""  # where the filer reads about it: Slack DM thread ts, or the Teams chat


async def _forms(burst: Burst) -> list[Filing]:
    """Half the people file a new-hire form (Slack modal or Teams dialog) naming a colleague as manager."""
    filings = [Filing("slack", SLACK[i][0], f"Newcomer S{i}", SLACK[i + FORMS][0], i % 2 == 0) for i in range(FORMS)]
    filings += [Filing("teams", TEAMS[i].aad, f"Newcomer T{i}", TEAMS[i + FORMS].aad, i % 2 == 1)
                for i in range(FORMS)]

    async def slack_form(i: int, filing: Filing) -> None:
        body = command_body("/request", FORM, filing.filer, f"D{filing.filer}", trigger_id=f"trig-form-{i}",
                            response_url=burst.fake.response_url(f"form-{i}"))
        await burst.slack_send(body, burst.copies())
        await until(lambda: _form_view(burst, filing.filer) is not None)
        view = _form_view(burst, filing.filer)
        assert view is not None
        payload = view_submission_payload(f"zd:form:{FORM}", {
            "name": {"value": {"type": "plain_text_input", "value": filing.name}},
            "personal-email": {"value": {"type": "plain_text_input", "value": f"newcomer.s{i}@example.com"}},
            "manager": {"value": {"type": "users_select", "selected_user": filing.manager}},
            "start-date": {"value": {"type": "datepicker", "selected_date": "2030-01-15"}},
            "laptop": {"value": {"type": "static_select", "selected_option": {"value": "No laptop"}}},
            "nda-signed": {"value": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}},
        }, user_id=filing.filer, private_metadata=view["private_metadata"], view_id=view["id"])
        payload["view"]["hash"] = view["hash"]
        await burst.slack_send(interaction_body(payload), burst.copies())

    async def teams_form(i: int, filing: Filing) -> list[Answer]:
        person = next(p for p in TEAMS if p.aad == filing.filer)
        manager = next(p for p in TEAMS if p.aad == filing.manager)
        data = {"zd_dialog": "form", "form": FORM, "name": filing.name,
                "personal-email": f"newcomer.t{i}@example.com", "manager": manager.email,
                "start-date": "2030-01-15", "laptop": "No laptop", "nda-signed": "true"}
        return await burst.teams_send(invoke(burst.connector, person, "task/submit", {"data": data}, f"dupform{i}"))

    results = await gather(*(slack_form(i, f) for i, f in enumerate(filings[:FORMS])),
                           *(teams_form(i, f) for i, f in enumerate(filings[FORMS:])))
    await until_async(lambda: _approvals_are(burst, 2 * FORMS))
    rows = await burst.rows(f"SELECT id, title, origin_platform, origin_channel, "
                            f"coalesce(origin_thread, origin_message) FROM requests WHERE form_id = '{FORM}'")
    titles = Counter(str(r[1]) for r in rows)
    assert titles == Counter(f"New hire: {f.name}" for f in filings), titles
    by_title = {str(r[1]): r for r in rows}
    filed = []
    for filing in filings:
        row = by_title[f"New hire: {filing.name}"]
        filed.append(Filing(filing.platform, filing.filer, filing.name, filing.manager, filing.approve, int(row[0]),
                            str(row[4]) if filing.platform == "slack" else str(row[3])))
    for filing, answers in zip(filed[FORMS:], results[FORMS:], strict=True):
        said = sorted(str(a.body["task"]["value"]) for a in answers)
        assert said == sorted([f"Filed as #{filing.number} with IT.", "This was already done."]), said
    await until(lambda: all(any(f"Request #{f.number} is filed with IT." in t for t in burst.slack_posts(f"D{f.filer}"))
                            for f in filed[:FORMS]))
    for i, filing in enumerate(filed[:FORMS]):
        assert len([c for c in burst.fake.delivered("views.open") if c.args.get("trigger_id") == f"trig-form-{i}"]) \
            == 1, "the form opened twice"
        dm = burst.slack_posts(f"D{filing.filer}")
        assert once(dm, f"Request #{filing.number} is filed with IT."), "the filer is told once"
        assert once(dm, "Your request: New hire account"), dm
    await until(lambda: all(_approval_card(burst, f) is not None for f in filed),
                lambda: [f.number for f in filed if _approval_card(burst, f) is None])
    for filing in filed:
        if filing.platform == "slack":
            assert once(burst.slack_posts(f"D{filing.manager}"), f"Approval needed for #{filing.number}")
        else:
            chat = next(p for p in TEAMS if p.aad == filing.manager).chat
            assert once(texts_in(burst.connector, chat), f"Approval needed for #{filing.number}")
    return filed


def _form_view(burst: Burst, user: str) -> dict[str, Any] | None:
    for view in burst.fake.views.values():
        if view.get("callback_id") == f"zd:form:{FORM}" and json.loads(view.get("private_metadata") or "{}").get(
                "user") == user:
            return view
    return None


async def _approvals_are(burst: Burst, total: int) -> bool:
    return await burst.count("SELECT count(*) FROM approvals") >= total


def _approval_card(burst: Burst, filing: Filing) -> Any:
    """The approval card the manager got: a Slack message (with its ts), or a Teams card."""
    wanted = f"Approval needed for #{filing.number}:"
    if filing.platform == "slack":
        return next((m for (channel, _), m in burst.fake.messages.items()
                     if channel == f"D{filing.manager}" and wanted in json.dumps(m.get("blocks"))), None)
    chat = next(p for p in TEAMS if p.aad == filing.manager).chat
    return next((card(a) for a in sent_to(burst.connector, chat) if wanted in card_text(card(a))), None)


# -------------------------------------------------------------------- 4. managers decide, clicking twice
async def _decisions(burst: Burst, filed: list[Filing]) -> None:
    clicks = itertools.count()
    teams_answers: dict[int, list[Answer]] = {}

    async def slack_click(filing: Filing, action: str, value: str, message_ts: str, carded: dict[str, Any],
                          hook: str) -> None:
        n = next(clicks)
        payload = block_actions_payload(f"zd:{action}", value, user_id=filing.manager,
                                        channel_id=f"D{filing.manager}", message_ts=message_ts,
                                        trigger_id=f"trig-{hook}", response_url=burst.fake.response_url(hook))
        payload["actions"][0]["action_ts"] = f"1710000200.{n:06d}"  # each click is its own
        payload["message"] = carded
        await burst.slack_send(interaction_body(payload), burst.rng.randint(1, 2))

    async def decide(filing: Filing) -> None:
        action = "approve" if filing.approve else "reject"
        carded = _approval_card(burst, filing)
        if filing.platform == "slack":
            value = _slack_buttons(carded)[f"zd:{action}"]
            twice = [slack_click(filing, action, value, carded["ts"], carded, f"decide-{filing.number}-{k}")
                     for k in (1, 2)]
        else:
            person = next(p for p in TEAMS if p.aad == filing.manager)
            pressed = buttons(carded)["Approve" if filing.approve else "Reject"]
            teams_answers[filing.number] = []

            async def teams_click(k: int) -> None:
                answers = await burst.teams_send(click(burst.connector, person, pressed,
                                                       f"dupdecide{filing.number}{k}"))
                teams_answers[filing.number] += answers

            twice = [teams_click(1), teams_click(2)]
        if filing.number % 2:  # a double click: both at once
            await gather(*twice)
        else:
            for one in twice:
                await one

    await gather(*(decide(f) for f in filed))
    await until_async(lambda: _decided(burst, len(filed)))

    def told() -> bool:
        return all(any(f"Request #{f.number} was {_outcome(f)} by" in t for t in _filer_texts(burst, f)) for f in filed)

    await until(told, lambda: [f.number for f in filed])
    await until(lambda: all(burst.answers_at(f"decide-{f.number}-{k}") for f in filed[:FORMS] for k in (1, 2)))
    votes = await burst.rows("SELECT a.request_id, v.decision FROM approval_votes v JOIN approvals a "
                             "ON a.id = v.approval_id WHERE v.decision IS NOT NULL")
    assert sorted(votes) == sorted((f.number, _outcome(f)) for f in filed), votes
    events = Counter((int(r[0]), str(r[1])) for r in await burst.rows(
        "SELECT request_id, kind FROM events WHERE kind IN ('approval_vote', 'approval_decided')"))
    assert events == Counter({(f.number, k): 1 for f in filed for k in ("approval_vote", "approval_decided")})
    for filing in filed:
        decision = "approved" if filing.approve else "rejected"
        assert once(_filer_texts(burst, filing), f"Request #{filing.number} was {decision} by"), filing
        if filing.platform == "slack":
            said = burst.answers_at(f"decide-{filing.number}-1") + burst.answers_at(f"decide-{filing.number}-2")
            assert said.count(f"Your decision is recorded: {decision}.") == 1, said
            assert len(said) == 2 and sum(s.startswith("Already decided: ") for s in said) == 1, said
        else:
            manager = next(p for p in TEAMS if p.aad == filing.manager)
            shown = [_invoke_text(a) for a in teams_answers[filing.number]]
            line = f"{'Approved' if filing.approve else 'Rejected'} by {manager.name}"
            assert sum(line in s for s in shown) == 1, shown
            assert shown.count("This was already handled.") == 2, shown
            assert sum("Already decided: " in s for s in shown) == 1, shown


def _outcome(filing: Filing) -> str:
    return "approved" if filing.approve else "rejected"


def _slack_buttons(message_: dict[str, Any]) -> dict[str, str]:
    found = {}
    for block in message_.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                found[element["action_id"]] = element.get("value", "")
    return found


async def _decided(burst: Burst, total: int) -> bool:
    return await burst.count("SELECT count(*) FROM approvals WHERE status <> 'pending'") >= total


def _filer_texts(burst: Burst, filing: Filing) -> list[str]:
    """What the filer reads where they filed: their Slack DM thread, or their Teams chat."""
    if filing.platform == "slack":
        return burst.slack_posts(f"D{filing.filer}", filing.thread)
    return texts_in(burst.connector, filing.thread)


def _invoke_text(answer: Answer) -> str:
    """What an invoke answer shows: a replaced card's text, or a message."""
    body = answer.body or {}
    if body.get("type") == "application/vnd.microsoft.card.adaptive":
        return card_text(body["value"])
    return str(body.get("value"))


# -------------------------------------------------------------------- 5. resolved: Solved / Not solved, twice
async def _solved(burst: Burst, filed: list[Filing]) -> None:
    work: list[Coroutine[Any, Any, Any]] = []
    for filing in filed:
        if filing.platform == "slack":
            body = command_body("/desk", f"close {filing.number}", ALEXIS_SLACK[0], f"D{ALEXIS_SLACK[0]}",
                                trigger_id=f"trig-close-{filing.number}",
                                response_url=burst.fake.response_url(f"close-{filing.number}"))
            work.append(burst.slack_send(body, burst.copies()))
        else:
            work.append(burst.teams_send(message(burst.connector, IVAR_TEAMS, f"desk close {filing.number}",
                                                 f"dupclose{filing.number}")))
    await gather(*work)

    def asked(filing: Filing) -> Any:
        wanted = f"Is your request #{filing.number} solved?"
        if filing.platform == "slack":
            return next((m for (channel, _), m in burst.fake.messages.items() if channel == f"D{filing.filer}"
                         and m.get("thread_ts") == filing.thread and wanted in json.dumps(m.get("blocks"))), None)
        return next((card(a) for a in sent_to(burst.connector, filing.thread) if wanted in card_text(card(a))), None)

    await until(lambda: all(asked(f) is not None for f in filed), lambda: [f.number for f in filed if not asked(f)])
    teams_answers: dict[int, list[Answer]] = {}
    clicks = itertools.count()

    async def press(filing: Filing) -> None:
        solved = filing.number % 3 != 0
        carded = asked(filing)
        if filing.platform == "slack":
            action = "zd:solved" if solved else "zd:not_solved"

            async def one(k: int) -> None:
                payload = block_actions_payload(action, str(filing.number), user_id=filing.filer,
                                                channel_id=f"D{filing.filer}", message_ts=carded["ts"],
                                                trigger_id=f"trig-solved-{filing.number}-{k}",
                                                response_url=burst.fake.response_url(f"solved-{filing.number}-{k}"))
                payload["actions"][0]["action_ts"] = f"1710000300.{next(clicks):06d}"
                payload["message"] = carded
                await burst.slack_send(interaction_body(payload), burst.rng.randint(1, 2))
        else:
            person = next(p for p in TEAMS if p.aad == filing.filer)
            pressed = buttons(carded)["Solved" if solved else "Not solved"]
            teams_answers[filing.number] = []

            async def one(k: int) -> None:
                answers = await burst.teams_send(click(burst.connector, person, pressed,
                                                       f"dupsolved{filing.number}{k}"))
                teams_answers[filing.number] += answers

        if filing.number % 2:
            await gather(one(1), one(2))
        else:
            await one(1)
            await one(2)

    await gather(*(press(f) for f in filed))
    expected = {f.number: "closed" if f.number % 3 else "reopened" for f in filed}
    await until_async(lambda: _statuses_are(burst, expected))
    await until(lambda: all(burst.answers_at(f"solved-{f.number}-{k}") for f in filed[:FORMS] for k in (1, 2)))
    changes = [(int(r[0]), _data(r[1])) for r in await burst.rows(
        "SELECT request_id, data FROM events WHERE kind = 'status' ORDER BY id")]
    for filing in filed:
        mine = [d for n, d in changes if n == filing.number]
        assert [(d["previous"], d["status"]) for d in mine] == [("new", "resolved"),
                                                                 ("resolved", expected[filing.number])], mine
        texts = _filer_texts(burst, filing)
        assert once(texts, f"Is your request #{filing.number} solved?"), texts
        assert once(texts, f"Request #{filing.number} is resolved."), texts
        if filing.platform == "slack":
            said = burst.answers_at(f"solved-{filing.number}-1") + burst.answers_at(f"solved-{filing.number}-2")
            done = (f"Thank you! Request #{filing.number} is closed." if expected[filing.number] == "closed"
                    else f"Request #{filing.number} is reopened; we are on it again.")
            assert said.count(done) == 1 and len(said) == 2, said
            assert burst.answers_at(f"close-{filing.number}") == [f"#{filing.number} is resolved."]
        else:
            shown = [_invoke_text(a) for a in teams_answers[filing.number]]
            line = "Confirmed solved by" if expected[filing.number] == "closed" else "Not solved, says"
            assert sum(line in s for s in shown) == 1 and shown.count("This was already handled.") == 2, shown
    ivar_chat = texts_in(burst.connector, IVAR_TEAMS.chat)
    for filing in filed[FORMS:]:
        assert once(ivar_chat, f"#{filing.number} is resolved."), ivar_chat


def _data(raw: Any) -> dict[str, Any]:
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


async def _statuses_are(burst: Burst, expected: dict[int, str]) -> bool:
    rows = await burst.rows("SELECT id, status FROM requests")
    now = {int(r[0]): str(r[1]) for r in rows}
    return all(now.get(n) == s for n, s in expected.items())


# -------------------------------------------------------------------- every outbox row: sent, and sent once
async def _each_outbox_row_once(burst: Burst) -> None:
    await until_async(lambda: _quiet(burst), timeout=30)
    stuck = await burst.rows("SELECT id, platform, kind, status, last_error FROM outbox "
                             "WHERE status NOT IN ('sent', 'folded')")
    assert stuck == [], stuck
    await folded_into_a_sent_digest(burst.rows)
    posted = Counter(c.args["metadata"]["event_payload"]["outbox_id"] for c in burst.fake.delivered("chat.postMessage")
                     if isinstance(c.args.get("metadata"), dict))
    slack_rows = {int(r[0]) for r in await burst.rows(
        "SELECT id FROM outbox WHERE platform = 'slack' AND status = 'sent'")}
    assert set(posted) == slack_rows and set(posted.values()) == {1}, posted.most_common(3)
    teams_rows = Counter(str(r[0]) for r in await burst.rows(
        "SELECT kind FROM outbox WHERE platform = 'teams' AND status = 'sent'"))
    threads = len(burst.connector.delivered("create_conversation"))
    proactive = len(burst.connector.delivered("send_to_conversation"))
    assert threads == teams_rows["triage"] + teams_rows["task"]
    assert proactive == sum(teams_rows.values()) - threads, (proactive, teams_rows)


async def _quiet(burst: Burst) -> bool:
    """Nothing left to do: no timer due (a survey follows each Solved), no outbox row waiting or being sent."""
    now = datetime.now(UTC)
    due = [_utc(r[0]) for r in await burst.rows(
        "SELECT due_at FROM schedules WHERE done_at IS NULL AND cancelled_at IS NULL")]
    return not any(d <= now for d in due) and await burst.count(
        "SELECT count(*) FROM outbox WHERE status = 'pending'") == 0


def _utc(value: Any) -> datetime:
    """A time read from either database: an aware datetime (PostgreSQL) or UTC text (SQLite)."""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)
