"""Fares: the cheapest tickets for an itinerary, checked against prices worked out by hand from
the fare rules (a small zone feed, HSL's own fare tables) and on planned Helsinki trips."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from feedmaker import write_feed

from maas.errors import FeedValidationError
from planner.fares import FareRules, Ride, ShuttleFare
from planner.gtfs_feed import load_feed, load_feeds
from planner.itinerary import Fare, Itinerary, Place, ShuttleLeg, Ticket, TransitLeg, WalkLeg
from planner.timetable import Timetable
from planner.timetable_compiler import compile_timetable

DAY = dt.date(2022, 2, 22)

# Zones A-B-C along the line S1 (A), S2 (A), S3 (B), S4 (C); S5 lies in zone D, which no ticket covers.
ZONE_TABLES = {
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon,zone_id,wheelchair_boarding\n"
        "S1,One,60.160,24.920,A,1\nS2,Two,60.162,24.925,A,1\nS3,Three,60.164,24.930,B,2\n"
        "S4,Four,60.166,24.935,C,0\nS5,Five,60.168,24.940,D,0\n"
    ),
    "routes.txt": "route_id,route_short_name,route_long_name,route_type\nR1,1,One,3\nR2,2,Two,0\nR3,3,Three,3\n",
    "fare_attributes.txt": (
        "fare_id,price,currency_type,payment_method,transfers,transfer_duration\n"
        "AB,2.80,EUR,0,,4800\nABC,4.10,EUR,0,,5400\nBC,2.80,EUR,0,,4800\nTRAM,1.00,EUR,0,0,\n"
        "AC,3.00,EUR,0,1,3600\nELSE,9.00,EUR,0,,\n"
    ),
    "fare_rules.txt": (
        "fare_id,route_id,origin_id,destination_id,contains_id\n"
        "AB,,,,A\nAB,,,,B\nABC,,,,A\nABC,,,,B\nABC,,,,C\nBC,,,,B\nBC,,,,C\nTRAM,R2,,,\n"
        "AC,R3,A,C,\nELSE,,,,X\n"
    ),
}


@pytest.fixture(scope="module")
def zone_rules(tmp_path_factory: pytest.TempPathFactory) -> FareRules:
    feed = write_feed(tmp_path_factory.mktemp("zones"), ZONE_TABLES)
    return FareRules(compile_timetable(load_feed(feed), DAY), ShuttleFare(2.80, 0.0, "EUR"))


def ride(route: str, board: str, zones: str, origin: str = "", destination: str = "") -> Ride:
    """A ride on ``route`` boarded at HH:MM through ``zones`` (its first and last are where it starts and ends)."""
    hours, minutes = board.split(":")
    return Ride(
        route, "", int(hours) * 3600 + int(minutes) * 60, origin or zones[0], destination or zones[-1], frozenset(zones)
    )


def price(rules: FareRules, *rides: Ride) -> tuple[list[str], float | None]:
    tickets, unpriced = rules.cheapest(list(rides))
    total = None if unpriced else round(sum(p.price for p, _, _ in tickets), 2)
    return [p.fare_id for p, _, _ in tickets], total


# (case, rides, tickets, total) worked out by hand from ZONE_TABLES.
ZONE_CASES = [
    ("inside A: AB is the cheapest ticket containing A", [ride("R1", "08:00", "A")], ["AB"], 2.80),
    ("A to B", [ride("R1", "08:00", "AB")], ["AB"], 2.80),
    ("A through C needs ABC", [ride("R1", "08:00", "ABC")], ["ABC"], 4.10),
    ("inside C: BC (2.80) beats ABC", [ride("R1", "08:00", "C")], ["BC"], 2.80),
    ("the tram route has its own ticket", [ride("R2", "08:00", "AB")], ["TRAM"], 1.00),
    ("a change within 80 min stays on one AB", [ride("R1", "08:00", "A"), ride("R1", "09:20", "B")], ["AB"], 2.80),
    ("after 80 min ABC's 90 (4.10) beats two AB", [ride("R1", "08:00", "A"), ride("R1", "09:21", "B")], ["ABC"], 4.10),
    ("after 90 min two AB tickets", [ride("R1", "08:00", "A"), ride("R1", "09:31", "B")], ["AB", "AB"], 5.60),
    (
        "A then C within 90 min: one ABC, not AB + BC",
        [ride("R1", "08:00", "AB"), ride("R1", "09:00", "BC")],
        ["ABC"],
        4.10,
    ),
    ("A then C after 90 min: AB + BC", [ride("R1", "08:00", "AB"), ride("R1", "09:31", "BC")], ["AB", "BC"], 5.60),
    (
        "the tram ticket allows no transfer: two of them",
        [ride("R2", "08:00", "A"), ride("R2", "08:10", "A")],
        ["TRAM", "TRAM"],
        2.00,
    ),
    (
        "tram then bus in A: TRAM + AB (3.80) vs one AB (2.80)",
        [ride("R2", "08:00", "A"), ride("R1", "08:10", "A")],
        ["AB"],
        2.80,
    ),
    ("origin-destination rule: R3 from A to C", [ride("R3", "08:00", "ABC")], ["AC"], 3.00),
    ("the OD rule needs the route: R1 from A to C is ABC", [ride("R1", "08:00", "ABC")], ["ABC"], 4.10),
    ("the OD rule needs the origin: R3 from B to C is BC", [ride("R3", "08:00", "BC")], ["BC"], 2.80),
    (
        "AC allows one transfer within an hour on R3",
        [ride("R3", "08:00", "AB"), ride("R3", "08:30", "BC")],
        ["AC"],
        3.00,
    ),
    ("AC's hour is over: ABC", [ride("R3", "08:00", "AB"), ride("R3", "09:01", "BC")], ["ABC"], 4.10),
    ("no zone at all: the cheapest zone ticket", [Ride("R1", "", 8 * 3600, "", "", frozenset())], ["AB"], 2.80),
]


@pytest.mark.parametrize(("case", "rides", "tickets", "total"), ZONE_CASES, ids=[c[0] for c in ZONE_CASES])
def test_zone_fares_match_the_hand_worked_prices(
    zone_rules: FareRules, case: str, rides: list[Ride], tickets: list[str], total: float
) -> None:
    assert price(zone_rules, *rides) == (tickets, total), case


def test_a_ride_no_ticket_covers_is_reported_not_guessed(zone_rules: FareRules) -> None:
    tickets, unpriced = zone_rules.cheapest([ride("R1", "08:00", "A"), ride("R1", "08:10", "CD")])
    assert [p.fare_id for p, _, _ in tickets] == ["AB"] and unpriced == [1]


def _leg(start: int, end: int, origin: str, destination: str, route: str = "R1") -> TransitLeg:
    def place(stop: str) -> Place:
        return Place(stop, 60.16, 24.92, stop)

    return TransitLeg(start, end, place(origin), place(destination), route, route, "", 3, "T", "", (), 1000.0, ())


def _walk(start: int, end: int) -> WalkLeg:
    return WalkLeg(start, end, Place("a", 60.16, 24.92), Place("b", 60.16, 24.93), 100.0, ())


def _shuttle(start: int, end: int) -> ShuttleLeg:
    return ShuttleLeg(start, end, Place("home", 60.16, 24.92), Place("S1", 60.16, 24.92, "S1"), 900.0, ())


def test_itinerary_prices_name_their_legs_and_the_shuttle(zone_rules: FareRules) -> None:
    eight = 8 * 3600
    transit = Itinerary(
        DAY, (_walk(eight - 300, eight), _leg(eight, eight + 600, "S1", "S3"), _walk(eight + 600, eight + 900))
    )
    assert zone_rules.price(transit) == Fare((Ticket("AB", 2.80, "EUR", (1,)),), ())
    feeder = Itinerary(DAY, (_shuttle(eight - 600, eight - 60), _leg(eight, eight + 600, "S1", "S4")))
    fare = zone_rules.price(feeder)
    assert fare.totals == (("EUR", 4.10),) and fare.amount == 4.10  # the shuttle is in the ticket
    alone = Itinerary(DAY, (_shuttle(eight, eight + 600),))
    assert zone_rules.price(alone).amount == 2.80
    beyond = Itinerary(DAY, (_leg(eight, eight + 600, "S1", "S5"),))
    fare = zone_rules.price(beyond)
    assert fare.amount is None and fare.unpriced_legs == (0,)
    assert beyond.__class__(DAY, beyond.legs, None, fare).fare_text == "bus fare not published"
    priced = Itinerary(DAY, feeder.legs, None, zone_rules.price(feeder))
    assert priced.fare_text == "4.10 EUR"
    assert priced.to_dict()["fare"]["tickets"] == [
        {"fare_id": "ABC", "price": 4.1, "currency": "EUR", "legs": [1]},
        {"fare_id": "shuttle", "price": 0.0, "currency": "EUR", "legs": [0]},
    ]
    assert Itinerary(DAY, (_walk(eight, eight + 60),), None, Fare()).fare_text == "free"


def test_bad_fare_tables_are_reported_with_rows(tmp_path: Path) -> None:
    feed = write_feed(
        tmp_path,
        {
            **ZONE_TABLES,
            "fare_attributes.txt": "fare_id,price,currency_type,transfers,transfer_duration\nAB,abc,EUR,5,-1\nAB,2,EUR,,\n",
            "fare_rules.txt": "fare_id,route_id\nZZ,R1\nAB,R9\n",
        },
    )
    with pytest.raises(FeedValidationError) as caught:
        load_feed(feed)
    text = str(caught.value)
    for expected in ("fare_attributes.txt", "price", "transfers", "transfer_duration", "duplicate fare_id"):
        assert expected in text, text
    assert "fare_rules.txt" in text and "route_id" in text and "fare_id" in text


def test_a_fare_of_one_feed_never_prices_another_feeds_rides(tmp_path: Path) -> None:
    """Porto Alegre's buses publish a flat fare with no rules and no agency; its trains publish none."""
    bus = write_feed(
        tmp_path / "bus",
        {
            "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nBUS,Bus,http://x,Europe/Helsinki\n",
            "fare_attributes.txt": "fare_id,price,currency_type,payment_method,transfers\ntarifa,4.70,BRL,0,0\n",
        },
        as_zip=True,
    )
    rail = write_feed(
        tmp_path / "rail",
        {"agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nTRAIN,Rail,http://x,Europe/Helsinki\n"},
        as_zip=True,
    )
    (tmp_path / "bus.zip").write_bytes(bus.read_bytes())
    (tmp_path / "rail.zip").write_bytes(rail.read_bytes())
    timetable: Timetable = compile_timetable(load_feeds([tmp_path / "bus.zip", tmp_path / "rail.zip"]), DAY)
    rules = FareRules(timetable)
    eight = 8 * 3600
    both = Itinerary(
        DAY,
        (
            _leg(eight, eight + 600, "bus:S1", "bus:S2", "bus:R1"),
            _leg(eight + 900, eight + 1500, "rail:S2", "rail:S3", "rail:R1"),
        ),
    )
    fare = rules.price(both)
    assert fare.tickets == (Ticket("bus:tarifa", 4.70, "BRL", (0,)),) and fare.unpriced_legs == (1,)
    assert Itinerary(DAY, both.legs, None, fare).fare_text == "4.70 BRL + bus fare not published"


# -- HSL's own fare tables ----------------------------------------------------------------------

# (case, rides, tickets, total) worked out by hand from HSL's fare_attributes.txt and fare_rules.txt:
# AB 2.80 (80 min), ABC 4.10 (90), ABCD 5.70 (110), BC 2.80 (80), BCD 4.10 (100), CD 3.20 (90),
# D 2.80 (80); route 2550 rides on BC or BCD anywhere, 9987 on D; 9665A between D and outside HSL
# ("Ei HSL") on ABCD, BCD, CD or D. Equal prices go to the ticket listed first in the feed.
HSL_CASES = [
    ("inside A", [ride("1", "08:00", "A")], ["AB"], 2.80),
    ("inside B: AB and BC cost the same, AB listed first", [ride("1", "08:00", "B")], ["AB"], 2.80),
    ("A to B", [ride("1", "08:00", "AB")], ["AB"], 2.80),
    ("B to C", [ride("1", "08:00", "BC")], ["BC"], 2.80),
    ("A to C", [ride("1", "08:00", "ABC")], ["ABC"], 4.10),
    ("inside C: BC beats CD", [ride("1", "08:00", "C")], ["BC"], 2.80),
    ("C to D", [ride("1", "08:00", "CD")], ["CD"], 3.20),
    ("inside D", [ride("1", "08:00", "D")], ["D"], 2.80),
    ("B to D", [ride("1", "08:00", "BCD")], ["BCD"], 4.10),
    ("A to D", [ride("1", "08:00", "ABCD")], ["ABCD"], 5.70),
    ("route 2550 from A to C rides on BC", [ride("2550", "08:00", "ABC")], ["BC"], 2.80),
    ("route 9987 across all zones rides on D", [ride("9987", "08:00", "ABCD")], ["D"], 2.80),
    ("9665A from D out of HSL", [Ride("9665A", "", 8 * 3600, "D", "Ei HSL", frozenset({"D", "Ei HSL"}))], ["D"], 2.80),
    ("9665A outside HSL", [Ride("9665A", "", 8 * 3600, "Ei HSL", "Ei HSL", frozenset({"Ei HSL"}))], ["D"], 2.80),
    ("a change in A after 79 min", [ride("1", "08:00", "A"), ride("2", "09:19", "B")], ["AB"], 2.80),
    ("a change after 81 min: ABC's 90 min", [ride("1", "08:00", "A"), ride("2", "09:21", "A")], ["ABC"], 4.10),
    (
        "after 105 min two AB (5.60) beat ABCD (5.70)",
        [ride("1", "08:00", "A"), ride("2", "09:45", "A")],
        ["AB", "AB"],
        5.60,
    ),
    ("after 111 min two AB", [ride("1", "08:00", "A"), ride("2", "09:51", "A")], ["AB", "AB"], 5.60),
    (
        "A-B then C-D: ABCD (5.70) beats AB + CD (6.00)",
        [ride("1", "08:00", "AB"), ride("2", "08:30", "CD")],
        ["ABCD"],
        5.70,
    ),
    (
        "B, C, D in 50 min: BCD",
        [ride("1", "08:00", "B"), ride("2", "08:30", "C"), ride("3", "08:50", "D")],
        ["BCD"],
        4.10,
    ),
    (
        "three rides in A within half an hour: one AB",
        [ride("1", "08:00", "A"), ride("2", "08:10", "B"), ride("3", "08:30", "A")],
        ["AB"],
        2.80,
    ),
    (
        "A to C, then inside C 100 min later: ABCD (110 min)",
        [ride("1", "08:00", "ABC"), ride("2550", "09:40", "C")],
        ["ABCD"],
        5.70,
    ),
    (
        "A to C, then inside C 115 min later",
        [ride("1", "08:00", "ABC"), ride("2550", "09:55", "C")],
        ["ABC", "BC"],
        6.90,
    ),
]


@pytest.fixture(scope="module")
def hsl_rules(helsinki: object) -> FareRules:
    return FareRules(helsinki.timetable)  # type: ignore[attr-defined]


@pytest.mark.realdata
@pytest.mark.parametrize(("case", "rides", "tickets", "total"), HSL_CASES, ids=[c[0] for c in HSL_CASES])
def test_hsl_fares_match_the_hand_worked_prices(
    hsl_rules: FareRules, case: str, rides: list[Ride], tickets: list[str], total: float
) -> None:
    assert price(hsl_rules, *rides) == (tickets, total), case


def test_hsl_unmatched_ride_is_unpriced(hsl_rules: FareRules) -> None:
    tickets, unpriced = hsl_rules.cheapest([Ride("9665A", "", 8 * 3600, "Ei HSL", "C", frozenset({"Ei HSL", "C"}))])
    assert tickets == [] and unpriced == [0]


def _hsl_brute_force(boardings: list[int]) -> float:
    """The cheapest HSL tickets for rides inside zones A and B, by trying every split of the rides
    into consecutive groups, each on the cheapest ticket valid from its first to its last boarding
    (AB for 80 min, ABC for 90, ABCD for 110: the tickets that contain A and B)."""
    tickets = ((2.80, 80 * 60), (4.10, 90 * 60), (5.70, 110 * 60))
    n = len(boardings)
    if not n:
        return 0.0
    best = float("inf")
    for mask in range(1 << max(n - 1, 0)):
        cuts = [0] + [i + 1 for i in range(n - 1) if mask >> i & 1] + [n]
        total = 0.0
        for a, b in itertools.pairwise(cuts):
            span = boardings[b - 1] - boardings[a]
            fitting = [p for p, valid in tickets if span <= valid]
            total += min(fitting) if fitting else float("inf")
        best = min(best, total)
    return round(best, 2)


@pytest.mark.realdata
def test_planned_helsinki_trips_cost_what_a_brute_force_over_hsl_tickets_says(helsinki: object) -> None:
    """Every transit option of planned trips (random pairs and hours) is priced, each ticket covers
    its legs once, and the total is the brute-force cheapest; the shuttle is included in the ticket."""
    import numpy as np

    from planner.router import Planner

    planner = Planner(helsinki)  # type: ignore[arg-type]
    west, south, east, north = planner.area.bbox
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 40:
        a = (rng.uniform(south + 0.004, north - 0.004), rng.uniform(west + 0.01, east - 0.01))
        b = (rng.uniform(south + 0.004, north - 0.004), rng.uniform(west + 0.01, east - 0.01))
        hour = dt.datetime(2022, 2, 22, int(rng.integers(6, 23)), int(rng.integers(0, 60)))
        try:
            result = planner.plan(a, b, depart_at=hour, modes=("walk", "transit"), max_transfers=3)
        except Exception:  # a point off the streets (water): pick another pair
            continue
        for it in result:
            assert it.fare is not None
            transit = [i for i, leg in enumerate(it.legs) if isinstance(leg, TransitLeg)]
            covered = sorted(i for t in it.fare.tickets for i in t.legs)
            assert covered == transit and it.fare.complete, it.fare
            assert it.fare.amount == _hsl_brute_force([it.legs[i].start for i in transit]), it.fare
            checked += 1
