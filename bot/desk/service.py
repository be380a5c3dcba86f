"""`Desk`: the front every adapter calls, over the use cases of this package.

`Desk` is the unit of work (`bot.desk.unit.Unit`: transactions, the policy, the live channels) with
the use cases attached by name, so an adapter needs one object. Each use case lives in the module of
its concept and is written only on the unit of work; a new feature is a new module beside them that
uses the same few calls (see `bot/desk/unit.py`), not a new method here.

| concept | module |
|---|---|
| filing, group commit, routing | `intake` |
| a chat message: file it, add it to its request, or not | `receive` |
| replies, notes, the requester's comments | `conversation` |
| claim, assign, accept | `ownership` |
| status moves, cancel, reopen | `lifecycle` |
| urgency, weight, categories, deadline, labels, relations | `fields` |
| transfer to another zone | `transfers` |
| tasks to teams and agents | `tasks` |
| what a person may read | `reads` |
| approvals, surveys (feature modules) | `approvals`, `surveys` |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.access import Actor
from bot.clock import Clock
from bot.config import AppConfig, Zone
from bot.desk import conversation, fields, lifecycle, ownership, reads, tasks, transfers
from bot.desk import receive as receiving
from bot.desk.intake import Filed, Intake, intake_zone, mapped_zone
from bot.desk.receive import Received, Writer
from bot.desk.types import Origin
from bot.desk.unit import Timers, Tx, Unit, compute_priority
from bot.model import Request


class Desk(Unit):
    """The service desk's use cases over one configuration, database and clock."""

    def __init__(
        self,
        config: AppConfig,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        timers: Timers | None = None,
        on_commit: Callable[[], None] | None = None,
        on_settled: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        super().__init__(config, sessions, clock, timers=timers, on_commit=on_commit, on_settled=on_settled)
        self.intake = Intake(self)
        # Forms and saved replies (bot.catalog.Catalog), set by the server; the core's commands use it.
        self.catalog: Any = None

    # ---------------------------------------------------------------- intake
    async def file_request(
        self,
        actor: Actor,
        origin: Origin,
        title: str,
        description: str = "",
        *,
        zone_id: str | None = None,
        category_id: str | None = None,
        urgency: str | None = None,
        on_behalf_of: tuple[str, str] | None = None,
        form_id: str | None = None,
        answers: Sequence[tuple[str, str, str, Any]] = (),
        deadline: datetime | None = None,
        dedupe_key: str | None = None,
        link_origin_thread: bool = True,
        team_id: str | None = None,
        after: Callable[[Tx, Request], Awaitable[None]] | None = None,
    ) -> Filed:
        """File a request from any channel (see `bot.desk.intake.Intake.file_request`)."""
        return await self.intake.file_request(
            actor, origin, title, description, zone_id=zone_id, category_id=category_id, urgency=urgency,
            on_behalf_of=on_behalf_of, form_id=form_id, answers=answers, deadline=deadline, dedupe_key=dedupe_key,
            link_origin_thread=link_origin_thread, team_id=team_id, after=after)

    async def receive(self, writer: Writer, origin: Origin, text: str, key: str, *, addressed: bool, direct: bool,
                      reply_to: str | None = None, aliases: Sequence[str] = ()) -> Received:
        """A chat message, decided the same for every channel (see `bot.desk.receive.receive`)."""
        return await receiving.receive(self.intake, writer, origin, text, key, addressed=addressed, direct=direct,
                                       reply_to=reply_to, aliases=aliases)

    def intake_zone(self, platform: str, channel: str | None) -> str | None:
        """The zone a chat channel files into; for a DM, the dispatcher zone when `app.yaml` routes there."""
        return intake_zone(self.config, platform, channel)

    def channel_zone(self, platform: str, *channels: str | None) -> str | None:
        """The zone `app.yaml` maps a chat channel to, if any (trying each id the channel goes by)."""
        return mapped_zone(self.config, platform, *channels)

    def filing_zones(self) -> list[Zone]:
        """Zones a requester may choose from."""
        return list(self.config.zones)

    def compute_priority(self, urgency: str, weight: str | None, category_id: str | None,
                         internal: str | None) -> str:
        """Requester's urgency x dispatcher's weight from the matrix, raised to any category floor."""
        return compute_priority(self.config, urgency, weight, category_id, internal)

    # ---------------------------------------------------------------- the use cases, by concept
    reply = conversation.reply
    note = conversation.note
    comment = conversation.comment

    claim = ownership.claim
    assign = ownership.assign
    accept = ownership.accept

    set_status = lifecycle.set_status
    cancel = lifecycle.cancel
    reopen = lifecycle.reopen

    set_urgency = fields.set_urgency
    set_weight = fields.set_weight
    set_category = fields.set_category
    set_internal_category = fields.set_internal_category
    set_deadline = fields.set_deadline
    add_label = fields.add_label
    remove_label = fields.remove_label
    relate = fields.relate

    transfer = transfers.transfer
    create_task = tasks.create_task
    complete_task = tasks.complete_task

    get_request = reads.get_request
    list_requests = reads.list_requests
    count_requests = reads.count_requests
    list_tasks = reads.list_tasks
    get_task = reads.get_task

    handled = receiving.handled
    mark_handled = receiving.mark_handled
    thread_request = receiving.thread_request
