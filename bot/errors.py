"""The one error kind users see: a message fit for the person who caused it."""

from __future__ import annotations

from bot.i18n import _


class DeskError(Exception):
    """Something the person asked cannot be done; the message says why, in their terms."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DeskError):
    """The request does not exist, or the person may not know it exists: the same answer for both."""

    def __init__(self, number: int | str) -> None:
        super().__init__(_("Request #{number} was not found.", number=number))
        self.number = number


class Duplicate(DeskError):
    """The same platform event or click was already handled; the adapter acknowledges and ignores it."""

    def __init__(self, key: str) -> None:
        super().__init__(_("This was already handled."))
        self.key = key
