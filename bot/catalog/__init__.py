"""The definitions beside `app.yaml`: forms (`forms/*.yaml`) and saved replies (`saved_replies/*`).

`load_catalog` validates everything at start-up and reports every problem with its file and field,
including forms that name a zone, team or category `app.yaml` lacks; `check_catalog` (for `zonedesk
check`) collects the same problems without raising, also when `app.yaml` itself is broken. The
functions below are what channels call: file a request from a form, fill in a saved reply, export a
form's answers as CSV.

Forms and saved replies may be written in several languages (`bot.catalog.forms`, `bot.catalog.replies`):
`check_catalog` also lists, apart from the problems that stop the desk, the texts some of a file's
languages lack and the saved-reply templates whose placeholders differ (`CatalogCheck.languages`); a
saved reply is filled in in its requester's language, and `saved_reply_choices` offers it first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from bot.access import Actor, Level
from bot.catalog.forms import Form, KeyPath, answers_csv, language_gaps, validate_answers
from bot.catalog.replies import SavedReply, gaps, parse_saved_reply, render
from bot.config import AppConfig, ConfigError, Problem, load_yaml, problems_from_validation
from bot.desk import Desk, Filed, Origin, RequestDetail
from bot.errors import DeskError
from bot.i18n import LANGUAGES, SOURCE, _, normalise, speaking
from bot.model import FormAnswer, Request
from bot.people.languages import person_language

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplyChoice:
    """One entry of a saved-reply picker: what to ask for (`name`, or `name:code` for another language
    than the requester's) and what the agent reads."""

    name: str
    title: str
    language: str


@dataclass(frozen=True)
class Catalog:
    """Every form and saved reply, validated."""

    forms: dict[str, Form] = field(default_factory=dict)
    replies: dict[str, SavedReply] = field(default_factory=dict)

    def form(self, form_id: str) -> Form:
        """The form with that id, or a DeskError listing the forms there are."""
        found = self.forms.get(form_id.strip().lower())
        if found is None:
            names = ", ".join(sorted(self.forms)) or _("none")
            raise DeskError(_("There is no form '{form_id}'. Forms: {names}.", form_id=form_id, names=names))
        return found

    def replies_for(self, zone_id: str) -> list[SavedReply]:
        """Saved replies usable on a request of this zone."""
        return sorted((r for r in self.replies.values() if r.allowed_in(zone_id)), key=lambda r: r.title)

    def reply(self, name: str) -> tuple[SavedReply | None, str | None]:
        """The saved reply a picker or `saved:NAME[:CODE]` asks for, and the language asked for (None: the
        requester's)."""
        base, _sep, code = name.strip().lower().partition(":")
        return self.replies.get(base), (normalise(code) or code) if code else None

    def reply_choices(self, zone_id: str, language: str | None) -> list[ReplyChoice]:
        """A picker's entries for a request of this zone whose requester reads `language`: each reply once
        per language it has, the requester's (else the reply's own) first, asked for by its plain name; a
        reply in one language reads as its title alone."""
        choices = []
        for reply in self.replies_for(zone_id):
            offered = reply.offered(language)
            for code in offered:
                title = reply.title_in(code) if len(offered) > 1 else reply.title
                choices.append(ReplyChoice(reply.name if code == offered[0] else f"{reply.name}:{code}",
                                           f"{title} ({LANGUAGES[code]})" if len(offered) > 1 else title, code))
        return choices


def _check_form(config: AppConfig, form: Form) -> list[tuple[tuple[int | str, ...], str]]:
    problems: list[tuple[tuple[int | str, ...], str]] = []
    zone = config.zone(form.zone)
    if zone is None:
        problems.append((("zone",), f"unknown zone '{form.zone}' (expected one of: "
                                   f"{', '.join(z.id for z in config.zones)})"))
        return problems
    if form.team is not None:
        team = config.team(form.team)
        if team is None or team.zone != zone.id:
            problems.append((("team",), f"'{form.team}' is not a team of zone '{zone.id}'"))
    if form.category is not None and zone.category(form.category) is None:
        problems.append((("category",), f"'{form.category}' is not a category of zone '{zone.id}'"))
    if form.approval is not None:
        for i, email in enumerate(form.approval.approvers):
            if config.person(email) is None:
                problems.append((("approval", "approvers", i), f"'{email}' is not listed under people in app.yaml"))
    return problems


@dataclass(frozen=True)
class CatalogCheck:
    """What `check_catalog` read: the catalog, every problem, and how many files of each kind it looked at.

    `languages` are what `zonedesk check` reports beside the problems without stopping the desk: a text
    some of a form's or reply's languages lack (people read the default language there) and a reply's
    template whose placeholders differ from those of its own language."""

    catalog: Catalog
    problems: list[Problem]
    form_files: int
    reply_files: int
    languages: list[Problem] = field(default_factory=list)


def _where(path: KeyPath) -> str:
    """`fields[2].label`, as the schema's problems name a key."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def check_catalog(config: AppConfig | None, root: Path) -> CatalogCheck:
    """Read and validate `forms/` and `saved_replies/` under `root`, collecting every problem.

    With `config` None (`app.yaml` could not be read), each file's own problems are still found
    (YAML, schema, duplicate ids, templates); what they name in `app.yaml` (zones, teams,
    categories, approvers) is not checked.
    """
    problems: list[Problem] = []
    findings: list[Problem] = []
    organisation_language = config.organisation.language if config is not None else SOURCE
    forms: dict[str, Form] = {}
    form_paths = sorted((root / "forms").glob("*.yaml")) + sorted((root / "forms").glob("*.yml"))
    for path in form_paths:
        try:
            data, lines = load_yaml(path)
        except ConfigError as exc:
            problems += exc.problems
            continue
        try:
            form = Form.model_validate(data, context={"language": organisation_language})
        except ValidationError as exc:
            problems += problems_from_validation(str(path), exc, lines)
            continue
        findings += [Problem(str(path), _where(loc), message, lines.line(loc)) for loc, message in language_gaps(form)]
        if config is not None:
            for loc, message in _check_form(config, form):
                problems.append(Problem(str(path), ".".join(str(p) for p in loc), message, lines.line(loc)))
        if form.id in forms:
            problems.append(Problem(str(path), "id", f"form id '{form.id}' is used by another file too"))
        forms[form.id] = form
    replies: dict[str, SavedReply] = {}
    reply_paths = [p for p in sorted((root / "saved_replies").glob("*")) if p.is_file() and not p.name.startswith(".")]
    for path in reply_paths:
        try:
            reply = parse_saved_reply(path)
        except (ValueError, OSError) as exc:
            problems.append(Problem(str(path), "", str(exc)))
            continue
        if reply.language is None and organisation_language in reply.templates:
            problems.append(Problem(str(path), "language", f"the {organisation_language} template is given twice: "
                                                           "the text after the header is already in the "
                                                           "organisation's language (name another with language:)"))
            continue
        reply = reply.in_language(organisation_language)
        findings += [Problem(str(path), where, message, line) for where, line, message in gaps(reply)]
        if config is not None:
            for zone_id in reply.zones:
                if config.zone(zone_id) is None:
                    problems.append(Problem(str(path), "zones", f"unknown zone '{zone_id}' (expected one of: "
                                                                f"{', '.join(z.id for z in config.zones)})"))
        replies[reply.name] = reply
    return CatalogCheck(Catalog(forms, replies), problems, len(form_paths), len(reply_paths), findings)


def load_catalog(config: AppConfig, root: Path) -> Catalog:
    """Load and validate `forms/` and `saved_replies/` under `root`; ConfigError lists every problem."""
    checked = check_catalog(config, root)
    if checked.problems:
        raise ConfigError(checked.problems)
    for finding in checked.languages:  # a missing language reads the default one: worth a word, not a stop
        log.warning("%s", finding)
    return checked.catalog


async def file_form(desk: Desk, catalog: Catalog, actor: Actor, origin: Origin, form_id: str,
                    raw: Mapping[str, Any], *, dedupe_key: str | None = None,
                    on_behalf_of: tuple[str, str] | None = None) -> Filed | dict[str, str]:
    """File a request from a form, or return a message per invalid field (nothing is filed then).

    A form that needs approval opens it in the same transaction: the request waits on it from the start.
    `on_behalf_of` (e-mail, name) files it for someone else, as `Desk.file_request` does.
    """
    form = catalog.form(form_id)
    answers, errors = validate_answers(form, raw, desk.clock.now().date())
    if errors:
        return errors
    values = {a[0]: a[3] for a in answers}
    approvers: list[str] = []
    if form.approval is not None:
        approvers = list(form.approval.approvers)
        if form.approval.approver_field and values.get(form.approval.approver_field):
            approvers.append(str(values[form.approval.approver_field]))
        if actor.email in approvers or (on_behalf_of is not None and on_behalf_of[0].strip().lower() in approvers):
            return {form.approval.approver_field or form.fields[0].id: _("You cannot approve your own request.")}
    with speaking(form.default_language):  # what is stored reads alike whoever filed it: the form's language
        title, description = form.title_for(values), form.describe(answers)

    async def then(tx: Any, request: Request) -> None:
        if form.approval is None:
            return
        from bot.desk.approvals import open_approval

        due = tx.now + timedelta(hours=form.approval.due_hours) if form.approval.due_hours else None
        await open_approval(desk, tx, actor, request, approvers, mode=form.approval.mode,
                            ordered=form.approval.ordered, due_at=due, question=form.approval.question)

    return await desk.file_request(
        actor, origin, title, description, zone_id=form.zone, category_id=form.category,
        form_id=form.id, answers=answers, dedupe_key=dedupe_key, team_id=form.team, after=then,
        on_behalf_of=on_behalf_of,
    )


async def requester_language(desk: Desk, detail: RequestDetail) -> str:
    """The language the request's requester reads (their choice, `app.yaml`, their client, the zone's...)."""
    email = detail.requester_email
    async with desk.sessions() as session:
        reading = await person_language(session, desk.config, email, hint=desk.hints.get(email.strip().lower()),
                                        zone_id=detail.zone_id)
    return reading.language


async def saved_reply_choices(desk: Desk, catalog: Catalog, detail: RequestDetail) -> list[ReplyChoice]:
    """The saved replies an agent may pick for this request, each in the requester's language first."""
    if not any(len(r.languages) > 1 for r in catalog.replies_for(detail.zone_id)):
        return catalog.reply_choices(detail.zone_id, None)  # one language each: no need to ask whose
    return catalog.reply_choices(detail.zone_id, await requester_language(desk, detail))


async def saved_reply_text(desk: Desk, catalog: Catalog, actor: Actor, number: int, name: str) -> str:
    """A saved reply filled in for one request, for the agent to send or edit first: in the requester's
    language when the reply has it, or in the one `name` asks for (`access-granted:sv`)."""
    reply, asked = catalog.reply(name)
    detail = await desk.get_request(actor, number)
    if detail.level < Level.AGENT:
        raise DeskError(_("Only an agent of the request's {noun} can reply to #{number}.",
                          noun=desk.config.organisation.zone_noun, number=number))
    if reply is None or not reply.allowed_in(detail.zone_id):
        names = ", ".join(r.name for r in catalog.replies_for(detail.zone_id)) or _("none")
        raise DeskError(_("There is no saved reply '{name}' for {zone}. Saved replies: {names}.",
                          name=name, zone=detail.zone_name, names=names))
    if asked is not None and asked not in reply.languages:
        raise DeskError(_("Saved reply '{name}' is not written in '{code}'. It is written in: {codes}.",
                          name=reply.name, code=asked, codes=", ".join(reply.languages)))
    language = asked or (await requester_language(desk, detail) if len(reply.languages) > 1 else None)
    return render(
        reply, language=language,
        request={"number": detail.number, "title": detail.title, "status": detail.status, "zone": detail.zone_name,
                 "category": detail.category_name or "", "priority": detail.priority, "link": desk.link(number)},
        requester_name=detail.requester_name, requester_email=detail.requester_email,
        agent_name=actor.name, agent_email=actor.email,
    )


async def export_form(desk: Desk, catalog: Catalog, actor: Actor | None, form_id: str,
                      since: date | None = None) -> str:
    """CSV of a form's answers that `actor` may read (None: the organisation, for the admin CLI)."""
    form = catalog.form(form_id)
    query = select(Request).where(Request.form_id == form.id)
    if actor is not None:
        query = query.where(desk.policy.request_clause(actor, Level.READER))
    if since is not None:
        query = query.where(Request.created_at >= datetime.combine(since, datetime.min.time(),
                                                                   tzinfo=desk.clock.now().tzinfo))
    async with desk.sessions() as session:
        requests = list((await session.execute(query.order_by(Request.id))).scalars())
        ids = [r.id for r in requests]
        answers: dict[int, dict[str, Any]] = {i: {} for i in ids}
        for start in range(0, len(ids), 500):
            rows = await session.execute(select(FormAnswer).where(FormAnswer.request_id.in_(ids[start:start + 500])))
            for answer in rows.scalars():
                answers[answer.request_id][answer.field_id] = answer.value
    return answers_csv(form, [(r.id, r.title, r.requester_email, r.created_at, answers[r.id]) for r in requests])
