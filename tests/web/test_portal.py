"""The requester's portal: choose a zone, file with its own categories, follow and answer; bad input is explained."""

from __future__ import annotations

from collections.abc import Callable

from tests.web.conftest import REQUESTER, Browser, number_of


async def test_a_requester_files_and_sees_it_in_my_requests(browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    filed = await requester.file("New screen for my desk", "The old one flickers.", category="peripherals")
    number = number_of(filed)
    assert filed.status == 200
    assert f"Request #{number} is filed with IT." in filed.text
    assert "New screen for my desk" in filed.text and "The old one flickers." in filed.text
    assert "Screens and peripherals" in filed.text and "IT support" in filed.text
    mine = await requester.get("/requests")
    assert f"#{number}" in mine.text and "New screen for my desk" in mine.text and "New" in mine.text
    home = await requester.get("/")
    assert "New screen for my desk" in home.text


async def test_the_form_offers_only_the_chosen_zones_categories(browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    home = await requester.get("/")
    assert 'href="/new/it"' in home.html and 'href="/new/hr"' in home.html
    it_form = await requester.get("/new/it")
    assert "Software access" in it_form.text and "Laptop" in it_form.text
    assert "Leave and absence" not in it_form.text and "Payroll error" not in it_form.text
    hr_form = await requester.get("/new/hr")
    assert "Leave and absence" in hr_form.text and "Laptop" not in hr_form.text
    assert (await requester.get("/new/nowhere")).status == 404


async def test_bad_input_is_explained_and_the_form_keeps_what_was_typed(browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)

    empty = await requester.file("   ", "I typed this first", category="laptop")
    assert empty.status == 400 and "The title is empty; write a few words." in empty.text
    assert "I typed this first" in empty.text and 'value="laptop" selected' in empty.html

    huge = await requester.file("Log file", "x" * 100_000)
    assert huge.status == 400 and "The description is too long (100,000 characters; at most 20,000)." in huge.text
    assert 'value="Log file"' in huge.html

    wrong_category = await requester.file("Holiday", "Two weeks in July", category="leave")
    assert wrong_category.status == 400 and "'leave' is not a category of IT." in wrong_category.text
    assert 'value="Holiday"' in wrong_category.html

    nowhere = await requester.post("/requests", {"zone": "moon", "title": "Rocket", "description": "Fuel"})
    assert nowhere.status == 400 and "There is no zone 'moon'." in nowhere.text
    assert 'value="Rocket"' in nowhere.html and ">Fuel</textarea>" in nowhere.html
    assert 'name="zone"' in nowhere.html and "IT</option>" in nowhere.html

    assert "You have not filed any requests yet." in (await requester.get("/requests")).text


async def test_user_text_is_shown_as_text(browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    filed = await requester.file("<script>alert(1)</script>", '<img src=x onerror="alert(2)"> & "quotes"')
    number = number_of(filed)
    assert "<script>alert(1)</script>" not in filed.html and "<img src=x" not in filed.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in filed.html
    assert "<script>alert(1)</script>" in filed.text  # what the person reads is their own text
    answered = await requester.post(f"/requests/{number}/comment", {"comment": "</textarea><b>bold?</b>"})
    assert "<b>bold?</b>" not in answered.html and "&lt;/textarea&gt;&lt;b&gt;bold?&lt;/b&gt;" in answered.html
    mine = await requester.get("/requests")
    assert "<script>alert(1)</script>" not in mine.html and "&lt;script&gt;" in mine.html


async def test_a_requester_answers_cancels_and_cannot_act_as_an_agent(browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    number = number_of(await requester.file("Badge does not open door 3"))
    answered = await requester.post(f"/requests/{number}/comment", {"comment": "It is the east door."})
    assert "Your answer is added." in answered.text and "It is the east door." in answered.text
    assert "Reply to" not in answered.text and "Internal notes" not in answered.text

    sneaky = await requester.post(f"/requests/{number}/status", {"status": "resolved"})
    assert sneaky.status == 400 and "Only an agent of the request's department can change its status." in sneaky.text

    asked = await requester.post(f"/requests/{number}/cancel")
    assert asked.status == 200 and f"Cancel #{number} · Badge does not open door 3?" in asked.text
    assert "A cancelled request is final" in asked.text
    cancelled = await requester.post(f"/requests/{number}/cancel", {"confirmed": "yes"})
    assert f"Request #{number} is cancelled." in cancelled.text and "Cancelled" in cancelled.text
    late = await requester.post(f"/requests/{number}/comment", {"comment": "one more thing"})
    assert late.status == 400 and "is cancelled; file a new request or ask to reopen it." in late.text
    assert "Your answer" not in late.text  # no box on a cancelled request


async def test_a_double_submit_files_once(browsers: Callable[[], Browser]) -> None:
    requester = browsers()
    await requester.sign_in(REQUESTER)
    await requester.get("/new/it")
    form = {"zone": "it", "title": "Mouse broken", "urgency": "normal", "once": "click-1"}
    first = await requester.post("/requests", form)
    second = await requester.post("/requests", form)
    assert "is filed with IT" in first.text and "That request was already filed." in second.text
    assert (await requester.get("/requests")).text.count("Mouse broken") == 1
