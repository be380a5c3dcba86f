"""The agent desk `/desk` (the queue and one's own work) and task pages `/tasks/{id}` for their receivers."""

from __future__ import annotations

from aiohttp import web

from adapters.web.pages import Pager
from adapters.web.site import Site, Visit
from bot.errors import DeskError, NotFound
from bot.i18n import _


class AgentDesk:
    """Routes for agents and task receivers."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.desk = site.desk

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Mount the desk and the task pages."""
        route = self.site.route
        router.add_get("/desk", route(self.dashboard))
        router.add_get(r"/tasks/{task:\d{1,9}}", route(self.task))
        router.add_post(r"/tasks/{task:\d{1,9}}/done", route(self.task_done))

    async def dashboard(self, visit: Visit) -> web.StreamResponse:
        """Open requests the agent may work, those assigned to them, and tasks for them or their teams."""
        actor = visit.user
        if not actor.is_staff:
            return self.site.problem(visit, 403, _("The desk is for agents"),
                                     _("You are not a member of any team, so there is no queue for you. "
                                       "Your own requests are under My requests."))
        # Counts are counted, never the length of a page; each list pages on its own (?assigned=2&queue=3).
        query, path = visit.request.query, visit.request.path
        assigned_pages = Pager.of(path, query, "assigned",
                                  await self.desk.count_requests(actor, scope="assigned", status="open"))
        queue_pages = Pager.of(path, query, "queue", await self.desk.count_requests(actor, scope="queue"))
        assigned = await self.desk.list_requests(actor, scope="assigned", status="open", limit=assigned_pages.size,
                                                 offset=assigned_pages.offset)
        queue = await self.desk.list_requests(actor, scope="queue", limit=queue_pages.size, offset=queue_pages.offset)
        tasks = await self.desk.list_tasks(actor)
        config = self.site.config
        # Someone phoned or stopped by: the zones the agent may file a request for them in (decision 0011).
        file_for = [z for z in self.desk.filing_zones() if self.desk.policy.may_file_on_behalf(actor, z.id)]
        return self.site.page(
            visit, "desk.html", queue=queue, queue_pages=queue_pages, assigned=assigned,
            assigned_pages=assigned_pages, tasks=tasks, file_for=file_for,
            zone_names={z.id: z.name for z in config.zones}, team_names={t.id: t.name for t in config.teams},
            people={p.email: p.name for p in config.people},
        )

    async def task(self, visit: Visit, errors: tuple[str, ...] = (), typed: dict[str, str] | None = None
                   ) -> web.StreamResponse:
        """A task for its receivers: its title, text and status, never the request behind it."""
        task_id = int(visit.request.match_info["task"])
        try:
            task = await self.desk.get_task(visit.user, task_id)
        except DeskError as exc:
            return self.site.problem(visit, 404, _("Not found"), exc.message)
        try:  # a link to the request only for those who may read it
            await self.desk.get_request(visit.user, task.request_id)
            request_link = f"/requests/{task.request_id}"
        except NotFound:
            request_link = None
        config = self.site.config
        zone_names = {z.id: z.name for z in config.zones}
        team = config.team(task.to_team) if task.to_team else None
        agent = config.person(task.to_agent) if task.to_agent else None
        creator = config.person(task.created_by)
        return self.site.page(
            visit, "task.html", 400 if errors else 200, errors=errors, task=task, request_link=request_link,
            from_zone=zone_names.get(task.from_zone, task.from_zone),
            to_zone=zone_names.get(task.to_zone, task.to_zone),
            to_team=team.name if team else task.to_team, to_agent=agent.name if agent else task.to_agent,
            creator=creator.name if creator else task.created_by, typed=typed or {},
        )

    async def task_done(self, visit: Visit) -> web.StreamResponse:
        """Mark a task done, with an optional outcome the request's owners read."""
        task_id = int(visit.request.match_info["task"])
        try:
            await self.desk.get_task(visit.user, task_id)
        except DeskError as exc:
            return self.site.problem(visit, 404, _("Not found"), exc.message)
        try:
            await self.desk.complete_task(visit.user, task_id, visit.field("outcome"))
        except DeskError as exc:
            return await self.task(visit, (exc.message,), {"outcome": visit.field("outcome")})
        visit.session.flash(_("Task T{task} is done.", task=task_id))
        return self.site.redirect(f"/tasks/{task_id}")
