"""`zonedesk export FILE`, `zonedesk import FILE`, `zonedesk erase --person EMAIL`.

Export writes every table as JSON Lines (a header line with the schema revision, then one line per
row, parents before children), so a backup moves between SQLite and PostgreSQL; tables the database's
triggers derive from the others (`DERIVED`: the analytics facts) are left out, and the import writes
them again as it loads the rows they mirror. Import loads such a file into an empty database only.
Erase removes what identifies a person: their identities, labels, sign-in links, saved language,
surveys' comments and the files they sent (rows and bytes) go; their name and e-mail on requests,
comments and history are replaced by a pseudonym, and the text they wrote is replaced by "[erased]".
The requests themselves stay (other people worked on them), and an `erased` event records that it
happened, without the address.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import store
from bot.files.attachments import drop_unnamed, forget_uploads
from bot.files.store import FileStore, store_from_env
from bot.model import (
    ApprovalVote,
    Base,
    Bundle,
    BundleMember,
    Collaborator,
    Comment,
    Consultation,
    ConversationRef,
    Event,
    FormAnswer,
    Identity,
    Label,
    LoginToken,
    PersonLanguage,
    Request,
    Survey,
)

FORMAT = "zonedesk-export"
ERASED = "[erased]"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$dt"}:
        return datetime.fromisoformat(value["$dt"])
    return value


DERIVED = frozenset({"analytics_facts"})
"""Tables the database's triggers write from the others (migration 0020): not exported; an import writes
them again as it loads the rows they mirror."""


def _kept_tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in DERIVED]


async def export_all(engine: AsyncEngine, path: Path) -> dict[str, int]:
    """Write every table but the derived ones to `path`; returns rows per table."""
    counts: dict[str, int] = {}
    revisions = sorted(await store.current_revisions(engine))
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"format": FORMAT, "revisions": revisions}) + "\n")
        async with engine.connect() as conn:
            for table in _kept_tables():
                result = await conn.stream(select(table))
                count = 0
                async for row in result.mappings():
                    out.write(json.dumps({"table": table.name, "row": {k: _encode(v) for k, v in row.items()}}) + "\n")
                    count += 1
                counts[table.name] = count
    return counts


async def import_all(engine: AsyncEngine, path: Path) -> dict[str, int]:
    """Load an export into an empty, migrated database; refuses to mix with existing requests."""
    tables = {t.name: t for t in _kept_tables()}
    with path.open(encoding="utf-8") as source:
        header = json.loads(source.readline() or "{}")
        if header.get("format") != FORMAT:
            raise ValueError(f"{path} is not a Zonedesk export")
        revisions = sorted(await store.current_revisions(engine))
        if header.get("revisions") != revisions:
            raise ValueError(f"the export is of schema {header.get('revisions')}, this database is at {revisions}: "
                             "upgrade both to the same version first")
        async with engine.begin() as conn:
            if await conn.scalar(select(func.count()).select_from(Request)):
                raise ValueError("the database already holds requests; import only into an empty database")
            counts: dict[str, int] = {}
            batch: dict[str, list[dict[str, Any]]] = {}

            async def flush(name: str) -> None:
                if batch.get(name):
                    await conn.execute(insert(tables[name]), batch[name])
                    counts[name] = counts.get(name, 0) + len(batch[name])
                    batch[name] = []

            current = None
            for line in source:
                item = json.loads(line)
                name = item["table"]
                if name != current and current is not None:
                    await flush(current)
                current = name
                batch.setdefault(name, []).append({k: _decode(v) for k, v in item["row"].items()})
                if len(batch[name]) >= 1000:
                    await flush(name)
            if current is not None:
                await flush(current)
            if engine.dialect.name == "postgresql":
                for table in tables.values():
                    if "id" in table.c and table.c.id.autoincrement is True:
                        await conn.exec_driver_sql(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                            f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table.name}), 1))")
    return counts


def pseudonym(email: str) -> str:
    """A stable stand-in for an erased address (the same person erased twice maps to the same one)."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:12]
    return f"erased-{digest}@erased.invalid"


async def erase_person(engine: AsyncEngine, email: str, now: datetime, files: FileStore | None = None
                       ) -> dict[str, int]:
    """Remove what identifies a person; returns what was changed per kind. The files they sent go with
    their rows; stored bytes no other row names are deleted from `files` after the commit."""
    email = email.strip().lower()
    alias = pseudonym(email)
    done: dict[str, int] = {}

    def count(name: str, result: Any) -> None:
        done[name] = done.get(name, 0) + int(result.rowcount or 0)

    async with engine.begin() as conn:
        theirs = list((await conn.execute(select(Request.id).where(Request.requester_email == email))).scalars())
        count("requests", await conn.execute(update(Request).where(Request.requester_email == email).values(
            requester_email=alias, requester_name="Erased person", title=ERASED, description=ERASED)))
        await conn.execute(update(Request).where(Request.filed_by_email == email).values(filed_by_email=alias))
        await conn.execute(update(Request).where(Request.assignee_email == email).values(assignee_email=alias))
        count("comments", await conn.execute(update(Comment).where(Comment.author_email == email).values(
            author_email=alias, author_name="Erased person", body=ERASED)))
        if theirs:
            await conn.execute(delete(FormAnswer).where(FormAnswer.request_id.in_(theirs)))
        count("history", await conn.execute(update(Event).where(Event.actor_email == email).values(
            actor_email=alias, actor_name="Erased person")))
        await conn.execute(update(ApprovalVote).where(ApprovalVote.approver_email == email).values(
            approver_email=alias, comment=None))
        await conn.execute(update(Survey).where(Survey.requester_email == email).values(
            requester_email=alias, comment=None))
        keys = await forget_uploads(conn, email)
        count("identities", await conn.execute(delete(Identity).where(Identity.email == email)))
        await conn.execute(delete(Label).where(Label.owner_email == email))
        await conn.execute(update(Bundle).where(Bundle.created_by == email).values(created_by=alias))
        await conn.execute(update(BundleMember).where(BundleMember.added_by == email).values(added_by=alias))
        await conn.execute(delete(LoginToken).where(LoginToken.email == email))
        done["guests"] = await _erase_guest(conn, email, alias)
        count("languages", await conn.execute(delete(PersonLanguage).where(PersonLanguage.email == email)))
        await conn.execute(delete(ConversationRef).where(or_(
            ConversationRef.key.contains(email), ConversationRef.reference["user_email"].as_string() == email)))
        if theirs:
            await conn.execute(insert(cast(Table, Event.__table__)), [
                {"request_id": n, "at": now, "actor_email": "zonedesk@system", "actor_name": "Zonedesk",
                 "channel": "cli", "kind": "erased", "data": {"who": "requester"}} for n in theirs])
    if files is not None and keys:
        async with engine.connect() as conn:
            done["files"] = await drop_unnamed(conn, files, keys)
    return done


async def _erase_guest(conn: Any, email: str, alias: str) -> int:
    """A person asked for their view, or an outside address brought into a request (bot.desk.consultation,
    bot.desk.collaborators): their rows and the history events naming them take the stand-in."""
    done = (await conn.execute(update(Consultation).where(Consultation.person_email == email).values(
        person_email=alias, person_name="Erased person"))).rowcount or 0
    await conn.execute(update(Consultation).where(Consultation.invited_by == email).values(invited_by=alias))
    done += (await conn.execute(update(Collaborator).where(Collaborator.email == email).values(
        email=alias))).rowcount or 0
    await conn.execute(update(Collaborator).where(Collaborator.invited_by == email).values(invited_by=alias))
    named = await conn.execute(select(Event.id, Event.data).where(
        Event.kind.in_(("consulted", "consultation_withdrawn", "collaborator_invited", "collaborator_removed")),
        or_(Event.data["person"].as_string() == email, Event.data["address"].as_string() == email)))
    for event_id, data in named.all():
        data = dict(data)
        if data.get("person") == email:
            data.update(person=alias, name="Erased person")
        if data.get("address") == email:
            data["address"] = alias
        await conn.execute(update(Event).where(Event.id == event_id).values(data=data))
    return int(done)


def _run(args: argparse.Namespace) -> int:
    from bot.clock import SystemClock

    url = store.database_url()
    store.upgrade(url)
    engine = store.create_engine(url)

    async def go() -> dict[str, int]:
        try:
            if args.command == "export":
                return await export_all(engine, Path(args.file))
            if args.command == "import":
                return await import_all(engine, Path(args.file))
            files = store_from_env(os.environ, store.sqlite_path(url))
            return await erase_person(engine, args.person, SystemClock().now(), files)
        finally:
            await engine.dispose()

    try:
        counts = asyncio.run(go())
    except (ValueError, OSError) as exc:
        print(f"zonedesk {args.command}: {exc}", file=sys.stderr)
        return 2
    summary = ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "nothing"
    print(f"{args.command}: {summary}")
    return 0


def register(sub: Any) -> None:
    """Add export, import and erase to the command line."""
    export = sub.add_parser("export", help="write the whole database to a file (JSON Lines)")
    export.add_argument("file")
    export.set_defaults(handler=_run)
    load = sub.add_parser("import", help="load an export into an empty database")
    load.add_argument("file")
    load.set_defaults(handler=_run)
    erase = sub.add_parser("erase", help="erase what identifies a person (right to erasure)")
    erase.add_argument("--person", required=True, metavar="EMAIL")
    erase.set_defaults(handler=_run)
