"""The price of an itinerary: the cheapest combination of GTFS (Fares v1) tickets for its rides.

A ticket (a ``fare_attributes.txt`` row) covers a run of consecutive rides when

* its ``transfers`` allows that many changes (empty: any number) and every ride after the first
  is boarded within ``transfer_duration`` seconds of the first ride's departure (HSL's rule: the
  ticket must be valid when the last vehicle is boarded);
* its ``agency_id``, when given, runs every ride;
* one of its rule groups matches (a fare without rules matches any ride). A fare's rows in
  ``fare_rules.txt`` are grouped by ``(origin_id, destination_id)`` and by whether they list a
  ``contains_id``; a group matches when every ride's route is one of the group's routes (if it names
  any), the first boarding stop's zone is its origin and the last alighting stop's zone its
  destination (if given), and every zone the rides pass (boarding, intermediate and alighting stops)
  is one of its ``contains_id`` zones (if it lists any). So HSL's "AB" ticket (contains A and B)
  covers a ride inside zone A, and its "BC" row for route 2550 alone covers that route anywhere.

The cheapest cover is a shortest path over the rides (few per itinerary). A ride no ticket covers
is reported as unpriced rather than guessed. The shuttle's price comes from the area file (its fare
alone and its fare when the trip also uses transit, such as "included in the transit ticket").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from planner.itinerary import Fare, Itinerary, ShuttleLeg, Ticket, TransitLeg
from planner.timetable import Timetable

__all__ = ["FareRules", "Ride", "ShuttleFare"]

_UNPRICED = 1e9  # cost of leaving a ride without a ticket: any real cover is cheaper


@dataclass(frozen=True, slots=True)
class Ride:
    """One transit leg as the fare rules see it."""

    route_id: str
    agency_id: str
    board_s: int
    origin_zone: str
    destination_zone: str
    zones: frozenset[str]


@dataclass(frozen=True, slots=True)
class ShuttleFare:
    """The shuttle's price (``None``: not published) alone and with a transit ticket, in ``currency``."""

    alone: float | None
    with_transit: float | None
    currency: str


@dataclass(frozen=True, slots=True)
class _RuleGroup:
    routes: frozenset[str]
    origin: str
    destination: str
    contains: frozenset[str] | None  # None: the group lists no zones

    def matches(self, rides: Sequence[Ride]) -> bool:
        if self.routes and any(r.route_id not in self.routes for r in rides):
            return False
        if self.origin and rides[0].origin_zone != self.origin:
            return False
        if self.destination and rides[-1].destination_zone != self.destination:
            return False
        return self.contains is None or all(r.zones <= self.contains for r in rides)


@dataclass(frozen=True, slots=True)
class _Product:
    fare_id: str
    price: float
    currency: str
    transfers: int  # -1: unlimited
    duration_s: int  # -1: not limited
    agency_id: str
    groups: tuple[_RuleGroup, ...]  # empty: applies to every ride

    def covers(self, rides: Sequence[Ride]) -> bool:
        if self.transfers >= 0 and len(rides) - 1 > self.transfers:
            return False
        if len(rides) > 1 and self.duration_s >= 0 and rides[-1].board_s - rides[0].board_s > self.duration_s:
            return False
        if self.agency_id and any(r.agency_id and r.agency_id != self.agency_id for r in rides):
            return False
        return not self.groups or any(g.matches(rides) for g in self.groups)


class FareRules:
    """A feed's fares, ready to price itineraries (immutable after construction; safe to share)."""

    def __init__(self, timetable: Timetable, shuttle: ShuttleFare | None = None) -> None:
        tt = timetable
        self._zone_of = {str(s): str(z) for s, z in zip(tt.stop_ids, tt.stop_zone_ids, strict=True)}
        self._agency_of = {str(r): str(a) for r, a in zip(tt.route_ids, tt.route_agency_ids, strict=True)}
        grouped: dict[int, dict[tuple[str, str, bool], tuple[set[str], set[str]]]] = {}
        for fare, route, origin, destination, contains in zip(
            tt.fare_rule_fare.tolist(),
            tt.fare_rule_route_ids,
            tt.fare_rule_origins,
            tt.fare_rule_destinations,
            tt.fare_rule_contains,
            strict=True,
        ):
            key = (str(origin), str(destination), bool(contains))
            routes, zones = grouped.setdefault(fare, {}).setdefault(key, (set(), set()))
            if route:
                routes.add(str(route))
            if contains:
                zones.add(str(contains))
        self._products = tuple(
            _Product(
                fare_id=str(tt.fare_ids[i]),
                price=float(tt.fare_prices[i]),
                currency=str(tt.fare_currencies[i]),
                transfers=int(tt.fare_transfers[i]),
                duration_s=int(tt.fare_durations_s[i]),
                agency_id=str(tt.fare_agency_ids[i]),
                groups=tuple(
                    _RuleGroup(frozenset(routes), o, d, frozenset(zones) if has_zones else None)
                    for (o, d, has_zones), (routes, zones) in grouped.get(i, {}).items()
                ),
            )
            for i in range(len(tt.fare_ids))
        )
        self.shuttle = shuttle
        currencies = {p.currency for p in self._products}
        self.currency = currencies.pop() if len(currencies) == 1 else ""

    @property
    def published(self) -> bool:
        """Whether the feed publishes any fare at all."""
        return bool(self._products)

    def ride(self, leg: TransitLeg) -> Ride:
        """The fare rules' view of a transit leg: its route and the zones of the stops it passes."""
        stops = [leg.origin.stop_id, *(c.stop_id for c in leg.intermediate_stops), leg.destination.stop_id]
        zones = [self._zone_of.get(s or "", "") for s in stops]
        return Ride(
            route_id=leg.route_id,
            agency_id=self._agency_of.get(leg.route_id, ""),
            board_s=leg.start,
            origin_zone=zones[0],
            destination_zone=zones[-1],
            zones=frozenset(z for z in zones if z),
        )

    def cheapest(self, rides: Sequence[Ride]) -> tuple[list[tuple[_Product, int, int]], list[int]]:
        """The cheapest tickets ``(product, first ride, last ride + 1)`` covering ``rides``, and the
        rides no ticket covers (as few as possible)."""
        n = len(rides)
        cost = [0.0] + [math.inf] * n
        step: list[tuple[int, _Product | None]] = [(0, None)] * (n + 1)
        for end in range(1, n + 1):
            cost[end], step[end] = cost[end - 1] + _UNPRICED, (end - 1, None)
            for start in range(end):
                for product in self._products:
                    price = cost[start] + product.price
                    if price < cost[end] and product.covers(rides[start:end]):
                        cost[end], step[end] = price, (start, product)
        tickets: list[tuple[_Product, int, int]] = []
        unpriced: list[int] = []
        end = n
        while end > 0:
            start, used = step[end]
            if used is None:
                unpriced.append(start)
            else:
                tickets.append((used, start, end))
            end = start
        return tickets[::-1], unpriced[::-1]

    def price(self, itinerary: Itinerary) -> Fare:
        """What ``itinerary`` costs: its tickets, the shuttle's fare and the legs with no known price."""
        transit = [i for i, leg in enumerate(itinerary.legs) if isinstance(leg, TransitLeg)]
        rides = [self.ride(leg) for leg in itinerary.legs if isinstance(leg, TransitLeg)]
        chosen, uncovered = self.cheapest(rides)
        tickets = [Ticket(p.fare_id, p.price, p.currency, tuple(transit[start:end])) for p, start, end in chosen]
        unpriced = [transit[k] for k in uncovered]
        for i, leg in enumerate(itinerary.legs):
            if isinstance(leg, ShuttleLeg):
                shuttle = self.shuttle
                price = None if shuttle is None else (shuttle.with_transit if rides else shuttle.alone)
                if price is None or shuttle is None:
                    unpriced.append(i)
                else:
                    tickets.append(Ticket("shuttle", price, shuttle.currency or self.currency, (i,)))
        return Fare(tuple(tickets), tuple(sorted(unpriced)))
