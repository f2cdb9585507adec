"""Door-to-door planning on a tiny world built here: one street, two stops, a tram between them."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest
from feedmaker import write_feed

from maas.area import load_area
from maas.errors import MaasError, NoServiceError, OutsideAreaError
from planner.area_data import load_area_data
from planner.itinerary import TransitLeg, WalkLeg
from planner.router import Planner, RouterParams
from planner.street_graph import haversine_m

LAT = 60.16
WEST, EAST = 24.900, 24.940


def write_line_osm(path: Path) -> None:
    """A straight two-way street along LAT from WEST to EAST, a node every ~55 m."""
    lons = [WEST + i * 0.001 for i in range(41)]
    nodes = "\n".join(f'<node id="{i + 1}" version="1" lat="{LAT}" lon="{lon:.4f}"/>' for i, lon in enumerate(lons))
    refs = "".join(f'<nd ref="{i + 1}"/>' for i in range(len(lons)))
    path.write_text(
        f'<?xml version="1.0"?><osm version="0.6">{nodes}<way id="1" version="1">{refs}'
        '<tag k="highway" v="residential"/></way></osm>',
        encoding="utf-8",
    )


FEED = {
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,West end,60.1601,24.9010\nB,East end,60.1601,24.9390\n",
    "routes.txt": "route_id,route_short_name,route_long_name,route_type\nT,7,Tram seven,0\n",
    "trips.txt": "route_id,service_id,trip_id,trip_headsign\nT,WK,T1,East\nT,WK,T2,East\n",
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:05:00,08:05:00,A,1\nT1,08:09:00,08:09:00,B,2\n"
        "T2,08:20:00,08:20:00,A,1\nT2,08:24:00,08:24:00,B,2\n"
    ),
}
AREA = f"""
[area]
name = "line"
timezone = "Europe/Helsinki"
gtfs = "line/feed.zip"
osm = "line/line.osm"
service_date = 2022-02-22
bbox = [{WEST - 0.001}, {LAT - 0.01}, {EAST + 0.001}, {LAT + 0.01}]
[streets]
walk_speed_mps = 1.25
"""
ORIGIN = (60.1602, 24.9005)
DESTINATION = (60.1602, 24.9395)


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> Planner:
    root = tmp_path_factory.mktemp("line")
    (root / "data" / "line").mkdir(parents=True)
    write_feed(root / "data" / "line", FEED, as_zip=True)
    write_line_osm(root / "data" / "line" / "line.osm")
    (root / "line.toml").write_text(AREA, encoding="utf-8")
    area = load_area(root / "line.toml", root / "data")
    return Planner(load_area_data(area, cache=root / "cache"), RouterParams(transfer_slack_s=0))


def at(h: int, m: int) -> dt.datetime:
    return dt.datetime(2022, 2, 22, h, m)


def test_takes_the_tram_when_it_is_faster(planner: Planner) -> None:
    result = planner.plan(ORIGIN, DESTINATION, depart_at=at(8, 0))
    best = result[0]
    assert [type(leg) for leg in best.legs] == [WalkLeg, TransitLeg, WalkLeg]
    tram = best.legs[1]
    assert isinstance(tram, TransitLeg)
    assert (tram.route_short_name, tram.mode, tram.trip_id) == ("7", "tram", "T1")
    assert tram.start == 8 * 3600 + 5 * 60 and tram.end == 8 * 3600 + 9 * 60
    # walking the whole street (~2.15 km) arrives later with no fewer transfers: not in the Pareto set
    assert all(it.transit_legs for it in result)
    # access: from the origin along the street to the stop, ~70 m; egress likewise
    access = best.legs[0]
    assert 40 < access.distance_m < 120 and access.duration_s == math.ceil(access.distance_m / 1.25)
    assert best.legs[2].start == tram.end and best.arrive == tram.end + best.legs[2].duration_s
    # geometry runs from the origin to the destination without jumps between legs
    assert best.legs[0].geometry[0] == (ORIGIN[1], ORIGIN[0])
    assert best.legs[-1].geometry[-1] == (DESTINATION[1], DESTINATION[0])
    for before, after in zip(best.legs, best.legs[1:], strict=False):
        (x1, y1), (x2, y2) = before.geometry[-1], after.geometry[0]
        assert haversine_m(x1, y1, x2, y2) < 1.0


def test_walks_when_the_last_tram_is_gone(planner: Planner) -> None:
    result = planner.plan(ORIGIN, DESTINATION, depart_at=at(8, 21))
    assert len(result) == 1 and result[0].modes == ("walk",)
    walk = result[0].legs[0]
    # along the street between the two snapped points, plus the ~22 m off-street link at each end
    along = float(haversine_m(ORIGIN[1], LAT, DESTINATION[1], LAT))
    link = float(haversine_m(ORIGIN[1], LAT, ORIGIN[1], ORIGIN[0]))
    assert walk.distance_m == pytest.approx(along + 2 * link, rel=1e-3)
    assert walk.duration_s == math.ceil(walk.distance_m / 1.25)
    assert walk.start == 8 * 3600 + 21 * 60


def test_arrive_by_leaves_as_late_as_possible(planner: Planner) -> None:
    result = planner.plan(ORIGIN, DESTINATION, arrive_by=at(8, 26))
    best = result[0]
    assert best.arrive <= 8 * 3600 + 26 * 60
    assert best.transit_legs[0].trip_id == "T2"
    # leaving one second later than the itinerary says would miss T2 (access ends at its departure)
    assert best.legs[0].end == 8 * 3600 + 20 * 60
    later = planner.plan(ORIGIN, DESTINATION, depart_at=at(8, 0) + dt.timedelta(seconds=best.depart + 1 - 8 * 3600))
    assert all(t.trip_id != "T2" for it in later for t in it.transit_legs)


def test_direct_modes_are_itineraries_too(planner: Planner) -> None:
    result = planner.plan(ORIGIN, DESTINATION, depart_at=at(8, 0), modes=("walk", "bike", "car"))
    modes = sorted(it.modes[0] for it in result)
    assert modes == ["bike", "car", "walk"]
    car = next(it for it in result if it.modes == ("car",))
    assert car.co2_g > 0 and next(it for it in result if it.modes == ("walk",)).co2_g == 0


def test_json_and_geojson_exports(planner: Planner) -> None:
    best = planner.plan(ORIGIN, DESTINATION, depart_at=at(8, 0))[0]
    data = json.loads(best.to_json())
    assert data["transfers"] == 0 and data["legs"][1]["route"] == "7"
    assert data["depart"].startswith("2022-02-22T08:0")
    geo = best.to_geojson()
    assert len(geo["features"]) == len(best.legs)
    assert geo["features"][1]["properties"]["mode"] == "tram"


def test_errors_are_clear(planner: Planner) -> None:
    with pytest.raises(
        OutsideAreaError, match=r"origin \(60.20000, 24.92000\) is outside the area this planner covers"
    ):
        planner.plan((60.20, 24.92), DESTINATION, depart_at=at(8, 0))
    with pytest.raises(
        OutsideAreaError, match=r"origin .* is \d+ m from the nearest walk street"
    ):  # in the area, 890 m from its street
        planner.plan((LAT + 0.008, WEST + 0.01), DESTINATION, depart_at=at(8, 0))
    with pytest.raises(NoServiceError, match="dates with service: 2022-02-21"):
        planner.plan(ORIGIN, DESTINATION, depart_at=dt.datetime(2022, 2, 26, 8, 0))
    with pytest.raises(MaasError, match="unknown mode"):
        planner.plan(ORIGIN, DESTINATION, depart_at=at(8, 0), modes=("teleport",))
    nothing = planner.plan(ORIGIN, DESTINATION, depart_at=at(8, 0), modes=("transit",), max_walk_m=10)
    assert len(nothing) == 0 and "no stop within 10 m" in nothing.reason


def test_router_params_check_themselves(tmp_path: Path) -> None:
    with pytest.raises(MaasError) as info:
        RouterParams(walk_speed_mps=-1, max_transfers=12, transfer_slack_s=-5)
    for word in ("walk_speed_mps", "max_transfers", "transfer_slack_s"):
        assert word in str(info.value)
    toml = tmp_path / "router.toml"
    toml.write_text("[router]\ntransfer_slack_s = 120\nboard_slack_s = 60\n", encoding="utf-8")
    assert RouterParams.from_toml(toml).transfer_slack_s == 120
    toml.write_text("[router]\nwalk_sped = 1\n", encoding="utf-8")
    with pytest.raises(MaasError, match="unknown router settings walk_sped"):
        RouterParams.from_toml(toml)


def test_range_query_matches_single_plans_minute_by_minute(planner: Planner) -> None:
    profile = planner.profile(ORIGIN, DESTINATION, at(8, 0), window_min=25)
    assert len(profile.departures) == 25
    for departure, arrival in zip(profile.departures, profile.arrivals, strict=True):
        single = planner.plan(ORIGIN, DESTINATION, depart_at=at(8, 0) + dt.timedelta(seconds=departure - 8 * 3600))
        assert arrival == min(it.arrive for it in single)
    arrivals = [a for a in profile.arrivals if a is not None]
    assert arrivals == sorted(arrivals)  # leaving later never arrives earlier
    # from 08:21 the tram is gone and everyone walks (~29.4 min)
    assert profile.travel_times_s[-1] == math.ceil(planner.plan(ORIGIN, DESTINATION, depart_at=at(8, 24))[0].duration_s)
    assert profile.percentile_s(50) == sorted(t for t in profile.travel_times_s if t is not None)[12]


def test_warm_up_changes_no_answer(planner: Planner) -> None:
    """The app warms the searches at start; a plan after that is the plan without it."""
    before = planner.plan(ORIGIN, DESTINATION, depart_at=at(8, 0))
    planner.warm_up()
    after = planner.plan(ORIGIN, DESTINATION, depart_at=at(8, 0))
    assert [it.to_dict() for it in before] == [it.to_dict() for it in after]
