"""The shuttle service on the real Helsinki streets, timetable and population grid."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from shapely import contains_xy
from shapely.geometry import Polygon

from dispatch.day import shuttle_network
from dispatch.demand import PLATFORM_S, generate_demand, hubs_for
from dispatch.online import OnlineParams, VehiclePlan
from dispatch.quotes import ShuttleDispatcher
from dispatch.service import ServiceStore
from dispatch.service_day import DaySettings
from maas_apps.cli import main
from planner.itinerary import ShuttleLeg, TransitLeg
from planner.router import Planner
from planner.streets import to_networkx

pytestmark = pytest.mark.realdata
HERNESAARI = (60.1500, 24.9250)
CENTRE = (60.1710, 24.9414)


@pytest.fixture(scope="module")
def network(helsinki):  # type: ignore[no-untyped-def]
    return shuttle_network(helsinki)


def test_network_times_are_shortest_paths_at_the_speed_cap(network) -> None:  # type: ignore[no-untyped-def]
    graph = to_networkx(network.graph)
    osmid = network.graph.node_osmid
    rng = np.random.default_rng(0)
    for a, b in rng.integers(0, network.n_nodes, size=(5, 2)):
        expected = nx.shortest_path_length(graph, int(osmid[a]), int(osmid[b]), weight="travel_time")
        assert network.time_s[a, b] == pytest.approx(expected, rel=1e-4)
    moving = network.time_s > 0
    assert (network.dist_m[moving] / network.time_s[moving] * 3.6).max() <= 18.0 + 1e-3
    coords = network.path_coords(3, 700)
    lon, lat = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    metres = 6371000 * np.hypot(np.diff(lon) * np.cos(lat[:-1]), np.diff(lat)).sum()
    assert metres == pytest.approx(float(network.dist_m[3, 700]), rel=0.02)


def test_demand_is_seeded_and_timed_to_real_metro_departures(helsinki, network) -> None:  # type: ignore[no-untyped-def]
    area = helsinki.area
    first = generate_demand(area, network, helsinki.timetable, 150, seed=4)
    again = generate_demand(area, network, helsinki.timetable, 150, seed=4)
    assert first == again and len(first) == 150
    assert generate_demand(area, network, helsinki.timetable, 150, seed=5) != first
    hubs = hubs_for(area.shuttle, network, helsinki.timetable)
    hub_nodes = {h.node for h in hubs}
    departures = np.concatenate([h.departures_s for h in hubs])
    zones = [Polygon(z.polygon) for z in area.shuttle.zones]
    to_hub = [b for b in first if b.dropoff in hub_nodes]
    assert 0 < len(to_hub) < len(first)
    for b in first:
        home = b.pickup if b.dropoff in hub_nodes else b.dropoff
        lon, lat = network.lonlat(home)
        assert any(contains_xy(z, lon, lat) for z in zones)
        assert 7 * 3600 <= b.earliest_pickup_s < b.latest_pickup_s <= 19 * 3600
        assert b.announced_s <= b.earliest_pickup_s
    for b in to_hub:
        assert np.isclose(departures, b.latest_dropoff_s + PLATFORM_S).any(), "not timed to a metro departure"


def test_planner_offers_a_shuttle_to_the_metro_and_books_it(helsinki, network, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    service = helsinki.area.shuttle
    depot = network.snap(*service.depot)
    store = ServiceStore(tmp_path / "day.sqlite")
    plans = [VehiclePlan("s1", 8, 1, depot, 7 * 3600)]
    store.initialise(DaySettings(7 * 3600, 19 * 3600, depot, OnlineParams()), plans, [], {})
    dispatcher = ShuttleDispatcher(store, network, service)
    planner = Planner(helsinki)
    when = dt.datetime(2022, 2, 22, 8, 30)
    result = planner.plan(HERNESAARI, CENTRE, depart_at=when, modes=("walk", "transit", "shuttle"), shuttle=dispatcher)
    with_shuttle = [it for it in result if isinstance(it.legs[0], ShuttleLeg)]
    assert with_shuttle, "an origin in Hernesaari must be offered the shuttle"
    trip = with_shuttle[0]
    leg = trip.legs[0]
    assert isinstance(leg, ShuttleLeg)
    assert leg.destination.stop_id in ("1201601", "1201602")  # Ruoholahti metro
    assert isinstance(trip.legs[1], TransitLeg) and trip.legs[1].start >= leg.end
    assert leg.pickup_earliest <= leg.start <= leg.pickup_latest
    assert json.loads(trip.to_json())["legs"][0]["mode"] == "shuttle"
    decision = dispatcher.book(leg, "rider-1")
    assert decision.accepted
    assert [b["id"] for b in store.bookings() if b["status"] == "accepted"] == ["rider-1"]
    # later in the day than the shuttle's clock allows: the walking alternatives remain, no error
    store2 = ServiceStore(tmp_path / "late.sqlite")
    store2.initialise(DaySettings(7 * 3600, 19 * 3600, depot, OnlineParams()), plans, [], {})
    store2.book(network, dispatcher._booking((24.92, 60.155), (24.915, 60.163), 18 * 3600, "x"), 18 * 3600)
    late = ShuttleDispatcher(store2, network, service)
    result = planner.plan(HERNESAARI, CENTRE, depart_at=when, modes=("walk", "transit", "shuttle"), shuttle=late)
    assert len(result) and not any(isinstance(leg, ShuttleLeg) for it in result for leg in it.legs)


def test_maas_simulate_writes_kpis(tmp_path: Path, shared_data: Path, helsinki_cache: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "sim.sqlite"
    argv = ["simulate", "--data-dir", str(shared_data), "--cache-dir", str(helsinki_cache), "--fleet", "3"]
    argv += ["--requests", "40", "--hours", "7-9", "--seed", "2", "--db", str(db), "--reoptimise-time", "0.5"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "served_share" in table and "vehicle_km" in table
    kpis = json.loads((tmp_path / "sim" / "kpis.json").read_text())
    assert kpis["requests"] == 40 and kpis["served"] + kpis["rejected"] == 40
    assert kpis["promises_kept_share"] == 1.0
    assert (tmp_path / "sim" / "kpis.png").stat().st_size > 1000
    assert main(["bookings", "--db", str(db), "--status", "done"]) == 0


def test_demand_without_trains_in_the_hours_fails_fast_and_says_when(helsinki, network) -> None:  # type: ignore[no-untyped-def]
    import time

    from dispatch.model import DispatchError

    started = time.perf_counter()
    with pytest.raises(
        DispatchError, match=r"have no departures or arrivals between 02:30 and 04:30 \(they have service from"
    ):
        generate_demand(helsinki.area, network, helsinki.timetable, 100, seed=1, hours=(2.5, 4.5))
    assert time.perf_counter() - started < 10


def _day_rows(db: Path) -> list[tuple[object, ...]]:
    import sqlite3

    with sqlite3.connect(db) as con:
        return con.execute(
            "SELECT id, status, vehicle, promised_earliest_s, promised_latest_s, pickup_s, dropoff_s FROM bookings"
            " ORDER BY id"
        ).fetchall()


def test_a_seeded_day_is_the_same_twice_and_after_a_stop_and_resume(
    tmp_path: Path, shared_data: Path, helsinki_cache: Path, helsinki
) -> None:  # type: ignore[no-untyped-def]
    """With the default work budget, re-optimisation does not depend on the clock: one command, one day."""
    common = ["--data-dir", str(shared_data), "--cache-dir", str(helsinki_cache), "--fleet", "2", "--requests", "60"]
    common += ["--hours", "7-10", "--seed", "3", "--reoptimise-every", "10"]
    for name in ("a", "b"):
        assert main(["simulate", *common, "--db", str(tmp_path / f"{name}.sqlite")]) == 0
    assert main(["simulate", *common, "--db", str(tmp_path / "c.sqlite"), "--until", "08:10"]) == 0
    assert main(["simulate", *common, "--db", str(tmp_path / "c.sqlite")]) == 0
    a, b, c = (_day_rows(tmp_path / f"{name}.sqlite") for name in "abc")
    assert len(a) == 60 and sum(row[1] == "done" for row in a) >= 30
    assert a == b
    assert a == c


def test_arrive_by_offers_the_shuttle_with_a_window_that_makes_it(helsinki, network, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    service = helsinki.area.shuttle
    depot = network.snap(*service.depot)
    store = ServiceStore(tmp_path / "day.sqlite")
    store.initialise(
        DaySettings(7 * 3600, 19 * 3600, depot, OnlineParams()), [VehiclePlan("s1", 8, 1, depot, 7 * 3600)], [], {}
    )
    dispatcher = ShuttleDispatcher(store, network, service)
    planner = Planner(helsinki)
    by = dt.datetime(2022, 2, 22, 9, 0)
    for origin, destination, first in ((HERNESAARI, CENTRE, True), (CENTRE, HERNESAARI, False)):
        result = planner.plan(
            origin, destination, arrive_by=by, modes=("walk", "transit", "shuttle"), shuttle=dispatcher
        )
        shuttle_trips = [it for it in result if any(isinstance(leg, ShuttleLeg) for leg in it.legs)]
        assert shuttle_trips, f"arrive-by must offer the shuttle ({'from' if first else 'to'} Hernesaari)"
        for trip in shuttle_trips:
            assert trip.arrive <= 9 * 3600
            leg = trip.legs[0] if first else trip.legs[-1]
            assert isinstance(leg, ShuttleLeg) and leg.pickup_earliest <= leg.start <= leg.pickup_latest
            assert trip.depart >= 9 * 3600 - 45 * 60  # not a ride hours early: the latest that works, to 5 min
    assert store.bookings() == []  # quotes book nothing


def test_electric_shuttles_charge_on_a_helsinki_day_and_the_fleet_page_shows_it(
    helsinki, network, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The area's batteries on a busy day: shuttles charge at the depot, no battery ever falls below its
    reserve (the log replayed), and at a moment of a charge the fleet page's table and map say so."""
    from dispatch.day import DayConfig, open_day
    from dispatch.fleet_view import fleet_snapshot
    from dispatch.kpi import compute_kpis
    from maas_apps import webapp

    assert helsinki.area.shuttle.fleet.battery_kwh > 0
    config = DayConfig(3, 150, (7.0, 19.0), 2, params=OnlineParams(reoptimise=False))
    store = open_day(tmp_path / "day.sqlite", helsinki, network, config, lambda _m: None)
    store.run(network)
    kpis = compute_kpis(store, network)
    assert kpis.charges >= 1 and kpis.battery_low_share >= 0 and kpis.energy_kwh > 0
    assert kpis.promises_kept_share == 1.0
    charge = next(e for e in store.events() if e["kind"] == "charge")
    assert charge["node"] == store.settings().depot
    snapshot = fleet_snapshot(store, network, (charge["t"] + charge["until"]) / 2)
    shuttle = next(s for s in snapshot.shuttles if s.vehicle == charge["vehicle"])
    assert shuttle.charging and webapp.shuttle_row(shuttle)["doing"] == "charging"
    assert (shuttle.lon, shuttle.lat) == network.lonlat(store.settings().depot)
    store.close()
