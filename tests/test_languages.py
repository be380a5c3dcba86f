"""A person's language: their saved choice, then app.yaml, then their client's hint, the zone's, the organisation's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import AppConfig, load_config
from bot.errors import DeskError
from bot.model import PersonLanguage
from bot.people.languages import (
    DEFAULT,
    HINT,
    ORGANISATION,
    PERSON,
    SAVED,
    ZONE,
    Reading,
    language_for,
    person_language,
    save_language,
    saved_language,
)
from bot.server import Services

ROOT = Path(__file__).resolve().parent.parent
PER = "per.holm@nordlys.example"  # people[].language: pl below
ZACK = "zack@nordlys.example"  # not in app.yaml


@pytest.fixture(scope="module")
def languages_config(tmp_path_factory: pytest.TempPathFactory) -> AppConfig:
    sample = (ROOT / "app.yaml").read_text()
    path = tmp_path_factory.mktemp("languages") / "app.yaml"
    path.write_text(sample.replace("  language: en ", "  language: it ", 1)
                    .replace("auto_close_days: 3", "auto_close_days: 3\n    language: sv")
                    .replace("name: Per Holm, roles: [agent]}", "name: Per Holm, roles: [agent], language: pl}"))
    return load_config(path)


PRECEDENCE = [
    # (email, saved, hint, zone, expected)
    (PER, "nb", "de", "facilities", Reading("nb", SAVED)),
    (PER, None, "de", "facilities", Reading("pl", PERSON)),
    (ZACK, None, "de-CH", "facilities", Reading("de", HINT)),
    (ZACK, None, "fr", "facilities", Reading("sv", ZONE)),  # a hint the desk does not speak is passed over
    (ZACK, None, None, "it", Reading("it", ORGANISATION)),  # IT sets no language of its own
    (None, None, None, None, Reading("it", ORGANISATION)),
]


@pytest.mark.parametrize(("email", "saved", "hint", "zone", "expected"), PRECEDENCE)
def test_precedence(languages_config: AppConfig, email: str | None, saved: str | None, hint: str | None,
                    zone: str | None, expected: Reading) -> None:
    assert language_for(languages_config, email, saved, hint=hint, zone_id=zone) == expected


def test_the_shipped_organisation_speaks_english(config: AppConfig) -> None:
    assert language_for(config, ZACK, None) == Reading("en", ORGANISATION)
    assert DEFAULT == "default"  # only when nothing at all is given, which app.yaml's default rules out


async def test_a_saved_choice_is_one_row_per_person_updated_in_place(services: Services) -> None:
    now = services.clock.now()
    async with services.desk.transaction() as tx:
        assert await save_language(tx.session, "Zack@Nordlys.example", "nb-NO", now) == "nb"
    async with services.desk.transaction() as tx:
        assert await save_language(tx.session, ZACK, "de", now) == "de"
    async with services.sessions() as session:
        assert await saved_language(session, ZACK) == "de"
        assert await session.scalar(select(func.count()).select_from(PersonLanguage)) == 1
        reading = await person_language(session, services.config, ZACK, hint="sv")
    assert reading == Reading("de", SAVED)


async def test_an_unknown_code_is_refused_and_writes_nothing(services: Services) -> None:
    with pytest.raises(DeskError, match=re.escape("Zonedesk does not speak 'xx'. Choose one of: en (English)")):
        async with services.desk.transaction() as tx:
            await save_language(tx.session, ZACK, "xx", tx.now)
    async with services.sessions() as session:
        assert await saved_language(session, ZACK) is None


async def test_a_choice_is_read_once_and_another_replica_s_change_is_seen_within_thirty_seconds(
        services: Services) -> None:
    """Messages to a person cost no query while the process knows their choice; a choice saved here is
    known at once, one saved through another replica (here: written straight to the table) within `FRESH`."""
    desk = services.desk
    assert await desk.saved_choice(ZACK) is None
    assert await desk.choose_language(ZACK, "nb-NO") == "nb"
    assert await desk.saved_choice(ZACK) == "nb"  # saved here: known at once

    async with services.sessions() as session, session.begin():  # another replica saves Polish
        await save_language(session, ZACK, "pl", services.clock.now())
    assert await desk.saved_choice(ZACK) == "nb", "this process trusts what it read for a while"
    services.clock.advance(desk.choices.FRESH)
    assert await desk.saved_choice(ZACK) == "pl"  # read again once the entry is stale

    async with desk.transaction() as tx:  # a message to him in a transaction reads the same memory
        assert await tx.language_of(ZACK) == "pl"


async def test_a_refused_choice_saves_nothing_and_leaves_the_memory_as_it_was(services: Services) -> None:
    desk = services.desk
    with pytest.raises(DeskError):
        await desk.choose_language(ZACK, "klingon")
    assert await desk.saved_choice(ZACK) is None
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PersonLanguage)) == 0
