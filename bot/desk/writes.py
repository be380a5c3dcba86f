"""The statements of the hottest path, written by hand: claim inbound keys, insert new requests, link threads.

Filing a burst of requests runs these once per group rather than once per request (see
`bot.desk.intake`), and as SQL text that SQLite and PostgreSQL both speak: SQLAlchemy does not cache the
compiled form of its ON CONFLICT constructs, and compiling them cost a millisecond a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class

from bot.errors import Duplicate
from bot.model import Request, UtcDateTime

_REQUESTS = cast(Table, Request.__table__)
_REQUEST_CLASS = manager_of_class(Request)
# Every column of a new request but its number, with the model's defaults: the row is written with
# Core and its ORM object is built complete, so nothing about it is ever loaded back.
_NEW_REQUEST = {column.key: getattr(column.default, "arg", None) if column.default is not None
                and column.default.is_scalar else None for column in _REQUESTS.columns if not column.primary_key}
# The defaults the INSERT carries: the columns a filing gives no value and that have no default are
# left out (NULL by the table's own definition), so each row binds a third fewer values.
_FILING_DEFAULTS = {key: value for key, value in _NEW_REQUEST.items() if value is not None}


async def insert_requests(session: AsyncSession, rows: Sequence[dict[str, Any]], now: datetime) -> list[Request]:
    """Insert new requests with one statement and return them as persistent ORM objects, in order.

    The ORM's own flush inserts one row per statement on SQLite (it cannot trust the order RETURNING
    gives there). Here a group is one multi-row INSERT: on PostgreSQL SQLAlchemy orders the returned
    numbers by parameter (`sort_by_parameter_order`); on SQLite the numbers are sorted, since the rows
    of one INSERT take ascending numbers in the order of its VALUES (the write lock is ours).
    """
    if not rows:
        return []
    values = [{**_FILING_DEFAULTS, **row, "created_at": now, "updated_at": now} for row in rows]
    ordered = session.bind.dialect.name != "sqlite"
    statement = insert(_REQUESTS).returning(_REQUESTS.c.id, sort_by_parameter_order=ordered)
    numbers = [int(n) for n in (await session.execute(statement, values)).scalars()]
    if not ordered:
        numbers.sort()
    configure_mappers()  # a constructor would have (a no-op once done); new_instance does not
    made = []
    for number, row in zip(numbers, values, strict=True):
        # As a query loads a row: the column values straight into the instance's dict, no attribute
        # events (a constructor fires one per column, 34 of them); then the row's identity.
        request = _REQUEST_CLASS.new_instance()
        request.__dict__.update(_NEW_REQUEST, **row, id=number)
        make_transient_to_detached(request)
        made.append(request)
    session.add_all(made)  # persistent: later changes in this transaction are flushed as UPDATEs
    return made


async def claim_key(session: AsyncSession, key: str, source: str, now: datetime) -> None:
    """Mark an inbound key handled inside the action's transaction; a second claim raises Duplicate.

    The key may already be recorded, unprocessed, by `bot.delivery.inbox` (Slack: recorded before the ack);
    then this transaction is the one that processes it. Otherwise it is recorded here (Teams, web).
    One statement either way (an upsert that only updates an unprocessed row), no savepoint.
    """
    if key not in await claim_keys(session, [(key, source)], now):
        raise Duplicate(key)


async def claim_keys(session: AsyncSession, keys: Sequence[tuple[str, str]], now: datetime) -> set[str]:
    """`claim_key` for a group of (key, source) in one statement; returns the keys this transaction claimed."""
    rows = await session.execute(_many(_CLAIM_KEYS, len(keys)), {
        "now": now, **{f"key{i}": key for i, (key, _) in enumerate(keys)},
        **{f"source{i}": source for i, (_, source) in enumerate(keys)}})
    return {str(row[0]) for row in rows}


async def link_threads(session: AsyncSession, links: Sequence[dict[str, Any]]) -> list[int]:
    """Link origin threads to their requests in one statement; returns the request ids that got their link."""
    values = {f"{name}{i}": value for i, link in enumerate(links) for name, value in link.items()}
    return [int(row[0]) for row in await session.execute(_many(_LINK_THREADS, len(links)), values)]


@dataclass(frozen=True)
class _ManyRows:
    """A multi-row INSERT as text: the head, one VALUES group with `{i}` in its parameter names, the tail."""

    head: str
    row: str
    tail: str


# SQL that SQLite and PostgreSQL both speak, as text(): SQLAlchemy does not cache the compiled form of
# its ON CONFLICT constructs, and compiling them cost a millisecond a request on the hottest path.
_CLAIM_KEYS = _ManyRows(
    "INSERT INTO inbound (key, source, received_at, processed_at, attempts) VALUES ",
    "(:key{i}, :source{i}, :now, :now, 0)",
    " ON CONFLICT (key) DO UPDATE SET processed_at = excluded.processed_at WHERE inbound.processed_at IS NULL "
    "RETURNING key")
_LINK_THREADS = _ManyRows(
    "INSERT INTO thread_links (platform, channel, thread, request_id, purpose) VALUES ",
    "(:platform{i}, :channel{i}, :thread{i}, :request_id{i}, :purpose{i})",
    " ON CONFLICT DO NOTHING RETURNING request_id")
_TEXTS: dict[tuple[_ManyRows, int], Any] = {}


def _many(shape: _ManyRows, count: int) -> Any:
    """The statement for `count` rows, built once per size (text() with bound parameters: nothing inlined)."""
    statement = _TEXTS.get((shape, count))
    if statement is None:
        sql = shape.head + ", ".join(shape.row.format(i=i) for i in range(count)) + shape.tail
        statement = text(sql)
        if shape is _CLAIM_KEYS:
            statement = statement.bindparams(bindparam("now", type_=UtcDateTime()))
        if len(_TEXTS) < 512:
            _TEXTS[(shape, count)] = statement
    return statement

