"""Editing a request on its page, as chat edits it: the same use case, the same history, the same refusals.

Each field is changed by an agent of the request's zone; a requester and a reader are refused with the
desk's own words (400, the page over what they typed) and nothing changes; a bad value is refused with
a clear message. Where chat has the verb (`priority`, `category`, `deadline`, `label`, `relate`), the
web's history event is compared with the one the chat command writes on a twin request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.desk.commands import run_command
from bot.model import Event, Label, Relation, Request
from bot.server import Services
from tests.web.conftest import HR_AGENT, HR_PRIVATE, IT_AGENT, IT_AGENT_2, REQUESTER, Browser, Page, number_of

DISPATCHER = "frida.dahl@nordlys.example"  # Front desk; reads IT (IT is visible to Front desk), acts on none of it


async def _events(services: Services, number: int) -> list[tuple[str, dict[str, Any]]]:
    async with services.sessions() as session:
        rows = (await session.execute(select(Event).where(Event.request_id == number).order_by(Event.id))).scalars()
        return [(e.kind, dict(e.data)) for e in rows]


async def _row(services: Services, number: int) -> tuple[Any, ...]:
    async with services.sessions() as session:
        r = await session.get(Request, number)
        assert r is not None
        return (r.status, r.urgency, r.weight, r.priority, r.category_id, r.internal_category, r.deadline,
                r.updated_at)


async def _chat(services: Services, email: str, line: str) -> str:
    """A chat command as Slack and Teams run it (the same desk)."""
    result = await run_command(services.desk, services.desk.actor(email, channel="slack"), line)
    assert result.ok, result.text
    return result.text


def _with_other_number(data: dict[str, Any], twin: int, number: int) -> dict[str, Any]:
    return {k: (number if v == twin else v) for k, v in data.items()}


async def _two(browsers: Callable[[], Browser], title: str = "Laptop fan is loud", zone: str = "it",
               category: str = "") -> tuple[Browser, int, int]:
    """Zack files two like requests: one to edit on the web, its twin to edit in chat."""
    zack = browsers()
    await zack.sign_in(REQUESTER)
    first = number_of(await zack.file(title, zone=zone, category=category))
    twin = number_of(await zack.file(title, zone=zone, category=category))
    return zack, first, twin


async def _agent(browsers: Callable[[], Browser], email: str = IT_AGENT) -> Browser:
    agent = browsers()
    await agent.sign_in(email)
    return agent


async def _refused(who: Browser, services: Services, number: int, action: str, form: dict[str, str],
                   message: str) -> Page:
    """The desk's refusal over the page (400), and the request and its history untouched."""
    before, history = await _row(services, number), await _events(services, number)
    await who.get(f"/requests/{number}")
    page = await who.post(f"/requests/{number}/{action}", form)
    assert page.status == 400, (action, page.status, page.text[:300])
    assert message in page.text, (message, page.text)
    assert await _row(services, number) == before and await _events(services, number) == history
    return page


# ---------------------------------------------------------------- priority (the chat `priority` verb)
async def test_priority_is_the_agent_s_weight_as_in_chat(browsers: Callable[[], Browser],
                                                         web_services: Services) -> None:
    zack, number, twin = await _two(browsers)
    alexis = await _agent(browsers)
    page = await alexis.get(f"/requests/{number}")
    assert "<summary>Edit</summary>" in page.html
    done = await alexis.post(f"/requests/{number}/priority", {"weight": "high"})
    assert done.status == 200 and f"Request #{number} now has priority high." in done.text
    await _chat(web_services, IT_AGENT, f"priority {twin} high")
    assert (await _events(web_services, number))[-1] == (await _events(web_services, twin))[-1] == (
        "weight", {"previous": None, "weight": "high", "priority": "high"})
    assert "Alexis Baker set the weight to High; the priority is High." in done.text

    await _refused(zack, web_services, number, "priority", {"weight": "low"},
                   "Only an agent of the request's department can weigh it.")
    frida = await _agent(browsers, DISPATCHER)
    await _refused(frida, web_services, number, "priority", {"weight": "low"},
                   f"You can read request #{number} but not weigh it: it belongs to another department.")
    await _refused(alexis, web_services, number, "priority", {"weight": "asap"},
                   "'asap' is not a weight. Choose one of: low, normal, high.")
    hanna = await _agent(browsers, HR_AGENT)
    missing = await hanna.post(f"/requests/{number}/priority", {"weight": "low"})
    assert missing.status == 404 and f"Request #{number} was not found." in missing.text


async def test_urgency_is_the_requester_s_and_the_agents(browsers: Callable[[], Browser],
                                                         web_services: Services) -> None:
    zack, number, _twin = await _two(browsers)
    alexis = await _agent(browsers)
    await alexis.get(f"/requests/{number}")
    done = await alexis.post(f"/requests/{number}/urgency", {"urgency": "high"})
    assert f"Request #{number} now has priority high." in done.text
    assert (await _events(web_services, number))[-1] == (
        "urgency", {"previous": "normal", "urgency": "high", "priority": "high"})
    own = await zack.post(f"/requests/{number}/urgency", {"urgency": "low"})
    assert own.status == 200 and (await _events(web_services, number))[-1][1]["urgency"] == "low", "his own"
    frida = await _agent(browsers, DISPATCHER)
    await _refused(frida, web_services, number, "urgency", {"urgency": "low"},
                   "Only the requester or an agent of the request's department can change the urgency.")
    await _refused(alexis, web_services, number, "urgency", {"urgency": "yesterday"},
                   "'yesterday' is not an urgency. Choose one of: low, normal, high.")


# ---------------------------------------------------------------- categories
async def test_category_as_the_chat_verb_sets_it(browsers: Callable[[], Browser], web_services: Services) -> None:
    zack, number, twin = await _two(browsers)
    alexis = await _agent(browsers)
    await alexis.get(f"/requests/{number}")
    done = await alexis.post(f"/requests/{number}/category", {"category": "laptop"})
    assert f"The category of request #{number} is set." in done.text
    await _chat(web_services, IT_AGENT, f"category {twin} laptop")
    web_event, chat_event = (await _events(web_services, number))[-1], (await _events(web_services, twin))[-1]
    assert web_event == chat_event and web_event[0] == "category" and web_event[1]["category"] == "laptop"
    assert "Alexis Baker set the category to Laptop" in done.text

    await _refused(zack, web_services, number, "category", {"category": "hardware"},
                   "Only an agent of the request's department can change its category.")
    refused = await _refused(alexis, web_services, number, "category", {"category": "payroll-error"},
                             "'payroll-error' is not a category of IT.")
    assert 'class="card edit" open' in refused.html, "the Edit panel stays open over the refusal"
    cleared = await alexis.post(f"/requests/{number}/category", {"category": ""})
    assert f"Request #{number} has no category now." in cleared.text


async def test_internal_category_is_for_agents_only(browsers: Callable[[], Browser], web_services: Services) -> None:
    zack, number, _twin = await _two(browsers)
    alexis = await _agent(browsers)
    await alexis.get(f"/requests/{number}")
    done = await alexis.post(f"/requests/{number}/internal", {"internal": "incident"})
    assert f"The internal category of request #{number} is set." in done.text
    assert (await _events(web_services, number))[-1][:1] == ("internal_category",)
    assert (await _events(web_services, number))[-1][1]["internal"] == "incident"
    await _refused(zack, web_services, number, "internal", {"internal": "change"},
                   "Only an agent of the request's department can change its internal category.")
    await _refused(alexis, web_services, number, "internal", {"internal": "outage"},
                   "'outage' is not an internal category of IT: incident, service-request, change.")
    page = await zack.get(f"/requests/{number}")
    assert "incident" not in page.text and "<summary>Edit</summary>" not in page.html


# ---------------------------------------------------------------- deadline
async def test_deadline_in_the_zone_s_time_zone_as_in_chat(browsers: Callable[[], Browser],
                                                           web_services: Services) -> None:
    zack, number, twin = await _two(browsers)
    alexis = await _agent(browsers)
    await alexis.get(f"/requests/{number}")
    done = await alexis.post(f"/requests/{number}/deadline", {"deadline_date": "2026-12-01", "deadline_time": "14:30"})
    assert f"Request #{number} is due 2026-12-01 14:30 (Europe/Oslo)." in done.text
    await _chat(web_services, IT_AGENT, f"deadline {twin} 2026-12-01 14:30")
    web_event, chat_event = (await _events(web_services, number))[-1], (await _events(web_services, twin))[-1]
    assert web_event == chat_event == ("deadline", {"previous": None, "deadline": "2026-12-01T14:30:00+01:00"})
    assert 'value="2026-12-01"' in done.html and 'value="14:30"' in done.html, "shown in Oslo time"

    day_only = await alexis.post(f"/requests/{number}/deadline", {"deadline_date": "2026-12-02"})
    assert "is due 2026-12-02 16:00 (Europe/Oslo)" in day_only.text, "a date alone: the end of the working day"
    async with web_services.sessions() as session:
        row = await session.get(Request, number)
        assert row is not None and row.deadline == datetime(2026, 12, 2, 15, 0, tzinfo=UTC)

    bad = await _refused(alexis, web_services, number, "deadline", {"deadline_date": "2026-13-40"},
                         "Give the deadline as a date (YYYY-MM-DD) and, if you like, a time (HH:MM).")
    assert 'value="2026-13-40"' in bad.html, "what was typed stays"
    await _refused(alexis, web_services, number, "deadline", {"deadline_date": "2026-11-01"},
                   "That deadline is in the past.")
    await _refused(zack, web_services, number, "deadline", {"deadline_date": "2026-12-09"},
                   "Only an agent of the request's department can set its deadline.")

    cleared = await alexis.post(f"/requests/{number}/deadline", {"clear": "yes"})
    assert f"Request #{number} has no deadline now." in cleared.text
    await _chat(web_services, IT_AGENT, f"deadline {twin} none")
    assert (await _events(web_services, number))[-1][1]["deadline"] is None
    assert (await _events(web_services, twin))[-1][1]["deadline"] is None


# ---------------------------------------------------------------- personal labels
async def test_personal_labels_are_seen_by_their_owner_alone(browsers: Callable[[], Browser],
                                                             web_services: Services) -> None:
    zack, number, twin = await _two(browsers)
    alexis = await _agent(browsers)
    await alexis.get(f"/requests/{number}")
    history = await _events(web_services, number)
    done = await alexis.post(f"/requests/{number}/label", {"label": "Call-Back"})
    assert f"Request #{number} is labelled call-back (only you see your labels)." in done.text
    assert re.search(r'<span class="label">call-back</span>', done.html)
    assert await _events(web_services, number) == history, "a personal label is no shared history, as in chat"
    await _chat(web_services, IT_AGENT, f"label {twin} call-back")
    async with web_services.sessions() as session:
        rows = (await session.execute(select(Label.request_id, Label.owner_email, Label.label))).all()
    assert sorted(rows) == [(number, IT_AGENT, "call-back"), (twin, IT_AGENT, "call-back")]

    ivar = await _agent(browsers, IT_AGENT_2)
    for who, path in ((ivar, f"/requests/{number}"), (ivar, "/desk"), (zack, f"/requests/{number}"),
                      (zack, "/requests"), (zack, "/")):
        page = await who.get(path)
        assert page.status == 200 and "call-back" not in page.html, (path, "someone else's label shows")
    # Lists filter by the reader's own labels only: Alexis finds both, Ivar (same zone) neither.
    filtered = "/list?scope=all&label=call-back"
    mine, theirs = await alexis.get(filtered), await ivar.get(filtered)
    assert mine.status == theirs.status == 200
    assert f'href="/requests/{number}"' in mine.html and f'href="/requests/{twin}"' in mine.html
    assert f'href="/requests/{number}"' not in theirs.html and f'href="/requests/{twin}"' not in theirs.html
    await _refused(alexis, web_services, number, "label", {"label": "two words"},
                   "A label is one word of letters, digits, '-' or '_' (at most 40).")
    zack_label = await zack.post(f"/requests/{number}/label", {"label": "mine"})
    assert "is labelled mine" in zack_label.text, "a requester labels their own request, as in chat"
    assert "mine" not in (await alexis.get(f"/requests/{number}")).text.split("Your labels")[1][:200]

    removed = await alexis.post(f"/requests/{number}/unlabel", {"label": "call-back"})
    assert f"Label call-back removed from request #{number}." in removed.text
    assert '<span class="label">call-back</span>' not in removed.html
    hanna = await _agent(browsers, HR_AGENT)
    missing = await hanna.post(f"/requests/{number}/label", {"label": "snoop"})
    assert missing.status == 404


# ---------------------------------------------------------------- relations
async def test_relations_between_requests_of_one_zone(browsers: Callable[[], Browser],
                                                      web_services: Services) -> None:
    zack, number, other = await _two(browsers)
    third = number_of(await zack.file("Screen flickers"))
    alexis = await _agent(browsers)
    await alexis.get(f"/requests/{number}")
    done = await alexis.post(f"/requests/{number}/relate", {"other": f"#{other}"})
    assert f"Request #{number} is related to #{other}." in done.text
    assert f'href="/requests/{other}"' in done.html
    await _chat(web_services, IT_AGENT, f"relate {third} {other}")
    web_events, chat_events = await _events(web_services, number), await _events(web_services, third)
    assert web_events[-1] == ("related", {"other": other}) and chat_events[-1] == ("related", {"other": other})
    assert (await _events(web_services, other))[-2:] == [("related", {"other": number}),
                                                         ("related", {"other": third})]
    assert f"Alexis Baker related it to #{other}." in done.text

    page = await zack.get(f"/requests/{number}")
    assert f'href="/requests/{other}"' not in page.html and "related it" not in page.text, "staff only"
    await _refused(zack, web_services, number, "relate", {"other": str(third)},
                   "Only an agent of the request's department can relate it.")
    typed = await _refused(alexis, web_services, number, "relate", {"other": "forty-two"},
                           "Give the number of the other request, like 42.")
    assert 'value="forty-two"' in typed.html
    await _refused(alexis, web_services, number, "relate", {"other": str(other)},
                   f"#{number} and #{other} are already related.")
    await _refused(alexis, web_services, number, "relate", {"other": str(number)},
                   "A request cannot be related to itself.")

    undone = await alexis.post(f"/requests/{number}/unrelate", {"other": str(other)})
    assert f"Request #{number} is no longer related to #{other}." in undone.text
    assert (await _events(web_services, number))[-1] == ("unrelated", {"other": other})
    assert f"Alexis Baker removed its relation to #{other}." in undone.text
    async with web_services.sessions() as session:
        assert len((await session.execute(select(Relation))).all()) == 1  # the chat one stays
    await _refused(alexis, web_services, number, "unrelate", {"other": str(other)},
                   f"#{number} and #{other} are not related.")


async def test_a_hidden_request_reads_as_not_found_and_is_never_listed(browsers: Callable[[], Browser],
                                                                       web_services: Services) -> None:
    zack = browsers()
    await zack.sign_in(REQUESTER)
    leave = number_of(await zack.file("Parental leave from May", zone="hr", category="leave"))
    private = number_of(await zack.file("A situation in my team", zone="hr", category="sensitive"))
    it_request = number_of(await zack.file("Laptop fan is loud"))
    hanna = await _agent(browsers, HR_AGENT)  # HR service, not in the private team
    await hanna.get(f"/requests/{leave}")
    for hidden in (private, it_request):
        before = await _events(web_services, leave)
        refused = await hanna.post(f"/requests/{leave}/relate", {"other": str(hidden)})
        assert refused.status == 404 and f"Request #{hidden} was not found." in refused.text
        assert await _events(web_services, leave) == before

    olav = await _agent(browsers, HR_PRIVATE)  # in the private team: relates the two
    await olav.get(f"/requests/{leave}")
    done = await olav.post(f"/requests/{leave}/relate", {"other": str(private)})
    assert f'href="/requests/{private}"' in done.html
    page = await hanna.get(f"/requests/{leave}")
    assert f'href="/requests/{private}"' not in page.html and "A situation in my team" not in page.text
    assert f'name="other" value="{private}"' not in page.html, "not even its number in a form"
    missing = await hanna.post(f"/requests/{leave}/unrelate", {"other": str(private)})
    assert missing.status == 404


# ---------------------------------------------------------------- approval
async def test_asking_for_an_approval_from_the_edit_panel(browsers: Callable[[], Browser],
                                                          web_services: Services) -> None:
    zack, number, _twin = await _two(browsers)
    alexis = await _agent(browsers)
    await alexis.get(f"/requests/{number}")
    bad = await _refused(alexis, web_services, number, "approval", {"approvers": "marte", "question": "OK?"},
                         "'marte' is not an e-mail address.")
    assert 'value="marte"' in bad.html and 'value="OK?"' in bad.html
    await _refused(zack, web_services, number, "approval", {"approvers": HR_AGENT},
                   "Only an agent of the request's department can ask for approval.")
    page = await alexis.get(f"/requests/{number}")
    once = re.search(r'action="/requests/\d+/approval".*?name="once" value="([^"]+)"', page.html, re.S)
    assert once
    form = {"approvers": HR_AGENT, "mode": "any", "question": "May we buy it?", "once": once.group(1)}
    done = await alexis.post(f"/requests/{number}/approval", form)
    assert "Approval requested; the request waits on it." in done.text
    assert (await _events(web_services, number))[-1][0] == "approval_requested"
    again = await alexis.post(f"/requests/{number}/approval", form)
    assert "That was already done." in again.text, "the form's one-time key: a double submit asks once"
    assert [k for k, _d in await _events(web_services, number)].count("approval_requested") == 1


async def test_a_double_submit_changes_once(browsers: Callable[[], Browser], web_services: Services) -> None:
    _zack, number, _twin = await _two(browsers)
    alexis = await _agent(browsers)
    page = await alexis.get(f"/requests/{number}")
    once = re.search(r'action="/requests/\d+/priority".*?name="once" value="([^"]+)"', page.html, re.S)
    assert once
    await alexis.post(f"/requests/{number}/priority", {"weight": "high", "once": once.group(1)})
    again = await alexis.post(f"/requests/{number}/priority", {"weight": "low", "once": once.group(1)})
    assert "That was already done." in again.text
    assert [k for k, _d in await _events(web_services, number)].count("weight") == 1


# ---------------------------------------------------------------- filing for someone who phoned
async def test_an_agent_files_for_someone_who_phoned(browsers: Callable[[], Browser],
                                                     web_services: Services) -> None:
    alexis = await _agent(browsers)
    desk = await alexis.get("/desk")  # the desk offers it, for the zones he works in only
    offered = re.search(r'<p class="file-for">.*?</p>', desk.html, re.S)
    assert offered and re.findall(r'href="(/new/[^"]+)"', offered.group(0)) == ["/new/it"]
    form = await alexis.get("/new/it")
    assert 'name="for_requester"' in form.html
    filed = await alexis.post("/requests", {"zone": "it", "title": "Printer jams on floor 3", "urgency": "normal",
                                            "description": "Zack called.", "for_requester": "Zack@Nordlys.example"})
    number = number_of(filed)
    assert f"Request #{number} is filed for Zack with IT." in filed.text
    async with web_services.sessions() as session:
        row = await session.get(Request, number)
        assert row is not None and row.requester_email == REQUESTER and row.filed_by_email == IT_AGENT
    assert (await _events(web_services, number))[0] == ("filed", {
        "zone": "it", "team": "it-support", "category": None, "title": "Printer jams on floor 3",
        "on_behalf": True, "form": None})

    zack = browsers()
    await zack.sign_in(REQUESTER)
    mine = await zack.get("/requests")
    assert "Printer jams on floor 3" in mine.text
    page = await zack.get(f"/requests/{number}")
    assert page.status == 200 and "Alexis Baker filed it for Zack with IT." in page.text
    assert "Your answer" in page.text, "Zack answers it as his own"
    assert 'name="for_requester"' not in (await zack.get("/new/it")).html, "a requester files for himself only"

    count = len(await _events(web_services, number))
    hanna = await _agent(browsers, HR_AGENT)
    await hanna.get("/new/it")
    refused = await hanna.post("/requests", {"zone": "it", "title": "Not hers to file", "for_requester": REQUESTER})
    assert refused.status == 400
    assert "Only a dispatcher or an agent of IT can file a request there on behalf of someone else." in refused.text
    assert 'value="Not hers to file"' in refused.html
    outsider = await alexis.post("/requests", {"zone": "it", "title": "Typo", "for_requester": "zack@nordlys.exmaple"})
    assert outsider.status == 400 and "Zonedesk does not know zack@nordlys.exmaple" in outsider.text
    assert 'value="zack@nordlys.exmaple"' in outsider.html
    async with web_services.sessions() as session:
        titles = set((await session.execute(select(Request.title))).scalars())
    assert titles == {"Printer jams on floor 3"} and len(await _events(web_services, number)) == count

    frida = await _agent(browsers, DISPATCHER)  # a dispatcher files into any zone
    await frida.get("/new/facilities")
    routed = await frida.post("/requests", {"zone": "facilities", "title": "Broken chair",
                                            "for_requester": "someone.new@nordlys.example"})
    assert "is filed for Someone New with Facilities." in routed.text


async def test_an_agent_files_a_form_for_someone(browsers: Callable[[], Browser], web_services: Services) -> None:
    alexis = await _agent(browsers)
    page = await alexis.get("/forms/software-access")
    assert 'name="for_requester"' in page.html
    filed = await alexis.post("/forms/software-access", {
        "application": "jira", "access-level": "user", "reason": "Joins the project board on Monday.",
        "for_requester": REQUESTER})
    number = number_of(filed)
    assert f"Request #{number} is filed for Zack with IT." in filed.text
    zack = browsers()
    await zack.sign_in(REQUESTER)
    assert "Access to Jira" in (await zack.get("/requests")).text
    assert "Alexis Baker filed it for Zack with IT, category Software access." in (
        await zack.get(f"/requests/{number}")).text
