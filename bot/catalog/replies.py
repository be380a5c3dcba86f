"""Saved replies: Jinja2 templates in `saved_replies/`, rendered in a sandbox for one request.

A file starts with a short YAML header between `---` lines (title, zones), then the template:

    ---
    title: Access granted
    zones: [it]
    ---
    Hi {{ requester.first_name }}, you now have access. ...

A reply may have one template per language: the text after the header is in the reply's `language`
(else the organisation's), and each further language follows a line `--- <code>` (`--- nb`). Its title
may then be one per language too (`title: {en: Access granted, nb: Tilgang gitt}`). A reply is filled
in in its requester's language when it has it, else in its own; `gaps` lists, for `zonedesk check`, the
languages a reply lacks somewhere and templates whose placeholders differ from the default one's.

Rendering uses Jinja2's immutable sandbox with StrictUndefined: `{{ ''.__class__ }}` and friends are
refused, and an unknown variable is an error the agent sees, so nothing half-filled is ever sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.errors import DeskError
from bot.i18n import LANGUAGES, SOURCE, _, normalise

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
MAX_TEMPLATE = 20_000
# A line that starts another language's template: `--- nb` (lower-case code, nothing else on the line).
_SECTION = re.compile(r"^---[ \t]+([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)[ \t]*$", re.MULTILINE)
_HEADER_KEYS = {"title", "zones", "language", "languages"}


@dataclass(frozen=True)
class SavedReply:
    """One saved reply: its template in its own language (`source`), and those of other languages."""

    name: str
    title: str
    zones: tuple[str, ...]
    source: str
    language: str | None = None  # the language of `source` and `title` (None: the organisation's, else English)
    templates: Mapping[str, str] = field(default_factory=dict)  # the other languages' templates
    titles: Mapping[str, str] = field(default_factory=dict)  # the title per language, when given so
    declared: tuple[str, ...] = ()  # the header's `languages`: those it is meant to have
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)  # where each template starts

    def allowed_in(self, zone_id: str) -> bool:
        """Scoped to the request's zone (no zones listed: every zone)."""
        return not self.zones or zone_id in self.zones

    @property
    def default_language(self) -> str:
        """The language of the text after the header, that a missing language falls back to."""
        return self.language or SOURCE

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages it has a template in, its own first."""
        return _ordered({self.default_language, *self.templates}, self.default_language)

    def used_languages(self) -> tuple[str, ...]:
        """Every language it has or means to have: templates, titles and the header's `languages`."""
        return _ordered({*self.languages, *self.titles, *self.declared}, self.default_language)

    def template(self, language: str | None = None) -> str:
        """The template in `language`, else in the reply's own language."""
        return self.templates.get(language or "", self.source) if language != self.default_language else self.source

    def title_in(self, language: str | None = None) -> str:
        """The title in `language`, else in the reply's own language."""
        return self.titles.get(language or "") or self.title

    def offered(self, language: str | None) -> tuple[str, ...]:
        """Its languages as a picker offers them: `language` (the requester's) first when it has it, else
        its own language first."""
        first = language if language in self.languages else self.default_language
        return _ordered(self.languages, first)

    def in_language(self, language: str) -> SavedReply:
        """The reply whose header named no language, read as written in `language` (the organisation's)."""
        if self.language is not None:
            return self
        return replace(self, language=language, title=self.titles.get(language) or self.title)


def _ordered(languages: Iterable[str], first: str | None = None) -> tuple[str, ...]:
    order = list(LANGUAGES)
    return tuple(sorted(set(languages), key=lambda code: (code != first, order.index(code))))


def _code(value: Any, what: str) -> str:
    """A language code of the header or of a `--- code` line, as the desk writes it; ValueError if unknown."""
    code = normalise("no" if value is False else str(value))  # `no` unquoted is YAML's false
    if code is None:
        raise ValueError(f"{what}: '{value}' is not a language Zonedesk speaks (expected one of: "
                         f"{', '.join(LANGUAGES)})")
    return code


def _titles(value: Any) -> dict[str, str]:
    if isinstance(value, str) and value.strip():
        return {"": value.strip()}
    if isinstance(value, dict) and value:
        titles = {}
        for key, text in value.items():
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"the title in '{key}' is empty")
            titles[_code(key, "title")] = text.strip()
        return titles
    raise ValueError("the header needs a title")


def _parse(template: str, line: int, language: str | None) -> None:
    """Refuse a template Jinja2 cannot read, naming the file's line (`template` starts on `line`)."""
    try:
        _ENV.parse(template)
    except TemplateSyntaxError as exc:
        which = f" ({language})" if language else ""
        raise ValueError(f"template error{which} on line {exc.lineno + line - 1}: {exc.message}") from exc


def parse_saved_reply(path: Path) -> SavedReply:
    """Read one file; raises ValueError with what is wrong."""
    text = path.read_text(encoding="utf-8")
    if len(text) > MAX_TEMPLATE:
        raise ValueError(f"too long ({len(text):,} characters; at most {MAX_TEMPLATE:,})")
    if not text.startswith("---"):
        raise ValueError("expected a header between '---' lines with title and zones")
    try:
        _unused, header, body = text.split("---", 2)
    except ValueError as exc:
        raise ValueError("the header is not closed with a '---' line") from exc
    meta_ = yaml.safe_load(header) or {}
    if not isinstance(meta_, dict):
        raise ValueError("the header needs a title")
    titles = _titles(meta_.get("title"))
    unknown = set(meta_) - _HEADER_KEYS
    if unknown:
        raise ValueError(f"unknown header key(s): {', '.join(sorted(map(str, unknown)))}")
    zones = meta_.get("zones") or []
    if not isinstance(zones, list) or not all(isinstance(z, str) for z in zones):
        raise ValueError("zones must be a list of zone ids")
    language = _code(meta_["language"], "language") if meta_.get("language") is not None else None
    declared = meta_.get("languages") or []
    if not isinstance(declared, list):
        raise ValueError("languages must be a list of language codes, e.g. [en, nb, sv]")
    top = header.count("\n") + 1  # the file's line of the closing '---', where `body` starts
    sections = list(_SECTION.finditer(body))
    own = body[:sections[0].start()] if sections else body
    _parse(own, top, None)
    templates: dict[str, str] = {}
    lines: dict[str, int] = {}
    for i, section in enumerate(sections):
        line = top + body.count("\n", 0, section.start())
        code = _code(section.group(1), f"line {line}")
        end = sections[i + 1].start() if i + 1 < len(sections) else len(body)
        if code in templates or code == language:
            raise ValueError(f"line {line}: the {code} template is given twice")
        if not body[section.end():end].strip():
            raise ValueError(f"line {line}: the {code} template is empty")
        _parse(body[section.end():end], line, code)
        templates[code] = body[section.end():end].strip("\n")
        lines[code] = line
    if not own.strip() and templates:
        raise ValueError("the template of the reply's own language (the text right after the header) is empty")
    name = path.name.split(".", 1)[0]
    title = titles.get(language or SOURCE) or titles.get("") or next(iter(titles.values()))
    return SavedReply(name=name, title=title, zones=tuple(zones), source=own.strip("\n"), language=language,
                      templates=templates, titles={k: v for k, v in titles.items() if k},
                      declared=tuple(_code(code, "languages") for code in declared), lines=lines)


def _path(node: nodes.Node) -> str | None:
    """`requester.first_name` for the expression `requester.first_name` (or `requester['first_name']`)."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        inner = _path(node.node)
        return f"{inner}.{node.attr}" if inner else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        inner = _path(node.node)
        return f"{inner}.{node.arg.value}" if inner else None
    return None


def placeholders(source: str) -> frozenset[str]:
    """The request's values a template uses (`request.number`, `requester.first_name`), loop variables aside."""
    tree = _ENV.parse(source)
    free = meta.find_undeclared_variables(tree)
    found: set[str] = set()

    def walk(node: nodes.Node) -> None:
        path = _path(node)
        if path is not None and path.split(".")[0] in free:
            found.add(path)
            return
        for child in node.iter_child_nodes():
            walk(child)

    walk(tree)
    return frozenset(found)


def gaps(reply: SavedReply) -> list[tuple[str, int | None, str]]:
    """(field, line, message) for each language the reply lacks somewhere and each template whose
    placeholders differ from those of the reply's own language, for `zonedesk check`."""
    used = reply.used_languages()
    said = f"saved reply '{reply.name}'"
    found: list[tuple[str, int | None, str]] = []
    missing = [code for code in used if code not in reply.languages]
    if missing:
        found.append(("template", None, f"{said} has no {', '.join(missing)} template "
                                        f"(its languages: {', '.join(used)}; add a '--- {missing[0]}' section)"))
    if reply.titles:
        lacking = [code for code in used if code not in reply.titles]
        if lacking:
            found.append(("title", None, f"{said} has no {', '.join(lacking)} title "
                                         f"(its languages: {', '.join(used)})"))
    own = placeholders(reply.source)
    for code, template in sorted(reply.templates.items()):
        theirs = placeholders(template)
        if theirs != own:
            differences = [f"{verb} {', '.join('{{ ' + p + ' }}' for p in sorted(which))}"
                           for verb, which in (("lacks", own - theirs), ("adds", theirs - own)) if which]
            found.append((f"template ({code})", reply.lines.get(code),
                          f"{said}: the {code} template's placeholders differ from the {reply.default_language} "
                          f"one's: it {' and '.join(differences)}"))
    return found


def _first(name: str) -> str:
    return name.split()[0] if name.split() else name


def render(reply: SavedReply, *, request: dict[str, Any], requester_name: str, requester_email: str,
           agent_name: str, agent_email: str, language: str | None = None) -> str:
    """The reply's text for one request, in `language` when it has it (else its own); DeskError with a
    clear message if the template fails."""
    variables = {
        "request": request,
        "requester": {"name": requester_name, "first_name": _first(requester_name), "email": requester_email},
        "agent": {"name": agent_name, "first_name": _first(agent_name), "email": agent_email},
    }
    try:
        text = _ENV.from_string(reply.template(language)).render(variables)
    except SecurityError as exc:
        raise DeskError(_("Saved reply '{name}' uses something templates may not use ({error}); nothing was sent.",
                          name=reply.name, error=exc)) from exc
    except UndefinedError as exc:
        raise DeskError(_("Saved reply '{name}' refers to an unknown variable ({error}); nothing was sent.",
                          name=reply.name, error=exc.message)) from exc
    except TemplateError as exc:
        raise DeskError(_("Saved reply '{name}' could not be filled in ({error}); nothing was sent.",
                          name=reply.name, error=exc)) from exc
    text = text.strip()
    if not text:
        raise DeskError(_("Saved reply '{name}' came out empty; nothing was sent.", name=reply.name))
    return text
