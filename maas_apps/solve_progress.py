"""``maas dispatch``'s progress lines while the solver runs: each worker's plan after each stage, and a
line every ``QUIET_S`` seconds without one, so that a long batch is seen to move."""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO

from dispatch.progress import SolveProgress

QUIET_S = 15.0  # seconds without a stage ending before a "still searching" line


class SolveWatch:
    """A ``progress`` sink for ``dispatch.solver.solve`` that prints to ``out`` (stderr by default);
    as a context manager it also prints the "still searching" lines."""

    def __init__(self, started: float, limit: str, out: TextIO | None = None, quiet_s: float = QUIET_S) -> None:
        self._started = started
        self._limit = limit
        self._out = out or sys.stderr
        self._quiet_s = quiet_s
        self._best: SolveProgress | None = None
        self._last = time.perf_counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)

    def __call__(self, event: SolveProgress) -> None:
        if self._best is None or _rank(event) < _rank(self._best):
            self._best = event
        self._say(f"worker {event.worker}, {event.stage}: {_plan_text(event)}")

    def __enter__(self) -> SolveWatch:
        self._ticker.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._ticker.join()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            if time.perf_counter() - self._last < self._quiet_s:
                continue
            best = self._best
            found = "" if best is None else f"; best so far {_plan_text(best)}"
            self._say(f"still searching ({self._limit}){found}")

    def _say(self, message: str) -> None:
        with self._lock:
            self._last = time.perf_counter()
            print(f"[{self._last - self._started:6.1f} s] {message}", file=self._out, flush=True)


def _plan_text(event: SolveProgress) -> str:
    return f"{event.served}/{event.requests} served, {event.routes} routes, {event.distance:,.1f} km"


def _rank(event: SolveProgress) -> tuple[int, float]:
    """Riders left out, then distance: the solver's order for a city batch (vehicles do not count there)."""
    return (event.requests - event.served, event.distance)
