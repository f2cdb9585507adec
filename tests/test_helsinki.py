"""The real Helsinki data: the figures the README and closing notes quote, and broken copies."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from maas.errors import FeedValidationError
from planner.area_data import AreaData, load_area_data
from planner.gtfs_feed import load_feed

pytestmark = pytest.mark.realdata
KALASATAMA_PLATFORMS = ("1100601", "1100602")


def test_feed_figures(helsinki: AreaData) -> None:
    tt = helsinki.timetable
    assert tt.n_stops == 1388 and len(tt.route_ids) == 200
    assert tt.stats.trips_in_feed == 3195 and tt.stats.trips_active == 3195
    assert tt.stats.frequency_templates == 1780 and tt.stats.frequency_rows == 3226
    # 3195 - 1780 plain trips + the expanded frequency trips
    assert tt.stats.trips_after_expansion == 12878 == tt.n_trips
    assert tt.arrivals.max() > 24 * 3600  # night services past midnight are kept, not wrapped


def test_metro_runs_566_times_at_kalasatama(helsinki: AreaData) -> None:
    """The metro exists only as 9 frequency templates; expansion must give every departure."""
    tt = helsinki.timetable
    counts = [len(tt.departures_from(s)) for s in KALASATAMA_PLATFORMS]
    assert counts == [283, 283]
    metro_routes = np.flatnonzero(tt.route_types == 1)
    metro_patterns = np.flatnonzero(np.isin(tt.pattern_route, metro_routes))
    assert {str(tt.route_short_names[tt.pattern_route[p]]) for p in metro_patterns} >= {"M1", "M2"}
    deps = tt.departures_from("1100601")
    rush = deps[(deps >= 7 * 3600) & (deps < 9 * 3600)]
    assert np.diff(rush).max() <= 6 * 60  # at most 6 minutes apart in the morning peak


def test_every_pattern_is_fifo(helsinki: AreaData) -> None:
    tt = helsinki.timetable
    for p in range(tt.n_patterns):
        arr, dep = tt.trip_times(p)
        assert (np.diff(arr, axis=0) >= 0).all() and (np.diff(dep, axis=0) >= 0).all()
        assert (dep >= arr).all() and (arr[:, 1:] >= dep[:, :-1]).all()


def test_street_graphs_and_stop_links(helsinki: AreaData) -> None:
    walk, bike, drive = (helsinki.streets[m] for m in ("walk", "bike", "drive"))
    assert 20_000 < walk.n_nodes < 30_000 and 3_000 < drive.n_edges < 6_000
    assert walk.n_nodes > bike.n_nodes > drive.n_nodes
    from scipy.sparse.csgraph import connected_components

    for graph in (walk, bike, drive):
        assert connected_components(graph.to_scipy(), connection="strong")[0] == 1
    links = helsinki.stop_links
    assert int(links.inside_extract.sum()) == 264
    assert int(links.linked.sum()) == 264
    assert float(links.distance_m[links.linked].max()) < 50


def test_second_load_comes_from_cache_fast(helsinki: AreaData, helsinki_cache: Path) -> None:
    again = load_area_data(helsinki.area, cache=helsinki_cache)
    assert again.from_cache and again.seconds < 2.0
    assert again.timetable.stats == helsinki.timetable.stats
    assert np.array_equal(again.streets["walk"].edge_time, helsinki.streets["walk"].edge_time)


def _copy_without_trip(source: Path, target: Path, trip_id: str) -> list[int]:
    """Copy the feed with one trip deleted from trips.txt; return its stop_times line numbers."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "trips.txt":
                trips = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
                data = trips[trips["trip_id"] != trip_id].to_csv(index=False).encode()
            dst.writestr(info.filename, data)
        stop_times = pd.read_csv(io.BytesIO(src.read("stop_times.txt")), dtype=str, usecols=["trip_id"])
    return [int(i) + 2 for i in stop_times.index[stop_times["trip_id"] == trip_id]]


def test_broken_copy_names_the_orphaned_stop_times_rows(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "helsinki" / "hsl_gtfs_2022-02-22.zip"
    trip = "31M1_20220204_Ti_1_0750"  # a metro template trip
    rows = _copy_without_trip(source, tmp_path / "broken.zip", trip)
    assert len(rows) == 9
    with pytest.raises(FeedValidationError) as info:
        load_feed(tmp_path / "broken.zip")
    problems = info.value.problems
    orphan = [p for p in problems if p.file == "stop_times.txt" and p.field == "trip_id"]
    assert orphan and list(orphan[0].rows) == rows
    freq = [p for p in problems if p.file == "frequencies.txt"]
    assert freq and len(freq[0].rows) == 8  # its eight frequency windows are orphaned too
    assert f"row{'s' if len(rows) > 1 else ''} {rows[0]}" in str(info.value)


def test_range_query_where_walking_all_the_way_is_out_of_reach(helsinki: AreaData) -> None:
    """The walk search stops at its limit (300 m), so the 3.4 km direct walk is infinite: a range query is
    answered by transit alone, minute by minute as single plans are, instead of failing."""
    import datetime as dt

    from planner.router import Planner, RouterParams

    planner = Planner(helsinki, RouterParams(max_walk_m=300, max_direct_walk_m=100))
    origin, destination = (60.1575, 24.9170), (60.1735, 24.9560)
    start = dt.datetime(2022, 2, 22, 8, 30)
    profile = planner.profile(origin, destination, start, window_min=5)
    for departure, arrival in zip(profile.departures, profile.arrivals, strict=True):
        single = planner.plan(origin, destination, depart_at=start + dt.timedelta(seconds=departure - 8 * 3600 - 1800))
        assert arrival == (min(it.arrive for it in single) if len(single) else None)


def _signature(result: object) -> list[tuple[object, ...]]:
    return [
        (it.depart, it.arrive, tuple((leg.mode, leg.start, leg.end, round(leg.distance_m, 3)) for leg in it.legs))
        for it in result  # type: ignore[attr-defined]
    ]


def test_twenty_sessions_planning_at_once_get_what_a_lone_session_gets(helsinki: AreaData) -> None:
    """The app shares one planner between its sessions; its search state is taken in turns."""
    import datetime as dt
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from planner.router import Planner

    planner = Planner(helsinki)
    rng = np.random.default_rng(5)
    trips = [
        (
            (rng.uniform(60.155, 60.175), rng.uniform(24.91, 24.96)),
            (rng.uniform(60.155, 60.175), rng.uniform(24.91, 24.96)),
        )
        for _ in range(20)
    ]
    when = dt.datetime(2022, 2, 22, 8, 0)
    alone = [_signature(planner.plan(o, d, depart_at=when + dt.timedelta(minutes=k))) for k, (o, d) in enumerate(trips)]
    start = threading.Barrier(20)

    def session(k: int) -> list[tuple[object, ...]]:
        start.wait()
        o, d = trips[k]
        return _signature(planner.plan(o, d, depart_at=when + dt.timedelta(minutes=k)))

    with ThreadPoolExecutor(20) as pool:
        together = list(pool.map(session, range(20)))
    assert together == alone
    assert sum(bool(a) for a in alone) >= 15


def test_trips_just_after_midnight_ride_the_night_before(helsinki: AreaData) -> None:
    """2022-02-23 has no service of its own; from 00:00 to 01:30 the 22nd's night trips run. Every
    query is answered, and answered as a search told to use the 22nd's service day (24:00-25:30)."""
    import datetime as dt

    from planner.itinerary import TransitLeg
    from planner.router import Planner

    def seen(result: object) -> list[tuple[object, ...]]:
        return [
            (
                it.modes,
                tuple(leg.trip_id.split("@prev-day")[0] for leg in it.legs if isinstance(leg, TransitLeg)),
                it.local(it.depart),
                it.local(it.arrive),
            )
            for it in result  # type: ignore[attr-defined]
        ]

    planner = Planner(helsinki)
    rng = np.random.default_rng(7)
    with_transit = 0
    for _ in range(12):
        origin = (rng.uniform(60.155, 60.175), rng.uniform(24.91, 24.96))
        destination = (rng.uniform(60.155, 60.175), rng.uniform(24.91, 24.96))
        when = dt.datetime(2022, 2, 23) + dt.timedelta(seconds=int(rng.integers(0, 90 * 60)))
        asked = planner.plan(origin, destination, depart_at=when)
        explicit = planner.plan(origin, destination, depart_at=when, service_day=dt.date(2022, 2, 22))
        assert len(asked) or asked.reason
        assert seen(asked) == seen(explicit)
        with_transit += any(it.transit_legs for it in asked)
        for it in asked:
            assert it.local(it.depart) >= when.replace(tzinfo=it.local(it.depart).tzinfo)
    assert with_transit >= 6  # night buses and trams, not only walks
