"""Consultation and outside collaborators on the web: an agent asks a colleague of another zone from the
request page, the colleague reads only the public conversation on their consultation page and answers;
the answer is an internal note the agent sees and the requester does not. Withdrawn, the page is "not
found". Refusals read over the form with what was typed kept."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import func, select

from bot.model import Collaborator, Consultation
from bot.server import Services
from tests.web.conftest import FINANCE_AGENT, HR_AGENT, IT_AGENT, REQUESTER, Browser, number_of

_IN_FORM = "(?:(?!</form>).)*?"  # anything inside the same form


async def _filed(browsers: Callable[[], Browser]) -> tuple[Browser, Browser, int]:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    number = number_of(await requester.file("Laptop fan is loud", "It whirs <all day> & night"))
    agent = browsers()
    await agent.sign_in(IT_AGENT)
    await agent.get(f"/requests/{number}")
    await agent.post(f"/requests/{number}/reply", {"reply": "Is it loud all the time?"})
    await agent.post(f"/requests/{number}/note", {"note": "Warranty ran out in May"})
    return requester, agent, number


async def test_a_colleague_is_asked_on_the_web_and_answers_on_their_page(browsers: Callable[[], Browser]) -> None:
    requester, agent, number = await _filed(browsers)
    page = await agent.get(f"/requests/{number}")
    assert "Asked for their view" in page.text and "Nobody was asked." in page.text
    done = await agent.post(f"/requests/{number}/consult", {"consult_person": HR_AGENT,
                                                            "consult_question": "Covered by the <policy>?"})
    assert f"Hanna Berg is asked for their view on #{number}; their answer will be an internal note." in done.text
    assert "Hanna Berg · waiting" in done.text and "Covered by the &lt;policy&gt;?" in done.html

    colleague = browsers()
    await colleague.sign_in(HR_AGENT)
    assert (await colleague.get(f"/requests/{number}")).status == 404  # the request page stays closed
    listed = await colleague.get("/consult")
    assert f"#{number} Laptop fan is loud" in listed.text
    page = await colleague.get(f"/consult/{number}")
    assert page.status == 200
    assert "Alexis Baker asks for your view" in page.text and "Covered by the <policy>?" in page.text
    assert "It whirs &lt;all day&gt; &amp; night" in page.html  # escaped
    assert "Is it loud all the time?" in page.text
    assert "Warranty" not in page.text  # never the notes
    assert "History" not in page.text

    empty = await colleague.post(f"/consult/{number}", {"answer": "   "})
    assert empty.status == 400 and "Your answer is empty; write a few words." in empty.text
    answered = await colleague.post(f"/consult/{number}", {"answer": "The policy replaces fans under 5 years."})
    assert f"Thank you: your view on #{number} is with the desk's agents." in answered.text
    assert "The policy replaces fans under 5 years." in answered.text  # their own answer, nothing more

    seen = await agent.get(f"/requests/{number}")
    notes = seen.text.split("Internal notes", 1)[1]
    assert "Hanna Berg" in notes and "The policy replaces fans under 5 years." in notes
    assert "Hanna Berg gave their view in an internal note." in seen.text
    assert "Hanna Berg · answered" in seen.text
    assert re.search(rf'action="/requests/{number}/unconsult" class="inline">{_IN_FORM}name="csrf" value="[^"]+"'
                     rf'{_IN_FORM}name="person" value="{HR_AGENT}"', seen.html, re.S), "the withdraw form"
    mine = await requester.get(f"/requests/{number}")
    assert "policy" not in mine.text and "Hanna" not in mine.text and "Asked for their view" not in mine.text

    withdrawn = await agent.post(f"/requests/{number}/unconsult", {"person": HR_AGENT})
    assert f"The question to Hanna Berg about #{number} is withdrawn; they no longer see it." in withdrawn.text
    assert (await colleague.get(f"/consult/{number}")).status == 404
    refused = await colleague.post(f"/consult/{number}", {"answer": "one more"})
    assert refused.status == 404 and f"Request #{number} was not found." in refused.text
    assert f"#{number}" not in (await colleague.get("/consult")).text


async def test_asking_is_for_the_request_s_agents_and_refusals_keep_what_was_typed(
        browsers: Callable[[], Browser], web_services: Services) -> None:
    requester, agent, number = await _filed(browsers)
    unknown = await agent.post(f"/requests/{number}/consult", {"consult_person": "nobody@elsewhere.example",
                                                               "consult_question": "Keep me"})
    assert unknown.status == 400 and "Zonedesk does not know nobody@elsewhere.example" in unknown.text
    assert 'value="Keep me"' in unknown.html
    refused = await requester.post(f"/requests/{number}/consult", {"consult_person": HR_AGENT})
    assert refused.status == 400 and "Only an agent of the request's department can ask someone's view on it." \
        in refused.text
    other = browsers()
    await other.sign_in(FINANCE_AGENT)
    hidden = await other.post(f"/requests/{number}/consult", {"consult_person": HR_AGENT})
    assert hidden.status == 404
    outsider = await other.post(f"/requests/{number}/collaborator", {"collaborator": "kim@supplier.example"})
    assert outsider.status == 404
    async with web_services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Consultation)) == 0
        assert await session.scalar(select(func.count()).select_from(Collaborator)) == 0
    assert (await other.get(f"/consult/{number}")).status == 404
    assert (await requester.get(f"/consult/{number}")).status == 404  # the requester is not asked either
    followed = await agent.get(f"/consult/{number}")  # the request's agent is sent to its page
    assert followed.status == 200 and followed.url.endswith(f"/requests/{number}")


async def test_an_outside_address_is_brought_in_and_taken_out_on_the_web(browsers: Callable[[], Browser]) -> None:
    requester, agent, number = await _filed(browsers)
    inside = await agent.post(f"/requests/{number}/collaborator", {"collaborator": HR_AGENT})
    assert inside.status == 400 and "belongs to the organisation: ask a colleague for their view" in inside.text
    bad = await agent.post(f"/requests/{number}/collaborator", {"collaborator": "not an address"})
    assert bad.status == 400 and "'not an address' is not an e-mail address." in bad.text
    done = await agent.post(f"/requests/{number}/collaborator", {"collaborator": "Kim@Supplier.example"})
    assert f"kim@supplier.example is in the conversation of #{number}" in done.text
    mine = await requester.get(f"/requests/{number}")
    assert "Alexis Baker brought kim@supplier.example into the conversation by e-mail." in mine.text
    staff_page = (await agent.get(f"/requests/{number}")).html
    assert re.search(rf'action="/requests/{number}/uncollaborator" class="inline">{_IN_FORM}name="csrf" '
                     rf'value="[^"]+"{_IN_FORM}name="address" value="kim@supplier.example"', staff_page, re.S)
    out = await agent.post(f"/requests/{number}/uncollaborator", {"address": "kim@supplier.example"})
    assert f"kim@supplier.example is out of the conversation of #{number}: nothing more is sent to it." in out.text
    again = await agent.post(f"/requests/{number}/uncollaborator", {"address": "kim@supplier.example"})
    assert again.status == 400 and f"kim@supplier.example is not in the conversation of #{number}." in again.text
