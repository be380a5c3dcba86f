"""Two `zonedesk serve` replicas on one PostgreSQL database, Teams and the web portal: Teams activities
split across them (some re-sent to the other replica), people signed in on one replica submitting forms
through the other (some submitted twice, to both). Every request is filed once and every outbox row,
drained by both replicas' workers at once, reaches Teams or Slack exactly once."""

from __future__ import annotations

import asyncio
import html
import re
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import POSTGRES_OK, POSTGRES_URL, drop_postgres, fresh_postgres
from tests.fakes.botframework import FakeConnector, OpenIdServer
from tests.fakes.slack_api import FakeSlackAPI
from tests.reliability.harness import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Served,
    database_rows,
    folded_into_a_sent_digest,
    login_link,
    until,
    until_async,
)
from tests.reliability.teams_harness import (
    APP_ID,
    APP_PASSWORD,
    Answer,
    TeamsClient,
    TeamsPerson,
    card,
    card_text,
    enrol,
    message,
    new_threads,
    teams_env,
    texts_in,
)

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not POSTGRES_OK, reason="needs ZONEDESK_TEST_POSTGRES_URL (CI sets it)")]
DATABASE = "zonedesk_replicas_teams_web"
PEOPLE = [TeamsPerson(f"29:1rep{i:02d}", f"aad-rep-{i:04d}", f"Replica Person{i}", f"replica.person{i}@nordlys.example")
          for i in range(10)]
FRIDA = TeamsPerson("29:1frida", "aad-frida-0004", "Frida Dahl", "frida.dahl@nordlys.example")
WEB = [f"web.person{i}@nordlys.example" for i in range(6)]
# A form per web person: IT (announced in Slack and Teams) or Facilities (Slack only).
WEB_FORMS = ["software-access", "office-event"]
_INPUT = re.compile(r'name="(csrf|once)" value="([^"]*)"')
_TAGS = re.compile(r"<[^>]+>")


class Browser:
    """One person's browser: a cookie jar shared by both replicas (same host, the session cookie is signed
    with the key every replica has, as behind a load balancer without sticky sessions)."""

    def __init__(self) -> None:
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.hidden: dict[str, str] = {}

    async def get(self, server: Served, path: str) -> tuple[int, str]:
        async with self.http.get(server.url + path) as response:
            page = await response.text()
            self.hidden = dict(_INPUT.findall(page))
            return response.status, page

    async def post(self, server: Served, path: str, data: dict[str, str]) -> tuple[int, str, str]:
        """Submit a form as the browser would (with the page's CSRF token); (status, final path, text)."""
        async with self.http.post(server.url + path, data=data) as response:
            page = await response.text()
            return response.status, response.url.path, " ".join(html.unescape(_TAGS.sub(" ", page)).split())

    async def close(self) -> None:
        await self.http.close()


def _form_fields(form: str, i: int) -> dict[str, str]:
    if form == "software-access":
        return {"application": "figma", "access-level": "editor", "reason": f"Web person {i} draws the new floor plans"}
    return {"event-name": f"Web party {i}", "date": "2030-03-14", "guests": str(10 + i), "catering": "on"}


def _title(form: str, i: int) -> str:
    return "Access to Figma" if form == "software-access" else f"Event: Web party {i}"


async def test_two_replicas_file_teams_and_web_requests_once_and_send_each_outbox_row_once(tmp_path: Path) -> None:
    assert POSTGRES_URL
    url = await fresh_postgres(POSTGRES_URL, DATABASE)
    browsers = [Browser() for _ in WEB]
    with OpenIdServer() as openid:
        async with FakeSlackAPI(token=BOT_TOKEN) as fake, FakeConnector(APP_ID, APP_PASSWORD) as connector:
            enrol(connector, [*PEOPLE, FRIDA])
            env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                   "SLACK_API_URL": fake.base_url, **teams_env(openid, connector)}
            replicas = [Served(tmp_path / "a", url, env), Served(tmp_path / "b", url, env)]
            for replica in replicas:
                replica.workdir.mkdir()
            await replicas[0].start()  # migrates the empty database
            await replicas[1].start()
            http = aiohttp.ClientSession()
            try:
                teams = [TeamsClient(http, replica, openid, connector) for replica in replicas]
                numbers = await _teams_intake(teams, connector, url)
                await _teams_replies(teams, connector, url, numbers)
                web_numbers = await _web_forms(replicas, browsers, url)
                await _each_outbox_row_once(fake, connector, url, {**numbers, **web_numbers})
                for replica in replicas:
                    log = replica.log.read_text()
                    assert "is serving" in log and "Traceback" not in log and " ERROR " not in log, log[-3000:]
            finally:
                await http.close()
                for browser in browsers:
                    await browser.close()
                for replica in replicas:
                    replica.stop()
                await drop_postgres(url)


async def _both(first: Any, second: Any, together: bool) -> list[Any]:
    if together:
        return list(await asyncio.gather(first, second))
    return [await first, await second]


async def _deliver(teams: list[TeamsClient], i: int, activity: dict[str, Any]) -> list[Answer]:
    """Activity i goes to replica i % 2; every third is re-sent to the other one (at once, or after)."""
    here, there = teams[i % 2], teams[(i + 1) % 2]
    if i % 3:
        answers = [await here.post(activity)]
    else:
        answers = await _both(here.post(activity), there.post(activity), together=i % 2 == 0)
    assert {a.status for a in answers} == {200}, answers
    return answers


async def _teams_intake(teams: list[TeamsClient], connector: FakeConnector, url: str) -> dict[str, int]:
    await asyncio.gather(*(_deliver(teams, i, message(connector, p, f"Replica problem {i}: VPN drops", f"repfile{i}"))
                           for i, p in enumerate(PEOPLE)))
    rows = await database_rows(url, "SELECT origin_message, origin_user, id FROM requests")
    assert sorted(str(r[0]) for r in rows) == sorted(f"repfile{i}" for i in range(len(PEOPLE))), rows
    numbers = {str(r[1]): int(r[2]) for r in rows}
    await until(lambda: all(texts_in(connector, p.chat) for p in PEOPLE), lambda: connector.calls[-3:])
    for person in PEOPLE:
        texts = texts_in(connector, person.chat)
        assert len(texts) == 1 and f"Request #{numbers[person.aad]} is filed with Front desk" in texts[0], texts
    return numbers


async def _teams_replies(teams: list[TeamsClient], connector: FakeConnector, url: str,
                         numbers: dict[str, int]) -> None:
    """Frida answers each request with a command, each sent to one replica, some to both."""
    await asyncio.gather(*(_deliver(teams, n, message(connector, FRIDA, f"desk reply {n} Reply R{n}: reconnect.",
                                                      f"repreply{n}")) for n in numbers.values()))
    bodies = Counter(str(r[0]) for r in await database_rows(url, "SELECT body FROM comments"))
    assert bodies == Counter(f"Reply R{n}: reconnect." for n in numbers.values()), bodies

    def delivered() -> bool:
        return all(any(f"Reply R{numbers[p.aad]}:" in t for t in texts_in(connector, p.chat)) for p in PEOPLE)

    await until(delivered, lambda: connector.calls[-3:])
    frida = texts_in(connector, FRIDA.chat)
    for person in PEOPLE:
        number = numbers[person.aad]
        assert sum(f"Reply R{number}:" in t for t in texts_in(connector, person.chat)) == 1
        assert sum(f"Your reply on #{number} is on its way" in t for t in frida) == 1, frida


async def _web_forms(replicas: list[Served], browsers: list[Browser], url: str) -> dict[str, int]:
    """Each person signs in on one replica and sends a form through the other; half send it twice, to both."""
    links = await asyncio.gather(*(login_link(url, email) for email in WEB))

    async def person(i: int) -> list[tuple[int, str, str]]:
        browser, form = browsers[i], WEB_FORMS[i % 2]
        one, other = replicas[i % 2], replicas[(i + 1) % 2]
        await browser.get(one, links[i])
        status, landed, _ = await browser.post(one, links[i], {"csrf": browser.hidden["csrf"]})
        assert (status, landed) == (200, "/"), "signed in"
        assert (await browser.get(other, f"/forms/{form}"))[0] == 200, "the session holds on the other replica"
        data = {**_form_fields(form, i), **browser.hidden}
        sent = browser.post(other, f"/forms/{form}", data)
        if i % 2:
            return [await sent]
        return await _both(sent, browser.post(one, f"/forms/{form}", data), together=i % 4 == 0)

    answers = await asyncio.gather(*(person(i) for i in range(len(WEB))))
    rows = await database_rows(url, "SELECT requester_email, title, id FROM requests WHERE origin_platform = 'web'")
    assert sorted((str(r[0]), str(r[1])) for r in rows) == sorted(
        (email, _title(WEB_FORMS[i % 2], i)) for i, email in enumerate(WEB)), rows
    numbers = {str(r[0]): int(r[2]) for r in rows}
    for i, email in enumerate(WEB):
        number = numbers[email]
        filed = [a for a in answers[i] if a[1] == f"/requests/{number}"]
        assert len(filed) == 1 and filed[0][0] == 200, answers[i]
        assert f"Request #{number} is filed with" in filed[0][2]
        for status, landed, text in answers[i]:  # the second submit of the same form says so, without an error
            if landed != f"/requests/{number}":
                assert (status, landed) == (200, "/requests") and "already filed" in text, (status, landed, text)
    return numbers


async def _each_outbox_row_once(fake: FakeSlackAPI, connector: FakeConnector, url: str,
                                numbers: dict[str, int]) -> None:
    async def settled() -> bool:
        rows = await database_rows(url, "SELECT count(*) FROM outbox WHERE status NOT IN ('sent', 'folded')")
        return int(rows[0][0]) == 0

    await until_async(settled, timeout=30)
    posted = Counter(c.args["metadata"]["event_payload"]["outbox_id"] for c in fake.delivered("chat.postMessage")
                     if isinstance(c.args.get("metadata"), dict))
    await folded_into_a_sent_digest(lambda sql: database_rows(url, sql))
    slack_rows = {int(r[0]) for r in await database_rows(
        url, "SELECT id FROM outbox WHERE platform = 'slack' AND status = 'sent'")}
    assert set(posted) == slack_rows and set(posted.values()) == {1}, posted.most_common(3)
    teams_rows = Counter(str(r[0]) for r in await database_rows(
        url, "SELECT kind FROM outbox WHERE platform = 'teams' AND status = 'sent'"))
    threads = len(connector.delivered("create_conversation"))
    assert threads == teams_rows["triage"] + teams_rows["task"], teams_rows
    assert len(connector.delivered("send_to_conversation")) == sum(teams_rows.values()) - threads, teams_rows
    announced = {channel: [card_text(card(a)) for a in new_threads(connector, channel)]
                 for channel in ("19:frontdesk@thread.tacv2", "19:ittriage@thread.tacv2")}
    slack_triage = Counter(c.args.get("channel") for c in fake.delivered("chat.postMessage")
                           for _ in range(str(c.args.get("text")).count("New request #")))
    for who, number in numbers.items():
        texts = [str(c.args.get("text")) for c in fake.delivered("chat.postMessage")
                 if f"New request #{number}:" in str(c.args.get("text"))]  # alone, or listed in a digest
        assert len(texts) == 1, (who, texts)
        in_teams = sum(f"New request #{number}:" in t for ts in announced.values() for t in ts)
        facilities = who.startswith("web.") and WEB_FORMS[WEB.index(who) % 2] == "office-event"
        assert in_teams == (0 if facilities else 1), (who, number)
    assert slack_triage["C0FRONTDESK"] == len(PEOPLE) and slack_triage["C0ITTRIAGE"] == len(WEB) // 2
