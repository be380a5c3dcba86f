"""Languages: which one a person reads, and the product's words, dates and numbers in it.

English is the source language; the other catalogues are gettext `.po` files under
`bot/i18n/locale/<code>/LC_MESSAGES/zonedesk.po`, read with Babel when first needed and compiled in
memory, so a fresh `pip install` has them with no extra step. Plural forms come from each catalogue's
CLDR rule (Polish and Italian have three), and dates, times and numbers are formatted by Babel for the
locale and the zone's time zone. A word a catalogue lacks falls back to English, never to a key.

Codes are BCP 47 as people and platforms send them; `normalise` maps them onto the languages the desk
speaks (`no`, `nb-NO` and `nn` read Norwegian Bokmål, `en-GB` English).

The product's words are written `_("...")` (and `ngettext(...)`) where they are said: they come out in
the language being spoken at that moment, set with `speaking(code)` by whoever knows the reader. An
adapter speaks the person's language around everything it does for them (so a `DeskError` or a command
answer reads in the asker's language), and the unit of work speaks each recipient's language while it
builds a message queued for them (`bot.desk.unit.Tx.to_thread`, `to_person`, `to_triage`). Outside
any `speaking` block the words are English, which keeps logs and the English test suites as they were.
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

SOURCE = "en"
DOMAIN = "zonedesk"
LOCALE_DIR = Path(__file__).parent / "locale"
# The languages the desk speaks, by code, each named in itself (as a language menu shows them).
LANGUAGES: dict[str, str] = {
    "en": "English",
    "nb": "Norsk bokmål",
    "sv": "Svenska",
    "nl": "Nederlands",
    "it": "Italiano",
    "pl": "Polski",
    "de": "Deutsch",
}
# Codes people and platforms use for a language the desk speaks under another code.
_ALIASES = {"no": "nb", "nn": "nb"}


def normalise(code: str | None) -> str | None:
    """The desk's code for a BCP 47 tag (`nb-NO` -> `nb`, `no` -> `nb`, `en_US` -> `en`), or None when the
    desk does not speak that language."""
    if not code:
        return None
    return _normalised(code)


@lru_cache(maxsize=1024)  # asked for every message queued; the tags people's clients send are few
def _normalised(code: str) -> str | None:
    primary = code.strip().replace("_", "-").split("-", 1)[0].lower()
    primary = _ALIASES.get(primary, primary)
    return primary if primary in LANGUAGES else None


def negotiate(accept_language: str | None) -> str | None:
    """The best language the desk speaks from an `Accept-Language` header, by quality; None if none."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        code = normalise(tag)
        if code is not None and quality > 0:
            ranked.append((-quality, position, code))
    return min(ranked)[2] if ranked else None


def choose(*candidates: str | None) -> str:
    """The first of `candidates` (in order of precedence) that the desk speaks, else English.

    The order callers pass: the person's own choice, their `app.yaml` default, what their platform or
    browser says, the zone's default, the organisation's.
    """
    for candidate in candidates:
        code = normalise(candidate)
        if code is not None:
            return code
    return SOURCE


def N_(message: str) -> str:
    """Mark a message for the catalogue where it is defined and translate it where it is used
    (`translator(code).gettext(MESSAGE)`): for tables of messages chosen at run time."""
    return message


class Translator:
    """The product's words, dates and numbers in one language."""

    def __init__(self, language: str, locale_dir: Path = LOCALE_DIR) -> None:
        self.language = choose(language)
        self.locale = Locale.parse(self.language)
        self._translations = _translations(self.language, locale_dir)

    def gettext(self, message: str, **values: object) -> str:
        """A message in this language (English where the catalogue lacks it), with `{name}` values filled."""
        text = self._translations.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values: object) -> str:
        """A message whose form follows `count` by this language's plural rule, with `{count}` filled."""
        return self.plural(singular, plural, count).format(count=self.number(count), **values)

    def plural(self, singular: str, plural: str, count: int) -> str:
        """The form of a message `count` asks for in this language, unfilled (templates fill it themselves)."""
        return self._translations.ngettext(singular, plural, count)

    def number(self, value: float) -> str:
        """A number as this language writes it (`1 234,5` in Norwegian)."""
        return numbers.format_decimal(value, locale=self.locale)

    def date(self, value: date | datetime, zone: tzinfo | None = None) -> str:
        """A date written out (`6. desember 2026`), in the zone's time zone when a time is given."""
        if isinstance(value, datetime) and zone is not None:
            value = value.astimezone(zone)
        return dates.format_date(value, format="long", locale=self.locale)

    def datetime(self, value: datetime, zone: tzinfo) -> str:
        """A moment as this language writes it, in the zone's time zone."""
        return dates.format_datetime(value, format="medium", tzinfo=zone, locale=self.locale)


def translator(language: str | None) -> Translator:
    """The translator of a language (any tag for it; English for one the desk does not speak), built once
    per process."""
    return _translator(choose(language))


@cache
def _translator(code: str) -> Translator:
    return Translator(code)


def catalogue_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    """Where a language's catalogue lives."""
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _translations(language: str, locale_dir: Path) -> gettext.NullTranslations:
    path = catalogue_path(language, locale_dir)
    if language == SOURCE or not path.exists():
        return gettext.NullTranslations()  # English: the source strings themselves
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy entry is not a translation yet
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


# The language being spoken in this task (asyncio copies it into every task a handler starts).
_SPEAKING: ContextVar[Translator | None] = ContextVar("zonedesk_speaking", default=None)


def current() -> Translator:
    """The translator of the language being spoken here (English outside any `speaking` block)."""
    return _SPEAKING.get() or translator(SOURCE)


class speaking:
    """Speak a language (a code the desk speaks; anything else reads English) for the block's duration.

    A small class rather than a generator-based context manager: it runs around every message queued."""

    __slots__ = ("_said", "_token")

    def __init__(self, language: str | None) -> None:
        self._said = translator(language)

    def __enter__(self) -> Translator:
        self._token = _SPEAKING.set(self._said)
        return self._said

    def __exit__(self, *exc: object) -> None:
        _SPEAKING.reset(self._token)


def _(message: str, **values: object) -> str:
    """A product message in the language being spoken, with `{name}` values filled."""
    return (_SPEAKING.get() or _english()).gettext(message, **values)


def _english() -> Translator:
    return translator(SOURCE)


def ngettext(singular: str, plural: str, count: int, **values: object) -> str:
    """A message whose form follows `count` in the language being spoken, `{count}` filled as a number."""
    return current().ngettext(singular, plural, count, **values)
