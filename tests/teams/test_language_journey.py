"""A Polish requester in Teams, from filing to the survey: every product word he is shown is Polish.

Piotr is not in `app.yaml` and never chose a language; his Teams client sends `locale: pl-PL` with each
activity. The agent works in English. The confirmation in his channel thread, the agent's reply, the
"waiting for you" notice, the scheduler's reminder in his personal chat, the Solved / Not solved
question, the survey and the answers to his clicks are checked against the Polish catalogue, and for
English product words left in them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import translator
from bot.scheduler import install
from tests.teams.conftest import ALEXIS, BOT, IT_HELP, Person, TeamsWorld, actions, card_of, card_text
from tests.untranslated import english_left

PIOTR = Person("29:1piotr", "aad-piotr-0008", "Piotr Nowak", "piotr.nowak@nordlys.example")
PL = translator("pl")


def oslo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("Europe/Oslo"))


async def post(teams: TeamsWorld, text: str, root: str | None = None) -> str:
    """Piotr writes in IT help from his Polish client (a new post, or in the thread of `root`)."""
    message_id = teams.next_id()
    activity = teams.activity(PIOTR, "channel", f"{IT_HELP};messageid={root or message_id}", type="message",
                              text=f"<at>Zonedesk</at> {text}", id=message_id, locale="pl-PL",
                              entities=[{"type": "mention", "text": "<at>Zonedesk</at>",
                                         "mentioned": {"id": BOT, "name": "Zonedesk"}}])
    if root:
        activity["replyToId"] = root
    await teams.post(activity)
    return message_id


async def click(teams: TeamsWorld, action: dict[str, Any], conversation: str) -> str:
    """Piotr clicks a card's button from his Polish client; returns what the card then says to him."""
    value = {"action": {"type": "Action.Execute", "verb": action["verb"], "data": action["data"]},
             "trigger": "manual"}
    answer = await teams.post(teams.activity(PIOTR, "channel", conversation, type="invoke",
                                             name="adaptiveCard/action", value=value, id=f"f:{teams.next_id()}",
                                             locale="pl-PL"))
    assert answer.status == 200, answer
    return card_text(answer.body["value"]) if isinstance(answer.body.get("value"), dict) else str(answer.body)


def his_chat(teams: TeamsWorld) -> list[str]:
    """The cards the bot sent Piotr in the personal chat it opened with him."""
    chats = [c.response["id"] for c in teams.connector.delivered("create_conversation")
             if c.body.get("members") == [{"id": PIOTR.user_id}]]
    return [card_text(card_of(a)) for chat in chats for a in teams.sent_to(chat)]


async def test_a_polish_requester_reads_every_product_word_in_polish(teams: TeamsWorld) -> None:
    teams.connector.add_member(PIOTR.aad, PIOTR.user_id, PIOTR.name, PIOTR.email)
    scheduler = install(teams.services, env={"ZONEDESK_SCHEDULER": "off"})
    teams.clock.set(oslo(24, 9))

    root = await post(teams, "Drukarka na trzecim piętrze nie drukuje")
    await teams.deliver()
    thread = f"{IT_HELP};messageid={root}"

    def in_thread() -> list[str]:
        return [card_text(card_of(a)) for a in teams.sent_to(thread) if a.get("attachments")]

    [confirmation] = in_thread()
    assert PL.gettext("Request #{number} is filed with {zone}", number=1, zone="IT") in confirmation

    await teams.say(ALEXIS, "desk claim 1")
    await teams.say(ALEXIS, "desk reply 1 Please switch the printer off and on again")
    await teams.say(ALEXIS, "desk status 1 waiting requester")
    await teams.deliver()
    reply, waiting = in_thread()[-2:]
    assert PL.gettext("{author} wrote:", author="Alexis Baker") in reply
    assert "Please switch the printer off and on again" in reply  # typed text is never translated
    assert PL.gettext("Request #{number} is waiting for your answer: reply in this thread.", number=1) in waiting

    teams.clock.set(oslo(26, 9))
    await scheduler.tick()
    await teams.deliver()
    [reminder] = his_chat(teams)
    assert PL.gettext("#{number} is waiting for your answer", number=1) in reminder

    await post(teams, "Wyłączyłem i włączyłem, nadal nic", root=root)
    await teams.say(ALEXIS, "desk resolve 1 Replaced the toner")
    await scheduler.tick()
    await teams.deliver()
    [question] = [a for a in teams.sent_to(thread) if a.get("attachments")
                  and PL.gettext("Is your request #{number} solved?", number=1) in card_text(card_of(a))]
    solved = actions(card_of(question))[PL.gettext("Solved")]
    assert PL.gettext("Not solved") in actions(card_of(question))
    # The card he clicked is redrawn to say what happened, in Polish.
    assert PL.gettext("Confirmed solved by {name}.", name="Piotr Nowak") in await click(teams, solved, thread)

    await scheduler.tick()
    await teams.deliver()
    [survey] = [a for a in teams.sent_to(thread) if a.get("attachments")
                and PL.gettext("How did we do with #{number}?", number=1) in card_text(card_of(a))]
    thanks = await click(teams, actions(card_of(survey))["5"], thread)
    assert PL.gettext("Rated {rating}/5 by {name}.", rating=5, name="Piotr Nowak") in thanks

    for text in in_thread() + his_chat(teams):
        assert english_left(text, "pl") == [], text
