"""Porto Alegre, the second shipped area: two feeds merged, southern and western coordinates, a city-sized
street graph, points off the streets. Uses the shared data (realdata)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from maas_apps.cli import main

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module", params=["shipped", "area-init"])
def poa_area(request: pytest.FixtureRequest, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The shipped area file, or one written by `maas area init` with only the shipped shuttle section added
    (the zone is the one thing a person draws): every test here must pass with both."""
    if request.param == "shipped":
        return "porto_alegre"
    from maas.area import AREAS_DIR

    out = tmp_path_factory.mktemp("poa-init") / "poa_init.toml"
    argv = ["area", "init", "--name", "poa_init", "--data-dir", str(shared_data), "--out", str(out)]
    argv += ["--gtfs", "porto_alegre/poa_eptc.zip", "--gtfs", "porto_alegre/poa_trensurb.zip"]
    assert main([*argv, "--osm", "porto_alegre/poa_osm.pbf"]) == 0
    shipped = (AREAS_DIR / "porto_alegre.toml").read_text(encoding="utf-8")
    out.write_text(out.read_text(encoding="utf-8") + "\n" + shipped[shipped.index("[shuttle]") :], encoding="utf-8")
    return str(out)


@pytest.fixture(scope="module")
def poa(shared_data: Path, poa_cache: Path, poa_area: str) -> Any:
    from maas.area import load_area
    from planner.area_data import load_area_data

    return load_area_data(load_area(poa_area, shared_data), cache=poa_cache)


def test_both_feeds_are_merged_with_their_ids_kept_apart(poa: Any) -> None:
    ids = set(poa.timetable.stop_ids.tolist())
    assert "poa_trensurb:SP" in ids and "poa_trensurb:MR" in ids
    assert sum(i.startswith("poa_eptc:") for i in ids) > 3000
    assert not any(":" not in i for i in ids)
    routes = set(poa.timetable.route_ids.tolist())
    assert any(r.startswith("poa_trensurb:") for r in routes) and any(r.startswith("poa_eptc:") for r in routes)
    assert poa.area.timezone == "America/Sao_Paulo"


def test_plan_with_southern_western_coordinates_rides_a_bus_or_the_train(
    shared_data: Path, poa_cache: Path, poa: Any, poa_area: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["plan", "--area", poa_area, "--data-dir", str(shared_data), "--cache-dir", str(poa_cache)]
    argv += ["--from", "-30.0340,-51.2300", "--to", "-30.0065,-51.2094", "--depart", f"{poa.area.service_date}T14:00"]
    assert main(argv) == 0  # no '=' needed before a negative coordinate
    out = capsys.readouterr().out
    assert "Option 1:" in out and ("bus " in out or "rail " in out or "subway " in out), out


def test_matrix_keeps_every_point_and_lists_the_ones_off_the_streets(
    shared_data: Path, poa_cache: Path, poa: Any, poa_area: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    points = tmp_path / "points.csv"
    rows = (shared_data / "porto_alegre" / "poa_points_of_interest.csv").read_text().strip().splitlines()[:6]
    rows.append("in_the_river,-30.0234,-51.2544")  # the Guaíba: over a kilometre from any street
    points.write_text("\n".join(rows) + "\n")
    out = tmp_path / "tt.csv"
    argv = ["matrix", "--area", poa_area, "--data-dir", str(shared_data), "--cache-dir", str(poa_cache)]
    argv += ["--origins", str(points), "--depart", f"{poa.area.service_date}T14:00", "--window", "2", "--out", str(out)]
    assert main(argv) == 0
    with out.open() as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 6 * 6
    assert all(r["travel_time"] == "" for r in table if "in_the_river" in (r["from_id"], r["to_id"]))
    assert sum(r["travel_time"] != "" for r in table) >= 25
    side = out.with_suffix(".unreachable.csv").read_text()
    assert "origin,in_the_river," in side and "destination,in_the_river," in side
    assert "1 point(s) are not near a street" in capsys.readouterr().out


def test_a_shuttle_day_runs_on_the_streets_around_the_service(
    shared_data: Path, poa_cache: Path, poa: Any, poa_area: str, tmp_path: Path
) -> None:
    from dispatch.day import service_graph

    graph = service_graph(poa)
    assert poa.streets["drive"].n_nodes > 10_000 and graph.n_nodes < 3000  # memory follows the service
    argv = ["simulate", "--area", poa_area, "--data-dir", str(shared_data), "--cache-dir", str(poa_cache)]
    argv += ["--requests", "60", "--fleet", "3", "--hours", "7-10", "--db", str(tmp_path / "day.sqlite")]
    assert main(argv) == 0
    from dispatch.service import ServiceStore

    statuses = [b["status"] for b in ServiceStore(tmp_path / "day.sqlite").bookings()]
    assert len(statuses) == 60 and statuses.count("done") >= 20


def test_area_init_writes_a_file_that_builds_and_plans_without_edits(
    shared_data: Path, poa_cache: Path, poa: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`maas area init` on the two feeds and the extract: bbox, time zone and a date both feeds serve come
    from the data; the file builds (sharing the street graphs already built for porto_alegre) and plans."""
    import tomllib

    import planner.area_data

    area_file = tmp_path / "poa_init.toml"
    argv = ["area", "init", "--name", "poa_init", "--data-dir", str(shared_data), "--out", str(area_file)]
    argv += ["--gtfs", "porto_alegre/poa_eptc.zip", "--gtfs", "porto_alegre/poa_trensurb.zip"]
    assert main([*argv, "--osm", "porto_alegre/poa_osm.pbf"]) == 0
    raw = tomllib.loads(area_file.read_text())["area"]
    assert raw["timezone"] == "America/Sao_Paulo" and raw["service_date"].weekday() < 5
    west, south, east, north = raw["bbox"]
    assert -51.27 <= west < east <= -51.13 and -30.12 <= south < north <= -29.98
    streets_before = sorted((poa_cache / "streets").glob("*.npz"))
    read_osm = planner.area_data.read_osm_highways
    try:  # the extract is not read again: porto_alegre's graphs are shared
        planner.area_data.read_osm_highways = lambda *a: (_ for _ in ()).throw(AssertionError("rebuilt"))  # type: ignore[assignment]
        build = ["build", "--area", str(area_file), "--data-dir", str(shared_data), "--cache-dir", str(poa_cache)]
        assert main(build) == 0
    finally:
        planner.area_data.read_osm_highways = read_osm  # type: ignore[assignment]
    assert sorted((poa_cache / "streets").glob("*.npz")) == streets_before
    plan = ["plan", "--area", str(area_file), "--data-dir", str(shared_data), "--cache-dir", str(poa_cache)]
    plan += ["--from", "-30.0340,-51.2300", "--to", "-30.0065,-51.2094", "--depart", f"{raw['service_date']}T14:00"]
    capsys.readouterr()
    assert main(plan) == 0
    assert "Option 1:" in capsys.readouterr().out


def test_walks_join_the_two_feeds_and_a_morning_query_says_when_buses_run(
    shared_data: Path, poa_cache: Path, poa: Any, poa_area: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    tt, fp = poa.timetable, poa.footpaths
    station = tt.stop_index("poa_trensurb:MR")  # Mercado station, beside the city's main bus terminals
    reach = tt.stop_ids[fp.to[fp.start[station] : fp.start[station + 1]]]
    assert any(str(s).startswith("poa_eptc:") for s in reach), "a rail station must be a walk from buses"
    assert np.isfinite(fp.distance_m).all()
    argv = ["plan", "--area", poa_area, "--data-dir", str(shared_data), "--cache-dir", str(poa_cache)]
    argv += ["--from", "-30.0340,-51.2300", "--to", "-30.0500,-51.1900", "--modes", "walk,transit"]
    assert main([*argv, "--depart", f"{poa.area.service_date}T08:00"]) == 1
    out = capsys.readouterr().out
    assert "no transit connection within 3 h; the stops near the origin have departures from 11:" in out, out
