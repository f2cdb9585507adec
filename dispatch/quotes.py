"""The planner's window on a running service day: quotes and bookings for shuttle legs."""

from __future__ import annotations

import datetime as dt
import math
import uuid

from dispatch.model import DispatchError
from dispatch.network import ShuttleNetwork
from dispatch.online import Booking
from dispatch.service import ServiceStore
from dispatch.service_day import Decision
from maas.area import ShuttleService
from planner.itinerary import ShuttleLeg
from planner.shuttle_access import ShuttleQuote


class ShuttleDispatcher:
    """Quotes shuttle rides against the current plan in ``store``; books the ones a rider chooses."""

    def __init__(
        self,
        store: ServiceStore,
        network: ShuttleNetwork,
        service: ShuttleService,
        wheelchairs: int = 0,
        service_date: dt.date | None = None,
    ) -> None:
        self.store = store
        self._service_date = service_date
        self.wheelchairs = wheelchairs
        self.network = network
        self.service = service
        self._reason = ""

    @property
    def last_reason(self) -> str:
        return self._reason

    @property
    def service_date(self) -> dt.date | None:
        return self._service_date

    def _booking(
        self, origin: tuple[float, float], destination: tuple[float, float], earliest_s: int, booking_id: str
    ) -> Booking:
        pickup = self.network.snap(*origin)
        dropoff = self.network.snap(*destination)
        direct = float(self.network.time_s[pickup, dropoff])
        return Booking(
            id=booking_id,
            pickup=pickup,
            dropoff=dropoff,
            announced_s=float(earliest_s),
            earliest_pickup_s=float(earliest_s),
            latest_pickup_s=float(earliest_s) + self.service.max_wait_min * 60,
            max_ride_s=self.service.max_ride_s(direct),
            wheelchairs=self.wheelchairs,
        )

    def quote(
        self, origin: tuple[float, float], destination: tuple[float, float], earliest_pickup_s: int
    ) -> ShuttleQuote | None:
        """What the fleet can offer now for a ride from ``origin`` to ``destination`` (lon, lat), picked up
        no earlier than ``earliest_pickup_s``; None (with :attr:`last_reason`) when nothing fits. Books nothing.
        """
        booking = self._booking(origin, destination, earliest_pickup_s, "quote")
        try:
            decision = self.store.quote(self.network, booking)
        except DispatchError as exc:  # the day is over: no shuttle, and the rider is told why
            self._reason = str(exc)
            return None
        if not decision.accepted:
            self._reason = decision.reason
            return None
        assert decision.planned_pickup_s is not None and decision.planned_dropoff_s is not None
        assert decision.promised_earliest_s is not None and decision.promised_latest_s is not None
        geometry = self.network.path_coords(booking.pickup, booking.dropoff)
        return ShuttleQuote(
            pickup_s=math.ceil(decision.planned_pickup_s),
            dropoff_s=math.ceil(decision.planned_dropoff_s),
            pickup_earliest_s=math.floor(decision.promised_earliest_s),
            pickup_latest_s=math.ceil(decision.promised_latest_s),
            vehicle=decision.vehicle or "",
            distance_m=float(self.network.dist_m[booking.pickup, booking.dropoff]),
            geometry=tuple((float(x), float(y)) for x, y in geometry),
        )

    def book(self, leg: ShuttleLeg, booking_id: str | None = None) -> Decision:
        """Book the ride a quoted leg showed; the fleet may have changed since, so read the decision."""
        earliest = min(leg.pickup_earliest, leg.start)
        booking = self._booking(
            (leg.origin.lon, leg.origin.lat),
            (leg.destination.lon, leg.destination.lat),
            earliest,
            booking_id or f"trip-{uuid.uuid4().hex[:8]}",
        )
        return self.store.book(self.network, booking)
