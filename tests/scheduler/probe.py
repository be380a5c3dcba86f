"""A job for exactly-once tests: each run writes one outbox row named after its timer, after a little work."""

from __future__ import annotations

import asyncio

from bot.scheduler import JobContext, job

PROBE = "probe"


@job(PROBE)
async def probe(context: JobContext) -> str:
    """One outbox row per run; `fail` in the data makes it raise after writing it (so nothing may commit)."""
    context.tx.enqueue(platform="probe", kind="probe", conversation=context.row.key, target={"n": context.data["n"]})
    work = float(context.data.get("work", 0))
    if work:
        await asyncio.sleep(work)  # stands in for a job's own work, so a replica can die in the middle of one
    if context.data.get("fail"):
        raise RuntimeError("the probe was told to fail")
    return "probed"
