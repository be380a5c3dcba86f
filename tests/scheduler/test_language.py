"""The scheduler speaks each recipient's language: a reminder in the requester's (or approver's) own, a
warning or digest in a triage channel in its zone's, with times as that language writes them."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from babel import dates

from bot.clock import FakeClock
from bot.desk.approvals import card_for, request_approval
from bot.i18n import speaking, translator
from bot.model import Approval, Request
from bot.server import Services, build_services
from tests.scheduler.world import ALEXIS, MARTE, OSLO, ZACK, World, oslo
from tests.untranslated import english_left

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def services(db_url: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Services]:
    """The sample company, with its IT zone speaking German in its channels (`language: de`)."""
    sample = (ROOT / "app.yaml").read_text()
    german = sample.replace("    reminders: {stale_after_hours: 4}\n",
                            "    reminders: {stale_after_hours: 4}\n    language: de\n", 1)
    assert german != sample
    (tmp_path / "app.yaml").write_text(german)
    for folder in ("forms", "saved_replies"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    built = build_services(tmp_path / "app.yaml", db_url, clock=clock,
                           env={"ZONEDESK_SECRET_KEY": "test-secret-key-0123456789abcdef"})
    yield built
    await built.engine.dispose()


async def _choose(world: World, email: str, code: str) -> None:
    await world.desk.choose_language(email, code)


def _between(template: str, text: str) -> str:
    """What a catalogue sentence with one `{value}` left open holds there in `text` (which must match it)."""
    before, after = template.split("\0")
    assert text.startswith(before) and text.endswith(after), (template, text)
    return text[len(before):len(text) - len(after)]


async def test_a_norwegian_requester_is_reminded_in_norwegian(world: World) -> None:
    await _choose(world, ZACK, "nb")
    number = await world.file("Skjermen flimrer")
    await world.desk.claim(world.actor(ALEXIS), number)
    await world.desk.set_status(world.actor(ALEXIS), number, "waiting", reason="requester")
    await world.at(oslo(2026, 11, 26, 9))  # 16 working hours on
    [reminder] = await world.reminders("waiting")
    nb = translator("nb")
    assert reminder.to == "dm:UZACK" and reminder.message.language == "nb"
    assert reminder.message.title == nb.gettext("#{number} is waiting for your answer", number=number)
    assert reminder.message.text == "Skjermen flimrer\n" + nb.gettext(
        "We need something from you to go on. Answer in the request's thread or open it in Zonedesk.")
    assert reminder.message.link_label == nb.gettext("Open #{number}", number=number)
    assert reminder.message.title != f"#{number} is waiting for your answer", "the catalogue has it in Norwegian"


async def test_the_solved_question_and_its_buttons_are_in_the_requesters_language(world: World) -> None:
    await _choose(world, ZACK, "nb")
    number = await world.file("Outlook krasjer")
    await world.desk.claim(world.actor(ALEXIS), number)
    world.clock.set(oslo(2026, 11, 24, 10))
    await world.desk.set_status(world.actor(ALEXIS), number, "resolved")
    await world.at(oslo(2026, 11, 24, 10))
    [ask] = [o for o in await world.sent() if o.message.extra.get("confirm")]
    nb = translator("nb")
    assert ask.to == "thread:C0ITHELP" and ask.message.language == "nb"
    assert ask.message.title == nb.gettext("Is your request #{number} solved?", number=number)
    assert [b.label for b in ask.message.buttons] == [nb.gettext("Solved"), nb.gettext("Not solved")]
    assert ask.message.text == "Outlook krasjer\n" + nb.ngettext(
        "If it is not, press Not solved and we take it up again. Without an answer we close it in {count} "
        "working day.",
        "If it is not, press Not solved and we take it up again. Without an answer we close it in {count} "
        "working days.", 5)


async def test_an_sla_warning_in_a_german_zones_triage_channel_is_in_german(world: World) -> None:
    number = await world.file("VPN is down for me", urgency="high")  # first response due at 10:00
    await world.at(oslo(2026, 11, 24, 9, 48))
    [warning] = await world.reminders("sla_warning")
    de = translator("de")
    assert warning.to == "channel:C0ITTRIAGE" and warning.message.language == "de"
    due = _between(de.gettext("SLA warning: #{number} first response is due {due}", number=number, due="\0"),
                   warning.message.title or "")
    moment = oslo(2026, 11, 24, 10)  # as Babel writes it in German, in the zone's time zone
    assert dates.format_skeleton("MMMEd", moment, tzinfo=OSLO, locale="de") in due
    assert dates.format_time(moment, "short", tzinfo=OSLO, locale="de") in due and due.endswith(" Europe/Oslo")
    assert warning.message.text == "VPN is down for me\n" + de.ngettext(
        "{count} working minute left.", "{count} working minutes left.", 12)
    assert [label for label, _value in warning.message.fields] == [de.gettext("Priority"), de.gettext("Status")]
    assert warning.message.link_label == de.gettext("Open #{number}", number=number)
    assert english_left(warning.message.plain(), "de") == []


async def test_the_daily_digest_of_a_german_zone_is_in_german(world: World) -> None:
    await world.file("VPN is down", urgency="high")
    await world.at(oslo(2026, 11, 24, 9))
    await world.at(oslo(2026, 11, 25, 8))
    [digest] = [o for o in await world.sent(digests=True) if "digest" in o.message.extra]
    de = translator("de")
    day = dates.format_date(datetime(2026, 11, 25).date(), "full", locale="de")
    assert digest.message.language == "de"
    assert digest.message.title == de.gettext("{team}: daily digest for {day}", team="IT support", day=day)
    assert [label for label, _value in digest.message.fields] == [
        de.gettext(word) for word in ("Open", "Unassigned", "Breaching SLA", "Waiting")]
    assert digest.message.link_label == de.gettext("Open the desk")


async def test_an_approver_is_reminded_with_the_whole_card_in_their_language(world: World) -> None:
    await _choose(world, MARTE, "pl")
    number = await world.file("Nowy laptop")
    approval = await request_approval(world.desk, world.actor(ALEXIS), number, [MARTE], mode="any")
    await world.at(oslo(2026, 11, 25, 9))
    [reminder] = [o for o in await world.sent() if o.to == "dm:UMARTE"]
    async with world.services.sessions() as session:
        found, request = await session.get(Approval, approval), await session.get(Request, number)
        assert found is not None and request is not None
        with speaking("pl"):  # the card as the approvals module says it to a Polish reader
            card = await card_for(session, world.desk, found, request)
    assert reminder.message.language == "pl" and not (reminder.message.title or "").startswith("Reminder:")
    assert reminder.message.title == translator("pl").gettext("Reminder: {title}", title=card.title)
    assert [b.label for b in reminder.message.buttons] == [b.label for b in card.buttons]
