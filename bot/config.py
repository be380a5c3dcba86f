"""The `app.yaml` schema: zones, teams, people, priority, intake and calendars, validated at start-up.

Validation is pydantic (typed models, `extra="forbid"` so a misspelt key is an error, not a silent
default) plus cross-reference checks pydantic cannot express (a team naming an unknown zone, a
platform key naming no installed channel). Every problem is reported with the file, the key path, the
line, and what was expected, all at once.

Chat channels are keyed by platform (`triage: {slack: C0X}`, `intake: channels: {slack: {C0X: it}}`),
so a new channel needs no change here: the keys allowed are the installed `zonedesk.channels`.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.i18n import LANGUAGES, N_, SOURCE, current, normalise, translator

log = logging.getLogger(__name__)

DEPARTMENT = N_("Department")  # the default word for a zone
_CAPITALISED_NOUNS = {"de"}  # languages that write every noun with a capital


def _language(value: Any) -> str | None:
    """A language code as the desk stores it (`nb-NO` and `no` -> `nb`); an unknown one is an error."""
    if value is None:
        return None
    if value is False:  # `language: no` unquoted: YAML reads Norwegian's code as false
        value = "no"
    if not isinstance(value, str):
        raise ValueError(f"expected a language code (one of: {', '.join(LANGUAGES)})")
    code = normalise(value)
    if code is None:
        raise ValueError(f"unknown language '{value}' (expected one of: {', '.join(LANGUAGES)})")
    return code


# A language the desk speaks, stored normalised (bot.i18n).
Language = Annotated[str, BeforeValidator(_language)]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", to_lower=True)]


class Role(enum.StrEnum):
    """What a person may do beyond filing requests (everybody may file)."""

    AGENT = "agent"
    DISPATCHER = "dispatcher"
    APPROVER = "approver"
    ADMIN = "admin"
    ZONE_MANAGER = "zone_manager"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    """One node of a zone's category tree; ids are unique inside the zone."""

    id: Slug
    name: str
    children: tuple[Category, ...] = ()


def _given(value: Any) -> Any:
    # `{slack: C0X, teams: null}` was valid when platforms were fixed keys: a platform without a channel.
    return {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value


# Where a zone or team is told about new work: a channel id per platform, e.g. {slack: C0X, teams: "19:..."}.
ChannelRefs = Annotated[dict[str, str], BeforeValidator(_given)]


class Reminders(_Strict):
    """Reminder intervals of one zone, in working hours unless said otherwise."""

    stale_after_hours: float = Field(default=8, gt=0)
    approval_every_hours: float = Field(default=8, gt=0)
    approval_max: int = Field(default=3, ge=0)
    waiting_on_requester_hours: float = Field(default=16, gt=0)
    deadline_before_hours: float = Field(default=4, gt=0)


class SlaRule(_Strict):
    """First response and resolution targets (working hours) for requests matching all given keys."""

    priority: str | None = None
    category: str | None = None
    team: str | None = None
    first_response_hours: float = Field(gt=0)
    resolution_hours: float = Field(gt=0)
    pause_on_approval: bool = False


class Survey(_Strict):
    """Satisfaction survey settings of one zone."""

    enabled: bool = True
    cooldown_days: int = Field(default=7, ge=0)
    sample_rate: float = Field(default=1.0, ge=0, le=1)
    expires_days: int = Field(default=7, ge=1)


class Digest(_Strict):
    """The daily digest each team of a zone gets in its triage channel, on working days."""

    enabled: bool = True
    at: str | None = None  # local "HH:MM"; None: when the zone's working day starts

    @field_validator("at")
    @classmethod
    def _at_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("expected a local time as HH:MM, e.g. 08:30")
        return value


class Zone(_Strict):
    """A department's collaboration zone."""

    id: Slug
    name: str
    kind: Literal["standard", "dispatcher"] = "standard"
    description: str = ""
    visible_to: tuple[Slug, ...] = ()
    transfers_enabled: bool = True
    transfer_to: tuple[Slug, ...] = ()
    tasks_enabled: bool = True
    tasks_to: tuple[Slug, ...] = ()
    categories: tuple[Category, ...] = ()
    internal_categories: tuple[Slug, ...] = ()
    default_team: Slug | None = None
    triage: ChannelRefs = Field(default_factory=dict)
    calendar: Slug = "default"
    auto_close_days: int = Field(default=5, ge=1)
    reminders: Reminders = Reminders()
    sla: tuple[SlaRule, ...] = ()
    survey: Survey = Survey()
    digest: Digest = Digest()
    language: Language | None = None  # what its people read when they have not chosen; None: the organisation's
    email: Email | None = None  # the zone's one mail address (adapters/email): mail to it files requests here
    imap: ImapMailbox | None = None  # a mailbox polled for this zone's mail (needs `email`)

    def category_ids(self) -> set[str]:
        """Every category id in this zone's tree."""
        return {c.id for c in _walk(self.categories)}

    def category(self, category_id: str) -> Category | None:
        """The category with that id in this zone, if any."""
        return next((c for c in _walk(self.categories) if c.id == category_id), None)


def _walk(nodes: Iterable[Category]) -> Iterator[Category]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


class ImapMailbox(_Strict):
    """An IMAP mailbox read for a zone's mail (`zones[].imap`): by UID, never deleting, never marking read."""

    host: Annotated[str, StringConstraints(min_length=1, max_length=253)]
    port: int = Field(default=993, ge=1, le=65535)
    user: Annotated[str, StringConstraints(min_length=1, max_length=254)]
    password_env: str  # the NAME of the environment variable holding the password, never the password
    folder: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "INBOX"
    tls: bool = True  # IMAP over TLS (993); false only for a server on this machine (tests, a local relay)
    every_seconds: float = Field(default=60, ge=1)

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError("expected the name of an environment variable (e.g. IMAP_IT_PASSWORD) that holds "
                             "the password; the password itself never goes in app.yaml")
        return value


class EmailSettings(_Strict):
    """The e-mail channel's limits (`email:` in app.yaml; all optional)."""

    max_size_kb: int = Field(default=10240, ge=16)  # larger mail is refused at SMTP time (552)
    max_recipients: int = Field(default=20, ge=1)  # more RCPT TO than this: 452
    automatic_per_hour: int = Field(default=10, ge=0)  # automatic mails (confirmations, status) per address
    dkim: bool = False  # a DKIM signature of the sender's domain verifies a sender (needs DNS)
    domains: tuple[str, ...] = ()  # more of the organisation's mail domains (its people's and zones' count)

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        domains = tuple(d.strip().lower() for d in value)
        for domain in domains:
            if not _DOMAIN.match(domain):
                raise ValueError(f"'{domain}' is not a domain (expected e.g. nordlys.example)")
        return domains


class Team(_Strict):
    """A team inside one zone; a private team hides its requests from non-members."""

    id: Slug
    name: str
    zone: Slug
    private: bool = False
    members: tuple[Email, ...] = ()
    categories: tuple[Slug, ...] = ()
    triage: ChannelRefs = Field(default_factory=dict)


class Person(_Strict):
    """Someone the desk knows by e-mail. People not listed are plain requesters."""

    email: Email
    name: str
    roles: frozenset[Role] = frozenset()
    manages: tuple[Slug, ...] = ()
    language: Language | None = None  # their default until they choose one themselves


class Priority(_Strict):
    """Priority = requester's urgency x dispatcher's weight, raised to a category's floor."""

    levels: tuple[str, ...] = ("low", "normal", "high", "critical")
    default: str = "normal"
    matrix: dict[str, dict[str, str]] = Field(
        default_factory=lambda: {
            "low": {"low": "low", "normal": "low", "high": "normal"},
            "normal": {"low": "low", "normal": "normal", "high": "high"},
            "high": {"low": "normal", "normal": "high", "high": "critical"},
        }
    )
    floors: dict[str, str] = Field(default_factory=dict)


# Deprecated spellings of `intake.channels.<platform>`, from before channels were keyed by platform:
# still read (folded into `channels`), with a warning naming their line.
DEPRECATED_INTAKE = {"slack_channels": "slack", "teams_channels": "teams"}


class Intake(_Strict):
    """Where requests arrive: chat channels mapped to zones, and what to do when the zone is unclear."""

    unrouted: Literal["ask", "dispatcher"] = "ask"
    dispatcher_zone: Slug | None = None
    channels: dict[str, dict[str, Slug]] = Field(default_factory=dict)  # platform -> {channel id -> zone}

    @model_validator(mode="before")
    @classmethod
    def _fold_deprecated(cls, data: Any) -> Any:
        """`slack_channels: {...}` is read as `channels: {slack: {...}}` (and `teams_channels` likewise)."""
        if not isinstance(data, dict) or not DEPRECATED_INTAKE.keys() & data.keys():
            return data
        channels = data.get("channels") or {}
        if not isinstance(channels, dict):
            return data  # pydantic reports `channels` itself
        data, channels = dict(data), dict(channels)
        for old, platform in DEPRECATED_INTAKE.items():
            if old not in data:
                continue
            if platform in channels:
                raise ValueError(f"{old} is the deprecated spelling of channels.{platform}: "
                                 f"keep only channels.{platform}")
            channels[platform] = data.pop(old)
        data["channels"] = channels
        return data


class CalendarSettings(_Strict):
    """A working-day calendar; zones name one."""

    timezone: str = "UTC"
    hours: str = "08:00-16:00"
    weekdays: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = (
        "mon", "tue", "wed", "thu", "fri",
    )
    country: str | None = None
    subdivision: str | None = None
    closed: tuple[date, ...] = ()

    @field_validator("hours")
    @classmethod
    def _hours_shape(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d", value):
            raise ValueError("expected working hours as HH:MM-HH:MM, e.g. 08:00-16:00")
        return value


_ZONE_WORD = re.compile(r"^[^\W\d_]+(?:[ -][^\W\d_]+){0,2}$")


class Organisation(_Strict):
    """Who runs this desk; shown in the portal."""

    name: str = "Zonedesk"
    base_url: str = "http://127.0.0.1:3000"
    # People never read "zone": every page and message says the organisation's own word for it, in the
    # reader's language: one word for all (the default, "Department", is in the catalogues), or one per
    # language (`{en: Department, nb: Avdeling}`), a language without its own reading the English one.
    zone_words: str | dict[Language, str] = Field(DEPARTMENT, alias="zone_word")
    language: Language = "en"  # what people read when nothing else says which language

    @field_validator("zone_words")
    @classmethod
    def _one_word(cls, value: str | dict[str, str]) -> str | dict[str, str]:
        words = value if isinstance(value, dict) else {"": value}
        for word in words.values():
            if len(word.strip()) > 30 or not _ZONE_WORD.match(word.strip()):
                raise ValueError("expected one to three words of letters, as in a label, e.g. Department")
        if isinstance(value, dict):
            if SOURCE not in value:
                raise ValueError("give the English word too (en: ...): it is what other languages fall back to")
            return {code: word.strip() for code, word in value.items()}
        return value.strip()

    @property
    def zone_word(self) -> str:
        """The label in the language being spoken."""
        return self.zone_label()

    @property
    def zone_noun(self) -> str:
        """The word inside a sentence, in the language being spoken."""
        return self.zone_noun_in()

    def zone_label(self, language: str | None = None) -> str:
        """The word for a zone as a label ("Department"), in `language` (default: the one being spoken)."""
        language = language or current().language
        words = self.zone_words
        if isinstance(words, dict):
            return words.get(language) or words[SOURCE]
        if words == DEPARTMENT:
            return translator(language).gettext(DEPARTMENT)
        return words

    def zone_noun_in(self, language: str | None = None) -> str:
        """The word inside a sentence ("the department"); a word written in capitals ("BU") stays so, and
        German keeps its nouns capitalised ("die Abteilung")."""
        language = language or current().language
        word = self.zone_label(language)
        return word if word[1:2].isupper() or language in _CAPITALISED_NOUNS else word[:1].lower() + word[1:]


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749's scope-token


def insecure_url(url: str) -> str | None:
    """Why `url` may not carry sign-in traffic (None when it may): https, or plain http on this machine only."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "expected a URL such as https://login.example.com"
    if parts.scheme not in {"https", "http"} or not host:
        return "expected a URL such as https://login.example.com"
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        return "must be https (plain http only on this machine: 127.0.0.1, localhost)"
    if parts.username or parts.password or parts.fragment:
        return "expected a URL without user, password or #fragment"
    return None


def _scopes(value: Any) -> Any:
    return value.split() if isinstance(value, str) else value  # `scopes: openid email` reads as a list


class OidcSignIn(_Strict):
    """Single sign-on with one OpenID Connect provider (Microsoft Entra ID, Sign in with Slack, ...).

    People are matched to the desk by a *verified* e-mail address: `email` with `email_verified: true`.
    Entra ID sends no `email_verified`; `trust_email_claim` names the claim to take as verified anyway,
    which is only allowed together with `allowed_domains` (addresses of domains your directory owns).
    """

    issuer: str  # exactly the provider's `iss`; discovery is read from ISSUER/.well-known/openid-configuration
    client_id: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    client_secret_env: str  # the NAME of the environment variable holding the client secret, never the secret
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    scopes: Annotated[tuple[str, ...], BeforeValidator(_scopes)] = ("openid", "email", "profile")
    allowed_domains: tuple[str, ...] = ()  # empty: any domain the provider vouches for
    trust_email_claim: Literal["email", "preferred_username"] | None = None

    @field_validator("issuer")
    @classmethod
    def _issuer_url(cls, value: str) -> str:
        problem = insecure_url(value)
        if problem is not None:
            raise ValueError(f"{problem}; the issuer is e.g. https://login.microsoftonline.com/TENANT-ID/v2.0 "
                             "or https://slack.com")
        if urlsplit(value).query:
            raise ValueError("expected the issuer URL without a ?query")
        return value

    @field_validator("client_secret_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError("expected the name of an environment variable (e.g. OIDC_CLIENT_SECRET) that holds "
                             "the secret; the secret itself never goes in app.yaml")
        return value

    @field_validator("scopes")
    @classmethod
    def _openid_scope(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for scope in value:
            if not _SCOPE.match(scope):
                raise ValueError(f"'{scope}' is not a scope (expected words such as openid, email, profile)")
        if "openid" not in value:
            raise ValueError("must include openid (e.g. [openid, email, profile])")
        return tuple(dict.fromkeys(value))

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        domains = tuple(d.strip().lower() for d in value)
        for domain in domains:
            if domain.startswith("@"):
                raise ValueError(f"write the domain without '@': {domain[1:]}")
            if not _DOMAIN.match(domain):
                raise ValueError(f"'{domain}' is not a domain (expected e.g. nordlys.example)")
        return domains

    @model_validator(mode="after")
    def _trust_needs_domains(self) -> OidcSignIn:
        if self.trust_email_claim is not None and not self.allowed_domains:
            raise ValueError("trust_email_claim needs allowed_domains: trust an unverified address only for "
                             "domains your directory owns")
        return self

    def domain_allowed(self, email: str) -> bool:
        """Whether an address's domain may sign in (any, when `allowed_domains` is empty)."""
        return not self.allowed_domains or email.rsplit("@", 1)[-1].lower() in self.allowed_domains


class SignInSettings(_Strict):
    """Ways to sign in to the web besides one-time links."""

    oidc: OidcSignIn | None = None


class AppConfig(_Strict):
    """The whole of `app.yaml`."""

    organisation: Organisation = Organisation(zone_word=DEPARTMENT)
    zones: tuple[Zone, ...]
    teams: tuple[Team, ...] = ()
    people: tuple[Person, ...] = ()
    priority: Priority = Priority()
    intake: Intake = Intake()
    calendars: dict[Slug, CalendarSettings] = Field(default_factory=lambda: {"default": CalendarSettings()})
    sign_in: SignInSettings = SignInSettings()
    email: EmailSettings = EmailSettings()

    # Lookups, built once (the model is frozen, so these never go stale).
    def zone(self, zone_id: str) -> Zone | None:
        """The zone with that id, if any."""
        return self._index()[0].get(zone_id)

    def team(self, team_id: str) -> Team | None:
        """The team with that id, if any."""
        return self._index()[1].get(team_id)

    def person(self, email: str) -> Person | None:
        """The person with that e-mail (case-insensitive), if listed."""
        return self._index()[2].get(email.lower())

    def teams_of(self, email: str) -> tuple[Team, ...]:
        """The teams this e-mail is a member of."""
        return self._index()[3].get(email.lower(), ())

    def teams_in(self, zone_id: str) -> tuple[Team, ...]:
        """The teams of one zone."""
        return tuple(t for t in self.teams if t.zone == zone_id)

    def _index(self) -> tuple[dict[str, Zone], dict[str, Team], dict[str, Person], dict[str, tuple[Team, ...]]]:
        cached = self.__dict__.get("_cached_index")
        if cached is None:
            membership: dict[str, list[Team]] = {}
            for team in self.teams:
                for member in team.members:
                    membership.setdefault(member, []).append(team)
            cached = (
                {z.id: z for z in self.zones},
                {t.id: t for t in self.teams},
                {p.email: p for p in self.people},
                {k: tuple(v) for k, v in membership.items()},
            )
            object.__setattr__(self, "_cached_index", cached)  # frozen model: cache by hand
        return cached


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a configuration file."""

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(top level)'}: {self.message}"


class ConfigError(Exception):
    """Raised with every problem found, so an administrator fixes them in one pass."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _LineIndex:
    """Maps a key path such as ('zones', 2, 'visible_to') to its line in the YAML source."""

    def __init__(self, node: yaml.Node | None) -> None:
        self.root = node

    def line(self, path: tuple[int | str, ...]) -> int | None:
        node = self.root
        found = node.start_mark.line + 1 if node is not None else None
        for key in path:
            if isinstance(node, yaml.MappingNode):
                match = next((v for k, v in node.value if getattr(k, "value", None) == str(key)), None)
                if match is None:
                    return found
                node = match
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
            else:
                return found
            found = node.start_mark.line + 1
        return found


def _path_text(path: Iterable[int | str]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_yaml(path: Path) -> tuple[Any, _LineIndex]:
    """Read a YAML file, keeping the node tree so errors can name lines."""
    name = str(path)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(name, "", f"cannot read the file: {exc.strerror or exc}")]) from exc
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([Problem(name, "", f"not valid YAML: {getattr(exc, 'problem', exc)}", line)]) from exc
    return data, _LineIndex(node)


KeyPath = tuple[int | str, ...]


def problems_from_validation(file: str, error: ValidationError, lines: _LineIndex,
                             written: Callable[[KeyPath], KeyPath] = lambda loc: loc) -> list[Problem]:
    """Turn pydantic's errors into file/key/line problems an administrator can act on.

    `written` maps a key path of the model to the one in the file, where a validator moved a key."""
    problems = []
    for item in error.errors():
        loc = written(tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))))
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see the documented keys in the sample app.yaml)"
        elif item["type"] == "missing":
            message = "required key is missing"
        elif item["type"] == "value_error":  # our own validators' sentences, without pydantic's "Value error, "
            message = str(item.get("ctx", {}).get("error", message))
        elif item["type"] == "literal_error":
            message = f"expected {item.get('ctx', {}).get('expected', 'one of the allowed values')}"
        elif item["type"] == "string_pattern_mismatch":
            message = f"'{item.get('input')}' is not valid here (expected {_pattern_hint(loc)})"
        problems.append(Problem(file, _path_text(loc), message, lines.line(loc)))
    return problems


def _pattern_hint(loc: tuple[int | str, ...]) -> str:
    names = [p for p in loc if isinstance(p, str)]
    if names and names[-1] in {"email", "members"}:
        return "an e-mail address"
    return "a lower-case id: letters, digits, '-' or '_', at most 40 characters"


def installed_channels() -> frozenset[str]:
    """The names of the installed channels (the `zonedesk.channels` entry points), read without importing them."""
    return frozenset(ep.name for ep in entry_points(group="zonedesk.channels"))


def _platform_keys(cfg: AppConfig) -> Iterator[tuple[KeyPath, str]]:
    """Every key that names a channel, with its path: triage of zones and teams, and intake channels."""
    addresses: dict[str, str] = {}
    for i, zone in enumerate(cfg.zones):
        if zone.email is not None:
            if zone.email in addresses:
                yield ("zones", i, "email"), f"{zone.email} is already the address of zone '{addresses[zone.email]}'"
            addresses.setdefault(zone.email, zone.id)
            if "+" in zone.email.split("@", 1)[0]:
                yield ("zones", i, "email"), "a zone's address has no '+': replies use address+tag@domain"
        if zone.imap is not None and zone.email is None:
            yield ("zones", i, "imap"), "an IMAP mailbox needs the zone's email address too (zones[].email)"
    for i, zone in enumerate(cfg.zones):
        yield from ((("zones", i, "triage", p), p) for p in zone.triage)
    for i, team in enumerate(cfg.teams):
        yield from ((("teams", i, "triage", p), p) for p in team.triage)
    yield from ((("intake", "channels", p), p) for p in cfg.intake.channels)


def _cross_check(cfg: AppConfig, channels: frozenset[str]) -> Iterator[tuple[KeyPath, str]]:
    zone_ids = [z.id for z in cfg.zones]
    known_zones = set(zone_ids)
    people = {p.email for p in cfg.people}
    for i, zone_id in enumerate(zone_ids):
        if zone_ids.index(zone_id) != i:
            yield ("zones", i, "id"), f"zone id '{zone_id}' is used twice"
    for i, zone in enumerate(cfg.zones):
        for key in ("visible_to", "transfer_to", "tasks_to"):
            for j, other in enumerate(getattr(zone, key)):
                if other not in known_zones:
                    yield ("zones", i, key, j), f"unknown zone '{other}' (expected one of: {', '.join(zone_ids)})"
                elif other == zone.id:
                    yield ("zones", i, key, j), "a zone cannot name itself here"
        seen: set[str] = set()
        for category in _walk(zone.categories):
            if category.id in seen:
                yield ("zones", i, "categories"), f"category id '{category.id}' is used twice in this zone"
            seen.add(category.id)
        if zone.default_team is not None:
            team = cfg.team(zone.default_team)
            if team is None or team.zone != zone.id:
                yield ("zones", i, "default_team"), f"'{zone.default_team}' is not a team of this zone"
        if zone.calendar not in cfg.calendars:
            yield ("zones", i, "calendar"), f"unknown calendar '{zone.calendar}' (define it under calendars)"
        for j, rule in enumerate(zone.sla):
            if rule.priority is not None and rule.priority not in cfg.priority.levels:
                yield ("zones", i, "sla", j, "priority"), f"unknown priority '{rule.priority}'"
            if rule.category is not None and rule.category not in seen:
                yield ("zones", i, "sla", j, "category"), f"'{rule.category}' is not a category of this zone"
            rule_team = cfg.team(rule.team) if rule.team is not None else None
            if rule.team is not None and (rule_team is None or rule_team.zone != zone.id):
                yield ("zones", i, "sla", j, "team"), f"'{rule.team}' is not a team of this zone"
    team_list = [t.id for t in cfg.teams]
    for i, team in enumerate(cfg.teams):
        if team_list.index(team.id) != i:
            yield ("teams", i, "id"), f"team id '{team.id}' is used twice"
        team_zone = cfg.zone(team.zone)
        if team_zone is None:
            yield ("teams", i, "zone"), f"unknown zone '{team.zone}' (expected one of: {', '.join(zone_ids)})"
            continue
        for j, member in enumerate(team.members):
            if member not in people:
                yield ("teams", i, "members", j), f"'{member}' is not listed under people"
        known = team_zone.category_ids()
        for j, category_id in enumerate(team.categories):
            if category_id not in known:
                yield ("teams", i, "categories", j), f"'{category_id}' is not a category of zone '{team_zone.id}'"
    emails = [p.email for p in cfg.people]
    for i, person in enumerate(cfg.people):
        if emails.index(person.email) != i:
            yield ("people", i, "email"), f"'{person.email}' is listed twice"
        for j, zone_id in enumerate(person.manages):
            if zone_id not in known_zones:
                yield ("people", i, "manages", j), f"unknown zone '{zone_id}'"
    levels = cfg.priority.levels
    if cfg.priority.default not in levels:
        yield ("priority", "default"), f"'{cfg.priority.default}' is not one of the levels {list(levels)}"
    for row, cols in cfg.priority.matrix.items():
        for col, level in cols.items():
            if level not in levels:
                yield ("priority", "matrix", row, col), f"'{level}' is not one of the levels {list(levels)}"
    for key, level in cfg.priority.floors.items():
        if level not in levels:
            yield ("priority", "floors", key), f"'{level}' is not one of the levels {list(levels)}"
    if cfg.intake.dispatcher_zone is not None:
        dz = cfg.zone(cfg.intake.dispatcher_zone)
        if dz is None or dz.kind != "dispatcher":
            dispatchers = [z.id for z in cfg.zones if z.kind == "dispatcher"]
            named = cfg.intake.dispatcher_zone
            what = f"unknown zone '{named}'" if dz is None else f"'{named}' is not a zone whose kind is 'dispatcher'"
            choices = f"expected one of: {', '.join(dispatchers)}" if dispatchers else "no zone has kind: dispatcher"
            yield ("intake", "dispatcher_zone"), f"{what} ({choices})"
    elif cfg.intake.unrouted == "dispatcher":
        yield ("intake", "dispatcher_zone"), "required when unrouted is 'dispatcher'"
    for platform, mapping in cfg.intake.channels.items():
        for channel, zone_id in mapping.items():
            if zone_id not in known_zones:
                yield ("intake", "channels", platform, channel), f"unknown zone '{zone_id}'"
    if channels:  # no entry points at all: running from a source tree that was never installed
        for path, platform in _platform_keys(cfg):
            if platform not in channels:
                yield path, f"unknown channel '{platform}' (expected one of: {', '.join(sorted(channels))})"
    for name, cal in cfg.calendars.items():
        start, end = cal.hours.split("-")
        if end <= start:
            yield ("calendars", name, "hours"), "the end of the working day must come after its start"
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(cal.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            yield ("calendars", name, "timezone"), f"unknown time zone '{cal.timezone}' (e.g. Europe/Oslo)"


def _as_written(data: dict[str, Any]) -> Callable[[KeyPath], KeyPath]:
    """Maps `intake.channels.<platform>...` back to the deprecated key it was read from, if it was."""
    intake = data.get("intake")
    moved = {platform: old for old, platform in DEPRECATED_INTAKE.items() if isinstance(intake, dict) and old in intake}

    def written(loc: KeyPath) -> KeyPath:
        if loc[:2] == ("intake", "channels") and len(loc) > 2 and loc[2] in moved:
            return ("intake", moved[str(loc[2])], *loc[3:])
        return loc

    return written


def load_config(path: str | Path) -> AppConfig:
    """Load and validate `app.yaml`; raise ConfigError listing every problem.

    Deprecated keys are read and each is logged as a warning with its line."""
    path = Path(path)
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError([Problem(str(path), "", "expected a mapping of keys (zones, teams, people...)")])
    written = _as_written(data)
    try:
        cfg = AppConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(str(path), exc, lines, written)) from exc
    problems = [Problem(str(path), _path_text(written(loc)), msg, lines.line(written(loc)))
                for loc, msg in _cross_check(cfg, installed_channels())]
    if problems:
        raise ConfigError(problems)
    for platform in cfg.intake.channels:
        old = written(("intake", "channels", platform))
        if old[1] != "channels":
            instead = "channels: {" + platform + ": {...}}"
            log.warning("%s", Problem(str(path), _path_text(old), f"deprecated: write it as {instead} under intake "
                                      "(this spelling is still read, for now)", lines.line(old)))
    return cfg


def secret_problems(path: str | Path, cfg: AppConfig, env: Mapping[str, str]) -> list[Problem]:
    """Secrets `app.yaml` names but the environment lacks (`sign_in.oidc.client_secret_env`), each with its line.

    The server still starts without them (single sign-on stays off, as a chat channel without its secrets
    is not mounted); `zonedesk check` lists them."""
    missing: list[tuple[KeyPath, str]] = []
    oidc = cfg.sign_in.oidc
    if oidc is not None and not env.get(oidc.client_secret_env):
        missing.append((("sign_in", "oidc", "client_secret_env"), f"the environment variable "
                        f"{oidc.client_secret_env} is not set: single sign-on stays off until it holds the client "
                        "secret"))
    for i, zone in enumerate(cfg.zones):
        if zone.imap is not None and not env.get(zone.imap.password_env):
            missing.append((("zones", i, "imap", "password_env"), f"the environment variable "
                            f"{zone.imap.password_env} is not set: the mailbox of zone '{zone.id}' is not read "
                            "until it holds the IMAP password"))
    if not missing:
        return []
    try:
        lines: _LineIndex | None = load_yaml(Path(path))[1]
    except ConfigError:
        lines = None
    return [Problem(str(path), _path_text(loc), text, lines.line(loc) if lines is not None else None)
            for loc, text in missing]
