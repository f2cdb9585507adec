"""Large matrices and accessibility on every core or a cluster, streamed to a file chunk by chunk.

The work of a matrix splits in two rounds of independent tasks: the walk from stops to each
destination (destination ranges), then the travel times from each origin (origin ranges). Both
run on an :class:`maas.cluster.Engine`: this process, a local Dask cluster or a remote one, with
the same results. Each task loads the planner once per worker process (:class:`PlannerSpec`);
the prepared job (snapped points, walking egress) is sent to the workers once.

Chunks of origins are written in origin order as they arrive, so the file is the same whatever
ran it and memory holds a few chunks, never the whole matrix. Accessibility reduces each chunk to
opportunities within the cutoffs on the worker, so only those small tables travel back.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from maas.cluster import Engine, InProcess
from planner.accessibility import AccessibilitySettings, accessibility_of_rows
from planner.matrix import MatrixJob, MatrixSettings, WalkEgress, origin_rows, prepare_matrix, walk_egress
from planner.matrix_io import MatrixWriter
from planner.planner_spec import PlannerSpec
from planner.points import Point

__all__ = ["MatrixRun", "matrix_accessibility", "write_matrix"]

Progress = Callable[[int, int], None]
Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class MatrixRun:
    """What a streamed matrix or accessibility run did."""

    origins: int
    destinations: int
    pairs: int
    reachable: int | None  # pairs reachable at the first percentile (None: not counted)
    unsnapped: tuple[tuple[str, str, str], ...]


def _ranges(n: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def _chunk_size(n: int, workers: int, most: int) -> int:
    """About eight chunks per worker (to even out slow ones), at most ``most`` items each."""
    return max(1, min(most, math.ceil(n / (8 * workers))))


def _warm_task(spec: PlannerSpec) -> None:
    """Load the planner and the compiled searches on a worker before its first chunk arrives."""
    planner = spec.load()
    planner.warm_up()
    tiny = WalkEgress.of(np.array([0, 1]), np.array([0]), np.array([1]), 1)
    tiny.improve(np.array([0]), np.array([1]), tiny.arrivals(np.array([1])))


def _egress_task(spec: PlannerSpec, job: MatrixJob, first: int, stop: int) -> object:
    return walk_egress(spec.load(), job, first, stop)


def _rows_task(spec: PlannerSpec, job: MatrixJob, first: int, stop: int) -> np.ndarray:
    return origin_rows(spec.load(), job, first, stop)


def _access_task(
    spec: PlannerSpec, job: MatrixJob, first: int, stop: int, weights: np.ndarray, settings: AccessibilitySettings
) -> np.ndarray:
    return accessibility_of_rows(origin_rows(spec.load(), job, first, stop), weights, settings)


def prepare_on(
    engine: Engine,
    spec: PlannerSpec,
    origins: Sequence[Point],
    destinations: Sequence[Point] | None,
    depart: dt.datetime,
    modes: Sequence[str],
    settings: MatrixSettings,
    log: Log | None = None,
) -> MatrixJob:
    """The matrix job with its walking egress computed on ``engine`` over ranges of destinations."""
    engine.prepare_workers(_warm_task, spec)  # workers load while this process snaps the points
    planner = spec.load()
    job = prepare_matrix(planner, origins, destinations, depart, modes, settings, with_egress=False)
    if job.mode != "transit":
        return job
    n = len(job.destinations)
    if isinstance(engine, InProcess):
        return job.with_egress(walk_egress(planner, job, 0, n))
    if log:
        log(f"walking from stops to {n} destinations on {engine.workers} worker(s)")
    shared = engine.share(job)
    parts = _ranges(n, _chunk_size(n, engine.workers, 500))
    done: dict[int, WalkEgress] = {}
    for index, part in engine.run(_egress_task, [(spec, shared, a, b) for a, b in parts]):
        assert isinstance(part, WalkEgress)
        done[index] = part
    return job.with_egress(WalkEgress.join([done[i] for i in range(len(parts))]))


def _in_order(results: Iterator[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
    """Results that arrive in any order handed on in index order (early ones wait in memory)."""
    waiting: dict[int, np.ndarray] = {}
    following = 0
    for index, value in results:
        waiting[index] = value
        while following in waiting:
            yield following, waiting.pop(following)
            following += 1


def write_matrix(
    engine: Engine,
    spec: PlannerSpec,
    origins: Sequence[Point],
    destinations: Sequence[Point] | None,
    depart: dt.datetime,
    out: str,
    modes: Sequence[str] = ("transit",),
    settings: MatrixSettings | None = None,
    progress: Progress | None = None,
    log: Log | None = None,
) -> MatrixRun:
    """Compute the matrix on ``engine`` and stream it to ``out`` (``.parquet`` or CSV) in origin order."""
    settings = settings or MatrixSettings()
    job = prepare_on(engine, spec, origins, destinations, depart, modes, settings, log)
    n = len(job.origins)
    chunks = _ranges(n, _chunk_size(n, engine.workers, 64))
    shared = engine.share(job)
    done = 0
    with MatrixWriter(out, job.origins.ids, job.destinations.ids, settings.percentiles) as writer:
        results = engine.run(_rows_task, [(spec, shared, a, b) for a, b in chunks])
        for index, rows in _in_order(results):
            writer.write(chunks[index][0], rows)
            done += len(rows)
            if progress:
                progress(done, n)
    return MatrixRun(n, len(job.destinations), writer.rows_written, writer.reachable, job.unsnapped)


def matrix_accessibility(
    engine: Engine,
    spec: PlannerSpec,
    origins: Sequence[Point],
    opportunities: Sequence[Point],
    weights: np.ndarray,
    depart: dt.datetime,
    modes: Sequence[str] = ("transit",),
    settings: MatrixSettings | None = None,
    access: AccessibilitySettings | None = None,
    progress: Progress | None = None,
    log: Log | None = None,
) -> tuple[np.ndarray, MatrixRun]:
    """Opportunities reachable from each origin: an array (origins, percentiles, cutoffs), computed
    chunk by chunk on ``engine`` without keeping the matrix; NaN for origins not near a street."""
    settings = settings or MatrixSettings()
    access = access or AccessibilitySettings()
    job = prepare_on(engine, spec, origins, opportunities, depart, modes, settings, log)
    n = len(job.origins)
    chunks = _ranges(n, _chunk_size(n, engine.workers, 64))
    shared_job = engine.share(job)
    shared_weights = engine.share(np.asarray(weights, dtype=np.float64))
    result = np.zeros((n, len(settings.percentiles), len(access.cutoffs_min)))
    done = 0
    calls = [(spec, shared_job, a, b, shared_weights, access) for a, b in chunks]
    for index, values in engine.run(_access_task, calls):
        a, b = chunks[index]
        result[a:b] = values
        done += b - a
        if progress:
            progress(done, n)
    result[job.origins.missing] = np.nan  # an origin off the streets reaches nothing we can tell
    pairs = n * len(job.destinations)
    return result, MatrixRun(n, len(job.destinations), pairs, None, job.unsnapped)
