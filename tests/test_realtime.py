"""GTFS-Realtime TripUpdates: feeds written with the official bindings, applied to small timetables
with arrivals worked out by hand, to Helsinki against an independent restriction, and bad feeds
reported without losing the static timetable."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from feedmaker import write_feed
from test_raptor import footpaths_for

from maas.errors import RealtimeFeedError
from planner.gtfs_feed import load_feed
from planner.raptor import INF, RaptorNetwork, RaptorQuery, search
from planner.realtime import apply_trip_updates, read_trip_updates
from planner.service_time import ServiceClock
from planner.timetable import Timetable
from planner.timetable_compiler import compile_timetable

DAY = dt.date(2022, 2, 22)
CLOCK = ServiceClock()


def feed_bytes(trips: list[dict[str, Any]], timestamp: int | None = None) -> bytes:
    """A FeedMessage with one TripUpdate per dict: trip_id, canceled/added, stops [(stop_id, delay or
    None, posix time or None, relationship)], start_date."""
    from google.transit import gtfs_realtime_pb2 as rt

    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    if timestamp is not None:
        message.header.timestamp = timestamp
    for n, trip in enumerate(trips):
        entity = message.entity.add()
        entity.id = f"e{n}"
        update = entity.trip_update
        update.trip.trip_id = trip["trip_id"]
        if "start_date" in trip:
            update.trip.start_date = trip["start_date"]
        if "start_time" in trip:
            update.trip.start_time = trip["start_time"]
        if "route_id" in trip:
            update.trip.route_id = trip["route_id"]
        if trip.get("canceled"):
            update.trip.schedule_relationship = rt.TripDescriptor.CANCELED
        if trip.get("added"):
            update.trip.schedule_relationship = rt.TripDescriptor.ADDED
        for stop_id, delay, posix, relationship in trip.get("stops", []):
            stu = update.stop_time_update.add()
            stu.stop_id = stop_id
            if delay is not None:
                stu.arrival.delay = delay
                stu.departure.delay = delay
            if posix is not None:
                stu.arrival.time = posix
                stu.departure.time = posix
            if relationship:
                stu.schedule_relationship = getattr(rt.TripUpdate.StopTimeUpdate, relationship)
    return message.SerializeToString()


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> Timetable:
    """feedmaker's line: T1 leaves S1 08:00, S2 08:05 (dep 08:05:30), S3 08:10; T2 an hour later."""
    return compile_timetable(load_feed(write_feed(tmp_path_factory.mktemp("rt"))), DAY)


def arrival(tt: Timetable, origin: str, target: str, depart: str) -> str | None:
    network = RaptorNetwork(tt, footpaths_for([], tt.stop_ids.tolist()), 4)
    egress = np.full(tt.n_stops, INF, dtype=np.int64)
    egress[tt.stop_index(target)] = 0
    h, m = depart.split(":")
    query = RaptorQuery(np.array([tt.stop_index(origin)]), np.array([int(h) * 3600 + int(m) * 60]), egress, 4)
    result = search(network, query, network.new_state())
    if not result.arrivals:
        return None
    t = min(result.arrivals)
    return f"{t // 3600:02d}:{t // 60 % 60:02d}"


def applied(tt: Timetable, trips: list[dict[str, Any]]) -> Any:
    return apply_trip_updates(tt, read_trip_updates(feed_bytes(trips), "test.pb"), CLOCK)


# (case, updates, origin, target, departure, expected arrival) worked out by hand.
CASES = [
    ("no updates", [], "S1", "S3", "07:55", "08:10"),
    (
        "T1 +5 min at S2 carries on to S3",
        [{"trip_id": "T1", "stops": [("S2", 300, None, "")]}],
        "S1",
        "S3",
        "07:55",
        "08:15",
    ),
    ("T1 canceled: T2", [{"trip_id": "T1", "canceled": True}], "S1", "S3", "07:55", "09:10"),
    (
        "T1 skips S2: no boarding there",
        [{"trip_id": "T1", "stops": [("S2", None, None, "SKIPPED")]}],
        "S2",
        "S3",
        "08:00",
        "09:10",
    ),
    (
        "T1 skips S2: no alighting there",
        [{"trip_id": "T1", "stops": [("S2", None, None, "SKIPPED")]}],
        "S1",
        "S2",
        "07:55",
        "09:05",
    ),
    (
        "T1 skips S2 but still reaches S3",
        [{"trip_id": "T1", "stops": [("S2", None, None, "SKIPPED")]}],
        "S1",
        "S3",
        "07:55",
        "08:10",
    ),
    ("T2 running 50 min early", [{"trip_id": "T2", "stops": [("S1", -3000, None, "")]}], "S1", "S3", "08:05", "08:20"),
    (
        "before the first update the schedule holds",
        [{"trip_id": "T1", "stops": [("S3", 600, None, "")]}],
        "S1",
        "S2",
        "07:55",
        "08:05",
    ),
    (
        "NO_DATA ends the carried delay",
        [{"trip_id": "T1", "stops": [("S1", 600, None, ""), ("S2", None, None, "NO_DATA")]}],
        "S1",
        "S3",
        "07:55",
        "08:10",
    ),
    (
        "an absolute time (POSIX) at S3",
        [{"trip_id": "T2", "stops": [("S3", None, int(CLOCK.moment(DAY, 9 * 3600 + 20 * 60).timestamp()), "")]}],
        "S2",
        "S3",
        "08:30",
        "09:20",
    ),
    (
        "T1 overtaken by T2 after S1: the search takes T2 from S2",
        [{"trip_id": "T1", "stops": [("S2", 3660, None, "")]}],
        "S2",
        "S3",
        "09:00",
        "09:10",
    ),
    (
        "start_date of the next day: not this day's run",
        [{"trip_id": "T1", "start_date": "20220223", "canceled": True}],
        "S1",
        "S3",
        "07:55",
        "08:10",
    ),
]


@pytest.mark.parametrize(
    ("case", "updates", "origin", "target", "depart", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_updates_change_arrivals_as_worked_out_by_hand(
    line: Timetable, case: str, updates: list[dict[str, Any]], origin: str, target: str, depart: str, expected: str
) -> None:
    updated, report = applied(line, updates)
    assert arrival(updated, origin, target, depart) == expected, (case, report.lines())
    assert arrival(line, "S1", "S3", "07:55") == "08:10"  # the static timetable is untouched


def test_an_overtaking_run_moves_to_its_own_pattern(line: Timetable) -> None:
    updated, report = applied(line, [{"trip_id": "T1", "stops": [("S2", 3660, None, "")]}])
    assert report.patterns_split == 1 and updated.n_patterns == line.n_patterns + 1
    for p in range(updated.n_patterns):  # every pattern is FIFO again
        arr, dep = updated.trip_times(p)
        assert (np.diff(dep, axis=0) >= 0).all() and (np.diff(arr, axis=0) >= 0).all()


def test_the_report_names_what_was_not_applied(line: Timetable) -> None:
    _, report = applied(
        line,
        [
            {"trip_id": "NOPE"},
            {"trip_id": "NEW", "added": True},
            {"trip_id": "T1", "stops": [("S9", 60, None, "")]},
        ],
    )
    text = "\n".join(report.lines())
    assert "NOPE" in text and "added trip NEW: route_id (none)" in text and "stop S9 is not on the trip" in text


def _at(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(CLOCK.moment(DAY, int(hours) * 3600 + int(minutes) * 60).timestamp())


def test_an_added_trip_runs_as_its_own_pattern(line: Timetable) -> None:
    extra = {"trip_id": "EXTRA", "added": True, "route_id": "R1"}
    stops = [("S1", None, _at("08:20"), ""), ("S2", None, _at("08:25"), ""), ("S3", None, _at("08:30"), "")]
    updated, report = applied(line, [{**extra, "stops": stops}])
    assert updated.n_patterns == line.n_patterns + 1 and "EXTRA@added" in updated.trip_ids.tolist()
    assert arrival(updated, "S1", "S3", "08:15") == "08:30" and arrival(line, "S1", "S3", "08:15") == "09:10"
    assert report.trips_updated == 1
    backwards = [("S1", None, _at("08:20"), ""), ("S3", None, _at("08:10"), "")]
    _, report = applied(line, [{**extra, "stops": backwards}])
    assert any("do not go back" in reason for reason in report.ignored)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x0a\x05\x0a\x032.0\x12", "not a GTFS-Realtime message"),  # truncated
        (b"not a protobuf at all", "not a GTFS-Realtime message"),
        (b"", "no header"),
    ],
)
def test_bad_feeds_are_reported_by_name(data: bytes, expected: str) -> None:
    with pytest.raises(RealtimeFeedError) as caught:
        read_trip_updates(data, "feeds/tripupdates.pb")
    assert expected in str(caught.value) and "tripupdates.pb" in str(caught.value)


def test_a_stale_feed_is_reported(line: Timetable) -> None:
    eight = int(CLOCK.moment(DAY, 8 * 3600).timestamp())
    feed = read_trip_updates(feed_bytes([], timestamp=eight - 3 * 3600), "old.pb")
    _, report = apply_trip_updates(line, feed, CLOCK, dt.datetime(2022, 2, 22, 8, 0))
    assert "180 min older" in report.stale


# -- Helsinki --------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_helsinki_delayed_and_canceled_trips_change_the_plan_as_an_independent_restriction_does(helsinki) -> None:  # type: ignore[no-untyped-def]
    from planner.router import Planner

    planner = Planner(helsinki)
    origin, destination = (60.1575, 24.9170), (60.1735, 24.9560)  # Jätkäsaari to Kruununhaka
    when = dt.datetime(2022, 2, 22, 8, 30)
    static = planner.plan(origin, destination, depart_at=when, modes=("walk", "transit"))
    ride = next(it for it in static if it.transit_legs).transit_legs[0]
    source_trip, _, run_start = ride.trip_id.partition("@")
    run = {"trip_id": source_trip, **({"start_time": run_start} if run_start[:2].isdigit() else {})}
    # canceled: the same plan as a planner whose timetable simply lacks that run
    canceled, report = planner.with_realtime(read_trip_updates(feed_bytes([{**run, "canceled": True}]), "c.pb"))
    assert report.trips_canceled >= 1
    tt = helsinki.timetable
    labels = tt.trip_ids.astype(str)
    todays_runs = labels == ride.trip_id
    without = Planner(dataclasses.replace(helsinki, timetable=tt.restricted(~todays_runs, np.ones(tt.n_stops, bool))))
    after = canceled.plan(origin, destination, depart_at=when, modes=("walk", "transit"))
    expected = without.plan(origin, destination, depart_at=when, modes=("walk", "transit"))
    assert [(it.depart, it.arrive, it.modes) for it in after] == [(it.depart, it.arrive, it.modes) for it in expected]
    assert all(leg.trip_id != ride.trip_id for it in after for leg in it.transit_legs)
    # delayed 10 minutes from its boarding stop: if the plan still rides it, 10 minutes later, scheduled times kept
    delayed, _ = planner.with_realtime(
        read_trip_updates(feed_bytes([{**run, "stops": [(ride.origin.stop_id, 600, None, "")]}]), "d.pb")
    )
    late = delayed.plan(origin, destination, depart_at=when, modes=("walk", "transit"))
    same = [leg for it in late for leg in it.transit_legs if leg.trip_id == ride.trip_id]
    for leg in same:
        assert leg.scheduled_start == ride.start and leg.start == ride.start + 600
        assert leg.scheduled_end == ride.end and leg.delay_s == 600
    assert min(it.arrive for it in late) >= min(it.arrive for it in static)


@pytest.mark.realdata
def test_maas_plan_with_a_realtime_file_shows_the_delay_and_survives_a_broken_file(
    shared_data: Path, helsinki, helsinki_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from maas_apps.cli import main
    from planner.router import Planner

    origin, destination = "60.1575,24.9170", "60.1735,24.9560"
    static = Planner(helsinki).plan((60.1575, 24.9170), (60.1735, 24.9560), depart_at=dt.datetime(2022, 2, 22, 8, 30))
    ride = next(it for it in static if it.transit_legs).transit_legs[0]
    good = tmp_path / "tripupdates.pb"
    good.write_bytes(feed_bytes([{**_run_of(ride.trip_id), "stops": [(ride.origin.stop_id, 180, None, "")]}]))
    area = ["--data-dir", str(shared_data), "--cache-dir", str(helsinki_cache)]
    command = ["plan", *area, "--from", origin, "--to", destination, "--depart", "2022-02-22T08:30"]
    assert main([*command, "--realtime", str(good)]) == 0
    out, err = capsys.readouterr()
    assert "1 trip(s) updated" in err and ("(+3 min)" in out or ride.route_short_name not in out), out
    broken = tmp_path / "broken.pb"
    broken.write_bytes(b"\x0a\x05\x0a\x032.0\x12")
    assert main([*command, "--realtime", str(broken)]) == 0  # the static timetable, and a warning
    out, err = capsys.readouterr()
    assert "broken.pb" in err and "static timetable" in err and "Option 1" in out


def _run_of(trip_label: str) -> dict[str, str]:
    """A compiled trip id as a TripDescriptor: the feed's trip_id, and the start time of a frequency run."""
    source, _, start = trip_label.partition("@")
    return {"trip_id": source, **({"start_time": start} if start[:2].isdigit() else {})}


# -- the shuttle day published -----------------------------------------------------------------------


@pytest.mark.realdata
def test_the_published_shuttle_feeds_decode_and_match_the_days_plan(
    shared_data: Path, helsinki, helsinki_cache: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import threading
    import urllib.request

    from google.transit import gtfs_realtime_pb2 as rt

    from dispatch.day import shuttle_network
    from dispatch.fleet_view import fleet_snapshot
    from dispatch.gtfs_rt_out import PublishedDay, serve, shuttle_feeds
    from dispatch.online import schedule
    from dispatch.service import ServiceStore
    from maas_apps.cli import main

    db = tmp_path / "live.sqlite"
    area = ["--data-dir", str(shared_data), "--cache-dir", str(helsinki_cache)]
    assert (
        main(
            [
                "simulate",
                *area,
                "--requests",
                "200",
                "--fleet",
                "3",
                "--no-reoptimise",
                "--until",
                "09:00",
                "--db",
                str(db),
            ]
        )
        == 0
    )
    network = shuttle_network(helsinki)
    day = PublishedDay(network, DAY, "Europe/Helsinki")
    positions_pb, updates_pb = shuttle_feeds(db, day)
    positions, updates = rt.FeedMessage(), rt.FeedMessage()
    positions.ParseFromString(positions_pb)
    updates.ParseFromString(updates_pb)
    nine = int(dt.datetime(2022, 2, 22, 9, 0, tzinfo=__import__("zoneinfo").ZoneInfo("Europe/Helsinki")).timestamp())
    assert positions.header.timestamp == nine and updates.header.timestamp == nine
    store = ServiceStore(db)
    state = store.load_state()
    snapshot = fleet_snapshot(store, network, state.clock_s)
    store.close()
    where = {s.vehicle: (s.lat, s.lon) for s in snapshot.shuttles}
    assert {e.vehicle.vehicle.id for e in positions.entity} == set(where)
    for entity in positions.entity:
        lat, lon = where[entity.vehicle.vehicle.id]
        assert entity.vehicle.position.latitude == pytest.approx(lat, abs=1e-5)
        assert entity.vehicle.position.longitude == pytest.approx(lon, abs=1e-5)
    assert len(updates.entity) == len(state.plans) == 3
    planned_stops = 0
    for plan, entity in zip(state.plans, updates.entity, strict=True):
        expected = schedule(plan, plan.stops, state.bookings, network, state.clock_s, state.picked_up_s) or []
        got = entity.trip_update.stop_time_update
        assert [u.stop_id for u in got] == [f"{s.stop.booking}:{s.stop.kind}" for s in expected]
        assert [u.arrival.time for u in got] == [day.posix(s.arrival_s) for s in expected]
        assert all(u.departure.time >= nine for u in got)  # still to be served (it may have arrived and wait)
        planned_stops += len(got)
    assert planned_stops > 0  # at 09:00 the shuttles have riders to fetch and drop
    # over HTTP, as another planner would fetch it
    server = serve(db, day, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/trip-updates.pb", timeout=30) as response:
            assert response.headers["Content-Type"] == "application/x-protobuf"
            fetched = rt.FeedMessage()
            fetched.ParseFromString(response.read())
        assert [e.id for e in fetched.entity] == [e.id for e in updates.entity]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/vehicle-positions.txt", timeout=30) as response:
            assert b"latitude" in response.read()
    finally:
        server.shutdown()
        server.server_close()


def test_a_delayed_ride_reads_the_same_in_the_cli_the_json_and_the_app() -> None:
    from maas_apps.cli import describe_itinerary
    from maas_apps.webapp import timeline_markdown
    from planner.itinerary import Itinerary, Place, TransitLeg

    stop = Place("Kamppi", 60.169, 24.931, "1")
    eight = 8 * 3600
    leg = TransitLeg(
        eight + 180,
        eight + 780,
        stop,
        Place("Rautatientori", 60.17, 24.94, "2"),
        "R",
        "7",
        "",
        0,
        "T",
        "Pasila",
        (),
        1200.0,
        (),
        None,
        eight,
        eight + 600,
    )
    it = Itinerary(DAY, (leg,))
    assert leg.delay_text == "+3 min" and it.to_dict()["legs"][0]["delay_s"] == 180
    assert "(+3 min)" in describe_itinerary(1, it)
    assert "**+3 min**" in timeline_markdown(it)
    early = dataclasses.replace(leg, scheduled_start=eight, scheduled_end=eight + 900)
    assert early.delay_text == "2 min early"


def alerts_bytes(alerts: list[dict[str, Any]]) -> bytes:
    """A FeedMessage of ServiceAlerts: header, route/stop/trip ids, (start, end) periods."""
    from google.transit import gtfs_realtime_pb2 as rt

    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    for n, spec in enumerate(alerts):
        entity = message.entity.add()
        entity.id = f"a{n}"
        alert = entity.alert
        fi = alert.header_text.translation.add()
        fi.language, fi.text = "fi", spec["header"] + " (fi)"
        en = alert.header_text.translation.add()
        en.language, en.text = "en", spec["header"]
        for key in ("route_id", "stop_id"):
            if key in spec:
                setattr(alert.informed_entity.add(), key, spec[key])
        for start, end in spec.get("periods", []):
            period = alert.active_period.add()
            period.start, period.end = start, end
    return message.SerializeToString()


@pytest.mark.realdata
def test_helsinki_alerts_show_on_the_rides_they_concern_while_active(helsinki) -> None:  # type: ignore[no-untyped-def]
    from maas_apps.cli import describe_itinerary
    from planner.router import Planner

    planner = Planner(helsinki)
    when = dt.datetime(2022, 2, 22, 8, 30)
    static = planner.plan((60.1575, 24.9170), (60.1735, 24.9560), depart_at=when, modes=("walk", "transit"))
    ride = next(it for it in static if it.transit_legs).transit_legs[0]
    today = int(planner.clock.moment(DAY, 0).timestamp())  # the service day's midnight, POSIX
    alerts = alerts_bytes(
        [
            {"header": "Track works on this line", "route_id": ride.route_id, "periods": [(today, today + 86400)]},
            {"header": "Yesterday's diversion", "route_id": ride.route_id, "periods": [(today - 86400, today - 3600)]},
            {"header": "Another line", "route_id": "no-such-route"},
            {"header": "Lift out of order", "stop_id": ride.destination.stop_id or ""},
        ]
    )
    live, _ = planner.with_realtime(read_trip_updates(alerts, "alerts.pb"))
    after = live.plan((60.1575, 24.9170), (60.1735, 24.9560), depart_at=when, modes=("walk", "transit"))
    same = [leg for it in after for leg in it.transit_legs if leg.trip_id == ride.trip_id]
    assert same and all(leg.alerts == ("Track works on this line", "Lift out of order") for leg in same)
    others = [leg for it in after for leg in it.transit_legs if leg.route_id != ride.route_id]
    assert all("Track works on this line" not in leg.alerts for leg in others)
    it = next(it for it in after if ride.trip_id in [leg.trip_id for leg in it.transit_legs])
    assert "! Track works on this line" in describe_itinerary(1, it)
    assert it.to_dict()["legs"][[leg.mode for leg in it.legs].index(ride.mode)]["alerts"]


@pytest.mark.realdata
def test_the_shuttle_service_as_gtfs_flex_names_its_zones_hubs_and_hours(
    shared_data: Path, helsinki, helsinki_cache: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import json

    import pandas as pd

    from maas_apps.cli import main

    out = tmp_path / "flex"
    area = ["--data-dir", str(shared_data), "--cache-dir", str(helsinki_cache)]
    assert main(["export-flex", *area, "--out", str(out)]) == 0
    service = helsinki.area.shuttle
    zones = json.loads((out / "locations.geojson").read_text())["features"]
    assert [z["properties"]["stop_name"] for z in zones] == [z.name for z in service.zones]
    for feature, zone in zip(zones, service.zones, strict=True):
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and [tuple(p) for p in ring[:-1]] == list(zone.polygon)
    ids = {z["id"] for z in zones}
    stops = pd.read_csv(out / "stops.txt", dtype=str)
    assert set(stops["stop_id"]) == {h for z in service.zones for h in z.hub_stop_ids}
    assert set(stops["stop_id"]) <= set(helsinki.timetable.stop_ids.tolist())
    times = pd.read_csv(out / "stop_times.txt", dtype=str, keep_default_na=False)
    trips = pd.read_csv(out / "trips.txt", dtype=str)
    assert (times.groupby("trip_id").size() == 2).all() and set(times["trip_id"]) == set(trips["trip_id"])
    assert set(times["location_id"]) - {""} == ids and set(times["stop_id"]) - {""} == set(stops["stop_id"])
    assert set(times["start_pickup_drop_off_window"]) == {service.operating_hours[0] + ":00"}
    assert set(times["end_pickup_drop_off_window"]) == {service.operating_hours[1] + ":00"}
    booked = times[times["pickup_type"] == "2"]
    assert (booked["pickup_booking_rule_id"] == "book-now").all() and len(booked) == len(trips)
