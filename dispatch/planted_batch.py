"""A planted batch on a real area's streets, written as the files ``maas dispatch`` reads.

A planted instance on the shuttle network's nodes (:class:`dispatch.planted.NetworkSpace`) is a
city-scale batch that a known plan serves completely. Written as ``requests.csv`` and ``fleet.csv``,
it tests the whole command (reading, snapping, matrices, search, validation) against that plan:
every rider is servable, so each one the command leaves out is a failure of the dispatcher.

The files can say less than the instance: pickup windows and shifts in whole minutes, a rider's
promise as a pickup window (a drop-off window becomes its latest drop-off, and the pickup may then
be at any time before it), no route duration, service of one minute at every stop. Every rounding
widens a limit, so the planted plan stays feasible; :func:`plan_as_read` maps it onto the problem
the command reads, for the independent validator to confirm.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from dispatch.model import DispatchError, Problem, Route, Solution, Stop
from dispatch.network import ShuttleNetwork
from dispatch.planted import NetworkSpace, PlantedInstance, PlantedSpec, planted_instance
from dispatch.realworld import FLEET_COLUMNS, REQUEST_COLUMNS
from maas.area import Area
from maas.tabular import format_clock

__all__ = ["connected_nodes", "plan_as_read", "planted_batch", "write_planted_batch", "zone_nodes"]

SERVICE_MIN = 1.0  # what ``maas dispatch`` assumes at every pickup and drop-off


def connected_nodes(network: ShuttleNetwork, keep: np.ndarray | None = None) -> np.ndarray:
    """Nodes every other node reaches and is reached from (among ``keep`` if given)."""
    nodes = np.arange(network.n_nodes) if keep is None else np.flatnonzero(keep)
    times = network.time_s[np.ix_(nodes, nodes)]
    finite = np.isfinite(times)
    # the largest set of mutually reachable nodes: those that reach, and are reached from, most others
    score = finite.sum(axis=0) + finite.sum(axis=1)
    core = nodes[score == score.max()]
    return np.asarray(core, dtype=np.int64)


def zone_nodes(network: ShuttleNetwork, area: Area) -> np.ndarray:
    """The network's nodes inside the area's shuttle zones that every other one reaches and is reached from."""
    from shapely.geometry import Point, Polygon

    if area.shuttle is None:
        raise DispatchError(f"area {area.name} defines no [shuttle] service")
    zones = [Polygon(z.polygon) for z in area.shuttle.zones]
    lon, lat = network.graph.node_lon, network.graph.node_lat
    inside = np.array([any(z.contains(Point(x, y)) for z in zones) for x, y in zip(lon, lat, strict=True)])
    if not inside.any():
        raise DispatchError(f"no street of the shuttle network lies inside area {area.name}'s zones")
    return connected_nodes(network, inside)


def planted_batch(network: ShuttleNetwork, spec: PlantedSpec, pool: np.ndarray, name: str) -> PlantedInstance:
    """A planted instance on ``network``'s nodes in ``pool`` (riders and depots), with the service
    ``maas dispatch`` assumes (one minute per stop) and no riders already on board (its files cannot say so)."""
    if spec.service_min != SERVICE_MIN or spec.onboard_share != 0:
        raise DispatchError(
            f"a planted batch for maas dispatch needs service_min={SERVICE_MIN:g} and onboard_share=0, "
            f"got {spec.service_min:g} and {spec.onboard_share:g}"
        )
    return planted_instance(spec, name, NetworkSpace(network.time_s, network.dist_m, pool))


def write_planted_batch(
    planted: PlantedInstance, network: ShuttleNetwork, folder: Path, day_start_min: int
) -> tuple[Path, Path]:
    """``requests.csv`` and ``fleet.csv`` in ``folder`` for the planted batch, its time 0 at
    ``day_start_min`` minutes after midnight; returns both paths."""
    problem = planted.problem
    nodes = _network_nodes(planted)
    folder.mkdir(parents=True, exist_ok=True)

    def clock(minutes: float, up: bool) -> str:
        whole = math.ceil(minutes - 1e-9) if up else math.floor(minutes + 1e-9)
        return format_clock(60.0 * (day_start_min + whole))

    def where(node: int) -> list[float]:
        lon, lat = network.lonlat(int(nodes[node]))
        return [lat, lon]

    requests_csv = folder / "requests.csv"
    with requests_csv.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow([*REQUEST_COLUMNS, "seats", "wheelchair", "latest_dropoff", "max_ride_min"])
        for r in problem.requests:
            assert r.max_ride_time is not None
            pickup_width = r.pickup_window.latest - r.pickup_window.earliest
            if pickup_width <= r.dropoff_window.latest - r.dropoff_window.earliest:  # a pickup promise
                earliest, latest, by = r.pickup_window.earliest, r.pickup_window.latest, ""
            else:  # an arrival promise: pick up at any time that can still make it
                earliest = max(0.0, r.dropoff_window.earliest - r.max_ride_time - r.pickup_service)
                latest, by = r.dropoff_window.latest, clock(r.dropoff_window.latest, True)
            ride = math.ceil(r.max_ride_time * 100 - 1e-6) / 100
            row = [r.id, *where(r.pickup), *where(r.dropoff), clock(earliest, False), clock(latest, True)]
            out.writerow([*row, r.seats, r.wheelchairs, by, f"{ride:.2f}"])
    fleet_csv = folder / "fleet.csv"
    with fleet_csv.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow([*FLEET_COLUMNS, "seats", "wheelchair_places", "shift_start", "shift_end"])
        for v in problem.vehicles:
            shift = [clock(v.shift.earliest, False), clock(v.shift.latest, True)]
            out.writerow([v.id, *where(v.start), v.seats, v.wheelchair_places, *shift])
    return requests_csv, fleet_csv


def _network_nodes(planted: PlantedInstance) -> np.ndarray:
    """The network node of each of the planted problem's nodes."""
    if not isinstance(planted.space, NetworkSpace):
        raise DispatchError(f"{planted.problem.name} was not planted on a street network")
    return np.asarray(planted.locations, dtype=np.int64)


def plan_as_read(planted: PlantedInstance, read: Problem, day_start_min: int) -> Solution:
    """The planted plan as a solution of ``read``, the problem ``maas dispatch`` read from the written
    files (its own node numbers, times from midnight)."""
    requests = {r.id: r for r in read.requests}
    vehicles = {v.id: v for v in read.vehicles}
    missing = [r.id for r in planted.problem.requests if r.id not in requests]
    if missing or len(vehicles) != len(planted.problem.vehicles):
        raise DispatchError(f"the problem read is not the planted batch (requests missing: {missing[:5]})")
    shift = float(day_start_min)
    routes = []
    for route in planted.plan.routes:
        vehicle = vehicles[route.vehicle]
        stops = []
        for s in route.stops:
            if s.request is None:
                node = vehicle.start if s.kind == "start" else vehicle.end
            else:
                r = requests[s.request]
                node = r.pickup if s.kind == "pickup" else r.dropoff
            times = (s.arrival + shift, s.start_service + shift, s.departure + shift)
            stops.append(Stop(node, s.kind, s.request, *times, s.load_seats, s.load_wheelchairs))
        routes.append(Route(route.vehicle, tuple(stops)))
    plan = planted.plan
    return Solution(read.name, tuple(routes), (), plan.distance, plan.ride_time, 0.0, 0)
