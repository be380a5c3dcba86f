"""The catalogues' upkeep: extract the product's words from the code, update every language, find gaps.

`zonedesk i18n update` extracts every marked message (`_()`, `gettext`, `ngettext` in `bot/` and
`adapters/`, `{% trans %}` and `_()` in the web templates) into `bot/i18n/locale/zonedesk.pot` and
merges it into each language's `.po`, keeping what is translated and marking what changed as fuzzy.
`problems` is what the catalogue test and `zonedesk i18n check` report: a message a language lacks, one
it keeps that the code no longer has, a fuzzy entry, and a translation whose `{placeholders}` differ
from the source's (a translator's typo there would raise at the moment a person reads it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, SOURCE, catalogue_path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
# What is read for messages, relative to the project root (`extract_from_dir` matches these patterns).
METHODS = [("bot/**.py", "python"), ("adapters/**.py", "python"), ("adapters/web/templates/**.html", "jinja2")]
OPTIONS = {"adapters/web/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
# `{name}` in Python messages, `%(name)s` in templates (Jinja2's newstyle gettext formats with %).
_PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}|%\((\w+)\)[sd]")


def extract(root: Path = ROOT) -> Catalog:
    """Every marked message of the code, with where it stands."""
    catalog = Catalog(domain=DOMAIN, project="Zonedesk", charset="utf-8")
    found = extract_from_dir(root, METHODS, OPTIONS, KEYWORDS, comment_tags=("Translators:",),
                             strip_comment_tags=True)  # folders starting with "." or "_" (.venv) are skipped
    for filename, line, message, comments, context in found:
        catalog.add(message, None, [(filename, line)], auto_comments=comments, context=context)
    return catalog


def update(root: Path = ROOT) -> list[Path]:
    """Write the template and merge it into each language's catalogue (a new language starts empty)."""
    template = extract(root)
    TEMPLATE.parent.mkdir(parents=True, exist_ok=True)
    with TEMPLATE.open("wb") as handle:
        write_po(handle, template, width=100, omit_header=False)
    written = [TEMPLATE]
    for language in LANGUAGES:
        if language == SOURCE:
            continue
        path = catalogue_path(language)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language, domain=DOMAIN)
        else:
            catalog = Catalog(locale=language, domain=DOMAIN, project="Zonedesk", charset="utf-8")
        catalog.update(template, update_header_comment=False)
        catalog.obsolete.clear()  # a message the code no longer has is gone, not kept commented out
        catalog.fuzzy = False  # the header carries the plural rule: a fuzzy header would not be compiled
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=False)
        written.append(path)
    return written


def problems(root: Path = ROOT, locale_dir: Path = LOCALE_DIR) -> list[str]:
    """What keeps the catalogues from being complete and current, one line each (empty: all is well)."""
    source = extract(root)
    wanted = {_key(m) for m in source if m.id}
    found: list[str] = []
    for language in LANGUAGES:
        if language == SOURCE:
            continue
        path = catalogue_path(language, locale_dir)
        if not path.exists():
            found.append(f"{language}: no catalogue at {path}")
            continue
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=DOMAIN)
        have = {_key(m): m for m in catalog if m.id}
        for key in sorted(wanted - have.keys(), key=str):
            found.append(f"{language}: missing {_show(key)}")
        for key in sorted(have.keys() - wanted, key=str):
            found.append(f"{language}: stale (the code no longer has it) {_show(key)}")
        for key in sorted(wanted & have.keys(), key=str):
            message = have[key]
            if message.fuzzy:
                found.append(f"{language}: fuzzy {_show(key)}")
            elif not _translated(message):
                found.append(f"{language}: untranslated {_show(key)}")
            else:
                found.extend(f"{language}: {issue} in {_show(key)}" for issue in _placeholder_issues(message))
    return found


def _key(message: Message) -> tuple[str, ...]:
    ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
    return (message.context or "", *ids)


def _show(key: tuple[str, ...]) -> str:
    context, first = key[0], key[1]
    return repr(first) + (f" (context {context!r})" if context else "")


def _translated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return bool(strings) and all(strings)


def _placeholder_issues(message: Message) -> list[str]:
    ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    expected = set().union(*(_names(i) for i in ids))
    issues = []
    for i, text in enumerate(strings):
        names = _names(text)
        if names != expected:
            form = f" (plural form {i})" if len(strings) > 1 else ""
            issues.append(f"placeholders {sorted(names)} instead of {sorted(expected)}{form}")
    return issues


def _names(text: str | None) -> set[str]:
    return {match.group(1) or match.group(2) for match in _PLACEHOLDER.finditer(text or "")}


def register(sub: Any) -> None:
    """Add `zonedesk i18n update|check` to the command line (for developers and translators)."""
    parser = sub.add_parser("i18n", help="keep the language catalogues in step with the code")
    parser.add_argument("action", choices=("update", "check"),
                        help="update: extract the product's words and merge them into every language; "
                             "check: list what a language lacks (exit 1 if anything)")
    parser.set_defaults(handler=_run)


def _run(args: Any) -> int:
    if args.action == "update":
        for path in update():
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    found = problems()
    for line in found:
        print(line)
    languages = ", ".join(code for code in LANGUAGES if code != SOURCE)
    print(f"checked {languages} against the code: {len(found)} problem{'s' if len(found) != 1 else ''}")
    return 1 if found else 0
