"""Itineraries as immutable values: one frozen dataclass per kind of leg.

Times are integer seconds since midnight of the itinerary's service date (so
25:10 stays 90,600 s); :meth:`Itinerary.to_dict` renders them as ISO datetimes.

CO2 per leg uses ``CO2_G_PER_PASSENGER_KM`` below. These are indicative planning
values, not measurements: walking and cycling 0; an electric tram or metro on
renewable electricity close to 0 (a small allowance for losses); HSL's largely
renewable-diesel and electric bus fleet about 50 g; commuter rail 10 g; ferries
about 100 g; a petrol or diesel car with one occupant about 150 g per km, roughly the
average of the Finnish car stock; the electric shuttle 20 g. Change them here.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from planner.service_time import ServiceClock, local_clock

CO2_G_PER_PASSENGER_KM: dict[str, float] = {
    "walk": 0.0,
    "bike": 0.0,
    "car": 150.0,
    "shuttle": 20.0,
    "tram": 5.0,
    "subway": 3.0,
    "rail": 10.0,
    "bus": 50.0,
    "ferry": 100.0,
    "other": 50.0,
}

# GTFS route_type (basic and HSL's extended types) -> mode name
_ROUTE_TYPE_MODES = {
    0: "tram",
    1: "subway",
    2: "rail",
    3: "bus",
    4: "ferry",
    109: "rail",
    900: "tram",
    1000: "ferry",
    401: "subway",
}


def mode_of_route_type(route_type: int) -> str:
    """The rider's word for a GTFS route_type (basic and extended types): bus, tram, metro, rail, ferry..."""
    if route_type in _ROUTE_TYPE_MODES:
        return _ROUTE_TYPE_MODES[route_type]
    if 100 <= route_type < 200:
        return "rail"
    if 200 <= route_type < 300 or 700 <= route_type < 800:
        return "bus"
    return "other"


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    lat: float
    lon: float
    stop_id: str | None = None


@dataclass(frozen=True, slots=True)
class StopCall:
    """An intermediate stop of a transit leg."""

    stop_id: str
    name: str
    lat: float
    lon: float
    arrival: int
    departure: int


Coords = tuple[tuple[float, float], ...]  # (lon, lat) pairs


@dataclass(frozen=True, slots=True)
class StreetLegBase:
    start: int
    end: int
    origin: Place
    destination: Place
    distance_m: float
    geometry: Coords
    approximate: bool = False  # straight-line fallback outside the street extract
    step_free: bool | None = None  # True: planned without steps (wheelchair routing); None: not checked

    mode: ClassVar[str] = "street"

    @property
    def duration_s(self) -> int:
        return self.end - self.start

    @property
    def co2_g(self) -> float:
        return CO2_G_PER_PASSENGER_KM[self.mode] * self.distance_m / 1000


@dataclass(frozen=True, slots=True)
class WalkLeg(StreetLegBase):
    mode: ClassVar[str] = "walk"


@dataclass(frozen=True, slots=True)
class BikeLeg(StreetLegBase):
    mode: ClassVar[str] = "bike"


@dataclass(frozen=True, slots=True)
class CarLeg(StreetLegBase):
    mode: ClassVar[str] = "car"


@dataclass(frozen=True, slots=True)
class ShuttleLeg(StreetLegBase):
    """An on-demand shuttle ride; ``start`` is the planned pickup inside the quoted pickup window."""

    vehicle: str = ""
    pickup_earliest: int = 0
    pickup_latest: int = 0

    mode: ClassVar[str] = "shuttle"


@dataclass(frozen=True, slots=True)
class TransitLeg:
    start: int
    end: int
    origin: Place
    destination: Place
    route_id: str
    route_short_name: str
    route_long_name: str
    route_type: int
    trip_id: str
    headsign: str
    intermediate_stops: tuple[StopCall, ...]
    distance_m: float
    geometry: Coords
    # The trip, boarding stop and alighting stop all marked accessible in GTFS (True), any of them
    # marked not accessible (False), else unknown (None).
    step_free: bool | None = None
    # The timetable's departure and arrival when real-time updates moved them (None: no real time).
    scheduled_start: int | None = None
    scheduled_end: int | None = None
    alerts: tuple[str, ...] = ()  # service alerts on the ride's route, trip or stops, active during it

    @property
    def delay_s(self) -> int | None:
        """Seconds late (negative: early) at the alighting stop; None without real time."""
        return None if self.scheduled_end is None else self.end - self.scheduled_end

    @property
    def delay_text(self) -> str:
        """The delay as a rider reads it: "+3 min", "2 min early", "on time"; "" without real time."""
        if self.delay_s is None:
            return ""
        minutes = round(self.delay_s / 60)
        return "on time" if minutes == 0 else f"+{minutes} min" if minutes > 0 else f"{-minutes} min early"

    @property
    def mode(self) -> str:
        return mode_of_route_type(self.route_type)

    @property
    def duration_s(self) -> int:
        return self.end - self.start

    @property
    def co2_g(self) -> float:
        return CO2_G_PER_PASSENGER_KM[self.mode] * self.distance_m / 1000


Leg = WalkLeg | BikeLeg | CarLeg | ShuttleLeg | TransitLeg


def _leg_name(leg: Leg) -> str:
    if isinstance(leg, TransitLeg):
        return f"{leg.mode} {leg.route_short_name}".strip()
    return leg.mode


@dataclass(frozen=True, slots=True)
class Ticket:
    """One ticket of a fare: a GTFS ``fare_id`` (or ``"shuttle"``) covering some of the itinerary's legs."""

    fare_id: str
    price: float
    currency: str
    legs: tuple[int, ...]  # indices into ``Itinerary.legs``


@dataclass(frozen=True, slots=True)
class Fare:
    """What an itinerary costs (``planner.fares``): its cheapest tickets, and the legs whose price the
    data does not give (a feed without fares for that operator, a shuttle with no published fare)."""

    tickets: tuple[Ticket, ...] = ()
    unpriced_legs: tuple[int, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every leg's price is known."""
        return not self.unpriced_legs

    @property
    def totals(self) -> tuple[tuple[str, float], ...]:
        """The sum of the tickets per currency, rounded to cents."""
        sums: dict[str, float] = {}
        for ticket in self.tickets:
            sums[ticket.currency] = sums.get(ticket.currency, 0.0) + ticket.price
        return tuple((currency, round(amount, 2)) for currency, amount in sorted(sums.items()))

    @property
    def amount(self) -> float | None:
        """The whole price in one currency; None when a leg's price is unknown or currencies mix."""
        totals = self.totals
        if not self.complete or len(totals) > 1:
            return None
        return totals[0][1] if totals else 0.0


@dataclass(frozen=True, slots=True)
class Itinerary:
    """A door-to-door option; leg times are seconds in ``service_date``'s frame (``planner.service_time``)
    and :meth:`local` turns them into local times in ``zone`` (naive when the area names no zone)."""

    service_date: dt.date
    legs: tuple[Leg, ...]
    zone: str | None = None
    fare: Fare | None = None  # None when the area publishes no fares

    def local(self, seconds: float) -> dt.datetime:
        """A leg time as the local date and time (aware, with its UTC offset, when there is a zone)."""
        return ServiceClock(self.zone).moment(self.service_date, seconds)

    def clock(self, seconds: float) -> str:
        """A leg time as the rider reads it: local HH:MM, with the date when it is not the query's day."""
        return local_clock(self.local(seconds), self.service_date)

    def _iso(self, seconds: float) -> str:
        return self.local(seconds).isoformat()

    @property
    def depart(self) -> int:
        return self.legs[0].start

    @property
    def arrive(self) -> int:
        return self.legs[-1].end

    @property
    def duration_s(self) -> int:
        return self.arrive - self.depart

    @property
    def transit_legs(self) -> tuple[TransitLeg, ...]:
        return tuple(leg for leg in self.legs if isinstance(leg, TransitLeg))

    @property
    def transfers(self) -> int:
        return max(len(self.transit_legs) - 1, 0)

    @property
    def walking_m(self) -> float:
        return sum(leg.distance_m for leg in self.legs if isinstance(leg, WalkLeg))

    @property
    def moving_s(self) -> int:
        return sum(leg.duration_s for leg in self.legs)

    @property
    def waiting_s(self) -> int:
        return self.duration_s - self.moving_s

    @property
    def co2_g(self) -> float:
        return sum(leg.co2_g for leg in self.legs)

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(leg.mode for leg in self.legs)

    @property
    def fare_text(self) -> str:
        """The price as a rider reads it: "2.80 EUR", "free", "4.70 BRL + rail fare not published"."""
        if self.fare is None:
            return "fare not published" if self.transit_legs or self.shuttle_legs else "free"
        parts = [f"{amount:.2f} {currency}".strip() for currency, amount in self.fare.totals]
        unknown = sorted({self.legs[i].mode for i in self.fare.unpriced_legs})
        if unknown:
            parts.append(f"{' and '.join(unknown)} fare not published")
        return " + ".join(parts) if parts else "free"

    @property
    def step_free_text(self) -> str:
        """Accessibility as a rider reads it: "step-free" (every leg confirmed), "not step-free (tram 7)"
        (a leg marked not accessible), else "step-free not confirmed" (a leg with no information)."""
        moving = [leg for leg in self.legs if not (isinstance(leg, WalkLeg) and leg.distance_m < 1)]
        blocked = [leg for leg in moving if leg.step_free is False]
        if blocked:
            return "not step-free (" + ", ".join(_leg_name(leg) for leg in blocked) + ")"
        return "step-free" if all(leg.step_free for leg in moving) else "step-free not confirmed"

    @property
    def shuttle_legs(self) -> tuple[ShuttleLeg, ...]:
        return tuple(leg for leg in self.legs if isinstance(leg, ShuttleLeg))

    def to_dict(self) -> dict[str, Any]:
        """The itinerary as plain data for JSON: local ISO-8601 times with offset, legs, places, routes."""

        def place(p: Place) -> dict[str, Any]:
            return {"name": p.name, "lat": p.lat, "lon": p.lon, "stop_id": p.stop_id}

        legs = []
        for leg in self.legs:
            item: dict[str, Any] = {
                "mode": leg.mode,
                "start": self._iso(leg.start),
                "end": self._iso(leg.end),
                "duration_s": leg.duration_s,
                "from": place(leg.origin),
                "to": place(leg.destination),
                "distance_m": round(leg.distance_m, 1),
                "co2_g": round(leg.co2_g, 1),
                "step_free": leg.step_free,
            }
            if isinstance(leg, TransitLeg):
                item.update(
                    route_id=leg.route_id,
                    route=leg.route_short_name,
                    route_long_name=leg.route_long_name,
                    trip_id=leg.trip_id,
                    headsign=leg.headsign,
                    scheduled_start=None if leg.scheduled_start is None else self._iso(leg.scheduled_start),
                    scheduled_end=None if leg.scheduled_end is None else self._iso(leg.scheduled_end),
                    delay_s=leg.delay_s,
                    alerts=list(leg.alerts),
                    intermediate_stops=[
                        {"stop_id": c.stop_id, "name": c.name, "arrival": self._iso(c.arrival)}
                        for c in leg.intermediate_stops
                    ],
                )
            else:
                item["approximate"] = leg.approximate
            if isinstance(leg, ShuttleLeg):
                item.update(
                    vehicle=leg.vehicle,
                    pickup_window=[
                        self._iso(leg.pickup_earliest),
                        self._iso(leg.pickup_latest),
                    ],
                )
            legs.append(item)
        return {
            "depart": self._iso(self.depart),
            "arrive": self._iso(self.arrive),
            "duration_s": self.duration_s,
            "transfers": self.transfers,
            "waiting_s": self.waiting_s,
            "walking_m": round(self.walking_m, 1),
            "co2_g": round(self.co2_g, 1),
            "fare": self._fare_dict(),
            "step_free": self.step_free_text,
            "legs": legs,
        }

    def _fare_dict(self) -> dict[str, Any]:
        fare = self.fare
        return {
            "text": self.fare_text,
            "amount": None if fare is None else fare.amount,
            "totals": {} if fare is None else dict(fare.totals),
            "tickets": []
            if fare is None
            else [
                {"fare_id": t.fare_id, "price": t.price, "currency": t.currency, "legs": list(t.legs)}
                for t in fare.tickets
            ],
            "unpriced_legs": [] if fare is None else list(fare.unpriced_legs),
        }

    def to_geojson(self) -> dict[str, Any]:
        """The legs as a GeoJSON FeatureCollection of LineStrings with their mode and times."""
        features = []
        for i, (leg, info) in enumerate(zip(self.legs, self.to_dict()["legs"], strict=True)):
            props = {k: v for k, v in info.items() if k not in ("intermediate_stops",)}
            props["leg"] = i
            features.append(
                {
                    "type": "Feature",
                    "properties": props,
                    "geometry": {"type": "LineString", "coordinates": [list(c) for c in leg.geometry]},
                }
            )
        return {"type": "FeatureCollection", "features": features}

    def to_json(self) -> str:
        """The itinerary as JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)
