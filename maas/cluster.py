"""Where batch work runs: in this process, on a local Dask cluster, or on an existing Dask cluster.

Batch jobs (matrices, accessibility, fleet-sizing sweeps) are lists of independent tasks. They are
written once against :class:`Engine` and run unchanged on any of the three:

- ``ClusterSettings(workers=0)``: in this process, one task after the other (small jobs, tests);
- ``ClusterSettings(workers=N)`` or ``ClusterSettings()``: a ``dask.distributed.LocalCluster`` with
  N worker processes (default: one per core), one thread each, since the searches hold their own
  state and the GIL would serialise threads anyway;
- ``ClusterSettings(scheduler="tcp://host:8786")``: the workers of an existing cluster.

Tasks must be module-level functions (Dask sends them by reference) and load heavy objects
through a per-process cache rather than receive them with every task. Large inputs every task
reads are sent once with :meth:`Engine.share`. Dask itself re-runs the tasks of a worker that dies.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from maas.errors import ConfigError, MaasError

__all__ = ["ClusterSettings", "DaskEngine", "Engine", "InProcess", "open_engine"]


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """Which engine runs a batch job. ``workers`` 0 means this process; None means one per core."""

    scheduler: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.workers is not None and self.workers < 0:
            problems.append(f"workers must be 0 (this process) or more, got {self.workers}")
        if self.scheduler is not None:
            if self.workers is not None:
                problems.append("give either a scheduler address or a number of local workers, not both")
            if "://" not in self.scheduler and ":" not in self.scheduler:
                problems.append(f"scheduler must be an address such as tcp://host:8786, got {self.scheduler!r}")
        if problems:
            raise ConfigError("cluster settings: " + "; ".join(problems))

    @property
    def local_workers(self) -> int:
        """Worker processes of a local cluster (the machine's cores unless given)."""
        return self.workers if self.workers is not None else max(os.cpu_count() or 1, 1)


class Engine(Protocol):
    """Runs calls of one task function and hands back their results as they finish."""

    @property
    def workers(self) -> int: ...

    def share(self, value: Any) -> Any:
        """``value`` made available to every task once (pass the returned handle as an argument)."""

    def prepare_workers(self, task: Callable[..., Any], *args: Any) -> None:
        """Start ``task(*args)`` on every worker without waiting (loading what later tasks need)."""

    def run(
        self, task: Callable[..., Any], calls: Sequence[tuple[Any, ...]], in_flight: int | None = None
    ) -> Iterator[tuple[int, Any]]:
        """``task(*calls[i])`` for every i, yielding ``(i, result)`` in the order they finish; at most
        ``in_flight`` results wait in memory at once."""


class InProcess:
    """Every task in this process, in order."""

    @property
    def workers(self) -> int:
        return 1

    def share(self, value: Any) -> Any:
        """``value`` itself: tasks run here."""
        return value

    def prepare_workers(self, task: Callable[..., Any], *args: Any) -> None:
        """Nothing: this process has what it needs when the first task runs."""

    def run(
        self, task: Callable[..., Any], calls: Sequence[tuple[Any, ...]], in_flight: int | None = None
    ) -> Iterator[tuple[int, Any]]:
        """Each call in turn, in order."""
        for index, args in enumerate(calls):
            yield index, task(*args)


class DaskEngine:
    """Tasks on the workers of a ``dask.distributed`` client."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._preparing: list[Any] = []

    @property
    def workers(self) -> int:
        return max(len(self.client.nthreads()), 1)

    def share(self, value: Any) -> Any:
        """A future of ``value`` copied to every worker once (tasks given it receive the value)."""
        return self.client.scatter(value, broadcast=True, hash=False)

    def prepare_workers(self, task: Callable[..., Any], *args: Any) -> None:
        """``task(*args)`` on every worker now, in the background, while this process goes on."""
        for address in self.client.nthreads():
            future = self.client.submit(task, *args, workers=[address], allow_other_workers=False, pure=False)
            self._preparing.append(future)  # held so that Dask does not drop the task unrun

    def run(
        self, task: Callable[..., Any], calls: Sequence[tuple[Any, ...]], in_flight: int | None = None
    ) -> Iterator[tuple[int, Any]]:
        """Submits ``in_flight`` calls (default four per worker), then one more as each finishes."""
        from distributed import as_completed

        limit = in_flight or 4 * self.workers
        pending = iter(enumerate(calls))
        index_of: dict[str, int] = {}

        def submit_next() -> Any | None:
            item = next(pending, None)
            if item is None:
                return None
            index, args = item
            future = self.client.submit(task, *args, pure=False)
            index_of[future.key] = index
            return future

        first = [f for f in (submit_next() for _ in range(limit)) if f is not None]
        running = as_completed(first)
        for future in running:
            result = future.result()  # a task's own exception is raised here, with its traceback
            index = index_of.pop(future.key)
            future.release()
            following = submit_next()
            if following is not None:
                running.add(following)
            yield index, result


@contextmanager
def open_engine(settings: ClusterSettings | None = None, log: Callable[[str], None] | None = None) -> Iterator[Engine]:
    """The engine ``settings`` ask for, closed (local cluster shut down) when the block ends."""
    settings = settings or ClusterSettings()
    if settings.scheduler is None and settings.workers == 0:
        yield InProcess()
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # a dependency of the package; missing only in a broken install
        raise MaasError("dask.distributed is not installed: pip install 'dask[distributed]'") from exc
    if settings.scheduler is not None:
        try:
            client = Client(settings.scheduler, timeout="20s")
        except OSError as exc:
            raise MaasError(f"cannot reach the Dask scheduler at {settings.scheduler}: {exc}") from exc
        if log:
            log(f"using the Dask cluster at {settings.scheduler} ({len(client.nthreads())} workers)")
        try:
            yield DaskEngine(client)
        finally:
            client.close()
        return
    n = settings.local_workers
    if log:
        log(f"starting a local Dask cluster with {n} worker process(es)")
    import dask

    # On Linux the local workers are forked: they start with this process's modules imported and its
    # loaded area (a planner already in PlannerSpec's cache), instead of importing and loading it
    # again, which cost a few seconds per job. Elsewhere fork is unsafe and spawn stays.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    # Forked workers share this process's memory until a page is written. Python's collector writes
    # to every object it scans, so a worker's first collections would copy the loaded area's pages one
    # by one; objects frozen before the fork are never scanned there (a 2,000 x 2,000 matrix on one
    # worker ran about 8 % faster). This process scans them again once the workers have started.
    gc.collect()
    gc.freeze()
    try:
        with dask.config.set({"distributed.worker.multiprocessing-method": method}):
            cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
            )
    finally:
        gc.unfreeze()
    client = Client(cluster)
    try:
        yield DaskEngine(client)
    finally:
        client.close()
        cluster.close()
