"""Real-world dispatch input: requests and fleet from CSV, travel times on the area's streets.

``requests.csv`` columns (times as HH:MM on the service day, hours up to 47 for after midnight):
``id, pickup_lat, pickup_lon, dropoff_lat, dropoff_lon, earliest_pickup, latest_pickup`` and
optionally ``seats`` (1), ``wheelchair`` (0/1), ``latest_dropoff``, ``max_ride_min``.

``fleet.csv`` columns: ``id, depot_lat, depot_lon`` and optionally ``seats`` (the area's fleet
default), ``wheelchair_places``, ``shift_start`` and ``shift_end`` (the area's operating hours).

Travel times are shortest times on the area's drive graph with every edge's speed capped at the
shuttle's (18 km/h by default), in minutes, between the drive-graph nodes that serve the points
(the shuttle network's all-pairs tables, as the online service uses); distances in kilometres.
Every problem in the files is reported at once, naming file, row and field.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dispatch.model import DispatchError, Problem, Request, TimeWindow, Vehicle
from dispatch.network import ShuttleNetwork
from dispatch.online import Booking
from maas.area import Area, ShuttleService
from maas.errors import InputError, InputProblem, OutsideAreaError
from maas.tabular import FieldReader, format_clock, parse_clock_minutes, read_csv_file
from planner.area_data import AreaData

REQUEST_COLUMNS = ("id", "pickup_lat", "pickup_lon", "dropoff_lat", "dropoff_lon", "earliest_pickup", "latest_pickup")
FLEET_COLUMNS = ("id", "depot_lat", "depot_lon")
MAX_SNAP_M = 300.0  # a pickup, drop-off or depot farther from any drivable street cannot be served


def write_requests_csv(riders: Sequence[Booking], network: ShuttleNetwork, path: str | Path) -> None:
    """Riders of the shuttle service (e.g. its generated demand) as a requests file :func:`read_realworld`
    reads: the nodes' coordinates, pickup windows as HH:MM, seats and wheelchair places."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow([*REQUEST_COLUMNS, "seats", "wheelchair"])
        for b in riders:
            (plon, plat), (dlon, dlat) = network.lonlat(b.pickup), network.lonlat(b.dropoff)
            window = [format_clock(b.earliest_pickup_s), format_clock(b.latest_pickup_s)]
            out.writerow([b.id, plat, plon, dlat, dlon, *window, b.seats, b.wheelchairs])


def read_realworld(requests_csv: str | Path, fleet_csv: str | Path, data: AreaData) -> Problem:
    """The dial-a-ride problem of a batch of real requests and a fleet on the area's streets.

    Parameters
    ----------
    requests_csv
        Requests: pickup and drop-off coordinates, pickup window (HH:MM), optional seats,
        wheelchair, latest drop-off and ride limit (columns in the module docstring).
    fleet_csv
        Vehicles: id, depot coordinates, seats, wheelchair places, optional shift.
    data
        The area's data (its drive graph and shuttle service policy).

    Returns
    -------
    Problem
        Requests and vehicles with travel times in minutes and distances in km on the drive graph.
        An ``InputError`` names every problem in both files (file, line, column) before any travel
        time is computed.
    """
    area = data.area
    if area.shuttle is None:
        raise DispatchError(f"area {area.name} defines no [shuttle] service")
    service = area.shuttle
    tables = {
        "requests": (read_csv_file(requests_csv), REQUEST_COLUMNS),
        "fleet": (read_csv_file(fleet_csv), FLEET_COLUMNS),
    }
    problems: list[InputProblem] = []
    for table, required in tables.values():
        problems += table.problems
        if table.frame is not None:
            problems += [
                InputProblem(table.name, c, "required column is missing")
                for c in required
                if c not in table.frame.columns
            ]
    if problems:
        raise InputError(f"{requests_csv} and {fleet_csv}", problems, kind="dispatch input")
    req = tables["requests"][0].frame
    fleet = tables["fleet"][0].frame
    assert req is not None and fleet is not None
    points = _Points(area)
    fleet_reader = FieldReader(tables["fleet"][0].name)
    vehicles = _read_fleet(fleet, fleet_reader, points, service)
    request_reader = FieldReader(tables["requests"][0].name)
    requests = _read_requests(req, request_reader, points)
    from dispatch.day import shuttle_network

    network = shuttle_network(data)  # all-pairs times on the capped drive graph, cached per area
    nodes = np.zeros(len(points.lon_lat), dtype=np.int64)
    if not (fleet_reader.problems or request_reader.problems):
        for k, ((lon, lat), (reader, line, prefix)) in enumerate(zip(points.lon_lat, points.read_at, strict=True)):
            try:
                nodes[k] = network.snap(lon, lat, MAX_SNAP_M)
            except OutsideAreaError as exc:
                reader.problem(line, f"{prefix}_lat", f"{prefix} {exc}")
    problems = fleet_reader.problems + request_reader.problems
    if problems:
        raise InputError(f"{requests_csv} and {fleet_csv}", problems, kind="dispatch input")
    # Every point is the drive-graph node that serves it, as in the online service; the matrices are
    # slices of the network's all-pairs tables, so a batch of thousands of points takes well under a second.
    # Points served by the same node become one location (vehicles at one depot are then identical).
    unique_nodes, location = np.unique(nodes, return_inverse=True)
    requests = [
        dataclasses.replace(r, pickup=int(location[r.pickup]), dropoff=int(location[r.dropoff])) for r in requests
    ]
    vehicles = [dataclasses.replace(v, start=int(location[v.start]), end=int(location[v.end])) for v in vehicles]
    minutes = network.time_s[np.ix_(unique_nodes, unique_nodes)].astype(np.float64) / 60.0
    km = network.dist_m[np.ix_(unique_nodes, unique_nodes)].astype(np.float64) / 1000.0
    np.fill_diagonal(minutes, 0.0)
    np.fill_diagonal(km, 0.0)
    if not np.isfinite(minutes).all():
        i, j = np.argwhere(~np.isfinite(minutes))[0]
        raise DispatchError(f"point {j} cannot be reached from point {i} on the shuttle's streets")
    # Where no ride limit is given, the area's promise applies: factor x direct time + extra minutes.
    requests = [
        r
        if r.max_ride_time is not None
        else dataclasses.replace(r, max_ride_time=service.max_ride_s(60 * float(minutes[r.pickup, r.dropoff])) / 60)
        for r in requests
    ]
    return Problem(f"{area.name}-dispatch", tuple(requests), tuple(vehicles), minutes, km)


class _Points:
    """The coordinates read from both files, in order, with where each was read (for snapping problems)."""

    def __init__(self, area: Area) -> None:
        self.area = area
        self.lon_lat: list[tuple[float, float]] = []
        self.read_at: list[tuple[FieldReader, int, str]] = []

    def read(self, reader: FieldReader, row: dict[Any, Any], line: int, prefix: str) -> int:
        lat = reader.number(row[f"{prefix}_lat"], line, f"{prefix}_lat", low=-90, high=90)
        lon = reader.number(row[f"{prefix}_lon"], line, f"{prefix}_lon", low=-180, high=180)
        if math.isfinite(lat) and math.isfinite(lon) and not self.area.contains(lon, lat):
            reader.problem(line, f"{prefix}_lat", f"{prefix} ({lat}, {lon}) is outside the area {self.area.name}")
        self.lon_lat.append((lon, lat))
        self.read_at.append((reader, line, prefix))
        return len(self.lon_lat) - 1


def _text(row: dict[Any, Any], col: str) -> str:
    return str(row.get(col, ""))


def _read_fleet(fleet: pd.DataFrame, reader: FieldReader, points: _Points, service: ShuttleService) -> list[Vehicle]:
    """The fleet file's vehicles; seats, places and shifts default to the area's shuttle service."""
    start_day = parse_clock_minutes(service.operating_hours[0]) or 0.0
    end_day = parse_clock_minutes(service.operating_hours[1]) or 1440.0
    reader.unique_ids(fleet)
    vehicles = []
    for ln, row in zip(fleet.index.tolist(), fleet.to_dict("records"), strict=True):
        depot = points.read(reader, row, ln, "depot")
        seats = reader.number(
            _text(row, "seats"), ln, "seats", default=service.fleet.seats, low=0, high=100, integer=True
        )
        places = reader.number(
            _text(row, "wheelchair_places"),
            ln,
            "wheelchair_places",
            default=service.fleet.wheelchair_places,
            low=0,
            high=20,
            integer=True,
        )
        if seats == 0 and places == 0:
            reader.problem(ln, "seats", "a vehicle needs at least one seat or wheelchair place")
        shift_start = reader.clock_minutes(_text(row, "shift_start"), ln, "shift_start", default=start_day)
        shift_end = reader.clock_minutes(_text(row, "shift_end"), ln, "shift_end", default=end_day)
        if shift_end <= shift_start:
            reader.problem(ln, "shift_end", "the shift ends before it starts")
        if not all(math.isfinite(v) for v in (seats, places, shift_start, shift_end)) or shift_end <= shift_start:
            continue
        vehicles.append(
            Vehicle(
                id=str(row["id"]),
                start=depot,
                end=depot,
                seats=int(seats),
                wheelchair_places=int(places),
                shift=TimeWindow(shift_start, shift_end),
            )
        )
    return vehicles


def _read_requests(req: pd.DataFrame, reader: FieldReader, points: _Points) -> list[Request]:
    """The requests file's riders (pickup and drop-off are indices into ``points``)."""
    reader.unique_ids(req)
    requests = []
    for ln, row in zip(req.index.tolist(), req.to_dict("records"), strict=True):
        pickup = points.read(reader, row, ln, "pickup")
        dropoff = points.read(reader, row, ln, "dropoff")
        earliest = reader.clock_minutes(row["earliest_pickup"], ln, "earliest_pickup")
        latest = reader.clock_minutes(row["latest_pickup"], ln, "latest_pickup")
        if latest < earliest:
            reader.problem(ln, "latest_pickup", "latest_pickup is before earliest_pickup")
        latest_dropoff = reader.clock_minutes(_text(row, "latest_dropoff"), ln, "latest_dropoff", default=math.inf)
        if latest_dropoff < earliest:
            reader.problem(ln, "latest_dropoff", "latest_dropoff is before earliest_pickup")
        ride_text = _text(row, "max_ride_min")
        ride = reader.number(ride_text, ln, "max_ride_min", low=0.1, high=1440) if ride_text else -1.0
        seats = reader.number(_text(row, "seats"), ln, "seats", default=1.0, low=0, high=100, integer=True)
        chairs = reader.number(_text(row, "wheelchair"), ln, "wheelchair", default=0.0, low=0, high=20, integer=True)
        if seats == 0 and chairs == 0:
            reader.problem(ln, "seats", "a request needs at least one seat or a wheelchair place")
        values = (earliest, latest, latest_dropoff if latest_dropoff != math.inf else 0.0, ride, seats, chairs)
        if not all(math.isfinite(v) for v in values) or latest < earliest or latest_dropoff < earliest:
            continue
        requests.append(
            Request(
                id=str(row["id"]),
                pickup=pickup,
                dropoff=dropoff,
                seats=int(seats),
                wheelchairs=int(chairs),
                pickup_window=TimeWindow(earliest, latest),
                dropoff_window=TimeWindow(0.0, latest_dropoff),
                pickup_service=1.0,
                dropoff_service=1.0,
                max_ride_time=None if ride < 0 else ride,
            )
        )
    return requests
