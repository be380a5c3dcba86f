"""Platform-neutral inputs and read models of the desk: where a request came from, what a person sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.access import Level


@dataclass(frozen=True)
class Origin:
    """Where a request or message came from; public replies go back to this thread."""

    platform: str  # "slack" | "teams" | "web" | "email" | "cli"
    workspace: str | None = None  # Slack team id / Teams tenant id
    channel: str | None = None  # Slack channel id / Teams conversation id
    thread: str | None = None  # Slack thread_ts / Teams reply-chain (activity) id
    message: str | None = None  # the message that filed the request
    user: str | None = None  # the platform user id of the requester


WEB = Origin(platform="web")


@dataclass(frozen=True)
class CommentView:
    """A comment as its reader may see it."""

    id: int
    author_email: str
    author_name: str
    public: bool
    body: str
    channel: str
    created_at: datetime


@dataclass(frozen=True)
class EventView:
    """One history entry; `text` is the sentence its reader sees (`bot.desk.history`), and `public`
    says whether requesters see it (a requester-level reader is given only those, with no `data`)."""

    at: datetime
    actor_name: str
    actor_email: str
    channel: str
    kind: str
    data: dict[str, Any]
    text: str = ""
    public: bool = False


@dataclass(frozen=True)
class AnswerView:
    """One form answer as its reader sees it: the field's label and the answer in words
    (`bot.catalog.forms.answer_text`), in the form's field order."""

    field_id: str
    label: str
    text: str


@dataclass(frozen=True)
class TaskView:
    """A task as its reader may see it. Receivers get this and never the request."""

    id: int
    request_id: int
    from_zone: str
    to_zone: str
    to_team: str | None
    to_agent: str | None
    title: str
    body: str
    status: str
    created_by: str
    created_at: datetime
    outcome: str | None = None


@dataclass(frozen=True)
class RequestSummary:
    """One line of a list."""

    number: int
    title: str
    zone_id: str
    team_id: str | None
    status: str
    priority: str
    assignee_email: str | None
    requester_email: str
    requester_name: str
    updated_at: datetime
    created_at: datetime


@dataclass(frozen=True)
class RequestDetail:
    """A request as one person may see it: fields, conversation, and (for staff) notes, history, tasks."""

    number: int
    level: Level
    title: str
    description: str
    zone_id: str
    zone_name: str
    team_id: str | None
    status: str
    waiting_reason: str | None
    urgency: str
    weight: str | None
    priority: str
    category_id: str | None
    category_name: str | None
    internal_category: str | None
    deadline: datetime | None
    assignee_email: str | None
    assignee_name: str | None
    requester_email: str
    requester_name: str
    origin_platform: str
    created_at: datetime
    updated_at: datetime
    satisfaction: int | None
    form_id: str | None
    comments: tuple[CommentView, ...] = ()
    history: tuple[EventView, ...] = ()
    tasks: tuple[TaskView, ...] = ()
    labels: tuple[str, ...] = ()
    related: tuple[int, ...] = ()
    answers: tuple[tuple[str, str, Any], ...] = ()  # (field id, label, typed value), in the form's order
    answer_lines: tuple[AnswerView, ...] = ()  # the same answers in words: what pages and chat show
    resolution: str | None = None  # the note it was resolved with (kept while resolved or closed)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def can_act(self) -> bool:
        """The reader may change this request."""
        return self.level >= Level.AGENT
