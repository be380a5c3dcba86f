"""Languages: which one a person reads, plural forms by CLDR, dates in the zone's time, and catalogues
kept complete (a missing, stale or fuzzy message, or a translator's changed placeholder, fails here)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import LANGUAGES, Translator, _, choose, current, negotiate, normalise, speaking, translator
from bot.i18n.catalogues import problems


@pytest.mark.parametrize(("tag", "code"), [
    ("nb", "nb"), ("nb-NO", "nb"), ("no", "nb"), ("nn-NO", "nb"), ("NB_no", "nb"), ("sv-FI", "sv"),
    ("en-GB", "en"), ("de-AT", "de"), ("pl", "pl"), ("fr", None), ("", None), (None, None), ("x-klingon", None),
])
def test_codes_people_and_platforms_send_map_onto_the_languages_the_desk_speaks(tag: str | None,
                                                                                code: str | None) -> None:
    assert normalise(tag) == code


@pytest.mark.parametrize(("header", "code"), [
    ("fr-CH, fr;q=0.9, de;q=0.7, en;q=0.5", "de"),  # the best the desk speaks, by quality
    ("en;q=0.4, nb-NO;q=0.8", "nb"),
    ("sv, pl", "sv"),  # equal quality: the order given
    ("de;q=0, it", "it"),  # q=0 means "not this one"
    ("da, fi", None),
    ("pl;q=banana, it;q=0.1", "it"),  # a malformed quality counts as none
    (None, None),
])
def test_a_browser_s_accept_language_picks_a_language(header: str | None, code: str | None) -> None:
    assert negotiate(header) == code


def test_a_choice_goes_before_defaults_and_english_comes_last() -> None:
    assert choose("pl", "nb", "de") == "pl"  # the person's own choice first
    assert choose(None, "xx", "sv-SE") == "sv"  # what the desk does not speak is passed over
    assert choose(None, None) == "en"


def _catalogue(folder: Path, language: str, entries: str, plural_forms: str) -> None:
    path = folder / language / "LC_MESSAGES" / "zonedesk.po"
    path.parent.mkdir(parents=True)
    path.write_text(textwrap.dedent(f'''\
        msgid ""
        msgstr ""
        "Content-Type: text/plain; charset=utf-8\\n"
        "Plural-Forms: {plural_forms}\\n"
        ''') + textwrap.dedent(entries), encoding="utf-8")


POLISH = "nplurals=3; plural=n == 1 ? 0 : n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 12 || n % 100 > 14) ? 1 : 2;"
ITALIAN = "nplurals=3; plural=(n == 1 ? 0 : n != 0 && n % 1000000 == 0 ? 1 : 2);"
REQUESTS = '''
    msgid "{count} request"
    msgid_plural "{count} requests"
    msgstr[0] "ONE"
    msgstr[1] "FEW"
    msgstr[2] "MANY"
'''


def test_polish_and_italian_have_three_plural_forms(tmp_path: Path) -> None:
    _catalogue(tmp_path, "pl", REQUESTS.replace("ONE", "{count} zgłoszenie").replace("FEW", "{count} zgłoszenia")
               .replace("MANY", "{count} zgłoszeń"), POLISH)
    _catalogue(tmp_path, "it", REQUESTS.replace("ONE", "{count} richiesta").replace("FEW", "{count} di richieste")
               .replace("MANY", "{count} richieste"), ITALIAN)
    polish, italian = Translator("pl", tmp_path), Translator("it", tmp_path)

    said = {n: polish.ngettext("{count} request", "{count} requests", n) for n in (1, 2, 4, 5, 12, 22, 25, 112)}
    assert said == {1: "1 zgłoszenie", 2: "2 zgłoszenia", 4: "4 zgłoszenia", 5: "5 zgłoszeń", 12: "12 zgłoszeń",
                    22: "22 zgłoszenia", 25: "25 zgłoszeń", 112: "112 zgłoszeń"}
    assert italian.ngettext("{count} request", "{count} requests", 1) == "1 richiesta"
    assert italian.ngettext("{count} request", "{count} requests", 3) == "3 richieste"
    assert italian.ngettext("{count} request", "{count} requests", 1_000_000) == "1.000.000 di richieste"


def test_a_message_a_catalogue_lacks_reads_in_english_and_fuzzy_is_not_a_translation(tmp_path: Path) -> None:
    _catalogue(tmp_path, "de", '''
        msgid "Sign out"
        msgstr "Abmelden"

        #, fuzzy
        msgid "New request"
        msgstr "Neue Anfrage (ungeprüft)"
        ''', "nplurals=2; plural=(n != 1);")
    german = Translator("de", tmp_path)

    assert german.gettext("Sign out") == "Abmelden"
    assert german.gettext("New request") == "New request"
    assert german.gettext("Hello {name}", name="Marte") == "Hello Marte"
    assert Translator("sv", tmp_path).gettext("Sign out") == "Sign out"  # no Swedish catalogue at all


def test_dates_and_numbers_follow_the_language_and_the_zone_s_time() -> None:
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # already the 7th in Oslo
    assert Translator("nb").date(late, ZoneInfo("Europe/Oslo")) == "7. desember 2026"
    assert Translator("en").date(late, ZoneInfo("Europe/Oslo")) == "December 7, 2026"
    assert Translator("de").number(1234.5) == "1.234,5"
    assert Translator("pl").number(12345.5) == "12\xa0345,5"  # a no-break space groups Polish thousands
    assert Translator("sv").datetime(late, ZoneInfo("Europe/Stockholm")).startswith("7 dec. 2026")


def test_the_catalogue_check_finds_missing_stale_fuzzy_and_changed_placeholders(tmp_path: Path) -> None:
    code = tmp_path / "bot"
    code.mkdir()
    (code / "words.py").write_text('_ = str\nA = _("Filed as #{number}")\nB = _("Sign out")\nC = _("New request")\n')
    locale = tmp_path / "locale"
    for language in LANGUAGES:
        if language != "en":
            _catalogue(locale, language, '''
                msgid "Filed as #{number}"
                msgstr "Registrert som #{nummer}"

                #, fuzzy
                msgid "Sign out"
                msgstr "Logg ut"

                msgid "Gone from the code"
                msgstr "Borte"
                ''', "nplurals=2; plural=(n != 1);")

    found = [line for line in problems(tmp_path, locale) if line.startswith("nb:")]

    assert found == [
        "nb: missing 'New request'",
        "nb: stale (the code no longer has it) 'Gone from the code'",
        "nb: placeholders ['nummer'] instead of ['number'] in 'Filed as #{number}'",
        "nb: fuzzy 'Sign out'",
    ]


def test_every_language_has_every_message_of_the_code() -> None:
    assert problems() == []


def test_words_are_said_in_the_language_being_spoken_and_english_outside_it() -> None:
    message = "New request"  # in every catalogue since the page frame was translated
    assert _(message) == message
    with speaking("nb"):
        assert _(message) == translator("nb").gettext(message) != message
        with speaking("pl-PL"):  # a BCP 47 tag reads as the language the desk speaks
            assert current().language == "pl"
            assert _(message) == translator("pl").gettext(message)
        assert current().language == "nb"  # the inner block ended: the outer language again
        with speaking("fr"):  # a language the desk does not speak reads English, not a key
            assert _(message) == message
    assert current().language == "en"


async def test_each_task_keeps_its_own_language() -> None:
    """Two people handled at once (two asyncio tasks) never hear each other's language."""
    import asyncio

    heard: dict[str, str] = {}
    both_speaking = asyncio.Event()
    arrived: list[str] = []

    async def handle(code: str) -> None:
        with speaking(code):
            arrived.append(code)
            if len(arrived) == 2:
                both_speaking.set()
            await both_speaking.wait()  # both blocks are open at the same moment
            heard[code] = _("New request")

    await asyncio.gather(handle("sv"), handle("de"))
    assert heard == {"sv": translator("sv").gettext("New request"), "de": translator("de").gettext("New request")}
