"""Moving a request to another zone: only along the zones' transfer rules, and it starts anew there."""

from __future__ import annotations

from sqlalchemy import delete, or_

from bot.access import Actor, Level
from bot.delivery.messages import Message
from bot.desk.intake import announce, check_category, team_for
from bot.desk.status import OPEN, status_word
from bot.desk.unit import Unit, compute_priority
from bot.errors import DeskError
from bot.i18n import N_, _
from bot.model import Relation


async def transfer(unit: Unit, actor: Actor, number: int, to_zone: str, *, category_id: str | None = None,
                   reason: str | None = None, dedupe_key: str | None = None) -> str:
    """Move a request to another zone (a dispatcher zone's routing is a transfer too).

    Only to zones the current zone may transfer to, while transfers are switched on. The request
    loses its relations and its zone-specific categories, becomes new in the target zone, and the
    origin zone keeps no access unless the target zone's visibility grants it.
    """
    async with unit.transaction(dedupe_key) as tx:
        request = await tx.load(actor, number, Level.AGENT, N_("transfer it"))
        source = unit.zone(request.zone_id)
        target = unit.zone(to_zone)
        if not source.transfers_enabled:
            raise DeskError(_("Transfers out of {zone} are switched off.", zone=source.name))
        if target.id not in source.transfer_to:
            if not source.transfer_to:
                raise DeskError(_("{source} may not transfer requests to {target}. Allowed: no zone.",
                                  source=source.name, target=target.name))
            raise DeskError(_("{source} may not transfer requests to {target}. Allowed: {allowed}.",
                              source=source.name, target=target.name,
                              allowed=", ".join(unit.zone(z).name for z in source.transfer_to)))
        if request.status not in OPEN:
            raise DeskError(_("Request #{number} is {status}; only open requests can be transferred.", number=number,
                              status=status_word(request.status)))
        if category_id is not None:
            check_category(target, category_id)
        await tx.session.execute(delete(Relation).where(or_(Relation.a_id == number, Relation.b_id == number)))
        request.zone_id = target.id
        request.category_id = category_id
        request.internal_category = None
        request.team_id = team_for(unit.config, target, category_id)
        request.assignee_email = None
        request.status = "new"
        request.waiting_reason = None
        request.priority = compute_priority(unit.config, request.urgency, request.weight, category_id, None)
        await tx.record(request, actor, "transferred", source=source.id, target=target.id, category=category_id,
                        reason=reason)
        await tx.to_thread(request, lambda: Message(text=_("Request #{number} is now handled by {zone}.",
                                                           number=number, zone=target.name),
                                                    extra={"number": number}), kind="status")
        await announce(tx, request)
        return target.name
