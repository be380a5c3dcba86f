"""Which language a person reads: their own saved choice, else what `app.yaml` and their client say.

The precedence is the one `bot.i18n.choose` documents: the person's saved choice (`person_languages`,
set with `/desk language` or the web page's chooser), their `people[].language`, what their platform
or browser says (a hint the adapter passes in), the zone's `language` when a zone is concerned, the
organisation's `language`, and English.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
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


class SavedChoices:
    """People's saved choices as this process last read them, so a message to someone costs no query.

    An entry (a choice, or "none saved") is trusted for `FRESH` of the desk's clock; a choice saved in
    this process is known at once (`saved`), one saved through another replica within `FRESH`. Most
    people never choose, so without this every confirmation, reminder and command would read the
    table. At most `KEPT` people are remembered, the oldest forgotten first.
    """

    FRESH = timedelta(seconds=30)
    KEPT = 50_000

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._known: dict[str, tuple[str | None, datetime]] = {}

    def known(self, emails: Iterable[str]) -> dict[str, str | None]:
        """The fresh entries among `emails` (lower-case); people missing from the answer must be read."""
        now = self.clock.now()
        found: dict[str, str | None] = {}
        for email in emails:
            entry = self._known.get(email)
            if entry is not None and now - entry[1] < self.FRESH:
                found[email] = entry[0]
        return found

    async def read(self, session: AsyncSession, emails: Collection[str]) -> dict[str, str | None]:
        """Every one of `emails` (lower-case): fresh entries as known, the others read in one query."""
        found = self.known(emails)
        missing = [email for email in emails if email not in found]
        if missing:
            read = await saved_languages(session, missing)
            for email in missing:
                found[email] = read.get(email)
                self._remember(email, found[email])
        return found

    def saved(self, email: str, language: str) -> None:
        """A choice this process just saved (and committed)."""
        self._remember(email.strip().lower(), language)

    def _remember(self, email: str, language: str | None) -> None:
        if len(self._known) >= self.KEPT and email not in self._known:
            self._known.pop(next(iter(self._known)))
        self._known.pop(email, None)  # re-inserted last: the dict's order is the age
        self._known[email] = (language, self.clock.now())


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
