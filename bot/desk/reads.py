"""Reads: a request as one person may see it, lists and counts filtered in SQL by the access rules, tasks.

Every read asks `bot.access.Policy`: one request through `Policy.level`, lists through
`Policy.request_clause` / `task_clause`, so a list never shows what its reader may not open. The
level also decides the history: requester-level readers get only the events meant for requesters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Actor, Level
from bot.config import AppConfig
from bot.desk.approvers import level_of
from bot.desk.history import Audience, Words, sentence
from bot.desk.status import OPEN
from bot.desk.types import AnswerView, CommentView, EventView, RequestDetail, RequestSummary, TaskView
from bot.desk.unit import Unit
from bot.errors import DeskError, NotFound
from bot.i18n import _
from bot.model import Comment, Event, FormAnswer, Label, Relation, Request, Task


async def get_request(unit: Unit, actor: Actor, number: int) -> RequestDetail:
    """A request as this person may see it (NotFound when they may not know it exists)."""
    async with unit.sessions() as session:
        request = await session.get(Request, number)
        if request is None:
            raise NotFound(number)
        level = await level_of(unit.policy, session, actor, request)  # counts a named approver (APPROVER)
        if level == Level.NONE:
            raise NotFound(number)
        return await _detail(unit, session, actor, request, level)


async def _detail(unit: Unit, session: AsyncSession, actor: Actor, request: Request, level: Level) -> RequestDetail:
    staff = level >= Level.READER
    comments_q = select(Comment).where(Comment.request_id == request.id).order_by(Comment.id)
    if not staff:
        comments_q = comments_q.where(Comment.public.is_(True))
    comments = tuple(CommentView(c.id, c.author_email, c.author_name, c.public, c.body, c.channel, c.created_at)
                     for c in (await session.execute(comments_q)).scalars())
    tasks: tuple[TaskView, ...] = ()
    related: tuple[int, ...] = ()
    events = await session.execute(select(Event).where(Event.request_id == request.id).order_by(Event.id))
    history = told(unit.config, request, (EventView(e.at, e.actor_name, e.actor_email, e.channel, e.kind, e.data)
                                          for e in events.scalars()), staff=staff)
    if staff:
        rows = await session.execute(select(Task).where(Task.request_id == request.id).order_by(Task.id))
        tasks = tuple(_task_view(t) for t in rows.scalars())
        rel = await session.execute(select(Relation).where(
            or_(Relation.a_id == request.id, Relation.b_id == request.id)))
        related = tuple(sorted(r.b_id if r.a_id == request.id else r.a_id for r in rel.scalars()))
    labels = tuple(sorted((await session.execute(select(Label.label).where(
        Label.request_id == request.id, Label.owner_email == actor.email))).scalars()))
    stored = [(a.field_id, a.label, a.kind, a.value) for a in (await session.execute(
        select(FormAnswer).where(FormAnswer.request_id == request.id).order_by(FormAnswer.field_id))).scalars()]
    answers, answer_lines = _answers(unit, request.form_id, stored)
    zone = unit.config.zone(request.zone_id)
    category = zone.category(request.category_id) if zone and request.category_id else None
    assignee = unit.config.person(request.assignee_email) if request.assignee_email else None
    return RequestDetail(
        number=request.id, level=level, title=request.title, description=request.description,
        zone_id=request.zone_id, zone_name=zone.name if zone else request.zone_id, team_id=request.team_id,
        status=request.status, waiting_reason=request.waiting_reason, urgency=request.urgency,
        weight=request.weight if staff else None, priority=request.priority,
        category_id=request.category_id, category_name=category.name if category else None,
        internal_category=request.internal_category if staff else None, deadline=request.deadline,
        assignee_email=request.assignee_email,
        assignee_name=assignee.name if assignee else request.assignee_email,
        requester_email=request.requester_email, requester_name=request.requester_name,
        origin_platform=request.origin_platform, created_at=request.created_at, updated_at=request.updated_at,
        satisfaction=request.satisfaction, resolution=request.resolution, form_id=request.form_id,
        comments=comments, history=history,
        tasks=tasks, labels=labels, related=related, answers=answers, answer_lines=answer_lines,
    )


def told(config: AppConfig, request: Request, events: Iterable[EventView], *, staff: bool) -> tuple[EventView, ...]:
    """The history in words for its reader: staff (readers and agents) get every event; anyone else
    (the requester) only the events meant for requesters, and none of their raw data."""
    words = Words(config, request.zone_id, requester=request.requester_name,
                  requester_email=request.requester_email, staff=staff)
    shown = []
    for event in events:
        said = sentence(words, event)
        public = said.audience is Audience.REQUESTER
        if staff or public:
            shown.append(replace(event, text=said.text, public=public, data=event.data if staff else {}))
    return tuple(shown)


def _answers(unit: Unit, form_id: str | None, stored: Sequence[tuple[str, str, str, Any]]) -> tuple[
        tuple[tuple[str, str, Any], ...], tuple[AnswerView, ...]]:
    """Form answers in the form's field order, as typed values and in words (see `answer_lines`)."""
    if not stored:
        return (), ()
    # bot.catalog sits above the desk (it files through it), so it is imported when first needed; the
    # form's definition comes from the catalog the server gave the desk, when it still has the form.
    from bot.catalog.forms import answer_lines

    form = unit.catalog.forms.get(form_id) if unit.catalog is not None and form_id else None
    lines = tuple(AnswerView(*line) for line in answer_lines(form, stored))
    position = {line.field_id: i for i, line in enumerate(lines)}
    ordered = sorted(stored, key=lambda a: position.get(a[0], len(position)))
    return tuple((field_id, label, value) for field_id, label, _kind, value in ordered), lines


def _list_query(unit: Unit, actor: Actor, scope: str, status: str | None, zone_id: str | None,
                text: str | None) -> Select[tuple[Request]]:
    if scope == "mine":
        where = Request.requester_email == actor.email
    elif scope == "assigned":
        where = (Request.assignee_email == actor.email) & unit.policy.request_clause(actor, Level.AGENT)
    elif scope == "queue":
        where = unit.policy.request_clause(actor, Level.AGENT) & Request.status.in_(sorted(OPEN))
    else:
        where = unit.policy.request_clause(actor, Level.REQUESTER)
    query = select(Request).where(where)
    if status == "open":
        query = query.where(Request.status.in_(sorted(OPEN)))
    elif status:
        query = query.where(Request.status == status)
    if zone_id:
        query = query.where(Request.zone_id == zone_id)
    if text:
        pattern = f"%{text.strip()}%"
        query = query.where(or_(Request.title.ilike(pattern), Request.description.ilike(pattern)))
    return query


async def list_requests(unit: Unit, actor: Actor, *, scope: str = "all", status: str | None = None,
                        zone_id: str | None = None, text: str | None = None, limit: int = 50,
                        offset: int = 0) -> list[RequestSummary]:
    """Requests this person may see, filtered in SQL by the access rules. Scopes: all, mine, queue, assigned."""
    newest = (Request.updated_at.desc(), Request.id.desc())
    # The page's numbers first, then their rows: the numbers come from an index (ix_requests_list)
    # without reading, let alone sorting, every open request of the zones.
    page = (_list_query(unit, actor, scope, status, zone_id, text).with_only_columns(Request.id)
            .order_by(*newest).limit(limit).offset(offset))
    query = select(Request).where(Request.id.in_(page.scalar_subquery())).order_by(*newest)
    async with unit.sessions() as session:
        rows = (await session.execute(query)).scalars()
        return [RequestSummary(r.id, r.title, r.zone_id, r.team_id, r.status, r.priority, r.assignee_email,
                               r.requester_email, r.requester_name, r.updated_at, r.created_at) for r in rows]


async def count_requests(unit: Unit, actor: Actor, *, scope: str = "all", status: str | None = None) -> int:
    """How many requests `list_requests` would find without a limit."""
    query = _list_query(unit, actor, scope, status, None, None).with_only_columns(func.count())
    async with unit.sessions() as session:
        return int(await session.scalar(query) or 0)


async def list_tasks(unit: Unit, actor: Actor, *, status: str | None = "open") -> list[TaskView]:
    """Tasks addressed to this person, their teams or their zones."""
    query = select(Task).where(unit.policy.task_clause(actor))
    if status:
        query = query.where(Task.status == status)
    async with unit.sessions() as session:
        return [_task_view(t) for t in (await session.execute(query.order_by(Task.id.desc()))).scalars()]


async def get_task(unit: Unit, actor: Actor, task_id: int) -> TaskView:
    """A task for its receivers, or for whoever may read its request."""
    async with unit.sessions() as session:
        task = await session.get(Task, task_id)
        if task is not None:
            request = await session.get(Request, task.request_id)
            if request is not None and (unit.policy.receives_task(actor, task)
                                        or unit.policy.level(actor, request) >= Level.READER):
                return _task_view(task)
    raise DeskError(_("Task T{task} was not found.", task=task_id))


def _task_view(task: Task) -> TaskView:
    return TaskView(task.id, task.request_id, task.from_zone, task.to_zone, task.to_team, task.to_agent, task.title,
                    task.body, task.status, task.created_by, task.created_at, task.outcome)
