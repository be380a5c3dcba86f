"""Acknowledgements first: background Slack work steps aside while a request is being answered.

One process serves Slack's requests and does the work they cause (filing, sending, App Home). Slack
times only the first; asyncio has no priorities, so work started after an ack waits at its next step
until no request is in flight. Under a burst the filing falls behind (the inbox holds it safely) and
the acknowledgements stay fast. See docs/decisions/0004-slack-ack-and-inbox.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

LONGEST_STEP_ASIDE = 0.01  # seconds one step of background work gives way to acknowledgements


class AckFirst:
    """Counts requests being answered; `wait` returns when there are none."""

    def __init__(self) -> None:
        self._answering = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around the handling of one inbound HTTP request."""
        self._answering += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if not self._answering:
                self._quiet.set()

    async def wait(self) -> None:
        """Let pending acknowledgements go first (returns at once when none are pending).

        Never longer than `LONGEST_STEP_ASIDE`: under a sustained load some request is always in
        flight, and work that waited for a quiet moment would never run (the inbox and the outbox
        would grow without end while the acknowledgements looked fine).
        """
        if self._answering:
            try:
                await asyncio.wait_for(self._quiet.wait(), timeout=LONGEST_STEP_ASIDE)
            except TimeoutError:
                pass
