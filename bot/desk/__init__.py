"""The service desk's use cases, platform-neutral: adapters call `Desk` with an `Actor` and an `Origin`."""

from bot.desk.service import Desk, Filed, Timers, Tx, title_from_text
from bot.desk.types import WEB, CommentView, EventView, Origin, RequestDetail, RequestSummary, TaskView

__all__ = [
    "WEB",
    "CommentView",
    "Desk",
    "EventView",
    "Filed",
    "Origin",
    "RequestDetail",
    "RequestSummary",
    "TaskView",
    "Timers",
    "Tx",
    "title_from_text",
]
