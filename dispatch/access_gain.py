"""What the shuttle gives the residents of its zones: minutes to the metro hub and opportunities in reach.

For every population cell whose centre lies in a shuttle zone, two door-to-hub times:

- **walking and transit** alone: the planner's travel-time matrix (median over a departure window)
  from the cell's centre to the zone's hub stops;
- **by shuttle**: from the moment the rider must be ready (the start of the pickup window the
  service promised) to the arrival at the hub: the day's median of pickup minus window start, plus
  the direct shuttle time from the cell's street node to the hub's, stretched by the day's mean
  detour factor. A booked rider waits for the window at home, not at a stop, so the time before
  it is not travel time. The day is a simulated or live day (``maas simulate --db``): its
  measured waits, detours and served share are the service level a rider gets.

A resident takes the shuttle when it is faster and when the day serves them, so the expected
time with the shuttle available is ``served * min(walk_transit, shuttle) + (1 - served) *
walk_transit``; the gain is the walking-and-transit time minus that. With opportunities (jobs,
schools), the same is done beyond the hub: an opportunity is reached either by walking and
transit from the door, or by the shuttle to the hub and transit from there, whichever is sooner.
Onward from the hub, travel times are the window's median for leaving at the zone's median
shuttle arrival (one small matrix per hub stop instead of one per cell and minute), so a cell
whose own shuttle time differs from the median gets the hub's typical connections.

The headline, hours per resident per year, is the population-weighted gain per trip times
``trips_per_day`` trips to or from the hub per resident and ``days_per_year``; both are stated
assumptions of the caller, printed with the figure.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dispatch.kpi import compute_kpis
from dispatch.model import DispatchError
from dispatch.network import ShuttleNetwork
from dispatch.service import BookingStatus, ServiceStore
from maas.area import ShuttleService
from maas.errors import OutsideAreaError
from planner.matrix import MatrixSettings, travel_time_matrix
from planner.points import Opportunities, Point
from planner.router import Planner

__all__ = ["AccessGain", "CellGain", "GainSettings", "ServiceLevel", "shuttle_gain"]


@dataclass(frozen=True, slots=True)
class GainSettings:
    """When residents travel, the cutoffs for opportunities and the assumptions of the yearly headline."""

    depart: dt.datetime
    cutoffs_min: tuple[float, ...] = (30.0, 45.0)
    trips_per_day: float = 1.0  # trips to or from the hub per resident and day
    days_per_year: int = 365
    window_min: int = 10

    def __post_init__(self) -> None:
        problems = []
        if not self.cutoffs_min or any(not 1 <= c <= 240 for c in self.cutoffs_min):
            problems.append(f"cutoffs must be 1..240 minutes, got {list(self.cutoffs_min)}")
        if not (math.isfinite(self.trips_per_day) and 0 < self.trips_per_day <= 20):
            problems.append(f"trips per day must be in (0, 20], got {self.trips_per_day}")
        if not 1 <= self.days_per_year <= 366:
            problems.append(f"days per year must be 1..366, got {self.days_per_year}")
        if problems:
            raise DispatchError("accessibility gain settings: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class ServiceLevel:
    """What a rider could expect of the shuttle, as measured on one day."""

    wait_min: float  # median time from the start of the promised pickup window to the pickup
    detour_factor: float  # mean ride time over the direct time
    served_share: float
    source: str

    @classmethod
    def of_day(cls, store: ServiceStore, network: ShuttleNetwork, source: str) -> ServiceLevel:
        """The service level the riders of the day in ``store`` got (its finished rides)."""
        kpis = compute_kpis(store, network)
        ready = [
            row["pickup_s"] - row["promised_earliest_s"]
            for row in store.bookings()
            if row["status"] == BookingStatus.DONE and row["promised_earliest_s"] is not None
        ]
        if kpis.served == 0 or not ready:
            raise DispatchError(f"the day ({source}) has no finished ride: no service level to measure")
        wait_min = max(float(np.median(ready)), 0.0) / 60
        return cls(wait_min, max(kpis.detour_factor_mean, 1.0), kpis.served_share, source)


@dataclass(frozen=True, slots=True)
class CellGain:
    """One population cell of a zone: its times to the hub and the opportunities it reaches."""

    id: str
    zone: str
    lat: float
    lon: float
    population: float
    walk_transit_min: float  # NaN: the hub is not reachable within the matrix limits
    shuttle_min: float
    gain_min: float
    opportunities_without: tuple[float, ...]  # per cutoff, by walking and transit
    opportunities_with: tuple[float, ...]  # per cutoff, with the shuttle to the hub as well


@dataclass(frozen=True, slots=True)
class AccessGain:
    """The cells of every zone with their gains, and the settings and service level behind them."""

    cells: tuple[CellGain, ...]
    level: ServiceLevel
    settings: GainSettings
    opportunity: str | None  # the opportunities' name (e.g. jobs), None when none were given

    @property
    def residents(self) -> float:
        return float(sum(c.population for c in self.cells))

    @property
    def minutes_per_trip(self) -> float:
        """Population-weighted mean gain per trip to or from the hub (cells without a gain left out)."""
        known = [c for c in self.cells if math.isfinite(c.gain_min)]
        people = sum(c.population for c in known)
        return sum(c.gain_min * c.population for c in known) / people if people else 0.0

    @property
    def hours_per_resident_per_year(self) -> float:
        return self.minutes_per_trip * self.settings.trips_per_day * self.settings.days_per_year / 60

    def extra_opportunities(self, cutoff_index: int) -> float:
        """Population-weighted mean of the opportunities added within one cutoff."""
        people = self.residents
        if not people or self.opportunity is None:
            return 0.0
        added = sum(
            (c.opportunities_with[cutoff_index] - c.opportunities_without[cutoff_index]) * c.population
            for c in self.cells
        )
        return added / people


def _cells_in_zones(service: ShuttleService, places: Opportunities) -> list[tuple[int, int]]:
    """(index of the place, index of its zone) for every place whose centre lies in a zone."""
    from shapely import contains_xy
    from shapely.geometry import Polygon

    lon = np.array([p.lon for p in places.points])
    lat = np.array([p.lat for p in places.points])
    out: list[tuple[int, int]] = []
    taken = np.zeros(len(lon), dtype=bool)
    for z, zone in enumerate(service.zones):
        inside = contains_xy(Polygon(zone.polygon), lon, lat) & ~taken
        taken |= inside
        out += [(int(i), z) for i in np.flatnonzero(inside)]
    return sorted(out)


def _hub_points(planner: Planner, service: ShuttleService) -> list[list[Point]]:
    """Each zone's hub stops as matrix destinations."""
    tt = planner.data.timetable
    hubs = []
    for zone in service.zones:
        stops = [tt.stop_index(s) for s in zone.hub_stop_ids]
        hubs.append(
            [Point(f"{zone.name}:{tt.stop_ids[k]}", float(tt.stop_lat[k]), float(tt.stop_lon[k])) for k in stops]
        )
    return hubs


def shuttle_gain(
    planner: Planner,
    network: ShuttleNetwork,
    service: ShuttleService,
    population: Opportunities,
    level: ServiceLevel,
    settings: GainSettings,
    opportunities: Opportunities | None = None,
) -> AccessGain:
    """The gain of every population cell in the shuttle's zones (see the module docstring).

    Parameters
    ----------
    planner
        The area's planner (walking and transit times).
    network
        The shuttle network (direct shuttle times between street nodes).
    service
        The area's shuttle service (zones and their hub stops).
    population
        Cells (points) and their residents.
    level
        The service level riders get (from a simulated or live day).
    settings
        Departure, cutoffs and the assumptions of the yearly figure.
    opportunities
        Places and what is there (jobs, schools); None: times to the hub only.
    """
    members = _cells_in_zones(service, population)
    if not members:
        raise DispatchError(
            f"none of the {len(population.points)} population cells has its centre in a shuttle zone "
            f"({', '.join(z.name for z in service.zones)})"
        )
    hubs = _hub_points(planner, service)
    matrix_settings = MatrixSettings(window_min=settings.window_min)
    cells = [population.points[i] for i, _ in members]
    every_hub = [p for zone_hubs in hubs for p in zone_hubs]
    to_hubs = travel_time_matrix(planner, cells, every_hub, settings.depart, settings=matrix_settings).minutes
    hub_nodes = [network.snap(p.lon, p.lat) for p in every_hub]
    columns = {p.id: k for k, p in enumerate(every_hub)}
    walk_transit = np.full(len(cells), np.nan)
    shuttle = np.full(len(cells), np.nan)
    for row, ((_, z), cell) in enumerate(zip(members, cells, strict=True)):
        mine = [columns[p.id] for p in hubs[z]]
        times = to_hubs[row, mine]
        walk_transit[row] = np.nanmin(times) if np.isfinite(times).any() else np.nan
        try:
            node = network.snap(cell.lon, cell.lat)
        except OutsideAreaError:
            continue  # no drivable street near the cell: the shuttle cannot fetch its residents
        ride_s = min(float(network.time_s[node, hub_nodes[k]]) for k in mine)
        shuttle[row] = level.wait_min + level.detour_factor * ride_s / 60
    served = level.served_share
    with np.errstate(invalid="ignore"):
        expected = np.where(
            np.isnan(shuttle), walk_transit, served * np.fmin(walk_transit, shuttle) + (1 - served) * walk_transit
        )
    gain = walk_transit - expected  # NaN where walking and transit cannot reach the hub
    without, with_shuttle = _opportunity_counts(planner, hubs, members, cells, shuttle, opportunities, settings)
    out = []
    for row, (i, z) in enumerate(members):
        out.append(
            CellGain(
                id=cells[row].id,
                zone=service.zones[z].name,
                lat=cells[row].lat,
                lon=cells[row].lon,
                population=float(population.values[i]),
                walk_transit_min=float(walk_transit[row]),
                shuttle_min=float(shuttle[row]),
                gain_min=float(gain[row]),
                opportunities_without=tuple(float(v) for v in without[row]),
                opportunities_with=tuple(float(v) for v in with_shuttle[row]),
            )
        )
    return AccessGain(tuple(out), level, settings, opportunities.column if opportunities else None)


def _opportunity_counts(
    planner: Planner,
    hubs: Sequence[Sequence[Point]],
    members: Sequence[tuple[int, int]],
    cells: Sequence[Point],
    shuttle: np.ndarray,
    opportunities: Opportunities | None,
    settings: GainSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """Opportunities within each cutoff per cell: by walking and transit, and with the shuttle too.

    Beyond the hub, transit leaves at the departure plus the zone's median shuttle time (one
    departure per zone keeps this to one small matrix per hub stop)."""
    cutoffs = np.asarray(settings.cutoffs_min)
    if opportunities is None:
        empty = np.zeros((len(cells), 0))
        return empty, empty
    places = list(opportunities.points)
    weights = np.asarray(opportunities.values)
    matrix_settings = MatrixSettings(window_min=settings.window_min)
    minutes = travel_time_matrix(planner, cells, places, settings.depart, settings=matrix_settings).minutes
    direct = np.where(np.isnan(minutes), np.inf, minutes)  # unreachable: never within a cutoff
    best = direct.copy()
    zone_of = np.array([z for _, z in members])
    for z, zone_hubs in enumerate(hubs):
        rows = np.flatnonzero(zone_of == z)
        known = shuttle[rows][np.isfinite(shuttle[rows])]
        if not len(known):
            continue
        leave = settings.depart + dt.timedelta(minutes=math.ceil(float(np.median(known))))
        onward = travel_time_matrix(planner, list(zone_hubs), places, leave, settings=matrix_settings).minutes
        beyond = np.nanmin(np.where(np.isnan(onward), np.inf, onward), axis=0)  # from the better hub stop
        via = shuttle[rows, None] + beyond[None, :]
        best[rows] = np.fmin(best[rows], np.where(np.isnan(via), np.inf, via))
    without = np.stack([(direct < c) @ weights for c in cutoffs], axis=1)
    with_shuttle = np.stack([(best < c) @ weights for c in cutoffs], axis=1)
    return without, with_shuttle
