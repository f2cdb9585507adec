"""How the planner asks for a shuttle ride: the quote it gets and the zone lookup.

The planner never dispatches; it asks a *quoter* (``dispatch.quotes.ShuttleDispatcher`` against
a service day's current plan) for a pickup window and ride between a point in a shuttle zone and
the zone's hub station, and shows the answer as a :class:`~planner.itinerary.ShuttleLeg`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from maas.area import ShuttleZone
from planner.itinerary import Coords

HUB_TRANSFER_S = 120  # from the shuttle's kerb to the metro platform, or back


@dataclass(frozen=True, slots=True)
class ShuttleQuote:
    pickup_s: int  # planned pickup (seconds after midnight of the service day)
    dropoff_s: int
    pickup_earliest_s: int  # the promised pickup window
    pickup_latest_s: int
    vehicle: str
    distance_m: float
    geometry: Coords


class ShuttleQuoter(Protocol):
    def quote(
        self, origin: tuple[float, float], destination: tuple[float, float], earliest_pickup_s: int
    ) -> ShuttleQuote | None:
        """A ride from ``origin`` to ``destination`` (lon, lat) picked up no earlier than given, or None."""
        ...

    @property
    def last_reason(self) -> str: ...

    @property
    def service_date(self) -> dt.date | None:
        """The date of the service day quoted against (None: whatever date the planner asks for)."""
        ...


def zone_containing(zones: Sequence[ShuttleZone], lon: float, lat: float) -> ShuttleZone | None:
    """The shuttle zone whose polygon contains (lon, lat), or None."""
    from shapely import contains_xy
    from shapely.geometry import Polygon

    for zone in zones:
        if bool(contains_xy(Polygon(zone.polygon), lon, lat)):
            return zone
    return None
