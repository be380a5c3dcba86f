"""The service desk's use cases, platform-neutral: adapters call `Desk` with an `Actor` and an `Origin`."""

# Feature modules register their buttons and their reactions to changes when imported.
from bot.desk import approvals, surveys  # noqa: F401
from bot.desk.intake import Filed, title_from_text
from bot.desk.receive import Outcome, Received
from bot.desk.service import Desk
from bot.desk.types import WEB, CommentView, EventView, Origin, RequestDetail, RequestSummary, TaskView
from bot.desk.unit import Timers, Tx, Unit

__all__ = [
    "WEB",
    "CommentView",
    "Desk",
    "EventView",
    "Filed",
    "Origin",
    "Outcome",
    "Received",
    "RequestDetail",
    "RequestSummary",
    "TaskView",
    "Timers",
    "Tx",
    "Unit",
    "title_from_text",
]
