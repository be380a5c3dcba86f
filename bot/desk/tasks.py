"""Tasks: an agent asks a team or an agent, possibly of another zone, to do something for a request.

The receivers see the task (its title, the text shared with them, its status), never the request;
when it is done, the request's owners hear of it. Each hears it in their language: a task for an agent
in theirs, one for a team in its channel's (`Tx.to_person`, `Tx.to_triage` build it while it is spoken).
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.access import Actor, Level
from bot.config import Team
from bot.delivery.messages import Button, Message
from bot.desk.unit import TEXT_MAX, TITLE_MAX, Unit, clean_text
from bot.errors import DeskError
from bot.i18n import N_, _
from bot.model import Request, Task


async def create_task(unit: Unit, actor: Actor, number: int, title: str, body: str = "", *,
                      to_zone: str | None = None, to_team: str | None = None,
                      to_agent: str | None = None) -> int:
    """Ask a team or agent (possibly in another zone) to do something; they see the task, not the request."""
    title = clean_text(title, "task title", required=True, limit=TITLE_MAX)
    body = clean_text(body, "task text", required=False, limit=TEXT_MAX)
    team: Team | None = None
    if to_team is not None:
        team = unit.config.team(to_team)
        if team is None:
            raise DeskError(_("There is no team '{team}'.", team=to_team))
        to_zone = team.zone
    if to_agent is not None:
        agent = unit.actor(to_agent)
        if not agent.is_staff:
            raise DeskError(_("{agent} is not an agent.", agent=to_agent))
        if to_zone is None:
            to_zone = sorted(agent.zones)[0]
        elif to_zone not in agent.zones:
            raise DeskError(_("{agent} does not work in that {zone_noun}.", agent=to_agent,
                              zone_noun=unit.config.organisation.zone_noun))
        if team is not None and team.id not in agent.teams:
            raise DeskError(_("{agent} is not a member of {team}.", agent=to_agent, team=team.name))
        to_agent = agent.email
    if to_zone is None:
        raise DeskError(_("Name the team or agent the task is for."))
    target = unit.zone(to_zone)
    async with unit.transaction() as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("create tasks"))
        source = unit.zone(request.zone_id)
        if target.id != source.id:
            if not source.tasks_enabled:
                raise DeskError(_("Tasks from {source} to another {zone_noun} are switched off.",
                                  source=source.name, zone_noun=unit.config.organisation.zone_noun))
            if target.id not in source.tasks_to:
                if not source.tasks_to:
                    raise DeskError(_("{source} may not send tasks to {target}. Allowed: none.",
                                      source=source.name, target=target.name))
                raise DeskError(_("{source} may not send tasks to {target}. Allowed: {allowed}.",
                                  source=source.name, target=target.name,
                                  allowed=", ".join(unit.zone(z).name for z in source.tasks_to)))
        task = Task(request_id=number, from_zone=source.id, to_zone=target.id, to_team=to_team,
                    to_agent=to_agent, title=title, body=body, status="open", created_by=actor.email,
                    created_at=tx.now)
        tx.session.add(task)
        await tx.session.flush()
        await tx.record(request, actor, "task_created", task=task.id, zone=target.id, team=to_team,
                            agent=to_agent, title=title)
        task_id = task.id

        def message() -> Message:  # built in the receiver's language (the agent's, or the team channel's)
            return Message(title=_("New task T{task} from {source}: {title}", task=task_id, source=source.name,
                                   title=title), text=body[:1500],
                           link=f"{unit.config.organisation.base_url.rstrip('/')}/tasks/{task_id}",
                           buttons=(Button("task_done", _("Mark done"), str(task_id), "primary"),),
                           extra={"task": task_id})

        if to_agent is not None:
            await tx.to_person(to_agent, message, number, target.id)
        else:
            await tx.to_triage(target.id, to_team, message, number, "task")
        return task.id


async def complete_task(unit: Unit, actor: Actor, task_id: int, outcome: str = "") -> int:
    """The receiver marks a task done; the request's owners hear of it."""
    outcome = clean_text(outcome, "outcome", required=False, limit=TEXT_MAX)
    async with unit.transaction() as tx:
        task = await tx.session.get(Task, task_id)
        if task is None:
            raise DeskError(_("Task T{task} was not found.", task=task_id))
        request = await tx.session.get(Request, task.request_id)
        assert request is not None
        if not unit.policy.receives_task(actor, task) and unit.policy.level(actor, request) < Level.AGENT:
            raise DeskError(_("Task T{task} was not found.", task=task_id))
        if task.status != "open":  # a task is open or done
            raise DeskError(_("Task T{task} is already done.", task=task_id))
        task.status, task.done_at, task.done_by, task.outcome = "done", tx.now, actor.email, outcome or None
        await tx.record(request, actor, "task_done", task=task.id, outcome=outcome[:500])
        if request.status == "waiting" and request.waiting_reason == "task":
            still_open = await tx.session.scalar(select(func.count()).where(
                Task.request_id == request.id, Task.status == "open"))
            if not still_open:
                request.status, request.waiting_reason = "in_progress", None
        # The request's owners: its assignee, and the agent who asked for the task if they still
        # work on the request (it may have moved to a zone of which they see nothing since).
        owners = [request.assignee_email]
        if unit.policy.level(unit.actor(task.created_by), request) >= Level.AGENT:
            owners.append(task.created_by)
        number, title = request.id, task.title

        def done() -> Message:  # built in each owner's language
            return Message(title=_("Task T{task} on #{number} is done: {title}", task=task_id, number=number,
                                   title=title), text=outcome[:1500], link=unit.link(number), extra={"number": number})

        for email in dict.fromkeys(e.lower() for e in owners if e):
            await tx.to_person(email, done, request.id, request.zone_id)
        return request.id
