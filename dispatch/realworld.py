"""Real-world dispatch input: requests and fleet from CSV, travel times on the area's streets.

``requests.csv`` columns (times as HH:MM on the service day, or minutes after midnight):
``id, pickup_lat, pickup_lon, dropoff_lat, dropoff_lon, earliest_pickup, latest_pickup`` and
optionally ``seats`` (1), ``wheelchair`` (0/1), ``latest_dropoff``, ``max_ride_min``.

``fleet.csv`` columns: ``id, depot_lat, depot_lon`` and optionally ``seats`` (the area's fleet
default), ``wheelchair_places``, ``shift_start`` and ``shift_end`` (the area's operating hours).

Travel times are shortest times on the area's drive graph with every edge's speed capped at the
shuttle's (18 km/h by default), in minutes; distances in kilometres. Every problem in the files
is reported at once, naming file, row and field.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd

from dispatch.model import DispatchError, Problem, Request, TimeWindow, Vehicle
from dispatch.network import capped_graph
from planner.area_data import AreaData
from planner.street_search import StreetSearch
from planner.streets import StreetGraph


def _minutes(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return None
    text = str(value).strip()
    if ":" in text:
        hours, minutes = text.split(":")[:2]
        return int(hours) * 60 + float(minutes)
    return float(text)


def street_matrices(
    graph: StreetGraph, lonlat: list[tuple[float, float]], max_snap_m: float = 300.0
) -> tuple[np.ndarray, np.ndarray]:
    """Travel-time (minutes) and distance (km) matrices between points, on a drive graph."""
    time_search = StreetSearch(graph, "time")
    snaps = [time_search.snapper.snap_one(lon, lat, max_snap_m) for lon, lat in lonlat]
    edges = np.array([s.edge for s in snaps], dtype=np.int64)
    fracs = np.array([s.fraction for s in snaps])
    n = len(snaps)
    minutes = np.zeros((n, n))
    km = np.zeros((n, n))
    for i, snap in enumerate(snaps):
        time_search.from_snap(snap, np.inf)
        seconds = time_search.cost_to_snaps(edges, fracs)
        for j in range(n):
            if i == j:
                continue
            if edges[j] == snap.edge and fracs[j] >= snap.fraction:  # further along the same edge
                seconds[j] = (fracs[j] - snap.fraction) * time_search.edge_cost(snap.edge)
            path = _path_length(graph, time_search, edges[j], fracs[j], snap)
            km[i, j] = path / 1000
        minutes[i] = seconds / 60
    np.fill_diagonal(minutes, 0)
    if not np.isfinite(minutes).all():
        i, j = np.argwhere(~np.isfinite(minutes))[0]
        raise DispatchError(f"point {j} cannot be reached from point {i} on the street network")
    return minutes, km


def _path_length(graph: StreetGraph, search: StreetSearch, edge: int, frac: float, start: object) -> float:
    u, v = int(graph.edge_from[edge]), int(graph.edge_to[edge])
    w = search.edge_cost(edge)
    via_u = search.dist[u] + frac * w
    via_v = search.dist[v] + (1 - frac) * w if search.has_twin[edge] else np.inf
    end = u if via_u <= via_v else v
    along = frac if end == u else 1 - frac
    metres = along * float(graph.edge_length[edge])
    for e in search.path_edges(end):
        metres += float(graph.edge_length[e])
    return metres


def read_realworld(requests_csv: str | Path, fleet_csv: str | Path, data: AreaData) -> Problem:
    area = data.area
    if area.shuttle is None:
        raise DispatchError(f"area {area.name} defines no [shuttle] service")
    problems: list[str] = []

    def load(path: str | Path, required: list[str]) -> pd.DataFrame:
        source = Path(path)
        if not source.is_file():
            raise DispatchError(f"{source} does not exist")
        df = pd.read_csv(source, dtype=str, keep_default_na=False)
        missing = [c for c in required if c not in df.columns]
        if missing:
            problems.append(f"{source.name}: missing column(s) {', '.join(missing)}")
        return df

    req = load(
        requests_csv,
        ["id", "pickup_lat", "pickup_lon", "dropoff_lat", "dropoff_lon", "earliest_pickup", "latest_pickup"],
    )
    fleet = load(fleet_csv, ["id", "depot_lat", "depot_lon"])
    if problems:
        raise DispatchError("; ".join(problems))
    points: list[tuple[float, float]] = []

    def number(df: pd.DataFrame, name: str, row: int, col: str, default: float | None = None) -> float:
        raw = df.at[row, col] if col in df.columns else ""
        if str(raw).strip() == "":
            if default is None:
                problems.append(f"{name}, row {row + 2}, field '{col}': value is empty")
                return 0.0
            return default
        try:
            return float(str(raw))
        except ValueError:
            problems.append(f"{name}, row {row + 2}, field '{col}': not a number ({raw!r})")
            return 0.0

    def clock(df: pd.DataFrame, name: str, row: int, col: str, default: float | None = None) -> float:
        raw = df.at[row, col] if col in df.columns else ""
        try:
            value = _minutes(raw)
        except ValueError:
            value = None
            problems.append(f"{name}, row {row + 2}, field '{col}': not a time ({raw!r}); use HH:MM")
            return 0.0
        if value is None:
            if default is None:
                problems.append(f"{name}, row {row + 2}, field '{col}': value is empty")
                return 0.0
            return default
        return value

    def point(df: pd.DataFrame, name: str, row: int, prefix: str) -> int:
        lat = number(df, name, row, f"{prefix}_lat")
        lon = number(df, name, row, f"{prefix}_lon")
        if not area.contains(lon, lat):
            problems.append(f"{name}, row {row + 2}: {prefix} ({lat}, {lon}) is outside the area {area.name}")
        points.append((lon, lat))
        return len(points) - 1

    service = area.shuttle
    start_day, end_day = (_minutes(service.operating_hours[0]) or 0.0), (_minutes(service.operating_hours[1]) or 1440.0)
    vehicles = []
    for row in range(len(fleet)):
        depot = point(fleet, "fleet.csv", row, "depot")
        vehicles.append(
            Vehicle(
                id=str(fleet.at[row, "id"]),
                start=depot,
                end=depot,
                seats=int(number(fleet, "fleet.csv", row, "seats", service.fleet.seats)),
                wheelchair_places=int(
                    number(fleet, "fleet.csv", row, "wheelchair_places", service.fleet.wheelchair_places)
                ),
                shift=TimeWindow(
                    clock(fleet, "fleet.csv", row, "shift_start", start_day),
                    clock(fleet, "fleet.csv", row, "shift_end", end_day),
                ),
            )
        )
    requests = []
    for row in range(len(req)):
        pickup = point(req, "requests.csv", row, "pickup")
        dropoff = point(req, "requests.csv", row, "dropoff")
        earliest = clock(req, "requests.csv", row, "earliest_pickup")
        latest = clock(req, "requests.csv", row, "latest_pickup")
        if latest < earliest:
            problems.append(f"requests.csv, row {row + 2}: latest_pickup is before earliest_pickup")
        ride = number(req, "requests.csv", row, "max_ride_min", -1.0)
        requests.append(
            Request(
                id=str(req.at[row, "id"]),
                pickup=pickup,
                dropoff=dropoff,
                seats=int(number(req, "requests.csv", row, "seats", 1.0)),
                wheelchairs=int(number(req, "requests.csv", row, "wheelchair", 0.0)),
                pickup_window=TimeWindow(earliest, max(latest, earliest)),
                dropoff_window=TimeWindow(0.0, clock(req, "requests.csv", row, "latest_dropoff", float("inf"))),
                pickup_service=1.0,
                dropoff_service=1.0,
                max_ride_time=None if ride < 0 else ride,
            )
        )
    if problems:
        raise DispatchError(f"{len(problems)} problem(s) in the input:\n  - " + "\n  - ".join(problems))
    graph = capped_graph(data.streets["drive"], service.fleet.speed_kmh)
    minutes, km = street_matrices(graph, points)
    # Where no ride limit is given, the area's promise applies: factor x direct time + extra minutes.
    requests = [
        r
        if r.max_ride_time is not None
        else dataclasses.replace(
            r, max_ride_time=service.max_ride_factor * float(minutes[r.pickup, r.dropoff]) + service.max_ride_extra_min
        )
        for r in requests
    ]
    return Problem(f"{area.name}-dispatch", tuple(requests), tuple(vehicles), minutes, km)
