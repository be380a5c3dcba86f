"""Which language a person reads: their own saved choice, else what `app.yaml` and their client say.

The precedence is the one `bot.i18n.choose` documents: the person's saved choice (`person_languages`,
set with `/desk language` or the web page's chooser), their `people[].language`, what their platform
or browser says (a hint the adapter passes in), the zone's `language` when a zone is concerned, the
organisation's `language`, and English.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import AppConfig
from bot.errors import DeskError
from bot.i18n import LANGUAGES, _, choose, normalise, translator
from bot.model import PersonLanguage

# Where a language came from, in order of precedence.
SAVED = "saved"
PERSON = "person"  # people[].language in app.yaml
HINT = "hint"  # the platform's or browser's
ZONE = "zone"
ORGANISATION = "organisation"
DEFAULT = "default"


@dataclass(frozen=True)
class Reading:
    """The language a person reads (a code of `bot.i18n.LANGUAGES`) and what decided it."""

    language: str
    source: str


def choices() -> str:
    """The languages one may choose, as `code (name)`, for answers that list them."""
    return ", ".join(f"{code} ({name})" for code, name in LANGUAGES.items())


def language_code(code: str) -> str:
    """The desk's code for what a person typed (`no`, `nb-NO` -> `nb`); DeskError listing the choices if none."""
    found = normalise(code)
    if found is None:
        raise DeskError(_("Zonedesk does not speak '{code}'. Choose one of: {choices}.", code=code.strip(),
                          choices=choices()))
    return found


async def saved_language(session: AsyncSession, email: str) -> str | None:
    """The language a person chose for themselves, if they did."""
    row = await session.scalar(select(PersonLanguage.language).where(PersonLanguage.email == email.strip().lower()))
    return normalise(row)


async def saved_languages(session: AsyncSession, emails: Collection[str]) -> dict[str, str | None]:
    """The saved choices of several people (lower-case e-mails), in one query; people with none are left out."""
    rows = await session.execute(select(PersonLanguage.email, PersonLanguage.language)
                                 .where(PersonLanguage.email.in_(list(emails))))
    return {email: normalise(language) for email, language in rows}


async def save_language(session: AsyncSession, email: str, code: str, now: datetime) -> str:
    """Save a person's choice (normalised; an unknown code raises DeskError and writes nothing); returns it.

    One upsert, so two saves at once (two tabs, two replicas) cannot both try to insert the row."""
    language = language_code(code)
    values: dict[str, Any] = {"email": email.strip().lower(), "language": language, "updated_at": now}
    changed = {"language": language, "updated_at": now}
    if session.get_bind().dialect.name == "postgresql":
        on_postgres = postgresql.insert(PersonLanguage).values(**values)
        await session.execute(on_postgres.on_conflict_do_update(index_elements=["email"], set_=changed))
    else:
        on_sqlite = sqlite.insert(PersonLanguage).values(**values)
        await session.execute(on_sqlite.on_conflict_do_update(index_elements=["email"], set_=changed))
    return language


def language_for(config: AppConfig, email: str | None, saved: str | None, *, hint: str | None = None,
                 zone_id: str | None = None) -> Reading:
    """The language a person reads, by the precedence of the module's docstring, and what decided it."""
    person = config.person(email) if email else None
    zone = config.zone(zone_id) if zone_id else None
    candidates = [
        (SAVED, saved),
        (PERSON, person.language if person is not None else None),
        (HINT, hint),
        (ZONE, zone.language if zone is not None else None),
        (ORGANISATION, config.organisation.language),
    ]
    language = choose(*(code for _source, code in candidates))
    source = next((name for name, code in candidates if normalise(code) is not None), DEFAULT)
    return Reading(language, source)


async def person_language(session: AsyncSession, config: AppConfig, email: str | None, *,
                          hint: str | None = None, zone_id: str | None = None) -> Reading:
    """`language_for` with the person's saved choice read from the database."""
    saved = await saved_language(session, email) if email else None
    return language_for(config, email, saved, hint=hint, zone_id=zone_id)


def chosen(code: str) -> str:
    """What a person is told when they chose a language: already in that language."""
    said = translator(code)
    return said.gettext("Zonedesk now speaks {language} ({code}) with you.", language=LANGUAGES[code], code=code)
