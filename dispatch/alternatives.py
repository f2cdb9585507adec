"""Time at home gained against each rider's real alternative: walking and public transport.

For every rider the shuttle carried, the best door-to-door option without it, from the router, on the
same day between the same two points:

* a ride **to** a departure (the booking has a latest drop-off, the train it feeds): the latest the
  rider could leave home by walking and transit and still be there by that time (an arrive-by
  plan); the shuttle rider left home at the pickup. Gained: pickup minus that departure.
* a ride **from** an arrival (no latest drop-off): the earliest the rider could be home by walking and
  transit leaving at the earliest pickup (a depart-at plan); the shuttle rider was home at the
  drop-off. Gained: that arrival minus the drop-off.

Positive is time at home gained by the shuttle. A rider for whom the router finds no alternative (no
walk within its limit and no transit) is counted apart: the shuttle is their only option.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dispatch.network import ShuttleNetwork
from dispatch.online import Booking
from dispatch.service import BookingStatus, ServiceStore, booking_from_json
from maas.errors import MaasError
from planner.points import Opportunities


@dataclass(frozen=True, slots=True)
class RiderGain:
    booking: str
    to_departure: bool
    shuttle_s: float  # the shuttle rider leaves home (to a departure) or is home (from an arrival)
    alternative_s: float | None  # the same moment by walking and transit; None: no alternative
    modes: tuple[str, ...]  # the alternative's legs
    zone: str = ""  # the shuttle zone of the rider's home ("" outside every zone)
    home: tuple[float, float] = (math.nan, math.nan)  # lon, lat of the rider's home

    @property
    def gained_s(self) -> float | None:
        """Seconds at home gained with the shuttle (None without an alternative)."""
        if self.alternative_s is None:
            return None
        return self.shuttle_s - self.alternative_s if self.to_departure else self.alternative_s - self.shuttle_s


@dataclass(frozen=True, slots=True)
class AlternativeGain:
    """The day's riders against their best walk-and-transit alternative."""

    riders: tuple[RiderGain, ...]

    @property
    def compared(self) -> int:
        return sum(r.alternative_s is not None for r in self.riders)

    @property
    def without_alternative(self) -> int:
        return len(self.riders) - self.compared

    def _gains_min(self) -> list[float]:
        return [g / 60 for g in (r.gained_s for r in self.riders) if g is not None]

    @property
    def mean_min(self) -> float:
        gains = self._gains_min()
        return float(np.mean(gains)) if gains else 0.0

    @property
    def median_min(self) -> float:
        gains = self._gains_min()
        return float(np.median(gains)) if gains else 0.0

    @property
    def share_gaining(self) -> float:
        gains = self._gains_min()
        return sum(g > 0 for g in gains) / len(gains) if gains else 0.0

    @property
    def hours_per_day(self) -> float:
        """Hours at home gained by all compared riders together."""
        return sum(self._gains_min()) / 60

    def by(self, key: Callable[[RiderGain], object]) -> list[dict[str, object]]:
        """The gain per group of riders (``key``: a zone, an hour): riders compared, mean and median
        minutes gained, share gaining."""
        groups: dict[object, list[float]] = {}
        for rider in self.riders:
            if rider.gained_s is not None:
                groups.setdefault(key(rider), []).append(rider.gained_s / 60)
        return [
            {
                "group": group,
                "riders": len(gains),
                "mean_min": round(float(np.mean(gains)), 2),
                "median_min": round(float(np.median(gains)), 2),
                "share_gaining": round(sum(g > 0 for g in gains) / len(gains), 3),
            }
            for group, gains in sorted(groups.items(), key=lambda item: str(item[0]))
        ]

    def by_cell(self, cells: Opportunities) -> list[dict[str, object]]:
        """The gain per population cell (``cells``: centres and residents) of the riders' homes, each
        home counted in the nearest cell centre; only cells with compared riders."""
        from scipy.spatial import cKDTree

        if not cells.points:
            return []
        lat0 = math.radians(float(np.mean([c.lat for c in cells.points])))
        tree = cKDTree([(c.lon * math.cos(lat0), c.lat) for c in cells.points])
        gains: dict[int, list[float]] = {}
        for rider in self.riders:
            if rider.gained_s is None or not math.isfinite(rider.home[0]):
                continue
            _, k = tree.query((rider.home[0] * math.cos(lat0), rider.home[1]))
            gains.setdefault(int(k), []).append(rider.gained_s / 60)
        return [
            {
                "cell": cells.points[k].id,
                "lon": cells.points[k].lon,
                "lat": cells.points[k].lat,
                "residents": cells.values[k],
                "riders": len(g),
                "mean_min": round(float(np.mean(g)), 2),
                "share_gaining": round(sum(x > 0 for x in g) / len(g), 3),
            }
            for k, g in sorted(gains.items())
        ]

    def by_zone(self) -> list[dict[str, object]]:
        """The gain per shuttle zone of the riders' homes."""
        return self.by(lambda r: r.zone or "(outside the zones)")

    def by_hour(self) -> list[dict[str, object]]:
        """The gain per hour of the shuttle leg (leaving home, or arriving home)."""
        return self.by(lambda r: f"{int(r.shuttle_s // 3600):02d}:00")

    def headline(self) -> str:
        """One sentence for the operator."""
        return (
            f"against walking and transit: {self.hours_per_day:.1f} hours at home gained per day, "
            f"{self.mean_min:+.1f} min per rider (median {self.median_min:+.1f}), "
            f"{100 * self.share_gaining:.0f} % of {self.compared} riders gain"
            + (f"; {self.without_alternative} had no other option" if self.without_alternative else "")
        )


@dataclass(frozen=True, slots=True)
class Alternative:
    """A request's best door-to-door option without the shuttle (``moment_s`` None: there is none)."""

    to_departure: bool
    moment_s: float | None  # leaving home (to a departure) or being home (from an arrival)
    modes: tuple[str, ...]
    zone: str  # the shuttle zone of the rider's home ("" outside every zone)
    home: tuple[float, float]  # lon, lat


def request_alternatives(
    bookings: Sequence[Booking],
    network: ShuttleNetwork,
    planner: object,
    service_date: dt.date,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Alternative]:
    """Every request's best walk-and-transit option from ``planner`` (a ``planner.router.Planner`` of
    the same area), by booking id: it depends on the request alone, not on how the day was dispatched."""
    from planner.router import Planner
    from planner.shuttle_access import zone_containing

    if not isinstance(planner, Planner):
        raise MaasError("the alternatives need the area's planner")
    clock = planner.clock
    zones = planner.area.shuttle.zones if planner.area.shuttle else ()
    out = {}
    for k, b in enumerate(bookings):
        (plon, plat), (dlon, dlat) = network.lonlat(b.pickup), network.lonlat(b.dropoff)
        to_departure = b.to_departure
        # to a departure: the latest leaving home that arrives in time; from an arrival: the earliest home
        moment = clock.moment(service_date, b.latest_dropoff_s if to_departure else b.earliest_pickup_s)
        try:
            result = planner.plan(
                (plat, plon),
                (dlat, dlon),
                arrive_by=moment if to_departure else None,
                depart_at=None if to_departure else moment,
                service_day=service_date,
            )
        except MaasError:  # a point the walk network does not reach: no alternative
            result = None
        best = None
        if result is not None and len(result):
            best = max(result, key=lambda it: it.depart) if to_departure else min(result, key=lambda it: it.arrive)
        home = (plon, plat) if to_departure else (dlon, dlat)
        zone = zone_containing(zones, *home)
        out[b.id] = Alternative(
            to_departure,
            None if best is None else float(best.depart if to_departure else best.arrive),
            () if best is None else best.modes,
            zone.name if zone else "",
            home,
        )
        if progress:
            progress(k + 1, len(bookings))
    return out


def rider_gains(store: ServiceStore, alternatives: Mapping[str, Alternative]) -> AlternativeGain:
    """Every carried rider of the day in ``store`` against their request's alternative."""
    out = []
    for row in store.bookings():
        if row["status"] != BookingStatus.DONE:
            continue
        alt = alternatives[row["id"]]
        shuttle = float(row["pickup_s"] if alt.to_departure else row["dropoff_s"])
        out.append(RiderGain(row["id"], alt.to_departure, shuttle, alt.moment_s, alt.modes, alt.zone, alt.home))
    return AlternativeGain(tuple(out))


def gain_against_alternatives(
    store: ServiceStore,
    network: ShuttleNetwork,
    planner: object,
    service_date: dt.date,
    progress: Callable[[int, int], None] | None = None,
) -> AlternativeGain:
    """Every carried rider of the day in ``store`` against the best walk-and-transit option from
    ``planner`` (a ``planner.router.Planner`` of the same area)."""
    served = [booking_from_json(row["data"]) for row in store.bookings() if row["status"] == BookingStatus.DONE]
    return rider_gains(store, request_alternatives(served, network, planner, service_date, progress))
