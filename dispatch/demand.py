"""Shuttle demand for a service day: a seeded generator and a CSV reader.

Generated riders live in the shuttle zones and travel to or from the zone's hub station, timed
to the real metro departures and arrivals there in the GTFS feed:

* homes are OSM residential buildings inside a zone (building = apartments, residential, house,
  ...), each served at the drive-graph node nearest to it. A building's residents are its cell's
  HSY population shared by residential floor area (footprint x ``building:levels``, 4 levels for
  apartments and 1 for houses when untagged). The HSY grid stops at lat 60.154; south of it (most
  of Hernesaari) buildings get the zone's mean residents per floor square metre. A zone without
  residential buildings falls back to its street nodes, weighted by cell population;
* a target time of day is drawn from a mixture: a third uniform over the operating hours, a
  third around a morning peak (08:00, sd 50 min), a third around an evening peak (16:30, sd 60);
  before noon three riders in four head for the hub, after noon three in ten;
* to the hub: the rider must be at the hub 2 minutes before the first metro departure after the
  target time; the pickup window is the 15-minute wait promise ending when a direct ride would
  still be in time; booked 5 to 45 minutes ahead, or just 2 minutes ahead (one rider in three);
* from the hub: pickup from 2 minutes after the first metro arrival after the target time, within
  the wait promise; booked from the train, 2 to 20 minutes before it arrives;
* one rider in ten travels with a companion (2 seats); one in fifty uses a wheelchair.

Ride times are bounded as the area's service promises: factor x direct + extra minutes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dispatch.model import DispatchError
from dispatch.network import ShuttleNetwork
from dispatch.online import Booking
from maas.area import Area, ShuttleService
from maas.errors import InputError, InputProblem, MaasError
from maas.tabular import FieldReader, format_clock, read_csv_file
from planner.timetable import Timetable

SERVICE_S = 30.0
PLATFORM_S = 120.0


@dataclass(frozen=True, slots=True)
class Hub:
    zone: str
    stop_ids: tuple[str, ...]
    node: int
    departures_s: np.ndarray  # sorted metro departures at the hub's stops
    arrivals_s: np.ndarray


def hub_times(timetable: Timetable, stop_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted departures (boarding allowed) and arrivals (alighting allowed) at any of ``stop_ids``."""
    departures, arrivals = [], []
    for stop_id in stop_ids:
        stop = timetable.stop_index(stop_id)
        for p in timetable.stop_patterns[timetable.stop_pattern_start[stop] : timetable.stop_pattern_start[stop + 1]]:
            span = slice(timetable.pattern_stop_start[p], timetable.pattern_stop_start[p + 1])
            stops = timetable.pattern_stops[span]
            arr, dep = timetable.trip_times(p)
            for j in np.flatnonzero(stops == stop):
                if timetable.pattern_can_board[span][j] and j < len(stops) - 1:
                    departures.append(dep[:, j])
                if timetable.pattern_can_alight[span][j] and j > 0:
                    arrivals.append(arr[:, j])
    dep_all = np.sort(np.concatenate(departures)) if departures else np.empty(0)
    arr_all = np.sort(np.concatenate(arrivals)) if arrivals else np.empty(0)
    return dep_all.astype(float), arr_all.astype(float)


RESIDENTIAL = {"apartments", "residential", "house", "detached", "terrace", "semidetached_house", "dormitory"}


def read_residential_buildings(osm_file: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centroid lon, lat and residential floor area (m2) of each residential building way."""
    import osmium

    lons, lats, floors = [], [], []
    source = osmium.FileProcessor(str(osm_file)).with_locations().with_filter(osmium.filter.KeyFilter("building"))
    for obj in source:
        if not isinstance(obj, osmium.osm.Way) or obj.tags.get("building") not in RESIDENTIAL:
            continue
        try:
            xs = np.array([n.lon for n in obj.nodes])
            ys = np.array([n.lat for n in obj.nodes])
        except osmium.InvalidLocationError:
            continue  # clipped at the extract's edge
        if len(xs) < 3:
            continue
        # footprint by the shoelace formula on a local equirectangular projection
        x = np.radians(xs - xs.mean()) * 6371000 * np.cos(np.radians(ys.mean()))
        y = np.radians(ys - ys.mean()) * 6371000
        footprint = 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
        default_levels = 4.0 if obj.tags["building"] in ("apartments", "residential", "dormitory") else 1.0
        try:
            levels = float(obj.tags.get("building:levels") or default_levels)
        except ValueError:
            levels = default_levels
        lons.append(float(xs.mean()))
        lats.append(float(ys.mean()))
        floors.append(footprint * max(levels, 1.0))
    return np.array(lons), np.array(lats), np.array(floors)


def _building_homes(
    polygon: Any, node_lon: np.ndarray, node_lat: np.ndarray, buildings: tuple[np.ndarray, ...], cells: Any
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Home nodes weighted by the residents of the zone's residential buildings nearest to them."""
    from scipy.spatial import cKDTree
    from shapely import contains_xy

    b_lon, b_lat, floor = buildings
    mine = contains_xy(polygon, b_lon, b_lat)
    if not mine.any():
        return None
    b_lon, b_lat, floor = b_lon[mine], b_lat[mine], floor[mine]
    residents = np.full(len(floor), np.nan)
    if cells is not None:
        for geometry, people in zip(cells.geometry, cells["population"], strict=True):
            hit = contains_xy(geometry, b_lon, b_lat)
            if hit.any():
                residents[hit] = float(people) * floor[hit] / floor[hit].sum()
    known = np.isfinite(residents)
    density = residents[known].sum() / floor[known].sum() if known.any() else 1.0
    residents[~known] = floor[~known] * density
    inside = np.flatnonzero(contains_xy(polygon, node_lon, node_lat))
    candidates = inside if len(inside) else np.arange(len(node_lon))
    scale = np.cos(np.radians(float(np.mean(node_lat))))
    tree = cKDTree(np.column_stack([node_lon[candidates] * scale, node_lat[candidates]]))
    _, nearest = tree.query(np.column_stack([b_lon * scale, b_lat]))
    nodes, which = np.unique(candidates[nearest], return_inverse=True)
    weights = np.bincount(which, weights=residents, minlength=len(nodes))
    if weights.sum() <= 0:
        return None
    return nodes, weights / weights.sum(), float(residents.sum())


def zone_homes(
    service: ShuttleService, network: ShuttleNetwork, population: Path | None, osm_file: Path | None = None
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Per zone: home nodes, their weights (share of the zone's residents) and the zone's residents."""
    from shapely import contains_xy
    from shapely.geometry import Polygon

    lon, lat = network.graph.node_lon, network.graph.node_lat
    cells = None
    if population is not None and population.exists():
        import geopandas as gpd

        try:
            cells = gpd.read_file(population)
        except Exception as exc:  # GDAL drivers raise their own error types
            raise InputError(
                str(population), [InputProblem(population.name, None, f"cannot be read ({exc})")], "population file"
            ) from exc
        if "population" not in cells.columns:
            raise InputError(
                str(population), [InputProblem(population.name, "population", "column is missing")], "population file"
            )
        people = pd.to_numeric(cells["population"], errors="coerce")
        if people.isna().any() or (people < 0).any():
            bad = tuple(int(i) + 1 for i in np.flatnonzero(people.isna() | (people < 0))[:10])
            raise InputError(
                str(population),
                [InputProblem(population.name, "population", "must be a number >= 0", bad)],
                "population file",
            )
    buildings = read_residential_buildings(osm_file) if osm_file is not None and osm_file.exists() else None
    out = []
    for zone in service.zones:
        if buildings is not None:
            homes = _building_homes(Polygon(zone.polygon), lon, lat, buildings, cells)
            if homes is not None:
                out.append(homes)
                continue
        inside = np.flatnonzero(contains_xy(Polygon(zone.polygon), lon, lat))
        if not len(inside):
            raise DispatchError(f"shuttle zone {zone.name} contains no drivable street")
        weights = np.full(len(inside), np.nan)
        if cells is not None:
            for geometry, people in zip(cells.geometry, cells["population"], strict=True):
                hit = contains_xy(geometry, lon[inside], lat[inside])
                if hit.any():
                    weights[hit] = float(people) / hit.sum()
        covered = weights[np.isfinite(weights)]
        weights[~np.isfinite(weights)] = float(np.median(covered)) if len(covered) else 1.0
        if weights.sum() <= 0:
            weights[:] = 1.0
        out.append((inside, weights / weights.sum(), float(np.nansum(weights))))
    return out


def hubs_for(service: ShuttleService, network: ShuttleNetwork, timetable: Timetable) -> list[Hub]:
    """Each shuttle zone's hub: its network node and the sorted departures and arrivals (s) of its stops."""
    hubs = []
    for zone in service.zones:
        first = timetable.stop_index(zone.hub_stop_ids[0])
        node = network.snap(float(timetable.stop_lon[first]), float(timetable.stop_lat[first]))
        departures, arrivals = hub_times(timetable, zone.hub_stop_ids)
        if not len(departures) or not len(arrivals):
            raise DispatchError(f"hub stops {', '.join(zone.hub_stop_ids)} of zone {zone.name} have no service")
        hubs.append(Hub(zone.name, zone.hub_stop_ids, node, departures, arrivals))
    return hubs


def _check_hub_service(hubs: Sequence[Hub], start_s: float, end_s: float) -> None:
    """Every hub needs departures or arrivals inside the hours, else no rider can be made for its zone."""
    problems = []
    for hub in hubs:
        times = np.concatenate([hub.departures_s, hub.arrivals_s])
        if not ((times >= start_s) & (times <= end_s)).any():
            span = (
                f"{format_clock(float(times.min()))} to {format_clock(float(times.max()))}" if len(times) else "never"
            )
            problems.append(
                f"zone {hub.zone}: hub stops {', '.join(hub.stop_ids)} have no departures or arrivals between "
                f"{format_clock(start_s)} and {format_clock(end_s)} (they have service from {span})"
            )
    if problems:
        raise DispatchError("no demand can be generated: " + "; ".join(problems))


def generate_demand(
    area: Area,
    network: ShuttleNetwork,
    timetable: Timetable,
    n_requests: int,
    seed: int = 1,
    hours: tuple[float, float] | None = None,
) -> list[Booking]:
    """``n_requests`` riders for one day of the area's shuttle service (see the module docstring)."""
    service = area.shuttle
    if service is None:
        raise DispatchError(f"area {area.name} defines no [shuttle] service")
    if n_requests < 1:
        raise DispatchError("the number of requests must be at least 1")
    start_s, end_s = (hours[0] * 3600, hours[1] * 3600) if hours else service.hours_s
    if not start_s < end_s:
        raise DispatchError(f"operating hours {start_s / 3600:g}-{end_s / 3600:g} are empty")
    rng = np.random.default_rng(seed)
    homes = zone_homes(service, network, area.population_file, area.osm_file)
    hubs = hubs_for(service, network, timetable)
    zone_weight = np.array([residents for _, _, residents in homes], dtype=float)
    zone_weight /= zone_weight.sum()
    max_wait = service.max_wait_min * 60
    _check_hub_service(hubs, start_s, end_s)
    out: list[Booking] = []
    attempts, max_attempts = 0, 1000 + 200 * n_requests  # a bounded search even for strange inputs
    while len(out) < n_requests:
        attempts += 1
        if attempts > max_attempts:
            raise DispatchError(
                f"could make only {len(out)} of {n_requests} requests in {max_attempts} tries: few trains at the "
                f"hubs between {format_clock(start_s)} and {format_clock(end_s)} fit the shuttle's hours and wait; "
                "widen --hours or check the hub stops"
            )
        part = rng.random()
        if part < 1 / 3:
            target = rng.uniform(start_s, end_s)
        elif part < 2 / 3:
            target = rng.normal(8 * 3600, 50 * 60)
        else:
            target = rng.normal(16.5 * 3600, 60 * 60)
        z = int(rng.choice(len(homes), p=zone_weight))
        nodes, weights, _ = homes[z]
        home = int(rng.choice(nodes, p=weights))
        hub = hubs[z]
        to_hub = rng.random() < (0.75 if target < 12 * 3600 else 0.3)
        seats = 2 if rng.random() < 0.1 else 1
        chairs = 1 if rng.random() < 0.02 else 0
        timing = _hub_trip(rng, to_hub, target, hub, home, network, max_wait)
        if timing is None:
            continue
        pickup, dropoff, announced, earliest_pickup, latest_pickup, latest_dropoff, direct = timing
        if not (start_s <= earliest_pickup and latest_pickup <= end_s):
            continue
        if pickup == dropoff:
            continue
        out.append(
            Booking(
                id=f"r{len(out) + 1:04d}",
                pickup=pickup,
                dropoff=dropoff,
                announced_s=float(round(announced)),
                earliest_pickup_s=float(round(earliest_pickup)),
                latest_pickup_s=float(round(latest_pickup)),
                max_ride_s=service.max_ride_s(direct),
                latest_dropoff_s=float(latest_dropoff),
                seats=seats,
                wheelchairs=chairs,
                service_s=SERVICE_S,
            )
        )
    return sorted(out, key=lambda b: (b.announced_s, b.id))


def _hub_trip(
    rng: np.random.Generator,
    to_hub: bool,
    target: float,
    hub: Hub,
    home: int,
    network: ShuttleNetwork,
    max_wait: float,
) -> tuple[int, int, float, float, float, float, float] | None:
    """(pickup, drop-off, announced, earliest pickup, latest pickup, latest drop-off, direct time) of a
    ride to the hub for the first departure after ``target``, or home from the first arrival after it;
    None when the day has no such train."""
    if to_hub:
        k = int(np.searchsorted(hub.departures_s, target))
        if k >= len(hub.departures_s):
            return None
        latest_dropoff = hub.departures_s[k] - PLATFORM_S
        direct = float(network.time_s[home, hub.node])
        latest_pickup = latest_dropoff - direct - 2 * SERVICE_S
        earliest_pickup = latest_pickup - max_wait
        ahead = 120.0 if rng.random() < 1 / 3 else rng.uniform(5 * 60, 45 * 60)
        return home, hub.node, earliest_pickup - ahead, earliest_pickup, latest_pickup, latest_dropoff, direct
    k = int(np.searchsorted(hub.arrivals_s, target))
    if k >= len(hub.arrivals_s):
        return None
    earliest_pickup = hub.arrivals_s[k] + PLATFORM_S
    direct = float(network.time_s[hub.node, home])
    announced = hub.arrivals_s[k] - rng.uniform(2 * 60, 20 * 60)
    return hub.node, home, announced, earliest_pickup, earliest_pickup + max_wait, math.inf, direct


CSV_COLUMNS = [
    "id",
    "announced",
    "pickup_lat",
    "pickup_lon",
    "dropoff_lat",
    "dropoff_lon",
    "earliest_pickup",
    "latest_pickup",
    "latest_dropoff",
    "seats",
    "wheelchair",
]


def _hhmmss(seconds: float) -> str:
    if math.isinf(seconds):
        return ""
    s = round(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def write_demand_csv(bookings: Sequence[Booking], network: ShuttleNetwork, path: Path) -> None:
    """Write ``riders`` as a demand CSV that ``maas simulate --demand`` reads back (times HH:MM:SS)."""
    rows = []
    for b in bookings:
        (plon, plat), (dlon, dlat) = network.lonlat(b.pickup), network.lonlat(b.dropoff)
        rows.append(
            [
                b.id,
                _hhmmss(b.announced_s),
                plat,
                plon,
                dlat,
                dlon,
                _hhmmss(b.earliest_pickup_s),
                _hhmmss(b.latest_pickup_s),
                _hhmmss(b.latest_dropoff_s),
                b.seats,
                b.wheelchairs,
            ]
        )
    pd.DataFrame(rows, columns=CSV_COLUMNS).to_csv(path, index=False)


def read_demand_csv(path: Path, network: ShuttleNetwork, service: ShuttleService) -> list[Booking]:
    """Riders from CSV (the columns :func:`write_demand_csv` writes; times HH:MM[:SS]).

    Raises :class:`InputError` naming every problem (file, line, column) at once.
    """
    table = read_csv_file(path)
    if table.frame is None:
        raise InputError(str(path), list(table.problems), kind="demand file")
    df = table.frame
    required = [c for c in CSV_COLUMNS if c not in ("latest_dropoff", "seats", "wheelchair")]
    missing = [InputProblem(table.name, c, "required column is missing") for c in required if c not in df.columns]
    if missing:
        raise InputError(str(path), missing, kind="demand file")
    reader = FieldReader(table.name)
    out = []
    reader.unique_ids(df)
    for line, row in zip(df.index.tolist(), df.to_dict("records"), strict=True):
        ident = str(row["id"])
        coords = [
            reader.number(
                row[c], line, c, low=-90 if c.endswith("lat") else -180, high=90 if c.endswith("lat") else 180
            )
            for c in ("pickup_lat", "pickup_lon", "dropoff_lat", "dropoff_lon")
        ]
        announced = reader.clock_minutes(row["announced"], line, "announced") * 60
        earliest = reader.clock_minutes(row["earliest_pickup"], line, "earliest_pickup") * 60
        latest = reader.clock_minutes(row["latest_pickup"], line, "latest_pickup") * 60
        latest_dropoff = reader.clock_minutes(row.get("latest_dropoff", ""), line, "latest_dropoff", default=math.inf)
        seats = reader.number(row.get("seats", ""), line, "seats", default=1.0, low=0, high=100, integer=True)
        chairs = reader.number(row.get("wheelchair", ""), line, "wheelchair", default=0.0, low=0, high=20, integer=True)
        if latest < earliest:
            reader.problem(line, "latest_pickup", "latest_pickup is before earliest_pickup")
        if announced > latest:
            reader.problem(line, "announced", "announced after the latest pickup")
        if latest_dropoff * 60 < earliest:
            reader.problem(line, "latest_dropoff", "latest_dropoff is before earliest_pickup")
        if seats == 0 and chairs == 0:
            reader.problem(line, "seats", "a rider needs at least one seat or a wheelchair place")
        values = (*coords, announced, earliest, latest, seats, chairs)
        if not all(math.isfinite(v) for v in values) or latest < earliest or announced > latest:
            continue
        pickup_lat, pickup_lon, dropoff_lat, dropoff_lon = coords
        try:
            pickup = network.snap(pickup_lon, pickup_lat)
            dropoff = network.snap(dropoff_lon, dropoff_lat)
        except MaasError as error:  # the snapper's own error says how far the street is
            reader.problem(line, "pickup_lat", str(error))
            continue
        direct = float(network.time_s[pickup, dropoff])
        out.append(
            Booking(
                id=ident,
                pickup=pickup,
                dropoff=dropoff,
                announced_s=announced,
                earliest_pickup_s=earliest,
                latest_pickup_s=latest,
                max_ride_s=service.max_ride_s(direct),
                latest_dropoff_s=latest_dropoff * 60,
                seats=int(seats),
                wheelchairs=int(chairs),
                service_s=SERVICE_S,
            )
        )
    if reader.problems:
        raise InputError(str(path), reader.problems, kind="demand file")
    return sorted(out, key=lambda b: (b.announced_s, b.id))
