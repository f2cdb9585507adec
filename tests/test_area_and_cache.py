"""Area files, data-directory resolution, the cache and the CLI on a tiny area built here."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
from feedmaker import write_feed
from test_streets import write_osm

from maas.area import load_area, resolve_data_dir
from maas.errors import ConfigError, DataNotFoundError
from maas_apps.cli import main
from planner.area_data import load_area_data

TINY_AREA = """
[area]
name = "tiny"
timezone = "Europe/Helsinki"
gtfs = "tiny/feed.zip"
osm = "tiny/tiny.osm"
service_date = 2022-02-22
bbox = [24.915, 60.157, 24.927, 60.163]

[streets]
walk_speed_mps = 1.25
stop_link_max_m = 100.0
"""


@pytest.fixture()
def tiny_area(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "tiny").mkdir(parents=True)
    write_feed(data / "tiny", as_zip=True)
    write_osm(data / "tiny" / "tiny.osm")
    toml = tmp_path / "tiny.toml"
    toml.write_text(TINY_AREA, encoding="utf-8")
    return toml


def test_helsinki_area_file_is_valid() -> None:
    area = load_area("helsinki", check_files=False) if _has_data() else None
    if area is None:
        pytest.skip("no data directory")
    assert area.timezone == "Europe/Helsinki" and str(area.service_date) == "2022-02-22"
    assert area.shuttle is not None
    assert {"1201601", "1201602"} <= set(area.shuttle.zones[0].hub_stop_ids)  # Ruoholahti metro
    assert area.contains(24.9155, 60.1632) and not area.contains(24.977, 60.1875)  # Kalasatama is outside


def _has_data() -> bool:
    try:
        resolve_data_dir()
        return True
    except DataNotFoundError:
        return False


def test_bad_area_file_reports_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[area]\nname = "x"\ntimezone = "Mars/Olympus"\nbbox = [25, 60, 24, 61]\n[streets]\nwalk_speed_mps = -1\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_area(bad, tmp_path)
    message = str(info.value)
    for fragment in (
        "missing area.gtfs",
        "missing area.osm",
        "missing area.service_date",
        "Mars/Olympus",
        "area.bbox",
        "walk_speed_mps must be a positive number",
    ):
        assert fragment in message


def test_shuttle_objective_is_read_and_checked(tiny_area: Path, tmp_path: Path) -> None:
    """``[shuttle.objective]``: its defaults without the table, its values with it, and every bad value
    reported at once with its table's name."""
    from maas.area import DispatchObjective

    base = tiny_area.read_text(encoding="utf-8") + (
        '\n[shuttle]\ndepot = [24.92, 60.16]\n[[shuttle.zones]]\nname = "z"\nhub_stop_ids = ["A"]\n'
        "polygon = [[24.916, 60.158], [24.926, 60.158], [24.926, 60.162]]\n"
    )
    plain = tmp_path / "plain.toml"
    plain.write_text(base, encoding="utf-8")
    area = load_area(plain, tmp_path / "data", check_files=False)
    assert area.shuttle is not None and area.shuttle.objective == DispatchObjective()
    good = tmp_path / "good.toml"
    good.write_text(base + "\n[shuttle.objective]\nrider_time_weight = 2.5\nleave_later = true\n", encoding="utf-8")
    area = load_area(good, tmp_path / "data", check_files=False)
    assert area.shuttle is not None
    assert area.shuttle.objective == DispatchObjective(rider_time_weight=2.5, leave_later=True)
    bad = tmp_path / "bad.toml"
    bad.write_text(
        base + '\n[shuttle.objective]\nrider_time_weight = -1\nleave_later = "yes"\nrider_weight = 3\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_area(bad, tmp_path / "data", check_files=False)
    message = str(info.value)
    assert "shuttle.objective.leave_later" in message and "rider_weight" in message
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(base + "\n[shuttle.objective]\nrider_time_weight = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rider_time_weight must be in"):
        load_area(fixed, tmp_path / "data", check_files=False)


def test_data_dir_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit, env = tmp_path / "explicit", tmp_path / "env"
    explicit.mkdir()
    env.mkdir()
    monkeypatch.setenv("MAAS_DATA_DIR", str(env))
    assert resolve_data_dir(explicit) == explicit.resolve()
    assert resolve_data_dir() == env.resolve()
    monkeypatch.setenv("MAAS_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(DataNotFoundError, match="MAAS_DATA_DIR"):
        resolve_data_dir()


def test_missing_data_files_say_what_is_needed(tiny_area: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError, match=r"tiny/feed.zip.*tiny/tiny.osm"):
        load_area(tiny_area, empty)


def test_cache_is_reused_and_invalidated_by_content(tiny_area: Path, tmp_path: Path) -> None:
    area = load_area(tiny_area, tmp_path / "data")
    cache = tmp_path / "cache"
    first = load_area_data(area, cache=cache)
    assert not first.from_cache
    second = load_area_data(area, cache=cache)
    assert second.from_cache
    assert second.timetable.stats == first.timetable.stats
    assert second.stop_links.edge.tolist() == first.stop_links.edge.tolist()
    # S1 and S2 lie inside the tiny bbox; S2 is ~124 m from the nearest street, beyond the
    # 100 m limit, so only S1 is linked; S3 and S4 are outside.
    assert second.stop_links.inside_extract.tolist() == [True, True, False, False]
    assert second.stop_links.linked.tolist() == [True, False, False, False]
    assert second.stop_links.distance_m[1] == pytest.approx(124, abs=3)
    # Changing the feed's content (not its name) rebuilds the timetable.
    write_feed(
        tmp_path / "data" / "tiny",
        {
            "trips.txt": "route_id,service_id,trip_id\nR1,WK,T1\n",
            "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
            "T1,08:00:00,08:00:00,S1,1\nT1,08:10:00,08:10:00,S2,2\n",
        },
        as_zip=True,
    )
    os.utime(tmp_path / "data" / "tiny" / "feed.zip", None)
    third = load_area_data(area, cache=cache)
    assert not third.from_cache and third.timetable.n_trips == 1


def _build_after(barrier: Any, area: Any, cache: Path, out: Any) -> None:
    barrier.wait()
    try:
        data = load_area_data(area, cache=cache)
        out.put(("ok", data.timetable.n_trips, data.stop_links.edge.tolist()))
    except Exception as error:  # reported to the test, which names it
        out.put(("error", repr(error), []))


def test_processes_building_one_cache_at_once_all_succeed(tiny_area: Path, tmp_path: Path) -> None:
    """Local Dask workers start together and may all find the cache empty: each writes its own
    temporary file and renames it into place, so none fails and the cache holds whole files."""
    area = load_area(tiny_area, tmp_path / "data")
    cache = tmp_path / "cache"
    context = multiprocessing.get_context("fork")
    barrier, out = context.Barrier(4), context.Queue()
    processes = [context.Process(target=_build_after, args=(barrier, area, cache, out)) for _ in range(4)]
    for process in processes:
        process.start()
    results = [out.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert [r[0] for r in results] == ["ok"] * 4, results
    assert len({(r[1], tuple(r[2])) for r in results}) == 1
    leftovers = [p.name for p in cache.rglob("*") if p.name.startswith(".")]
    assert leftovers == []
    assert load_area_data(area, cache=cache).from_cache


def test_cli_build_and_info_on_tiny_area(tiny_area: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--area", str(tiny_area), "--data-dir", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "c")]
    assert main(["build", *args]) == 0
    assert "caches ready" in capsys.readouterr().out
    assert main(["info", "--json", *args]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["stops"] == 4 and facts["trips_after_frequency_expansion"] == 2
    assert facts["stops_linked_to_walk_graph"] == 1 and facts["loaded_from_cache"] is True
    assert facts["osm_trimmed_node_references"] == 3
    assert set(facts["graphs"]) == {"walk", "bike", "drive"}


def test_cli_reports_user_errors_without_traceback(
    tiny_area: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--area", str(tiny_area), "--data-dir", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "c")]
    assert main(["info", *args, "--date", "2022-02-26"]) == 2
    err = capsys.readouterr().err
    assert "maas: error:" in err and "dates with service: 2022-02-21" in err
    assert "Traceback" not in err
    assert main(["info", "--area", "atlantis"]) == 2
    assert "unknown area 'atlantis'" in capsys.readouterr().err
