"""The scheduler: reminders, SLA timers, confirmation and auto-close, surveys, digests and weekly reports, as rows.

Due work lives in the `schedules` table, not in APScheduler's job store (which replicas cannot
share): every change to a request re-derives its timers in the same transaction
(`bot.scheduler.timers`), and each replica's tick claims the due rows with a lease and runs each
one's job in a transaction that also marks it done (`bot.scheduler.runner`), so a timer fires exactly
once across replicas, restarts and crashes.

The server calls `install(services)`: it sets the desk's timer hook and, unless
`ZONEDESK_SCHEDULER=off`, adds the tick to the server's periodic jobs. Importing this package
registers the jobs and the Solved / Not solved / rate buttons.
"""

from bot.scheduler import closing, digest, jobs, weekly  # noqa: F401  (registers jobs and buttons)
from bot.scheduler.runner import (
    JOBS,
    JobContext,
    Scheduler,
    TickReport,
    arm_approval_reminder,
    install,
    job,
    scheduler_enabled,
)
from bot.scheduler.timers import APPROVAL, AUTOCLOSE, CONFIRM, DEADLINE, SLA, STALE, SURVEY, WAITING, RequestTimers

__all__ = [
    "APPROVAL",
    "AUTOCLOSE",
    "CONFIRM",
    "DEADLINE",
    "JOBS",
    "SLA",
    "STALE",
    "SURVEY",
    "WAITING",
    "JobContext",
    "RequestTimers",
    "Scheduler",
    "TickReport",
    "arm_approval_reminder",
    "install",
    "job",
    "scheduler_enabled",
]
