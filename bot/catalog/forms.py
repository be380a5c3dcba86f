"""Forms: one YAML file each in `forms/`, validated at start-up, answers validated and typed per field.

The same `Form` is rendered by every adapter (Slack modal, Teams dialog, web form); what a person
typed comes back here as strings (or lists of strings) and leaves as typed values or as a message
per field, so invalid input is shown next to the field on every channel, never as a crash.

A form's texts (title, description, a field's label, help and error, an option's label) are each a
string, the same in every language (a name such as Jira), or one per language (`{en: ..., nb: ...}`).
`Form.localised` gives the form in one language, a text it lacks reading in the form's own `language`
(else the organisation's); `language_gaps` lists the texts given for some of the form's languages but
not all, for `zonedesk check`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config import Language
from bot.i18n import LANGUAGES, SOURCE, _, choose, current, ngettext, normalise, speaking

FieldType = Literal["short_text", "long_text", "number", "date", "single_select", "multi_select", "user",
                    "checkbox", "email"]
MAX_OPTIONS = 100  # Slack's static select holds 100; more belongs in a category tree, not a form
MAX_FIELDS = 30
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,59}$")]
KeyPath = tuple[int | str, ...]


def _per_language(key: str, given: Mapping[Any, Any]) -> dict[str, str]:
    """A text given per language, keyed by the desk's codes; ValueError naming the key when it is not one."""
    texts: dict[str, str] = {}
    for code, text in given.items():
        language = normalise("no" if code is False else str(code))  # `no:` unquoted is YAML's false
        if language is None:
            raise ValueError(f"{key}: '{code}' is not a language Zonedesk speaks (expected one of: "
                             f"{', '.join(LANGUAGES)})")
        if language in texts:
            raise ValueError(f"{key}: {language} is given twice")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{key}.{language}: expected a text")
        texts[language] = text
    if not texts:
        raise ValueError(f"{key}: give a text, or one per language ({{en: ..., nb: ...}})")
    return texts


def _pick(texts: Mapping[str, str], language: str, default: str) -> str:
    """A text in `language`, else in the form's default language, else English, else the first given."""
    return texts.get(language) or texts.get(default) or texts.get(SOURCE) or next(iter(texts.values()))


def _ordered(languages: Iterable[str], first: str | None = None) -> tuple[str, ...]:
    """Codes in the order the desk lists its languages, `first` (when among them) leading."""
    wanted = set(languages)
    return tuple(sorted(wanted, key=lambda code: (code != first, list(LANGUAGES).index(code))))


class Texts(BaseModel):
    """A part of a form whose `text_keys` may each be given per language.

    The model's own attributes hold one language's texts (the form's default language once the form is
    validated); every language given is kept aside, so the form can be read in another."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    text_keys: ClassVar[tuple[str, ...]] = ()
    _texts: dict[str, dict[str, str]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _languages(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        if not isinstance(data, dict):
            return handler(data)
        given = {key: _per_language(key, data[key]) for key in cls.text_keys if isinstance(data.get(key), dict)}
        if not given:
            return handler(data)
        made: Self | None = None
        # Each language's texts are held to what the field declares (a modal title fits Slack in every language).
        for language in _ordered(set().union(*given.values())):
            made = handler({**data, **{key: _pick(texts, language, language) for key, texts in given.items()}})
        assert made is not None
        made._texts = given
        return made

    def translations(self, key: str) -> Mapping[str, str]:
        """The text of `key` per language, when it was given per language (empty: one text for all)."""
        return self._texts.get(key, {})

    def _in(self, language: str, default: str) -> Self:
        if not self._texts:
            return self
        return self.model_copy(update={key: _pick(texts, language, default) for key, texts in self._texts.items()})


class Option(Texts):
    """One choice of a select field."""

    text_keys = ("label",)
    value: Annotated[str, StringConstraints(min_length=1, max_length=75)]
    label: Annotated[str, StringConstraints(min_length=1, max_length=75)]


class FormField(Texts):
    """One question of a form."""

    text_keys = ("label", "help", "error")
    id: Slug
    type: FieldType
    label: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    help: str = ""
    error: str = ""  # what a person is told when the answer does not match `pattern` (default: the help)
    required: bool = False
    default: Any = None
    min: float | date | None = None
    max: float | date | None = None
    pattern: str | None = None
    options: tuple[Option, ...] = ()

    @field_validator("options", mode="before")
    @classmethod
    def _options(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"value": str(v), "label": str(v)} if not isinstance(v, dict) else v for v in value]
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FormField:
        selects = self.type in {"single_select", "multi_select"}
        if selects and not self.options:
            raise ValueError("a select field needs options")
        if not selects and self.options:
            raise ValueError("only select fields take options")
        if len(self.options) > MAX_OPTIONS:
            raise ValueError(f"{len(self.options):,} options is too many (at most {MAX_OPTIONS})")
        if len({o.value for o in self.options}) != len(self.options):
            raise ValueError("option values must be unique")
        if self.min is not None and self.max is not None and self.max < self.min:  # type: ignore[operator]
            raise ValueError("max is below min")
        return self

    @property
    def max_length(self) -> int:
        """The longest text accepted (platform limits: Slack inputs take 3,000 characters)."""
        if self.type in {"short_text", "long_text"} and isinstance(self.max, float | int):
            return int(self.max)
        return 3000 if self.type == "long_text" else 150


class Approval(BaseModel):
    """The approval a form needs before the request moves on."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    mode: Literal["any", "all"] = "any"
    ordered: bool = False
    approvers: tuple[Annotated[str, StringConstraints(to_lower=True)], ...] = ()
    approver_field: Slug | None = None
    due_hours: float | None = Field(default=None, gt=0)
    question: str = ""

    @model_validator(mode="after")
    def _someone(self) -> Approval:
        if not self.approvers and self.approver_field is None:
            raise ValueError("name approvers or an approver_field (a user field of the form)")
        return self


class Form(Texts):
    """A form definition (one file in `forms/`)."""

    text_keys = ("title", "description")
    id: Slug
    title: Annotated[str, StringConstraints(min_length=1, max_length=24)]  # Slack modal titles: 24 chars
    description: str = ""
    # The language of its texts, that a text not given in a reader's language falls back to (set once
    # validated: this, else the organisation's language passed as the validation context, else English).
    language: Language | None = None
    languages: tuple[Language, ...] = ()  # the languages it is meant to have (`zonedesk check` holds it to them)
    zone: Slug
    team: Slug | None = None
    category: Slug | None = None
    request_title: str | None = None
    approval: Approval | None = None
    fields: tuple[FormField, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _fields(self) -> Form:
        if len(self.fields) > MAX_FIELDS:
            raise ValueError(f"{len(self.fields)} fields is too many (at most {MAX_FIELDS})")
        ids = [f.id for f in self.fields]
        if len(set(ids)) != len(ids):
            raise ValueError("field ids must be unique")
        if self.approval and self.approval.approver_field:
            target = next((f for f in self.fields if f.id == self.approval.approver_field), None)
            if target is None or target.type != "user":
                raise ValueError(f"approval.approver_field '{self.approval.approver_field}' must name a user field")
        return self

    @model_validator(mode="after")
    def _in_its_language(self, info: ValidationInfo) -> Form:
        context = info.context if isinstance(info.context, dict) else {}
        default = self.language or choose(context.get("language"))
        form = self if self.language == default else self.model_copy(update={"language": default})
        return form.localised(default)

    @property
    def default_language(self) -> str:
        """The language a text not given in the reader's falls back to."""
        return self.language or SOURCE

    def localised(self, language: str | None = None) -> Form:
        """The form with every text in `language` (default: the language being spoken), a text not given
        in it reading in the form's default language. What adapters render for a person."""
        code = choose(language or current().language)
        default = self.default_language
        fields = []
        for field in self.fields:
            said = field._in(code, default)
            if any(o._texts for o in field.options):
                said = said.model_copy(update={"options": tuple(o._in(code, default) for o in field.options)})
            fields.append(said)
        return self._in(code, default).model_copy(update={"fields": tuple(fields)})

    def parts(self) -> Iterator[tuple[KeyPath, Texts]]:
        """Every part of the form that holds texts, with where it is in the file."""
        yield (), self
        for i, field in enumerate(self.fields):
            yield ("fields", i), field
            for j, option in enumerate(field.options):
                yield ("fields", i, "options", j), option

    def used_languages(self) -> tuple[str, ...]:
        """The languages the form has: its default, those it declares and those any text is given in."""
        found = {self.default_language, *self.languages}
        for _unused, part in self.parts():
            for texts in part._texts.values():
                found.update(texts)
        return _ordered(found, self.default_language)

    def field(self, field_id: str) -> FormField | None:
        """The field with that id."""
        return next((f for f in self.fields if f.id == field_id), None)

    def title_for(self, answers: Mapping[str, Any]) -> str:
        """The request title: `request_title` with {field} filled in, or the form's title."""
        if not self.request_title:
            return self.title
        return re.sub(r"\{([a-z0-9_-]+)\}", lambda m: self._answer(m.group(1), answers), self.request_title)[:200]

    def _answer(self, field_id: str, answers: Mapping[str, Any]) -> str:
        field = self.field(field_id)
        return answer_text(field.type if field else "", answers.get(field_id), field)

    def describe(self, answers: Iterable[tuple[str, str, str, Any]]) -> str:
        """The description of a request filed with this form: one line per answer, in the form's order,
        read as people read it. Chat messages about the request (the triage announcement, the approval
        card) and the search show it; the request page and `/desk show` show the answers instead."""
        return "\n".join(label_line(label, text) for _unused, label, text in answer_lines(self, answers))


def language_gaps(form: Form) -> list[tuple[KeyPath, str]]:
    """Texts given per language but not in every language the form has (its default, those it declares,
    those its other texts are given in), with where each is; a text given once is the same in all."""
    used = form.used_languages()
    gaps: list[tuple[KeyPath, str]] = []
    for where, part in form.parts():
        for key in part.text_keys:
            texts = part.translations(key)
            missing = [code for code in used if code not in texts]
            if texts and missing:
                gaps.append(((*where, key), f"form '{form.id}' has no {', '.join(missing)} text here "
                                            f"(its languages: {', '.join(used)})"))
    return gaps


Answer = tuple[str, str, str, Any]  # (field id, label, type, typed value)

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def display(value: Any) -> str:
    """A typed value as text, without its field (numbers in validation messages)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(display(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _amount(value: float) -> str:
    """A number in a message: as today in English ('1000', '3.5'), as the language writes it otherwise."""
    return display(value) if current().language == SOURCE else current().number(value)


def long_date(day: date) -> str:
    """A date as '6 December 2026' (read the same way in every country, unlike 12/06/2026); in another
    language, as that language writes a date out ('6. desember 2026')."""
    if current().language != SOURCE:
        return current().date(day)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def answer_text(kind: str, value: Any, field: FormField | None = None, *, language: str | None = None) -> str:
    """One answer as people read it, the same on the request page, in Slack, in Teams and in the CSV:
    Yes/No for a checkbox, the options' labels (not their values), dates as '6 December 2026', whole
    numbers without '.0'. `kind` is the field type the answer was stored with; `field` (the form's
    current definition, when it still has the field, localised for the reader) gives the option labels.

    The product's words (Yes, No, a date's month) are in `language`, by default the one being spoken.
    """
    if language is not None:
        with speaking(language):
            return answer_text(kind, value, field)
    if value is None or value == "" or value == []:
        return ""
    if kind == "checkbox" or isinstance(value, bool):
        return _("Yes") if value is True or str(value).lower() in {"true", "on", "yes", "1"} else _("No")
    if kind in {"single_select", "multi_select"}:
        labels = {o.value: o.label for o in field.options} if field is not None else {}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(v), str(v)) for v in values)
    if kind == "date":
        try:
            return long_date(date.fromisoformat(str(value)[:10]))
        except ValueError:
            return str(value)
    if kind == "number" and isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return display(value)


def label_line(label: str, text: str) -> str:
    """'Label: answer', without a colon after a label that is a question ('What is wrong? Wrong tax')."""
    label = label.strip()
    return f"{label} {text}" if label.endswith(("?", ":", "!")) else f"{label}: {text}"


def answer_lines(form: Form | None, answers: Iterable[tuple[str, str, str, Any]]) -> list[tuple[str, str, str]]:
    """Stored answers (field id, label, type, value) as (field id, label, text): in the form's field order,
    with the form's current labels in the language being spoken; answers to fields the form no longer has
    (or of a form that is gone) follow in the order given, with the labels stored. Empty answers are left out."""
    form = form.localised() if form is not None else None
    given = {field_id: (label, kind, value) for field_id, label, kind, value in answers}
    order = [f.id for f in form.fields if f.id in given] if form is not None else []
    order += [field_id for field_id in given if field_id not in order]
    lines = []
    for field_id in order:
        label, kind, value = given[field_id]
        field = form.field(field_id) if form is not None else None
        if field is not None and field.type != kind:
            field = None  # the field changed type since: its options no longer describe this answer
        text = answer_text(kind, value, field)
        if text:
            lines.append((field_id, field.label if field is not None else label, text))
    return lines


def _one(field: FormField, raw: Any, today: date) -> tuple[Any, str | None]:
    """Type one answer; returns (value, None) or (None, message for the person, in the language spoken)."""
    if field.type == "checkbox":
        if isinstance(raw, list):
            raw = raw[0] if raw else None
        value = str(raw).lower() in {"true", "on", "yes", "1", "checked"} if raw not in (None, "") else False
        if field.required and not value:
            return None, _("Please tick this box.")
        return value, None
    if field.type == "multi_select":
        values = [str(v) for v in (raw if isinstance(raw, list) else [raw] if raw not in (None, "") else [])]
        if field.required and not values:
            return None, _("Choose at least one.")
        allowed = {o.value for o in field.options}
        if any(v not in allowed for v in values):
            return None, _("Choose from the list.")
        if field.max is not None and len(values) > float(field.max):  # type: ignore[arg-type]
            return None, _("Choose at most {count}.", count=int(field.max))  # type: ignore[arg-type]
        return values, None
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    text = "" if raw is None else str(raw).strip()
    if not text:
        return (None, _("This is required.")) if field.required else (None, None)
    if field.type in {"short_text", "long_text"}:
        if len(text) > field.max_length:
            return None, ngettext("At most {count} character.", "At most {count} characters.", field.max_length)
        if isinstance(field.min, float | int) and len(text) < field.min:
            return None, ngettext("At least {count} character.", "At least {count} characters.", int(field.min))
        if field.pattern and not re.fullmatch(field.pattern, text):
            return None, field.error or field.help or _("This does not have the expected format.")
        return text, None
    if field.type in {"email", "user"}:
        if not EMAIL.match(text) or len(text) > 254:
            return None, _("Enter an e-mail address, like name@example.com.")
        return text.lower(), None
    if field.type == "number":
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            return None, _("Enter a number.")
        if number != number or number in {float("inf"), float("-inf")}:
            return None, _("Enter a number.")
        if isinstance(field.min, float | int) and number < field.min:
            return None, _("At least {number}.", number=_amount(float(field.min)))
        if isinstance(field.max, float | int) and number > field.max:
            return None, _("At most {number}.", number=_amount(float(field.max)))
        return number, None
    if field.type == "date":
        try:
            day = date.fromisoformat(text[:10])
        except ValueError:
            return None, _("Enter a date as YYYY-MM-DD.")
        if isinstance(field.min, date) and day < field.min:
            return None, _("On or after {date}.", date=field.min.isoformat())
        if isinstance(field.max, date) and day > field.max:
            return None, _("On or before {date}.", date=field.max.isoformat())
        return day.isoformat(), None
    if field.type == "single_select":
        if text not in {o.value for o in field.options}:
            return None, _("Choose from the list.")
        return text, None
    return None, _("This field type is not supported.")  # unreachable: FieldType is closed


def validate_answers(form: Form, raw: Mapping[str, Any], today: date | None = None) -> tuple[list[Answer],
                                                                                              dict[str, str]]:
    """Typed answers for every field, or a message per invalid field (the request is not filed then).

    The messages are in the language being spoken (a form's own, its `error` or `help`, in that language
    when the form gives one); the answers keep the labels of the form's default language, as stored."""
    today = today or datetime.now().date()
    answers: list[Answer] = []
    errors: dict[str, str] = {}
    for field, said in zip(form.fields, form.localised().fields, strict=True):
        value, problem = _one(said, raw.get(field.id), today)
        if problem is not None:
            errors[field.id] = problem
        elif value is not None:
            answers.append((field.id, field.label, field.type, value))
    return answers, errors


_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (OWASP CSV injection advice)."""
    return "'" + cell if cell.startswith(_DANGEROUS) else cell


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A whole CSV file as text: the header as given, then the rows, every cell of them `neutralise`d."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()


def answers_csv(form: Form, rows: Sequence[tuple[int, str, str, datetime, Mapping[str, Any]]]) -> str:
    """CSV of a form's answers: one row per request, one column per field, every cell neutralised.

    In the form's default language whoever exports it, so every export of a form reads alike."""
    with speaking(form.default_language):
        form = form.localised()
        return csv_text(["request", "title", "requester", "filed_at", *[f.label for f in form.fields]],
                        ([str(number), title, requester, filed_at.isoformat(),
                          *(answer_text(f.type, values.get(f.id), f) for f in form.fields)]
                         for number, title, requester, filed_at, values in rows))
