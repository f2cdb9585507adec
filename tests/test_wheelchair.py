"""Wheelchair routing: accessible trips and stops only (strict or lenient about unknown ones), walking
without steps; checked on small hand-made data and on 500 random Helsinki plans."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from feedmaker import write_feed
from test_raptor import footpaths_for

from planner.gtfs_feed import load_feed
from planner.itinerary import TransitLeg, WalkLeg
from planner.raptor import INF, RaptorNetwork, RaptorQuery, search
from planner.street_search import StreetSearch
from planner.streets import build_mode_graph, compile_street_graph, read_osm_highways
from planner.timetable_compiler import compile_timetable
from planner.wheelchair import usable

DAY = dt.date(2022, 2, 22)

# T1 (08:00, accessible) and T2 (08:20, not) run S1-S2-S3; T3 (08:10, unknown) too. S2 has no step-free
# boarding; S3 is unknown.
ACCESS_TABLES = {
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon,wheelchair_boarding,location_type,parent_station\n"
        "S1,One,60.160,24.920,1,,\nS2,Two,60.162,24.925,2,,\nS3,Three,60.164,24.930,,,\nST,Station,60.166,24.935,1,1,\n"
        "S4,Platform,60.166,24.935,,,ST\n"
    ),
    "trips.txt": ("route_id,service_id,trip_id,wheelchair_accessible\nR1,WK,T1,1\nR1,WK,T2,2\nR1,WK,T3,\nR2,WK,T4,1\n"),
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,S1,1\nT1,08:05:00,08:05:00,S2,2\nT1,08:10:00,08:10:00,S3,3\n"
        "T2,08:20:00,08:20:00,S1,1\nT2,08:25:00,08:25:00,S2,2\nT2,08:30:00,08:30:00,S3,3\n"
        "T3,08:10:00,08:10:00,S1,1\nT3,08:15:00,08:15:00,S2,2\nT3,08:20:00,08:20:00,S3,3\n"
        "T4,08:40:00,08:40:00,S1,1\nT4,08:50:00,08:50:00,S4,2\n"
    ),
}


@pytest.fixture(scope="module")
def access_timetable(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return compile_timetable(load_feed(write_feed(tmp_path_factory.mktemp("access"), ACCESS_TABLES)), DAY)


def _arrival(timetable, stop_from: str, stop_to: str, depart: str) -> int | None:  # type: ignore[no-untyped-def]
    """The earliest arrival at ``stop_to`` by transit alone (no walking between stops)."""
    network = RaptorNetwork(timetable, footpaths_for([], timetable.stop_ids.tolist()), 4)
    hours, minutes = depart.split(":")
    egress = np.full(timetable.n_stops, INF, dtype=np.int64)
    egress[timetable.stop_index(stop_to)] = 0
    query = RaptorQuery(
        np.array([timetable.stop_index(stop_from)]), np.array([int(hours) * 3600 + int(minutes) * 60]), egress, 4
    )
    result = search(network, query, network.new_state())
    return min(result.arrivals) if result.arrivals else None


def test_platforms_take_their_stations_accessibility(access_timetable) -> None:  # type: ignore[no-untyped-def]
    tt = access_timetable
    codes = {str(s): int(c) for s, c in zip(tt.stop_ids, tt.stop_wheelchair, strict=True)}
    assert codes == {"S1": 1, "S2": 2, "S3": 0, "ST": 1, "S4": 1}


@pytest.mark.parametrize(
    ("unknown", "to", "expected"),
    [
        # strict: T1 and T4 only; S3 (unknown) cannot be used; S2 never.
        ("strict", "S3", None),
        ("strict", "S2", None),
        ("strict", "S4", "08:50"),
        # lenient: T1 (08:00) to S3 at 08:10; T3 (unknown, 08:10) too, but T1 is earlier.
        ("lenient", "S3", "08:10"),
        ("lenient", "S2", None),
    ],
)
def test_restricted_timetable_keeps_only_usable_trips_and_stops(  # type: ignore[no-untyped-def]
    access_timetable, unknown: str, to: str, expected: str | None
) -> None:
    tt = access_timetable
    restricted = tt.restricted(usable(tt.trip_wheelchair, unknown), usable(tt.stop_wheelchair, unknown))  # type: ignore[arg-type]
    arrival = _arrival(restricted, "S1", to, "07:55")
    assert (None if arrival is None else f"{arrival // 3600:02d}:{arrival // 60 % 60:02d}") == expected
    # Without restriction S2 is reached by T1 at 08:05.
    assert _arrival(tt, "S1", "S2", "07:55") == 8 * 3600 + 5 * 60


def test_lenient_skips_a_trip_marked_not_accessible(access_timetable) -> None:  # type: ignore[no-untyped-def]
    tt = access_timetable
    restricted = tt.restricted(usable(tt.trip_wheelchair, "lenient"), usable(tt.stop_wheelchair, "lenient"))
    assert _arrival(restricted, "S1", "S3", "08:15") is None  # T2 (08:20) is marked not accessible
    assert _arrival(tt, "S1", "S3", "08:15") == 8 * 3600 + 30 * 60


def test_step_free_walking_goes_round_the_steps(tmp_path: Path) -> None:
    """A: straight up a flight of steps to B (about 60 m), or round by a ramp through C (about 198 m)."""
    nodes = {1: (24.9300, 60.1600), 2: (24.9300, 60.16054), 3: (24.9317, 60.1603)}
    ways = [
        (10, [1, 2], {"highway": "steps"}),
        (11, [1, 3], {"highway": "footway"}),
        (12, [3, 2], {"highway": "footway", "incline": "up"}),
        (13, [2, 1], {"highway": "footway", "wheelchair": "no"}),
    ]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    lines += [f'<node id="{n}" version="1" lat="{lat}" lon="{lon}"/>' for n, (lon, lat) in nodes.items()]
    for wid, refs, tags in ways:
        lines += [f'<way id="{wid}" version="1">', *(f'<nd ref="{r}"/>' for r in refs)]
        lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()] + ["</way>"]
    (tmp_path / "steps.osm").write_text("\n".join([*lines, "</osm>"]), encoding="utf-8")
    walk = compile_street_graph(
        build_mode_graph(read_osm_highways(tmp_path / "steps.osm"), "walk", speed_mps=1.25), "walk"
    )
    assert int((~walk.edge_step_free).sum()) == 4  # the steps and the wheelchair=no path, both ways
    start = int(np.flatnonzero(walk.node_osmid == 1)[0])
    goal = int(np.flatnonzero(walk.node_osmid == 2)[0])
    direct = StreetSearch(walk, "length").run(np.array([start]), np.array([0.0]), 1e6)
    step_free = StreetSearch(walk.step_free(), "length").run(np.array([start]), np.array([0.0]), 1e6)
    assert _cost(direct, goal) == pytest.approx(60, abs=2)
    assert _cost(step_free, goal) == pytest.approx(198, abs=3)


@pytest.mark.realdata
def test_500_random_helsinki_wheelchair_plans_use_only_accessible_trips_stops_and_no_steps(helsinki) -> None:  # type: ignore[no-untyped-def]
    from planner.router import Planner

    planner = Planner(helsinki)
    tt = helsinki.timetable
    walk = helsinki.streets["walk"]
    stop_code = {str(s): int(c) for s, c in zip(tt.stop_ids, tt.stop_wheelchair, strict=True)}
    trip_code = {str(t): int(c) for t, c in zip(tt.trip_ids, tt.trip_wheelchair, strict=True)}
    # Midpoints of every segment of a street edge with steps: a walking leg over one would pass them.
    steps = set()
    for e in np.flatnonzero(~walk.edge_step_free):
        xy = walk.edge_coords(int(e))
        for mid in (xy[1:] + xy[:-1]) / 2:
            steps.add((round(float(mid[0]), 6), round(float(mid[1]), 6)))
    west, south, east, north = planner.area.bbox
    rng = np.random.default_rng(22)
    plans = transit_options = 0
    ordinary_uses_inaccessible = 0
    while plans < 500:
        a = (rng.uniform(south + 0.004, north - 0.004), rng.uniform(west + 0.01, east - 0.01))
        b = (rng.uniform(south + 0.004, north - 0.004), rng.uniform(west + 0.01, east - 0.01))
        when = dt.datetime(2022, 2, 22, int(rng.integers(6, 22)), int(rng.integers(0, 60)))
        try:
            result = planner.plan(a, b, depart_at=when, wheelchair=True)
        except Exception:  # a point in the sea: another pair
            continue
        plans += 1
        for it in result:
            assert it.step_free_text == "step-free", it.step_free_text
            for leg in it.legs:
                if isinstance(leg, TransitLeg):
                    transit_options += 1
                    assert trip_code[leg.trip_id] == 1, leg.trip_id
                    assert stop_code[leg.origin.stop_id or ""] == 1, leg.origin
                    assert stop_code[leg.destination.stop_id or ""] == 1, leg.destination
                elif isinstance(leg, WalkLeg):
                    xy = np.asarray(leg.geometry)
                    if len(xy) > 1:
                        mids = {(round(float(x), 6), round(float(y), 6)) for x, y in (xy[1:] + xy[:-1]) / 2}
                        assert not mids & steps, "a wheelchair walk over steps"
        if plans <= 60:  # the same trips planned ordinarily do use what a wheelchair cannot
            for it in planner.plan(a, b, depart_at=when):
                if "not step-free" in it.step_free_text:
                    ordinary_uses_inaccessible += 1
    assert transit_options >= 100
    assert ordinary_uses_inaccessible > 0


def _cost(reached, node: int) -> float:  # type: ignore[no-untyped-def]
    hits = np.flatnonzero(reached.nodes == node)
    return float(reached.costs[hits[0]]) if len(hits) else float("inf")


@pytest.mark.realdata
def test_a_bike_on_board_rides_only_trips_that_allow_bikes_and_cycles_at_both_ends(helsinki) -> None:  # type: ignore[no-untyped-def]
    """HSL allows bikes on the metro and commuter trains only; across the centre the metro is the ride."""
    from planner.itinerary import BikeLeg
    from planner.router import Planner

    planner = Planner(helsinki)
    tt = helsinki.timetable
    bikes = {str(t): int(c) for t, c in zip(tt.trip_ids, tt.trip_bikes, strict=True)}
    west_to_east = planner.plan(
        (60.1625, 24.9050), (60.1710, 24.9480), depart_at=dt.datetime(2022, 2, 22, 8, 30), bike_on_board=True
    )
    rides = [it for it in west_to_east if it.transit_legs]
    assert rides and rides[0].modes == ("bike", "subway", "bike")
    rng = np.random.default_rng(5)
    west, south, east, north = planner.area.bbox
    with_transit = 0
    for _ in range(80):
        a = (rng.uniform(south + 0.004, north - 0.004), rng.uniform(west + 0.01, east - 0.01))
        b = (rng.uniform(south + 0.004, north - 0.004), rng.uniform(west + 0.01, east - 0.01))
        try:
            result = planner.plan(a, b, depart_at=dt.datetime(2022, 2, 22, 8, 0), bike_on_board=True)
        except Exception:  # a point in the sea
            continue
        for it in result:
            assert isinstance(it.legs[0], BikeLeg) and isinstance(it.legs[-1], BikeLeg), it.modes
            for leg in it.transit_legs:
                assert bikes[leg.trip_id] == 1, leg.trip_id
            with_transit += bool(it.transit_legs)
    assert with_transit > 0
