"""Languages in Teams: each person is answered in theirs, whatever they do there.

`desk language` is the same verb as Slack's `/desk language`, saved for the person who wrote it. Until
someone chooses, their Teams client's `locale` decides: the desk's refusals, command answers, the bot's own
answers, the cards it sends them and the dialogs they open are all in that language (checked against the
catalogue, so a translation may change without these tests changing).
"""

from __future__ import annotations

from typing import Any

from bot.desk.commands import help_text
from bot.i18n import speaking, translator
from bot.people.languages import saved_language
from tests.teams.conftest import (
    ALEXIS,
    BOT,
    HANNA,
    IT_HELP,
    IT_TRIAGE,
    KARI,
    Answer,
    Person,
    TeamsWorld,
    actions,
    card_of,
    card_text,
)
from tests.teams.test_refusals import triage_card_moved_away
from tests.teams.test_task_module import inputs, submit_data, task_card, task_message

POLISH = "pl-PL"  # what a Polish Teams client sends as the activity's locale
pl, de, nb = translator("pl"), translator("de"), translator("nb")
HELP = "Tell me what you need and I file it as a request; we answer here. Agents: type `desk help` for the commands."


async def write(teams: TeamsWorld, person: Person, text: str, locale: str = POLISH) -> None:
    """`person` writes to the bot in their personal chat from a client in `locale`."""
    await teams.post(teams.activity(person, "personal", person.chat, type="message", text=text, locale=locale))


async def ask(teams: TeamsWorld, person: Person, text: str, locale: str = POLISH) -> str:
    """`person` writes to the bot from a client in `locale`; returns what they read back."""
    await write(teams, person, text, locale)
    return told(teams, person)


def told(teams: TeamsWorld, person: Person) -> str:
    """The last card in a person's personal chat, as they read it."""
    return card_text(card_of(teams.sent_to(person.chat)[-1]))


async def post_in_channel(teams: TeamsWorld, person: Person, text: str, locale: str = POLISH, *,
                          root: str | None = None) -> str:
    """`person` posts in IT help, mentioning the bot (or replies in the thread of `root`); returns the post's id."""
    message_id = teams.next_id()
    activity = teams.activity(person, "channel", f"{IT_HELP};messageid={root or message_id}", type="message",
                              text=f"<at>Zonedesk</at> {text}".strip(), id=message_id, locale=locale,
                              entities=[{"type": "mention", "text": "<at>Zonedesk</at>",
                                         "mentioned": {"id": BOT, "name": "Zonedesk"}}])
    if root:
        activity["replyToId"] = root
    await teams.post(activity)
    return message_id


async def invoke(teams: TeamsWorld, person: Person, name: str, value: Any, *, locale: str = POLISH,
                 conversation: str | None = None, kind: str = "personal") -> Answer:
    """An invoke (a dialog, a card click) from a client in `locale`."""
    return await teams.post(teams.activity(person, kind, conversation or person.chat, type="invoke", name=name,
                                           value=value, id=f"f:{teams.next_id()}", locale=locale))


async def test_a_requester_chooses_a_language_in_the_personal_chat(teams: TeamsWorld) -> None:
    await teams.say(KARI, "desk language no")
    answer = card_text(card_of(teams.sent_to(KARI.chat)[-1]))
    assert "Zonedesk snakker nå Norsk bokmål (nb) med deg." in answer  # answered in the language chosen
    async with teams.services.sessions() as session:
        assert await saved_language(session, KARI.email) == "nb"

    await teams.say(KARI, "desk language")
    assert "Zonedesk snakker Norsk bokmål (nb) med deg: du har valgt det." in card_text(
        card_of(teams.sent_to(KARI.chat)[-1]))


async def test_until_a_person_chooses_their_teams_client_decides(teams: TeamsWorld) -> None:
    asking = teams.activity(KARI, "personal", KARI.chat, type="message", text="desk language", locale="sv-SE")
    await teams.post(asking)
    answer = card_text(card_of(teams.sent_to(KARI.chat)[-1]))
    assert "Zonedesk talar Svenska (sv) med dig: din app ber om det." in answer  # the client's locale decides
    async with teams.services.sessions() as session:
        assert await saved_language(session, KARI.email) is None  # a hint is never saved


async def test_an_unknown_code_is_refused_and_nothing_is_saved(teams: TeamsWorld) -> None:
    await teams.say(ALEXIS, "desk language klingon")
    answer = card_text(card_of(teams.sent_to(ALEXIS.chat)[-1]))
    assert "Zonedesk does not speak 'klingon'." in answer and "de (Deutsch)" in answer
    async with teams.services.sessions() as session:
        assert await saved_language(session, ALEXIS.email) is None


async def test_a_polish_client_hears_refusals_and_help_in_polish(teams: TeamsWorld) -> None:
    assert await ask(teams, ALEXIS, "desk claim 999") == pl.gettext("Request #{number} was not found.", number=999)

    answer = await ask(teams, ALEXIS, "desk help")
    with speaking("pl"):
        assert answer == help_text()
    assert pl.gettext("Commands (request numbers as 42 or #42):") in answer

    assert await ask(teams, KARI, "") == pl.gettext(HELP) != HELP  # a message with nothing to file


async def test_a_refused_click_is_told_in_the_clickers_language(teams: TeamsWorld) -> None:
    card = await triage_card_moved_away(teams)  # #1 moved to a zone Alexis may not see
    claim = actions(card)["Claim"]
    value = {"action": {"type": "Action.Execute", "verb": claim["verb"], "data": claim["data"]}, "trigger": "manual"}
    clicked = await invoke(teams, ALEXIS, "adaptiveCard/action", value, conversation=IT_TRIAGE, kind="channel")
    assert clicked.body["value"] == pl.gettext("Request #{number} was not found.", number=1)


async def test_a_language_chosen_in_teams_is_spoken_from_the_next_answer_on(teams: TeamsWorld) -> None:
    chosen = await ask(teams, ALEXIS, "desk language de")  # the client still says Polish: the choice wins
    assert de.gettext("Zonedesk now speaks {language} ({code}) with you.", language="Deutsch", code="de") in chosen

    assert await ask(teams, ALEXIS, "desk claim 999") == de.gettext("Request #{number} was not found.", number=999)
    assert await ask(teams, ALEXIS, "") == de.gettext(HELP) != HELP

    await write(teams, KARI, "desk language nb")  # a requester chooses the same way
    assert await ask(teams, KARI, "") == nb.gettext(HELP) != HELP


async def test_a_polish_requester_is_confirmed_in_polish_and_the_triage_channel_keeps_its_language(
        teams: TeamsWorld) -> None:
    await write(teams, KARI, "Drukarka na trzecim piętrze nie drukuje")
    await teams.deliver()
    confirmation = card_of(teams.sent_to(KARI.chat)[-1])
    title = pl.gettext("Request #{number} is filed with {zone}", number=1, zone="Front desk")
    assert card_text(confirmation).startswith(title)
    assert pl.gettext("Add a comment") in actions(confirmation)  # the card's own button, in the message's language

    post = await post_in_channel(teams, KARI, "Monitor migocze")
    await teams.deliver()
    [reply] = teams.sent_to(f"{IT_HELP};messageid={post}")
    assert card_text(card_of(reply)).startswith(pl.gettext("Request #{number} is filed with {zone}", number=2,
                                                           zone="IT"))
    [(_thread, announcement)] = teams.new_threads(IT_TRIAGE)
    assert "Claim" in actions(card_of(announcement))  # IT's triage channel reads English, the zone's language


async def test_dialogs_open_and_answer_in_the_persons_language(teams: TeamsWorld) -> None:
    await write(teams, KARI, "Wi-Fi dla gości?")
    await teams.deliver()
    add = actions(card_of(teams.sent_to(KARI.chat)[-1]))[pl.gettext("Add a comment")]
    opened = await invoke(teams, KARI, "task/fetch", {"data": add["data"]})
    assert opened.body["task"]["value"]["title"] == pl.gettext("Add to #{number}", number=1)
    dialog = task_card(opened)
    assert [a["title"] for a in dialog["actions"]] == [pl.gettext("Send")]
    assert inputs(dialog)["text"]["errorMessage"] == pl.gettext("{label} is required.",
                                                                label=pl.gettext("Add to #{number}", number=1))
    done = await invoke(teams, KARI, "task/submit", {"data": submit_data(dialog, text="Dla 12 osób")})
    assert task_message(done) == pl.gettext("Added to #{number}.", number=1) != "Added to #1."

    await post_in_channel(teams, KARI, "Stacja dokująca nie ładuje")
    await teams.deliver()
    [(_thread, announcement)] = teams.new_threads(IT_TRIAGE)
    reply = actions(card_of(announcement))["Reply"]  # the channel's card is English; Alexis' dialog is not
    opened = await invoke(teams, ALEXIS, "task/fetch", {"data": reply["data"]}, conversation=IT_TRIAGE, kind="channel")
    dialog = task_card(opened)
    assert opened.body["task"]["value"]["title"] == pl.gettext("Reply to #{number}", number=2)
    assert inputs(dialog)["text"]["label"] == pl.gettext("Your reply (the requester sees it)")
    assert [a["title"] for a in dialog["actions"]] == [pl.gettext("Send reply")]
    sent = await invoke(teams, ALEXIS, "task/submit", {"data": submit_data(dialog, text="Nowy kabel jest w drodze")},
                        conversation=IT_TRIAGE, kind="channel")
    assert task_message(sent) == pl.gettext("Your reply on #{number} is on its way to the requester.", number=2)

    refused = await invoke(teams, KARI, "task/fetch", {"data": reply["data"]})  # a requester may not reply
    zone = teams.services.config.organisation.zone_noun_in("pl")
    assert task_message(refused) == pl.gettext("Only an agent of the request's {zone} can reply to #{number}.",
                                               zone=zone, number=2)


async def test_the_create_request_dialog_and_a_stale_button_in_polish(teams: TeamsWorld) -> None:
    message = {"id": "1732000000500", "body": {"contentType": "html", "content": "<p>VPN nie działa</p>"}}
    value = {"commandId": "createRequest", "commandContext": "message", "messagePayload": message}
    opened = await invoke(teams, ALEXIS, "composeExtension/fetchTask", value,
                          conversation=f"{IT_HELP};messageid=1732000000500", kind="channel")
    assert opened.body["task"]["value"]["title"] == pl.gettext("Create request") != "Create request"
    dialog = opened.body["task"]["value"]["card"]["content"]
    labels = {e["id"]: e["label"] for e in dialog["body"] if e["type"].startswith("Input.")}
    assert labels == {"title": pl.gettext("Title"), "description": pl.gettext("Description"),
                      "zone": teams.services.config.organisation.zone_label("pl")}
    assert [a["title"] for a in dialog["actions"]] == [pl.gettext("File request")]

    clicked = await invoke(teams, ALEXIS, "adaptiveCard/action", {"action": {"type": "Action.Execute", "data": {}}})
    stale = "This button is no longer supported."
    assert clicked.body["value"] == pl.gettext(stale) != stale


async def test_a_channel_message_the_desk_ignores_looks_nobody_up(teams: TeamsWorld) -> None:
    post = await post_in_channel(teams, KARI, "Skaner nie skanuje")
    members = len(teams.connector.calls_to("get_conversation_member"))

    await post_in_channel(teams, HANNA, "", root=post)  # only the bot's mention: nothing to add to the request

    assert len(teams.connector.calls_to("get_conversation_member")) == members  # Hanna was never looked up
    assert HANNA.email not in teams.services.desk.hints  # nor was her language
