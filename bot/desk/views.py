"""Saved views: a request list's query kept under a name, the owner's own or shared with one of their teams.

A view keeps the list's URL query (filter, sort and columns, as `bot.desk.listing` reads it), never
its rows: whoever opens it gets the list their own access selects, so a view shared with a team shows
each member what that member may see. Who may open, change or share a view is `Policy`'s to decide
(`view_clause`, `may_open_view`, `may_change_view`, `may_share_view_with`); a view someone may not open
does not exist for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from multidict import MultiDict
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Actor, name_from_email
from bot.desk.listing import ListQuery
from bot.desk.unit import Unit
from bot.errors import DeskError
from bot.i18n import _
from bot.model import SavedView

NAME_LIMIT = 80
QUERY_LIMIT = 4000
VIEWS_LIMIT = 100  # a person's own views
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ViewNotFound(DeskError):
    """No such view, or one the person may not open: the same answer for both."""

    def __init__(self) -> None:
        super().__init__(_("This saved view was not found. It may have been deleted, or it is not shared with "
                           "a team of yours."))


@dataclass(frozen=True)
class ViewInfo:
    """A saved view as its reader sees it: `mine` when they own it (and so may rename, share or delete it)."""

    id: int
    name: str
    query: str
    team_id: str | None
    owner_email: str
    owner_name: str
    mine: bool
    updated_at: datetime

    def list_query(self, unit: Unit) -> ListQuery:
        """The list it asks for, read as any list query is (a `FilterError` if the desk changed under it)."""
        return ListQuery.from_query(MultiDict(parse_qsl(self.query, keep_blank_values=False)), unit.config)


def canonical_query(unit: Unit, query: str) -> str:
    """A list's URL query as a view keeps it: read and written back (its filter, sort and columns; never where
    a page starts). Raises `FilterError` for values no list can take."""
    if len(query) > QUERY_LIMIT:
        raise DeskError(_("This list is too long to save as a view."))
    values = MultiDict((k, v) for k, v in parse_qsl(query.lstrip("?")) if k not in ("after", "view"))
    return urlencode(ListQuery.from_query(values, unit.config).to_query())


def _name(name: str) -> str:
    cleaned = " ".join(_CONTROL.sub(" ", name).split())
    if not cleaned:
        raise DeskError(_("Give the view a name."))
    if len(cleaned) > NAME_LIMIT:
        raise DeskError(_("A view's name is at most {limit} characters.", limit=NAME_LIMIT))
    return cleaned


def _info(unit: Unit, actor: Actor, view: SavedView) -> ViewInfo:
    person = unit.config.person(view.owner_email)
    return ViewInfo(view.id, view.name, view.query, view.team_id, view.owner_email,
                    person.name if person else name_from_email(view.owner_email),
                    view.owner_email == actor.email, view.updated_at)


def _check_team(unit: Unit, actor: Actor, team_id: str | None) -> None:
    if team_id is not None and not unit.policy.may_share_view_with(actor, team_id):
        raise DeskError(_("A view can be shared only with a team you are a member of."))


async def save_view(unit: Unit, actor: Actor, name: str, query: str, team_id: str | None = None) -> ViewInfo:
    """Save a list's query under a name: the actor's own, or shared with one of their teams (`team_id`)."""
    name = _name(name)
    kept = canonical_query(unit, query)
    _check_team(unit, actor, team_id)
    async with unit.transaction() as tx:
        owned = await tx.session.scalar(select(func.count()).select_from(SavedView).where(
            SavedView.owner_email == actor.email))
        if (owned or 0) >= VIEWS_LIMIT:
            raise DeskError(_("You have {limit} saved views, the most one person may keep; delete one first.",
                              limit=VIEWS_LIMIT))
        await _unique(tx.session, actor, name, None)
        view = SavedView(owner_email=actor.email, name=name, query=kept, team_id=team_id, created_at=tx.now,
                         updated_at=tx.now)
        tx.session.add(view)
        try:
            await tx.session.flush()
        except IntegrityError:  # saved twice at once (a double click): the name is taken
            raise DeskError(_("You already have a view called '{name}'.", name=name)) from None
        return _info(unit, actor, view)


async def _unique(session: AsyncSession, actor: Actor, name: str, other_than: int | None) -> None:
    query = select(SavedView.id).where(SavedView.owner_email == actor.email, SavedView.name == name)
    if other_than is not None:
        query = query.where(SavedView.id != other_than)
    if await session.scalar(query) is not None:
        raise DeskError(_("You already have a view called '{name}'.", name=name))


async def list_views(unit: Unit, actor: Actor) -> list[ViewInfo]:
    """The views the actor may open: their own first, then those shared with their teams, by name."""
    async with unit.sessions() as session:
        rows = (await session.execute(select(SavedView).where(unit.policy.view_clause(actor)))).scalars()
        views = [_info(unit, actor, v) for v in rows]
    return sorted(views, key=lambda v: (not v.mine, v.name.lower(), v.id))


async def get_view(unit: Unit, actor: Actor, view_id: int) -> ViewInfo:
    """One view the actor may open (`ViewNotFound` otherwise)."""
    async with unit.sessions() as session:
        view = await session.get(SavedView, view_id)
        if view is None or not unit.policy.may_open_view(actor, view):
            raise ViewNotFound()
        return _info(unit, actor, view)


async def _own(unit: Unit, actor: Actor, session: AsyncSession, view_id: int) -> SavedView:
    view = await session.get(SavedView, view_id)
    if view is None or not unit.policy.may_open_view(actor, view):
        raise ViewNotFound()
    if not unit.policy.may_change_view(actor, view):
        raise DeskError(_("Only the person who saved the view '{name}' can change or delete it.", name=view.name))
    return view


async def change_view(unit: Unit, actor: Actor, view_id: int, *, name: str | None = None,
                      team_id: str | None = None, share: bool = False, query: str | None = None) -> ViewInfo:
    """Rename a view of one's own, share it with one of one's teams or keep it to oneself (`share` with
    `team_id` None), or replace its list (`query`)."""
    new_name = _name(name) if name is not None else None
    kept = canonical_query(unit, query) if query is not None else None
    async with unit.transaction() as tx:
        view = await _own(unit, actor, tx.session, view_id)
        if share and team_id != view.team_id:  # keeping a team one has since left is not sharing anew
            _check_team(unit, actor, team_id)
        if new_name is not None and new_name != view.name:
            await _unique(tx.session, actor, new_name, view.id)
            view.name = new_name
        if share:
            view.team_id = team_id
        if kept is not None:
            view.query = kept
        view.updated_at = tx.now
        try:
            await tx.session.flush()
        except IntegrityError:
            raise DeskError(_("You already have a view called '{name}'.", name=new_name or view.name)) from None
        return _info(unit, actor, view)


async def delete_view(unit: Unit, actor: Actor, view_id: int) -> str:
    """Delete a view of one's own; returns its name (for the confirmation)."""
    async with unit.transaction() as tx:
        view = await _own(unit, actor, tx.session, view_id)
        name = view.name
        await tx.session.delete(view)
        return name
