"""The history read in the reader's language: each sentence is the catalogue's whole sentence with the names
filled in as `app.yaml` gives them, statuses in the reader's words, and dates as Babel writes them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel import dates, lists

from bot.config import AppConfig
from bot.desk import EventView
from bot.desk.history import Words, sentence, status_label
from bot.i18n import speaking, translator

AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
ZACK, ALEXIS, IVAR = "zack@nordlys.example", "alexis.baker@nordlys.example", "ivar.lund@nordlys.example"
MARTE = "marte.viken@nordlys.example"


def _read(config: AppConfig, language: str, kind: str, data: dict[str, Any], actor: str = ALEXIS, *,
          requester: str = "Zack") -> str:
    words = Words(config, "it", requester=requester, requester_email=ZACK, staff=True)
    with speaking(language):
        return sentence(words, EventView(AT, actor, actor, "web", kind, data)).text


# (kind, data, msgid, values; a status is given as its English name and translated like the names it stands for)
CASES: list[tuple[str, dict[str, Any], str, dict[str, str]]] = [
    ("claimed", {"previous": IVAR}, "{actor} took it over from {previous}.",
     {"actor": "Alexis Baker", "previous": "Ivar Lund"}),
    ("assigned", {"assignee": IVAR, "previous": None}, "{actor} assigned it to {assignee}.",
     {"actor": "Alexis Baker", "assignee": "Ivar Lund"}),
    ("status", {"previous": "new", "status": "waiting", "reason": "requester"},
     "{actor} moved it from {previous} to {status}.",
     {"actor": "Alexis Baker", "previous": "New", "status": "Waiting on requester"}),
    ("transferred", {"source": "it", "target": "facilities", "category": "repairs", "reason": "a desk, not IT"},
     "{actor} transferred it from {source} to {target}, category {category}: {reason}.",
     {"actor": "Alexis Baker", "source": "IT", "target": "Facilities", "category": "Repairs",
      "reason": "a desk, not IT"}),
    ("filed", {"zone": "it", "on_behalf": True}, "{actor} filed it for {requester} with {zone}.",
     {"actor": "Alexis Baker", "requester": "Zack", "zone": "IT"}),
]
STATUS_WORDS = {"New", "Waiting on requester"}


@pytest.mark.parametrize("language", ["pl", "it"])
@pytest.mark.parametrize(("kind", "data", "msgid", "values"), CASES, ids=[c[0] for c in CASES])
def test_events_read_as_the_catalogues_sentence_with_the_names_filled(
        config: AppConfig, language: str, kind: str, data: dict[str, Any], msgid: str, values: dict[str, str]) -> None:
    said = translator(language)
    filled = {key: said.gettext(value) if value in STATUS_WORDS else value for key, value in values.items()}
    expected = said.gettext(msgid, **filled)
    assert expected != msgid.format(**values), f"the {language} catalogue translates it"
    assert _read(config, language, kind, data) == expected


def test_a_deadline_reads_as_a_polish_date_written_by_babel(config: AppConfig) -> None:
    text = _read(config, "pl", "deadline", {"previous": None, "deadline": "2026-12-11T15:00:00+00:00"})
    before, after = translator("pl").gettext("{actor} set the deadline to {new}.", actor="Alexis Baker",
                                             new="\0").split("\0")
    assert text.startswith(before) and text.endswith(after)
    when = text[len(before):len(text) - len(after)]
    oslo = ZoneInfo("Europe/Oslo")  # IT's calendar: 16:00 there
    moment = datetime(2026, 12, 11, 15, 0, tzinfo=UTC)
    assert dates.format_date(moment.astimezone(oslo), "long", locale="pl") in when  # "11 grudnia 2026"
    assert dates.format_time(moment, "short", tzinfo=oslo, locale="pl") in when
    assert "December" not in text


def test_an_sla_warning_is_one_whole_sentence_per_clock_in_italian(config: AppConfig) -> None:
    text = _read(config, "it", "sla_warning", {"clock": "first_response", "due": "2026-11-24T09:00:00+00:00"})
    before, after = translator("it").gettext("The first response target is near: due {due}.", due="\0").split("\0")
    assert text.startswith(before) and text.endswith(after)
    assert before + after != "The first response target is near: due .", "the Italian catalogue translates it"


def test_approvers_are_listed_with_the_languages_own_or(config: AppConfig) -> None:
    data = {"approval": 1, "approvers": [MARTE, IVAR, "kim@partner.example"],
            "names": ["Marte Viken", "Ivar Lund", "Kim Berg"], "mode": "any"}
    named = lists.format_list(["Marte Viken", "Ivar Lund", "Kim Berg"], style="or", locale="pl")
    assert _read(config, "pl", "approval_requested", data) == translator("pl").gettext(
        "{actor} asked {approvers} for approval.", actor="Alexis Baker", approvers=named)


def test_without_a_requesters_name_the_sentence_says_the_requester_in_the_readers_language(
        config: AppConfig) -> None:
    text = _read(config, "it", "survey_sent", {"survey": 1}, "zonedesk@system", requester="")
    assert text == translator("it").gettext("{actor} asked the requester how it went.", actor="zonedesk@system")
    assert "the requester" not in text


def test_the_pages_status_labels_follow_the_language_being_spoken() -> None:
    with speaking("pl"):
        assert status_label("waiting", "requester", for_requester=True) == translator("pl").gettext("Waiting on you")
        assert status_label("in_progress") == translator("pl").gettext("In progress")
    assert status_label("waiting", "task") == "Waiting on task"
