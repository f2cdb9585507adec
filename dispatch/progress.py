"""What a running solve tells its caller: the best plan of a worker after each stage.

A batch of thousands of requests runs for the whole time limit; an operator watching the terminal
wants to see that it moves and where it stands. ``solve(..., progress=sink)`` calls ``sink`` with a
``SolveProgress`` after every stage of every worker (from the parent process where workers run in
processes). Reporting reads the plan only; the search is the same with or without it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dispatch.model import Problem
from dispatch.plan import RoutePlan


@dataclass(frozen=True, slots=True)
class SolveProgress:
    """A worker's plan after a stage: ``seconds`` since that worker started, ``distance`` in the
    problem's own units (km for ``maas dispatch``)."""

    worker: int
    stage: str
    seconds: float
    served: int
    requests: int
    routes: int
    distance: float


ProgressSink = Callable[[SolveProgress], None]


class StageReporter:
    """Turns a worker's plans into ``SolveProgress`` for ``sink``; does nothing without one."""

    def __init__(self, problem: Problem, sink: ProgressSink | None, worker: int = 0) -> None:
        self._problem = problem
        self._sink = sink
        self._worker = worker
        self._started = time.perf_counter()

    def __call__(self, stage: str, plan: RoutePlan) -> None:
        if self._sink is None:
            return
        requests = len(self._problem.requests)
        event = SolveProgress(
            worker=self._worker,
            stage=stage,
            seconds=time.perf_counter() - self._started,
            served=requests - len(plan.unserved(self._problem)),
            requests=requests,
            routes=len(plan.routes),
            distance=plan.distance(self._problem),
        )
        self._sink(event)


class QueueSink:
    """A sink a worker process can call: puts events on a ``multiprocessing.Manager`` queue the parent
    drains. A queue that cannot be reached (its manager gone) is left alone: reporting must not end a
    search."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def __call__(self, event: SolveProgress) -> None:
        with contextlib.suppress(OSError, EOFError):
            self._queue.put(event)


def drain(queue: Any, sink: ProgressSink) -> None:
    """Hand every event waiting on ``queue`` to ``sink``, in order."""
    import queue as queue_module

    while True:
        try:
            event = queue.get_nowait()
        except (queue_module.Empty, OSError, EOFError):
            return
        sink(event)
