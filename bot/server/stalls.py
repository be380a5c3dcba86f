"""How long the event loop stood still: loop lag and garbage-collector pauses, as Prometheus histograms.

Everything a server process does runs on one event loop (SQLite statements too, see `bot.store.sqlite_inline`),
so an acknowledgement waits for whatever holds the loop. These two figures say whether a slow answer
was the server's doing: `zonedesk_event_loop_lag_seconds` (how late a 50 ms timer woke up) and
`zonedesk_gc_pause_seconds` (each pass of Python's cyclic collector, by generation). When the loop is
held longer than `report_after` seconds, a watchdog thread logs a warning with where the loop's thread
was (code locations only: no data), once per stall, so the cause of a slow spell can be found.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import threading
import time
import traceback
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, Histogram

EVERY = 0.05
REPORT_AFTER = 0.25
log = logging.getLogger(__name__)
BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class StallWatch:
    """Measures loop lag (a task that wakes every EVERY seconds) and GC pauses (a `gc.callbacks` hook)."""

    def __init__(self, registry: CollectorRegistry, report_after: float = REPORT_AFTER) -> None:
        self.lag = Histogram("zonedesk_event_loop_lag_seconds", "How late the event loop ran a 50 ms timer",
                             registry=registry, buckets=BUCKETS)
        self.worst = Gauge("zonedesk_event_loop_lag_max_seconds", "The longest loop lag since the process started",
                           registry=registry)
        self.gc = Histogram("zonedesk_gc_pause_seconds", "Pauses of the cyclic garbage collector", ["generation"],
                            registry=registry, buckets=BUCKETS)
        self._task: asyncio.Task[None] | None = None
        self._gc_started = 0.0
        self._most = 0.0
        self.report_after = report_after
        self._beat = time.monotonic()
        self._loop_thread = threading.get_ident()
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None

    def start(self) -> None:
        """Begin measuring (on the running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="stall-watch")
            gc.callbacks.append(self._on_gc)
            self._beat, self._loop_thread = time.monotonic(), threading.get_ident()
            self._stopping.clear()
            self._watchdog = threading.Thread(target=self._guard, name="stall-watchdog", daemon=True)
            self._watchdog.start()

    async def stop(self) -> None:
        """Stop measuring."""
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)
        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=1)
            self._watchdog = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time()
            await asyncio.sleep(EVERY)  # the instrument: how late this wakes is the lag
            late = max(0.0, loop.time() - asked - EVERY)
            self._beat = time.monotonic()
            self.lag.observe(late)
            if late > self._most:
                self._most = late
                self.worst.set(late)

    def _guard(self) -> None:
        """Watchdog thread: while the loop's heartbeat is overdue, say once where the loop's thread is."""
        told = 0.0
        while not self._stopping.wait(EVERY):
            beat = self._beat
            held = time.monotonic() - beat - EVERY
            if held < self.report_after or told == beat:
                continue
            told = beat
            frame = sys._current_frames().get(self._loop_thread)
            where = "".join(traceback.format_stack(frame)[-15:]) if frame is not None else "(unknown)\n"
            log.warning("the event loop has been held for %.0f ms; its thread is at:\n%s", held * 1000, where)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started:
            self.gc.labels(str(info.get("generation", "?"))).observe(time.perf_counter() - self._gc_started)
