"""Readers for the Li & Lim PDPTW and Cordeau DARP benchmark formats (see data/dispatch/SOURCES.md).

Both use Euclidean distances between node coordinates (not rounded); travel time equals
distance. Node ids of the files are kept as the problem's node labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dispatch.model import DispatchError, Problem, Request, TimeWindow, Vehicle


def _euclidean(xy: np.ndarray) -> np.ndarray:
    distances: np.ndarray = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    return distances


def _numbers(path: Path, header_fields: int, row_fields: int) -> list[list[float]]:
    """The instance's rows of numbers; every malformed line is reported at once."""
    if not path.is_file():
        raise DispatchError(f"instance file {path} does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DispatchError(f"{path}: not a text file (undecodable byte at offset {exc.start})") from exc
    rows: list[list[float]] = []
    problems: list[str] = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            values = [float(v) for v in line.split()]
        except ValueError:
            problems.append(f"line {line_no}: not a row of numbers: {line.strip()[:60]!r}")
            continue
        need = header_fields if not rows else row_fields
        if not all(math.isfinite(v) and abs(v) < 1e9 for v in values):
            problems.append(f"line {line_no}: numbers must be finite and below 1e9")
        elif len(values) < need:
            problems.append(f"line {line_no}: {len(values)} numbers, expected at least {need}")
        rows.append(values)
    if len(rows) < 3 and not problems:
        problems.append("fewer than 3 lines (a header, a depot and at least one node)")
    if problems:
        shown = problems[:10] + ([f"and {len(problems) - 10} more"] if len(problems) > 10 else [])
        raise DispatchError(f"instance file {path} has {len(problems)} problem(s):\n  - " + "\n  - ".join(shown))
    return rows


def _whole(value: float, what: str, source: Path, low: int = 0) -> int:
    if value != int(value) or value < low:
        raise DispatchError(f"{source}: {what} must be a whole number >= {low}, got {value:g}")
    return int(value)


def _named(source: Path, build: Callable[[], Problem]) -> Problem:
    """Build a problem from an instance file; a malformed value is reported with the file's name."""
    try:
        return build()
    except DispatchError as exc:
        if str(source) in str(exc):
            raise
        raise DispatchError(f"instance file {source}: {exc}") from exc
    except (IndexError, ValueError, OverflowError) as exc:
        raise DispatchError(f"instance file {source} is malformed ({exc})") from exc


def read_cordeau(path: str | Path) -> Problem:
    """Cordeau (2006) DARP (see :func:`_read_cordeau`); every problem names the file."""
    return _named(Path(path), lambda: _read_cordeau(Path(path)))


def read_li_lim(path: str | Path, vehicles: int | None = None) -> Problem:
    """Li & Lim PDPTW (see :func:`_read_li_lim`); every problem names the file."""
    return _named(Path(path), lambda: _read_li_lim(Path(path), vehicles))


def _read_cordeau(path: Path) -> Problem:
    """Cordeau (2006) DARP: header ``K N-or-2N T Q L``; nodes ``id x y service load earliest latest``.

    Node 0 is the start depot; a final node 2N+1, where present, is the end depot (else node 0).
    """
    source = Path(path)
    rows = _numbers(source, 5, 7)
    k, header_n, route_limit, capacity, ride_limit = rows[0][:5]
    _whole(k, "the vehicle count", source, 1)
    _whole(capacity, "the capacity", source, 1)
    if route_limit < 0 or ride_limit < 0:
        raise DispatchError(f"{source}: route and ride limits must be >= 0")
    nodes = rows[1:]
    # The header's second number is 2N in some files (a2-16) and N in others (a4-16), so N is taken
    # from the node lines: the pickups are the nodes with a positive load.
    n = sum(1 for r in nodes[1:] if r[4] > 0)
    if int(header_n) not in (n, 2 * n):
        raise DispatchError(f"{source}: header says {int(header_n)} but the file has {n} requests")
    if len(nodes) not in (2 * n + 1, 2 * n + 2):
        raise DispatchError(f"{source}: expected {2 * n + 1} or {2 * n + 2} node lines, found {len(nodes)}")
    xy = np.array([[r[1], r[2]] for r in nodes])
    matrix = _euclidean(xy)
    end_depot = 2 * n + 1 if len(nodes) == 2 * n + 2 else 0
    depot = nodes[0]
    requests = []
    for i in range(1, n + 1):
        p, d = nodes[i], nodes[n + i]
        if p[4] != int(p[4]) or int(p[4]) <= 0 or d[4] != -p[4]:
            raise DispatchError(f"{source}: node {i} and its drop-off {n + i} have loads {p[4]} and {d[4]}")
        requests.append(
            Request(
                id=str(i),
                pickup=i,
                dropoff=n + i,
                seats=int(p[4]),
                pickup_window=TimeWindow(p[5], p[6]),
                dropoff_window=TimeWindow(d[5], d[6]),
                pickup_service=p[3],
                dropoff_service=d[3],
                max_ride_time=ride_limit,
            )
        )
    vehicles = tuple(
        Vehicle(
            id=str(v),
            start=0,
            end=end_depot,
            seats=int(capacity),
            shift=TimeWindow(depot[5], depot[6]),
            max_route_duration=route_limit,
        )
        for v in range(int(k))
    )
    labels = tuple(str(int(r[0])) for r in nodes)
    return Problem(source.stem, tuple(requests), vehicles, matrix, matrix.copy(), labels)


def _read_li_lim(path: Path, vehicles: int | None = None) -> Problem:
    """Li & Lim PDPTW: ``vehicles capacity speed``; tasks ``id x y demand ready due service pickup delivery``.

    The fleet size in the file is an upper bound; the objective is hierarchical (vehicles, then distance).
    """
    source = Path(path)
    rows = _numbers(source, 2, 9)
    n_vehicles = _whole(rows[0][0], "the vehicle count", source, 1)
    capacity = _whole(rows[0][1], "the capacity", source, 1)
    tasks = rows[1:]
    ids = [int(r[0]) if r[0] == int(r[0]) else -1 for r in tasks]
    if ids != list(range(len(tasks))):
        raise DispatchError(f"{source}: task ids must run 0..{len(tasks) - 1} in order")
    xy = np.array([[r[1], r[2]] for r in tasks])
    matrix = _euclidean(xy)
    requests = []
    for r in tasks[1:]:
        if r[3] > 0:  # a pickup names its delivery in the last column
            if r[3] != int(r[3]) or r[8] != int(r[8]) or not 0 < r[8] < len(tasks):
                raise DispatchError(f"{source}: pickup {int(r[0])} names delivery {r[8]:g}, not a task")
            d = tasks[int(r[8])]
            if int(d[7]) != int(r[0]) or d[3] != -r[3]:
                raise DispatchError(f"{source}: pickup {int(r[0])} and delivery {int(r[8])} do not match")
            requests.append(
                Request(
                    id=str(int(r[0])),
                    pickup=int(r[0]),
                    dropoff=int(d[0]),
                    seats=int(r[3]),
                    pickup_window=TimeWindow(r[4], r[5]),
                    dropoff_window=TimeWindow(d[4], d[5]),
                    pickup_service=r[6],
                    dropoff_service=d[6],
                )
            )
    depot = tasks[0]
    fleet = tuple(
        Vehicle(id=str(v), start=0, end=0, seats=capacity, shift=TimeWindow(depot[4], depot[5]))
        for v in range(vehicles or n_vehicles)
    )
    return Problem(
        source.stem, tuple(requests), fleet, matrix, matrix.copy(), tuple(str(i) for i in ids), minimize_vehicles=True
    )
