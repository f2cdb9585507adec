"""Property-based tests: mutated real input files never crash a reader nor change their meaning silently.

Each test takes a small input cut from the shared real data (a GTFS feed of a few HSL trips, a
batch of Helsinki requests, the area file, ...), mutates it (see ``badinput.py``) and runs the
reader in-process. The profile ``ci`` (default) tries a few dozen inputs per reader; the profile
``long`` (``HYPOTHESIS_PROFILE=long``, run by ``benchmarks/fuzz_inputs.py``) 2,000 per reader.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from badinput import TALLY, Column, Mutation, TableSpec, check, mutated_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maas.errors import MaasError

_COMMON = {
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
    "derandomize": True,
    "database": None,
}
settings.register_profile("ci", max_examples=int(os.environ.get("MAAS_FUZZ_EXAMPLES", "30")), **_COMMON)
settings.register_profile("long", max_examples=int(os.environ.get("MAAS_FUZZ_EXAMPLES", "2000")), **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")


def fuzz(test: Any) -> Any:
    return settings(settings.get_profile(PROFILE))(test)


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    path = os.environ.get("MAAS_FUZZ_REPORT")
    if path:
        TALLY.write(path)


@pytest.fixture()
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# -- points (matrix origins and destinations) -------------------------------------------------------------

POINTS = """id,lat,lon
a,60.1575,24.9170
b,60.1735,24.9560
c,60.1650,24.9300
d,60.1600,24.9400
"""
POINTS_SPEC = TableSpec(
    "points.csv",
    (Column("id", kind="id"), Column("lat", kind="lat"), Column("lon", kind="lon")),
    unique="id",
)


def _points_meaning(points: list[Any]) -> list[tuple[str, float, float]]:
    return [(p.id, p.lat, p.lon) for p in points]


@fuzz
@given(st.data())
def test_points_csv(data: st.DataObject) -> None:
    from planner.points import read_points

    raw, mutation = data.draw(mutated_csv(POINTS, POINTS_SPEC))
    with tempfile.TemporaryDirectory() as folder:
        base = _points_meaning(read_points(_write(Path(folder), "base.csv", POINTS.encode())))
        path = _write(Path(folder), "points.csv", raw)
        check("points-csv", mutation, lambda: _points_meaning(read_points(path)), base)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (POINTS.replace(",", ";").replace(".", ","), "with ';', not commas"),  # a decimal-comma spreadsheet's CSV
        (POINTS.replace(",", "\t"), "with tabs, not commas"),
    ],
)
def test_a_table_saved_with_another_separator_is_named_as_such(text: str, said: str, tmp_path: Path) -> None:
    """A spreadsheet's export with semicolons or tabs gets one message saying so, not 'more fields than the
    header's 1' or a list of missing columns."""
    from planner.points import read_points

    path = _write(tmp_path, "origins.csv", text.encode())
    with pytest.raises(MaasError) as info:
        read_points(path)
    message = str(info.value)
    assert "origins.csv" in message and said in message and "comma-separated" in message, message
    assert "more fields" not in message and "missing" not in message, message


GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"id": "a"}, "geometry": {"type": "Point", "coordinates": [24.917, 60.1575]}},
        {"type": "Feature", "properties": {"id": "b"}, "geometry": {"type": "Point", "coordinates": [24.956, 60.1735]}},
        {
            "type": "Feature",
            "properties": {"id": "c"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[24.92, 60.16], [24.93, 60.16], [24.93, 60.165], [24.92, 60.165], [24.92, 60.16]]],
            },
        },
    ],
}


@st.composite
def mutated_geojson(draw: Any) -> tuple[bytes, Mutation]:
    doc = json.loads(json.dumps(GEOJSON))
    feature = draw(st.integers(0, len(doc["features"]) - 1))
    f = doc["features"][feature]
    kind = draw(
        st.sampled_from(
            [
                *("truncate", "inject_bytes", "drop_id", "null_geometry", "bad_type", "bad_coordinate"),
                *("duplicate_id", "empty_collection", "not_geojson", "empty_file", "extra_property"),
            ]
        )
    )
    name = "points.geojson"
    if kind == "drop_id":
        del f["properties"]["id"]
    elif kind == "null_geometry":
        f["geometry"] = None
    elif kind == "bad_type":
        f["geometry"] = {"type": draw(st.sampled_from(["LineString", "Circle", 5, None])), "coordinates": [1, 2]}
    elif kind == "bad_coordinate":
        value = draw(st.sampled_from([float("nan"), float("inf"), 1e300, "abc", None, [], 200.0]))
        if f["geometry"]["type"] == "Point":
            f["geometry"]["coordinates"][draw(st.integers(0, 1))] = value
        else:
            f["geometry"]["coordinates"][0][1][0] = value
            if value == 200.0:  # a polygon corner out of range moves the centroid but keeps it in range
                return json.dumps(doc).encode(), Mutation(kind, name, "either")
    elif kind == "duplicate_id":
        f["properties"]["id"] = doc["features"][(feature + 1) % len(doc["features"])]["properties"]["id"]
    elif kind == "empty_collection":
        doc["features"] = []
    elif kind == "not_geojson":
        doc = draw(st.sampled_from([[1, 2], {"type": "Topology"}, "text", 5]))
    elif kind == "extra_property":
        f["properties"]["note"] = "x" * 50
        return json.dumps(doc).encode(), Mutation(kind, name, "accept")
    text = json.dumps(doc).encode()
    if kind == "truncate":
        return text[: draw(st.integers(0, len(text) - 1))], Mutation(kind, name, "reject")
    if kind == "inject_bytes":
        at = draw(st.integers(0, len(text)))
        return text[:at] + b"\xff\xfe" + text[at:], Mutation(kind, name, "reject")
    if kind == "empty_file":
        return b"", Mutation(kind, name, "reject")
    return text, Mutation(kind, name, "reject")


@fuzz
@given(mutated_geojson())
def test_points_geojson(case: tuple[bytes, Mutation]) -> None:
    from planner.points import read_points

    raw, mutation = case
    with tempfile.TemporaryDirectory() as folder:
        base = _points_meaning(read_points(_write(Path(folder), "base.geojson", json.dumps(GEOJSON).encode())))
        path = _write(Path(folder), "points.geojson", raw)
        check("points-geojson", mutation, lambda: _points_meaning(read_points(path)), base)


# -- settings TOML (router and solver) --------------------------------------------------------------------

_ANY_VALUE = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value) if not isinstance(value, list) else "[" + ", ".join(map(str, value)) + "]"


@pytest.mark.parametrize("which", ["router", "solver"])
@fuzz
@given(data=st.data())
def test_settings_toml(which: str, data: st.DataObject) -> None:
    """Any values of any type: refused with the file named, or read exactly as written (no silent coercion)."""
    from dataclasses import fields

    from dispatch.solver import SolverParams
    from planner.router import RouterParams

    cls = RouterParams if which == "router" else SolverParams
    names = [f.name for f in fields(cls)] + ["no_such_setting"]
    chosen = data.draw(st.dictionaries(st.sampled_from(names), _ANY_VALUE, min_size=1, max_size=4))
    body = f"[{which}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in chosen.items())
    mutation = Mutation("values", f"{which}.toml", "either", note=body)
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), f"{which}.toml", body.encode())

        def run() -> Any:
            params = cls.from_toml(path)
            for key, value in chosen.items():  # accepted: every value as written, and finite
                got = getattr(params, key)
                assert got == value and type(got) in (type(value), float), (key, value, got)
            return params

        check(f"{which}-toml", mutation, run)


# -- area TOML --------------------------------------------------------------------------------------------

AREA_OPTIONAL = {
    ("area", "population"),
    ("area", "title"),
    ("streets",),
    ("streets", "walk_speed_mps"),
    ("streets", "bike_speed_mps"),
    ("streets", "drive_default_kmh"),
    ("streets", "stop_link_max_m"),
    ("shuttle", "max_wait_min"),
    ("shuttle", "max_ride_factor"),
    ("shuttle", "max_ride_extra_min"),
    ("shuttle", "operating_hours"),
    ("shuttle", "fleet"),
    ("shuttle", "fleet", "size"),
    ("shuttle", "fleet", "seats"),
    ("shuttle", "fleet", "wheelchair_places"),
    ("shuttle", "fleet", "speed_kmh"),
    ("shuttle", "fleet", "battery_kwh"),
    ("shuttle", "fleet", "kwh_per_km"),
    ("shuttle", "fleet", "charge_kw"),
    ("shuttle", "fleet", "battery_reserve"),
    ("shuttle", "fleet", "charge_below"),
    ("shuttle", "fare"),
    ("shuttle", "fare_with_transit"),
    ("shuttle", "fare_currency"),
    ("shuttle", "objective"),
    ("shuttle", "objective", "rider_time_weight"),
    ("shuttle", "objective", "early_pickup_weight"),
    ("shuttle", "objective", "leave_later"),
    ("shuttle",),
}


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list) and node and isinstance(node[0], dict | list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _dump_toml(node: dict[str, Any]) -> str:
    """A small TOML writer for the area file's shapes (tables, arrays of tables, scalars and arrays)."""
    lines: list[str] = []

    def scalar(value: Any) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{json.dumps(str(k))} = {scalar(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(scalar(v) for v in value) + "]"
        if hasattr(value, "isoformat") and not isinstance(value, str):
            return value.isoformat()
        return _toml_value(value)

    def table(name: str, body: dict[str, Any]) -> None:
        simple = {k: v for k, v in body.items() if not _is_table(v)}
        if name:
            lines.append(f"[{name}]")
        lines.extend(f"{json.dumps(str(k))} = {scalar(v)}" for k, v in simple.items())
        for k, v in body.items():
            child = f"{name}.{json.dumps(str(k))}" if name else json.dumps(str(k))
            if isinstance(v, dict):
                table(child, v)
            elif _is_table(v):
                for item in v:
                    lines.append(f"[[{child}]]")
                    lines.extend(f"{json.dumps(str(a))} = {scalar(b)}" for a, b in item.items())

    table("", node)
    return "\n".join(lines) + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, dict) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
    )


def _area_meaning(area: Any) -> tuple[Any, ...]:
    return (area.name, area.timezone, area.gtfs_file, area.osm_file, area.service_date, area.bbox, area.streets)


@st.composite
def mutated_area(draw: Any, raw: dict[str, Any]) -> tuple[bytes, Mutation]:
    doc = json.loads(json.dumps(raw, default=str))
    doc["area"]["service_date"] = raw["area"]["service_date"]
    paths = _paths(doc)
    path = draw(st.sampled_from(paths))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    kind = draw(st.sampled_from(["delete", "wrong_type", "bad_number", "truncate", "inject_bytes", "reverse"]))
    name = "area.toml"
    optional = path in AREA_OPTIONAL or (len(path) > 1 and path[:2] == ("shuttle", "zones") and len(path) == 3)
    if kind == "delete":
        if isinstance(path[-1], int) and path[-2] != "bbox":  # a polygon corner or a hub less may be fine
            del parent[path[-1]]
            return _dump_toml(doc).encode(), Mutation(kind, name, "either", note=str(path))
        del parent[path[-1]]
        if path[:1] == ("shuttle",) and path != ("shuttle",) and not optional:
            return _dump_toml(doc).encode(), Mutation(kind, name, "reject", note=str(path))
        return _dump_toml(doc).encode(), Mutation(kind, name, "either" if optional else "reject", note=str(path))
    if kind == "wrong_type":
        old = parent[path[-1]]
        choices = [v for v in ([1, 2], "text", 3, 2.5, True, {"x": 1}) if type(v) is not type(old)]
        parent[path[-1]] = draw(st.sampled_from(choices))
        is_number = isinstance(old, int | float) and not isinstance(old, bool)
        if is_number and isinstance(parent[path[-1]], int | float) and not isinstance(parent[path[-1]], bool):
            return _dump_toml(doc).encode(), Mutation(kind, name, "either", note=str(path))  # 3 for 3.0
        return _dump_toml(doc).encode(), Mutation(kind, name, "reject", note=f"{path} = {parent[path[-1]]!r}")
    if kind == "bad_number":
        numbers = [p for p in paths if isinstance(_at(doc, p), int | float) and not isinstance(_at(doc, p), bool)]
        target = draw(st.sampled_from(numbers))
        _set(doc, target, draw(st.sampled_from([float("nan"), float("inf"), -1e308, -1.0, 1e300])))
        return _dump_toml(doc).encode(), Mutation(kind, name, "reject", note=str(target))
    if kind == "reverse":
        bbox = doc["area"]["bbox"]
        doc["area"]["bbox"] = [bbox[2], bbox[1], bbox[0], bbox[3]]
        return _dump_toml(doc).encode(), Mutation(kind, name, "reject")
    text = _dump_toml(doc).encode()
    if kind == "truncate":
        return text[: draw(st.integers(0, len(text) - 1))], Mutation(kind, name, "either")
    at = draw(st.integers(0, len(text)))
    return text[:at] + b"\xff" + text[at:], Mutation(kind, name, "reject")


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    _at(doc, path[:-1])[path[-1]] = value


@fuzz
@given(data=st.data())
def test_area_toml(data: st.DataObject, shared_data: Path) -> None:
    from maas.area import AREAS_DIR, load_area

    raw = tomllib.loads((AREAS_DIR / "helsinki.toml").read_text(encoding="utf-8"))
    base = _area_meaning(load_area("helsinki", shared_data))
    text, mutation = data.draw(mutated_area(raw))
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), "area.toml", text)
        check("area-toml", mutation, lambda: _area_meaning(load_area(path, shared_data, check_files=False)), base)


# -- dispatch input (maas dispatch) -----------------------------------------------------------------------

REQUESTS = """id,pickup_lat,pickup_lon,dropoff_lat,dropoff_lon,earliest_pickup,latest_pickup,seats,wheelchair,latest_dropoff,max_ride_min
r1,60.1560,24.9180,60.1632,24.9155,08:00,08:10,1,0,,
r2,60.1575,24.9220,60.1632,24.9155,08:05,08:15,1,0,,
r3,60.1500,24.9250,60.1632,24.9155,08:00,08:20,1,0,,
r4,60.1590,24.9300,60.1560,24.9180,09:00,09:30,1,0,,
"""
FLEET = """id,depot_lat,depot_lon,seats,wheelchair_places,shift_start,shift_end
ez10-1,60.1560,24.9215,8,1,07:00,19:00
ez10-2,60.1560,24.9215,8,1,07:00,19:00
"""
REQUESTS_SPEC = TableSpec(
    "requests.csv",
    (
        Column("id", kind="id"),
        Column("pickup_lat", kind="lat"),
        Column("pickup_lon", kind="lon"),
        Column("dropoff_lat", kind="lat"),
        Column("dropoff_lon", kind="lon"),
        Column("earliest_pickup", kind="clock"),
        Column("latest_pickup", kind="clock"),
        Column("seats", required=False, kind="count", optional_column=True),
        Column("wheelchair", required=False, kind="count", optional_column=True),
        Column("latest_dropoff", required=False, kind="clock", optional_column=True),
        Column("max_ride_min", required=False, kind="positive", optional_column=True),
    ),
    unique="id",
    windows=(("earliest_pickup", "latest_pickup"),),
    swapped_is_wrong=("pickup_lat", "pickup_lon"),
)
FLEET_SPEC = TableSpec(
    "fleet.csv",
    (
        Column("id", kind="id"),
        Column("depot_lat", kind="lat"),
        Column("depot_lon", kind="lon"),
        Column("seats", required=False, kind="count", optional_column=True),
        Column("wheelchair_places", required=False, kind="count", optional_column=True),
        Column("shift_start", required=False, kind="clock", optional_column=True),
        Column("shift_end", required=False, kind="clock", optional_column=True),
    ),
    unique="id",
    windows=(("shift_start", "shift_end"),),
    swapped_is_wrong=("depot_lat", "depot_lon"),
)


def _problem_meaning(problem: Any) -> tuple[Any, ...]:
    requests = [
        (r.id, r.pickup_window, r.dropoff_window, r.seats, r.wheelchairs, r.max_ride_time) for r in problem.requests
    ]
    vehicles = [(v.id, v.seats, v.wheelchair_places, v.shift) for v in problem.vehicles]
    return (tuple(requests), tuple(vehicles), problem.travel_time.round(9).tobytes())


@pytest.mark.realdata
@pytest.mark.parametrize("which", ["requests", "fleet"])
@fuzz
@given(data=st.data())
def test_dispatch_input(which: str, data: st.DataObject, helsinki: Any) -> None:
    from dispatch.realworld import read_realworld

    text, spec = (REQUESTS, REQUESTS_SPEC) if which == "requests" else (FLEET, FLEET_SPEC)
    raw, mutation = data.draw(mutated_csv(text, spec))
    with tempfile.TemporaryDirectory() as folder:
        requests = _write(Path(folder), "requests.csv", REQUESTS.encode())
        fleet = _write(Path(folder), "fleet.csv", FLEET.encode())
        base = _problem_meaning(read_realworld(requests, fleet, helsinki))
        _write(Path(folder), spec.file, raw)
        check(f"dispatch-{which}", mutation, lambda: _problem_meaning(read_realworld(requests, fleet, helsinki)), base)


# -- demand CSV (maas simulate --demand) ------------------------------------------------------------------

DEMAND = """id,announced,pickup_lat,pickup_lon,dropoff_lat,dropoff_lon,earliest_pickup,latest_pickup,latest_dropoff,seats,wheelchair
d1,07:30:00,60.1560,24.9180,60.1632,24.9155,08:00:00,08:10:00,,1,0
d2,07:45:00,60.1575,24.9220,60.1632,24.9155,08:05:00,08:15:00,,1,0
d3,08:00:00,60.1500,24.9250,60.1632,24.9155,08:10:00,08:20:00,,1,0
"""
DEMAND_SPEC = TableSpec(
    "demand.csv",
    (
        Column("id", kind="id"),
        Column("announced", kind="clock"),
        Column("pickup_lat", kind="lat"),
        Column("pickup_lon", kind="lon"),
        Column("dropoff_lat", kind="lat"),
        Column("dropoff_lon", kind="lon"),
        Column("earliest_pickup", kind="clock"),
        Column("latest_pickup", kind="clock"),
        Column("latest_dropoff", required=False, kind="clock", optional_column=True),
        Column("seats", required=False, kind="count", optional_column=True),
        Column("wheelchair", required=False, kind="count", optional_column=True),
    ),
    unique="id",
    windows=(("earliest_pickup", "latest_pickup"), ("announced", "latest_pickup")),
    swapped_is_wrong=("pickup_lat", "pickup_lon"),
)


@pytest.fixture(scope="module")
def shuttle_net(helsinki: Any) -> Any:
    from dispatch.day import shuttle_network

    return shuttle_network(helsinki)


@pytest.mark.realdata
@fuzz
@given(data=st.data())
def test_demand_csv(data: st.DataObject, helsinki: Any, shuttle_net: Any) -> None:
    from dispatch.demand import read_demand_csv

    service = helsinki.area.shuttle
    raw, mutation = data.draw(mutated_csv(DEMAND, DEMAND_SPEC))
    with tempfile.TemporaryDirectory() as folder:
        base = read_demand_csv(_write(Path(folder), "base.csv", DEMAND.encode()), shuttle_net, service)
        path = _write(Path(folder), "demand.csv", raw)
        check("demand-csv", mutation, lambda: read_demand_csv(path, shuttle_net, service), base)


# -- GTFS -------------------------------------------------------------------------------------------------

GTFS_SPECS = {
    "stops.txt": TableSpec(
        "stops.txt",
        (
            Column("stop_id", kind="id"),
            Column("stop_name", required=False, optional_column=True),
            Column("stop_lat", kind="lat"),
            Column("stop_lon", kind="lon"),
        ),
        unique="stop_id",
        swapped_is_wrong=("stop_lat", "stop_lon"),
    ),
    "routes.txt": TableSpec(
        "routes.txt",
        (
            Column("route_id", kind="id"),
            Column("route_short_name", required=False, optional_column=True),
            Column("route_type", kind="route_type"),
        ),
        unique="route_id",
    ),
    "trips.txt": TableSpec(
        "trips.txt",
        (
            Column("route_id"),
            Column("service_id"),
            Column("trip_id", kind="id"),
            Column("trip_headsign", required=False, optional_column=True),
        ),
        unique="trip_id",
    ),
    "stop_times.txt": TableSpec(
        "stop_times.txt",
        (
            Column("trip_id"),
            Column("arrival_time", required=False, kind="gtfs_time"),
            Column("departure_time", required=False, kind="gtfs_time"),
            Column("stop_id"),
            Column("stop_sequence", kind="seq"),
        ),
        windows=(("arrival_time", "departure_time"),),
    ),
    "calendar.txt": TableSpec(
        "calendar.txt",
        (
            Column("service_id", kind="id"),
            *(
                Column(d, kind="flag")
                for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
            ),
            Column("start_date", kind="date"),
            Column("end_date", kind="date"),
        ),
        windows=(("start_date", "end_date"),),
    ),
    "frequencies.txt": TableSpec(
        "frequencies.txt",
        (
            Column("trip_id"),
            Column("start_time", kind="gtfs_time"),
            Column("end_time", kind="gtfs_time"),
            Column("headway_secs", kind="positive"),
        ),
        windows=(("start_time", "end_time"),),
        rows_required=False,
    ),
}


@pytest.fixture(scope="module")
def small_feed(shared_data: Path) -> dict[str, str]:
    """A few real HSL trips (trams and a frequency-based metro trip) with every row they need."""
    source = shared_data / "helsinki" / "hsl_gtfs_2022-02-22.zip"
    with zipfile.ZipFile(source) as archive:

        def table(name: str) -> pd.DataFrame:
            return pd.read_csv(io.BytesIO(archive.read(name)), dtype=str, keep_default_na=False)

        trips, freq = table("trips.txt"), table("frequencies.txt")
        stop_times, stops, routes, calendar = (
            table("stop_times.txt"),
            table("stops.txt"),
            table("routes.txt"),
            table("calendar.txt"),
        )
    tram = trips[trips["route_id"].isin(routes.loc[routes["route_type"] == "0", "route_id"].head(2))].head(6)
    metro = trips[trips["trip_id"].isin(freq["trip_id"])].head(1)
    chosen = pd.concat([tram, metro])
    times = stop_times[stop_times["trip_id"].isin(chosen["trip_id"])]
    stop_rows = stops[stops["stop_id"].isin(times["stop_id"])]
    out = {
        "stops.txt": stop_rows[["stop_id", "stop_name", "stop_lat", "stop_lon"]],
        "routes.txt": routes[routes["route_id"].isin(chosen["route_id"])][
            ["route_id", "route_short_name", "route_type"]
        ],
        "trips.txt": chosen[["route_id", "service_id", "trip_id", "trip_headsign"]],
        "stop_times.txt": times[["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"]],
        "calendar.txt": calendar[calendar["service_id"].isin(chosen["service_id"])],
        "frequencies.txt": freq[freq["trip_id"].isin(chosen["trip_id"])][
            ["trip_id", "start_time", "end_time", "headway_secs"]
        ],
    }
    # plain CSV without quoting, so that the mutations can work on fields
    return {
        name: df.replace({",": " ", '"': ""}, regex=True).to_csv(index=False, lineterminator="\n")
        for name, df in out.items()
    }


def _feed_meaning(folder: Path) -> tuple[Any, ...]:
    import datetime as dt

    from planner.gtfs_feed import load_feed
    from planner.timetable_compiler import compile_timetable

    tt = compile_timetable(load_feed(folder), dt.date(2022, 2, 22))
    return (tuple(tt.trip_ids), tt.arrivals.tobytes(), tt.departures.tobytes(), tuple(tt.stop_ids))


@pytest.mark.realdata
@fuzz
@given(data=st.data())
def test_gtfs_feed(data: st.DataObject, small_feed: dict[str, str]) -> None:
    name = data.draw(st.sampled_from(sorted(small_feed)))
    raw, mutation = data.draw(mutated_csv(small_feed[name], GTFS_SPECS[name]))
    with tempfile.TemporaryDirectory() as folder:
        base_dir, feed_dir = Path(folder) / "base", Path(folder) / "feed"
        base_dir.mkdir()
        feed_dir.mkdir()
        for table, text in small_feed.items():
            (base_dir / table).write_text(text, encoding="utf-8")
            (feed_dir / table).write_text(text, encoding="utf-8")
        base = _feed_meaning(base_dir)
        (feed_dir / name).write_bytes(raw)
        check("gtfs", mutation, lambda: _feed_meaning(feed_dir), base)


# -- benchmark instances (maas dispatch-bench) ------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("instance", ["cordeau/a2-16.txt", "lilim/lc101.txt"])
@fuzz
@given(data=st.data())
def test_benchmark_instance(instance: str, data: st.DataObject, shared_data: Path) -> None:
    from dispatch.readers import read_cordeau, read_li_lim

    files = list((shared_data / "dispatch").rglob(Path(instance).name))
    assert files, instance
    text = files[0].read_text()
    lines = text.splitlines()
    kind = data.draw(st.sampled_from(["truncate", "inject_bytes", "delete_line", "bad_number", "swap_lines"]))
    i = data.draw(st.integers(0, len(lines) - 1))
    if kind == "truncate":
        raw = text.encode()[: data.draw(st.integers(0, len(text) - 1))]
    elif kind == "inject_bytes":
        at = data.draw(st.integers(0, len(text)))
        raw = text.encode()[:at] + b"\xff" + text.encode()[at:]
    elif kind == "delete_line":
        raw = "\n".join(lines[:i] + lines[i + 1 :]).encode()
    elif kind == "swap_lines":
        j = data.draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
        raw = "\n".join(lines).encode()
    else:
        fields = lines[i].split()
        if fields:
            fields[data.draw(st.integers(0, len(fields) - 1))] = data.draw(
                st.sampled_from(["nan", "inf", "-1e300", "abc", "1e20", "-7", "0.5"])
            )
        lines[i] = " ".join(fields)
        raw = "\n".join(lines).encode()
    name = Path(instance).name
    reader = read_cordeau if instance.startswith("cordeau") else read_li_lim
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), name, raw)
        check(f"instance-{Path(instance).parent}", Mutation(kind, name, "either"), lambda: reader(path))


# -- OpenStreetMap ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_osm(shared_data: Path) -> str:
    """The highway ways of a few blocks of Kamppi as .osm XML, cut from the real extract."""
    from planner.streets import read_osm_highways

    osm = read_osm_highways(shared_data / "helsinki" / "helsinki_centre_2024-08-15.osm.pbf")
    west, south, east, north = 24.928, 60.166, 24.934, 60.169
    inside = {n for n in osm.node_lon if west <= osm.node_lon[n] <= east and south <= osm.node_lat[n] <= north}
    ways = [(w, [int(n) for n in nodes if int(n) in inside], tags) for w, nodes, tags in osm.ways]
    ways = [(w, nodes, tags) for w, nodes, tags in ways if len(nodes) >= 2]
    used = sorted({n for _, nodes, _ in ways for n in nodes})
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    lines += [f'  <node id="{n}" lat="{osm.node_lat[n]:.7f}" lon="{osm.node_lon[n]:.7f}"/>' for n in used]
    for w, nodes, tags in ways:
        lines.append(f'  <way id="{w}">')
        lines += [f'    <nd ref="{n}"/>' for n in nodes]
        lines += [f'    <tag k="{k}" v="{v.replace(chr(34), "")}"/>' for k, v in tags.items() if "&" not in v + k]
        lines.append("  </way>")
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


def _graphs(path: Path) -> tuple[int, ...]:
    from planner.streets import build_mode_graph, compile_street_graph, read_osm_highways

    osm = read_osm_highways(path)
    sizes = []
    for mode, speed in (("walk", 1.28), ("bike", 5.5), ("drive", None)):
        graph = compile_street_graph(build_mode_graph(osm, mode, speed_mps=speed, drive_default_kmh=30.0), mode)
        sizes.append(graph.n_edges)
    return tuple(sizes)


@pytest.mark.realdata
@fuzz
@given(data=st.data())
def test_osm_extract(data: st.DataObject, small_osm: str) -> None:
    lines = small_osm.splitlines()
    kind = data.draw(st.sampled_from(["truncate", "inject_bytes", "delete_line", "bad_coordinate", "bad_tag"]))
    i = data.draw(st.integers(0, len(lines) - 1))
    expect = "either"
    if kind == "truncate":
        raw = small_osm.encode()[: data.draw(st.integers(0, len(small_osm) - 1))]
    elif kind == "inject_bytes":
        at = data.draw(st.integers(0, len(small_osm)))
        raw, expect = small_osm.encode()[:at] + b"\xff\xfe" + small_osm.encode()[at:], "reject"
    elif kind == "delete_line":
        raw = "\n".join(lines[:i] + lines[i + 1 :]).encode()
    elif kind == "bad_coordinate":
        nodes = [k for k, line in enumerate(lines) if "<node" in line]
        k = data.draw(st.sampled_from(nodes))
        value = data.draw(st.sampled_from(["nan", "abc", "1e300", "-91", "", "inf"]))
        lines[k] = lines[k].replace('lat="', f'lat="{value}" x="', 1)
        raw = "\n".join(lines).encode()
    else:
        tags = [k for k, line in enumerate(lines) if "<tag" in line]
        k = data.draw(st.sampled_from(tags))
        value = data.draw(st.sampled_from(["", "nan", "-5", "1e400", "yes;no", "signals", "none", "walk", "-1"]))
        lines[k] = lines[k].rsplit('v="', 1)[0] + f'v="{value}"/>'
        raw = "\n".join(lines).encode()
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), "extract.osm", raw)
        check("osm", Mutation(kind, "extract.osm", expect), lambda: _graphs(path))


def test_a_crash_is_reported_as_a_crash() -> None:
    """The rule itself: a reader failing with anything but a MaasError fails the test."""

    def broken() -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        check("self-test", Mutation("x", "f.csv", "either"), broken)
    with pytest.raises(AssertionError):
        check("self-test", Mutation("x", "f.csv", "reject"), lambda: 1)
    with pytest.raises(AssertionError):
        check("self-test", Mutation("x", "f.csv", "either"), lambda: (_ for _ in ()).throw(MaasError("no name")))
    assert np.isfinite(1.0)


# -- command-line options ---------------------------------------------------------------------------------

ODD_VALUES = [
    *("-5", "0", "-0", "nan", "inf", "-inf", "1e309", "abc", "", " ", "1.5", "99999999999", "25:99", "12:60"),
    *("-30.02,-51.22", "60.1,24.9", "60.1", "60.1,24.9,1", "91,0", "2022-02-30T08:00", "2022-02-22T25:00"),
    *("x\ny", "\x1b[31m", "é" * 70, "07:00", "23:59", "48:00", "1-2-3", "19-7", "0-48", "walk,,transit", "boat"),
]


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    import contextlib

    from maas_apps.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refuses an option value with status 2
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def cli_world(helsinki: Any, helsinki_cache: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A small simulated day and a points file, for commands that read them."""
    folder = tmp_path_factory.mktemp("cli")
    (folder / "points.csv").write_text("id,lat,lon\na,60.1575,24.9170\nb,60.1650,24.9300\n", encoding="utf-8")
    common = ["--data-dir", str(shared_data), "--cache-dir", str(helsinki_cache)]
    day = ["--fleet", "2", "--requests", "20", "--hours", "7-9", "--until", "07:30", "--db", str(folder / "day.sqlite")]
    code, _, err = _run_cli(["simulate", *common, *day])
    assert code == 0, err
    return folder, common


COMMANDS = {
    "plan": (
        ["plan", "--from", "60.1575,24.9170", "--to", "60.1735,24.9560", "--depart", "2022-02-22T08:30"],
        ["--from", "--to", "--depart", "--max-walk", "--max-transfers", "--modes", "--date"],
    ),
    "book": (
        ["book", "--db", "{db}", "--from", "60.1570,24.9150", "--to", "60.1630,24.9150", "--quote"],
        ["--at", "--pickup", "--seats", "--id", "--from", "--to", "--db"],
    ),
    "bookings": (["bookings", "--db", "{db}"], ["--status", "--db"]),
    "matrix": (
        ["matrix", "--origins", "{points}", "--depart", "2022-02-22T08:30", "--out", "{out}", "--window", "2"],
        ["--window", "--percentile", "--modes", "--origins", "--depart"],
    ),
}


@pytest.mark.realdata
@pytest.mark.parametrize("command", sorted(COMMANDS))
@fuzz
@given(data=st.data())
def test_cli_options(command: str, data: st.DataObject, cli_world: Any) -> None:
    """Any value for any option: a result, "no", or a message (exit 0, 1 or 2); never a trace or an internal error."""
    folder, common = cli_world
    template, options = COMMANDS[command]
    option = data.draw(st.sampled_from(options))
    value = data.draw(st.sampled_from(ODD_VALUES))
    fill = {"{db}": str(folder / "day.sqlite"), "{points}": str(folder / "points.csv"), "{out}": str(folder / "tt.csv")}
    argv = [fill.get(a, a) for a in template]
    if option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv += [option, value]
    if command not in ("bookings",):
        argv += common
    if command == "book" and option != "--id":
        argv += ["--id", f"q{data.draw(st.integers(0, 10**9))}"]
    code, out, err = _run_cli(argv)
    assert code in (0, 1, 2), (argv, code, err)
    assert "internal error" not in err and "Traceback" not in err + out, (argv, err)
    if code == 2:
        assert err.strip(), f"{argv}: refused without a message"
    TALLY.add(f"cli-{command}", Mutation(option, command, "either"), {0: "accepted", 1: "no", 2: "rejected"}[code])
