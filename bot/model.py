"""The tables: requests and their history, comments, tasks, the outbox, the inbox, schedules and sign-in.

Times are stored as timezone-aware UTC (`UtcDateTime`) on both SQLite and PostgreSQL. Rows that
record what happened (events, decisions) are append-only by convention and by code: nothing in
`bot/` updates or deletes them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use the injected clock")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """The usual conversion (`process_bind_param`, then the dialect's), remembering its last answer.

        One transaction stamps most of its rows with the same instant (`Tx.now`): a group of filed
        requests binds it about 30 times a request. The instant is immutable and held by the memo, so
        `is` cannot mistake another value for it.
        """
        inner = super().bind_processor(dialect)
        if inner is None:
            return None
        convert = inner
        last: list[tuple[datetime | None, Any]] = [(None, None)]

        def process(value: datetime | None) -> Any:
            if value is None:
                return None
            seen, out = last[0]
            if value is seen:
                return out
            out = convert(value)
            last[0] = (value, out)
            return out

        return process


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


# What a list's access rule and common filters read, held in its order indexes (bot.desk.listing).
_LIST_COVERED = ("id", "zone_id", "team_id", "status", "requester_email", "assignee_email", "priority")


class Request(Base):
    """A request (ticket). Its id is the number people quote (#42)."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    zone_id: Mapped[str] = mapped_column(String(40), index=True)
    team_id: Mapped[str | None] = mapped_column(String(40), index=True)
    assignee_email: Mapped[str | None] = mapped_column(String(254), index=True)
    requester_email: Mapped[str] = mapped_column(String(254), index=True)
    requester_name: Mapped[str] = mapped_column(String(200))
    filed_by_email: Mapped[str] = mapped_column(String(254))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(40), default="request")
    status: Mapped[str] = mapped_column(String(20), index=True)
    waiting_reason: Mapped[str | None] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(20))
    weight: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(20))
    category_id: Mapped[str | None] = mapped_column(String(40))
    internal_category: Mapped[str | None] = mapped_column(String(40))
    deadline: Mapped[datetime | None]
    form_id: Mapped[str | None] = mapped_column(String(60))
    project_id: Mapped[int | None] = mapped_column(BigId)
    origin_platform: Mapped[str] = mapped_column(String(10))
    origin_workspace: Mapped[str | None] = mapped_column(String(100))
    origin_channel: Mapped[str | None] = mapped_column(String(200))
    origin_thread: Mapped[str | None] = mapped_column(String(200))
    origin_message: Mapped[str | None] = mapped_column(String(200))
    origin_user: Mapped[str | None] = mapped_column(String(200))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(20))
    resolution: Mapped[str | None] = mapped_column(Text)  # the agent's note on resolving: shown to the requester

    # Lists and queues: the page of ids comes from the index alone (see Desk.list_requests). A zone's requests
    # filed in a range: (zone, filed) (migration 0007).
    __table_args__ = (Index("ix_requests_list", "zone_id", "status", "updated_at", "team_id"),
                      Index("ix_requests_zone_created", "zone_id", "created_at"),
                      # Request lists in their usual orders walk these and stop at the page's end (0014).
                      Index("ix_requests_updated_order", "updated_at", *_LIST_COVERED),
                      Index("ix_requests_created_order", "created_at", *_LIST_COVERED),
                      # A board column, one priority level at a time, oldest first (0017).
                      Index("ix_requests_board", "zone_id", "status", "priority", "created_at", "id", "team_id"),
                      # Lists sorted by title walk this one (0018).
                      Index("ix_requests_title_order", func.lower(title), *_LIST_COVERED))


class Event(Base):
    """One append-only entry of a request's history: who, when, from where, what changed."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor_email: Mapped[str] = mapped_column(String(254))
    actor_name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)



class Comment(Base):
    """A public reply (delivered to the requester's thread) or an internal note (never delivered)."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    author_email: Mapped[str] = mapped_column(String(254))
    author_name: Mapped[str] = mapped_column(String(200))
    public: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]


class Label(Base):
    """A personal label: visible only to the person who set it."""

    __tablename__ = "labels"

    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    owner_email: Mapped[str] = mapped_column(String(254), primary_key=True)
    label: Mapped[str] = mapped_column(String(40), primary_key=True)

    # A list filtered by label asks for one person's labels (bot.desk.listing, migration 0011).
    __table_args__ = (Index("ix_labels_owner", "owner_email", "label"),)


class Relation(Base):
    """A relation between two requests of one zone, stored once with a_id < b_id."""

    __tablename__ = "relations"

    a_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    b_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="related")


class Task(Base):
    """Work asked of a team or agent, possibly in another zone. The receiver sees the task, not the request."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    from_zone: Mapped[str] = mapped_column(String(40))
    to_zone: Mapped[str] = mapped_column(String(40), index=True)
    to_team: Mapped[str | None] = mapped_column(String(40))
    to_agent: Mapped[str | None] = mapped_column(String(254))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(254))
    outcome: Mapped[str | None] = mapped_column(Text)


class FormAnswer(Base):
    """One typed answer to one form field on a request."""

    __tablename__ = "form_answers"

    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    field_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[Any] = mapped_column(JSON)


class Approval(Base):
    """A decision asked of one or more approvers: any (first wins) or all (in order or in parallel)."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(10))
    ordered: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    question: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    previous_status: Mapped[str | None] = mapped_column(String(20))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)  # why a pending approval was withdrawn


class ApprovalVote(Base):
    """One approver's place in an approval; `decision` is written once, guarded by a conditional update."""

    __tablename__ = "approval_votes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("approvals.id", ondelete="CASCADE"), index=True)
    approver_email: Mapped[str] = mapped_column(String(254))
    position: Mapped[int] = mapped_column(Integer, default=0)
    decision: Mapped[str | None] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    channel: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (UniqueConstraint("approval_id", "approver_email"),)


class Outbox(Base):
    """An outbound message, written in the same transaction as the change that caused it.

    `conversation` orders delivery: a row is not sent while an older row of the same conversation
    is unsent. `claimed_until` is the lease a delivery worker holds while sending.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="SET NULL"), index=True)
    platform: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(30))
    conversation: Mapped[str] = mapped_column(String(300))
    target: Mapped[dict[str, Any]] = mapped_column(default=dict)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_conversation", "conversation", "status", "id"),
        Index("ix_outbox_queue", "status", "id"),  # the claim walks the pending rows in order
        Index("ix_outbox_claimed", "status", "claimed_until"),  # and finds the leased ones
    )


class Inbound(Base):
    """Every inbound platform event/activity/click, recorded under its unique key before it is processed.

    The unique key is what makes retries and double clicks harmless; `processed_at` and the lease let
    a restarted process finish what was acknowledged but not yet done.
    """

    __tablename__ = "inbound"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    sequence: Mapped[str | None] = mapped_column(String(200))  # events of one sender run in arrival order
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_inbound_pending", "processed_at", "received_at"),
        Index("ix_inbound_sequence", "sequence", "processed_at", "received_at"),
    )


class ThreadLink(Base):
    """A chat thread that belongs to a request: its origin (comments) or its triage announcement (notes)."""

    __tablename__ = "thread_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(200))
    thread: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))

    __table_args__ = (UniqueConstraint("platform", "channel", "thread"),)


class Identity(Base):
    """A platform user matched to an e-mail (cached lookups; expiry via `fetched_at`)."""

    __tablename__ = "identities"

    platform: Mapped[str] = mapped_column(String(10), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fetched_at: Mapped[datetime]


class ConversationRef(Base):
    """A stored platform conversation reference (Teams) so later replies reach the same thread."""

    __tablename__ = "conversation_refs"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    platform: Mapped[str] = mapped_column(String(10))
    reference: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class PersonLanguage(Base):
    """The language a person chose for themselves (`/desk language`, the web page's chooser), by e-mail."""

    __tablename__ = "person_languages"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    language: Mapped[str] = mapped_column(String(10))
    updated_at: Mapped[datetime]


class LoginToken(Base):
    """A one-time sign-in link: usable once, before it expires."""

    __tablename__ = "login_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Schedule(Base):
    """A timer: something to do at `due_at` (reminder, SLA check, auto-close, survey, digest).

    Replicas claim due rows with a lease; the action and its outbox rows commit with `done_at`.
    `key` makes a timer unique (one stale-reminder per request), so re-arming replaces, never doubles.
    """

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    done_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(200))

    # Partial on PostgreSQL: a tick scans only the open timers, so it grows with what is due.
    __table_args__ = (
        Index(
            "ix_schedules_open_due",
            "due_at",
            postgresql_where=text("done_at IS NULL AND cancelled_at IS NULL"),
            sqlite_where=text("done_at IS NULL AND cancelled_at IS NULL"),
        ),
    )


class SlaClock(Base):
    """One SLA target on a request (first response or resolution), in working time, pausable."""

    __tablename__ = "sla_clocks"

    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    target_hours: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime]
    paused_at: Mapped[datetime | None]
    paused_hours: Mapped[float] = mapped_column(Float, default=0.0)
    due_at: Mapped[datetime | None]
    met_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]

    # The analytics' list of breaches walks this, newest first, and stops at its cap (migration 0020).
    __table_args__ = (Index("ix_sla_clocks_breached_at", "breached_at"),)


class Survey(Base):
    """A satisfaction survey sent after close; answered once, expires, withdrawn on reopen."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    requester_email: Mapped[str] = mapped_column(String(254), index=True)
    status: Mapped[str] = mapped_column(String(20), default="sent")
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(index=True)  # the latest comments, newest first (0020)


def utcnow() -> datetime:
    """The wall clock, for code that has no injected clock (never for scheduling logic)."""
    return datetime.now(UTC)


class WeeklyReport(Base):
    """A team's weekly report turned off (or on again) by a manager of its zone or an administrator
    (`bot.analytics.weekly`); a team without a row gets it."""

    __tablename__ = "weekly_reports"

    team_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(254))
    changed_at: Mapped[datetime]


class Bundle(Base):
    """Related requests grouped to act on together (one outage, many reports): `bot.desk.bundles`."""

    __tablename__ = "bundles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime]


class BundleMember(Base):
    """A request in a bundle; a request is in one bundle at most."""

    __tablename__ = "bundle_members"

    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id", ondelete="CASCADE"), primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(254))
    added_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("request_id", name="uq_bundle_members_request"),)


class SavedView(Base):
    """A request list's query kept under a name (`bot.desk.views`): its owner's, or shared with one of their
    teams (`team_id`). It keeps the query, never rows: opening it lists with the viewer's own access."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    owner_email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(Text)
    team_id: Mapped[str | None] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("owner_email", "name", name="uq_saved_views_owner_name"),)


class RequestMeasure(Base):
    """How long a request took to be answered and resolved, in calendar and in working time, measured once
    when its first response or its resolution is recorded (`bot.analytics.measuring`), for the analytics.

    One row per request with a first response or a resolution; a reopened request keeps its first response
    and loses its resolution until it is resolved again. Seconds are whole; working seconds leave out
    nights, weekends, holidays and the time the request was paused (decision 0010)."""

    __tablename__ = "request_measures"

    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    first_response_at: Mapped[datetime | None] = mapped_column(index=True)
    first_response_seconds: Mapped[int | None] = mapped_column(BigInteger)
    first_response_working_seconds: Mapped[int | None] = mapped_column(BigInteger)
    resolved_at: Mapped[datetime | None] = mapped_column(index=True)
    resolution_seconds: Mapped[int | None] = mapped_column(BigInteger)
    resolution_working_seconds: Mapped[int | None] = mapped_column(BigInteger)


class AnalyticsFact(Base):
    """One thing the analytics count, with the dimensions of its request as the request is now (migration
    0020, decision 0010): its filing, a status move, its first response or resolution (with their calendar
    and working seconds), an SLA clock (with its state and target) or a survey (answered or not, its rating).

    Written and kept only by the database's triggers, in the transaction of the row it mirrors: a transfer,
    a reassignment, a new category or a cancellation rewrites the request's facts in the same statement, so
    a figure can never count a request for a zone, team or person that no longer holds it. The analytics
    read this table alone (`bot.analytics.facts`), with the reader's clause over `Request` rewritten onto
    its columns. Clustered by (fact, at) on SQLite (WITHOUT ROWID), so a range of one kind of fact is one
    contiguous read; `at` is whole seconds since 1970 UTC."""

    __tablename__ = "analytics_facts"

    fact: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # bot.analytics.facts names them
    at: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(20), primary_key=True, default="")  # an SLA clock's kind
    source_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=0)  # the event's or survey's id
    zone_id: Mapped[str] = mapped_column(String(40))
    team_id: Mapped[str | None] = mapped_column(String(40))
    category_id: Mapped[str | None] = mapped_column(String(40))
    origin_platform: Mapped[str] = mapped_column(String(10))
    assignee_email: Mapped[str | None] = mapped_column(String(254))
    requester_email: Mapped[str] = mapped_column(String(254))
    cancelled: Mapped[bool] = mapped_column(Boolean)
    a: Mapped[int | None] = mapped_column(BigInteger)  # calendar seconds | SLA state | survey answered (1/0)
    b: Mapped[int | None] = mapped_column(BigInteger)  # working seconds | SLA target seconds | survey rating

    __table_args__ = (Index("ix_analytics_facts_request", "request_id"), {"sqlite_with_rowid": False})


class MailMessage(Base):
    """A mail message that belongs to a request, by its Message-ID: one that came in (filed it, or commented
    on it) or one the desk sent about it (`adapters.email`). A reply naming one of these in In-Reply-To or
    References lands on its request; `automatic` marks mail sent or received without a person writing it
    (loops and the per-address hourly cap are counted from these rows)."""

    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    address: Mapped[str] = mapped_column(String(254))  # the sender (in) or the recipient (out)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime]

    __table_args__ = (Index("ix_mail_messages_address", "address", "direction", "at"),)


class MailboxState(Base):
    """How far an IMAP mailbox was read (`adapters.email.imap`): the last UID filed under its UIDVALIDITY.
    A new UIDVALIDITY means the server renumbered the mailbox: it is read again from the start, and the
    inbound keys (Message-ID) keep what was filed before from being filed twice."""

    __tablename__ = "mailbox_states"

    mailbox: Mapped[str] = mapped_column(String(300), primary_key=True)  # zone id, user@host/folder
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    checked_at: Mapped[datetime]


class Consultation(Base):
    """A person asked for their view on one request (`bot.desk.consultation`): while not withdrawn they may
    read that request's public conversation on their consultation page and answer; each answer is an
    internal note. The person's name is kept as it was when invited (they may be no one `app.yaml` knows)."""

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    person_email: Mapped[str] = mapped_column(String(254), index=True)
    person_name: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text, default="")
    invited_by: Mapped[str] = mapped_column(String(254))
    invited_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("request_id", "person_email", name="uq_consultations_request_person"),)


class Collaborator(Base):
    """An outside e-mail address brought into one request (`bot.desk.collaborators`): while not removed it
    is sent the request's public replies by mail and its mail to the request's reply address lands on the
    request as its comments. It never receives internal notes and reads nothing else."""

    __tablename__ = "collaborators"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    invited_by: Mapped[str] = mapped_column(String(254))
    invited_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("request_id", "email", name="uq_collaborators_request_email"),)


class Attachment(Base):
    """A file on a request (`bot.files`): on the message that filed it (`comment_id` NULL) or on a comment.

    Files from Slack and Teams are kept as references (`ref`: the platform's file id, name and URL), fetched
    with the bot's token only when someone who may see them opens them; files that came by mail are stored
    bytes in the file store under `store_key` (content-addressed: rows may share a key). `public` is the
    comment's: a file on an internal note is read only by those who read notes."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    public: Mapped[bool] = mapped_column(Boolean)
    filename: Mapped[str] = mapped_column(String(255))
    declared_type: Mapped[str] = mapped_column(String(255))  # what the sender said; never trusted for serving
    size: Mapped[int | None] = mapped_column(BigInteger)
    uploader_email: Mapped[str] = mapped_column(String(254), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10))  # "stored", or the platform holding the bytes
    store_key: Mapped[str | None] = mapped_column(String(100), index=True)
    ref: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
