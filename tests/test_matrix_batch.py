"""Matrices and accessibility as batch jobs: chunked, streamed, and the same on every engine.

The engines are this process, a local Dask cluster and a real cluster (a ``dask scheduler`` and two
``dask worker`` processes on 127.0.0.1, as on several machines); one of those workers is killed in
the middle of a matrix and the file must still hold every pair exactly once, with the same times.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from maas_apps.cli import main
from planner.accessibility import AccessibilitySettings, accessibility_of_rows, decay_weights
from planner.matrix import WalkEgress

DEPART = "2022-02-22T08:30"


# -- pieces checked against brute force ----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_egress_from_improved_stops_equals_walking_from_every_stop(seed: int) -> None:
    """Range RAPTOR's shortcut (walk on only from stops that improved) against the full minimum."""
    rng = np.random.default_rng(seed)
    n_stops, n_dest = 60, 40
    counts = rng.integers(0, 8, n_dest)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    stop = rng.integers(0, n_stops, int(start[-1])).astype(np.int64)
    seconds = rng.integers(0, 900, int(start[-1])).astype(np.int64)
    egress = WalkEgress.of(start, stop, seconds, n_stops)
    later = rng.integers(1000, 5000, n_stops).astype(np.int64)
    later[rng.random(n_stops) < 0.2] = np.iinfo(np.int64).max // 4  # stops not reached
    earlier = np.where(rng.random(n_stops) < 0.3, later - rng.integers(0, 800, n_stops), later)
    arrivals = egress.arrivals(later)
    egress.improve(earlier, later, arrivals)
    for j in range(n_dest):
        walks = [earlier[stop[q]] + seconds[q] for q in range(start[j], start[j + 1])]
        if walks:  # a destination without stops in reach keeps its "never" value
            assert arrivals[j] == min(walks), j


def test_decay_functions_are_r5s() -> None:
    minutes = np.array([0.0, 10.0, 29.0, 30.0, 31.0, 60.0, np.nan])
    step = decay_weights(minutes, 30, AccessibilitySettings(cutoffs_min=(30,)))
    assert step.tolist() == [1, 1, 1, 0, 0, 0, 0]  # strictly below the cutoff counts, as in R5
    linear = decay_weights(minutes, 30, AccessibilitySettings(cutoffs_min=(30,), decay="linear", decay_width_min=10))
    assert linear[[0, 1]].tolist() == [1, 1] and linear[3] == pytest.approx(0.5) and linear[5] == 0
    assert linear[2] == pytest.approx(0.6) and linear[4] == pytest.approx(0.4)
    exponential = decay_weights(minutes, 30, AccessibilitySettings(cutoffs_min=(30,), decay="exponential"))
    assert exponential[0] == 1 and exponential[3] == pytest.approx(0.5) and exponential[5] == pytest.approx(0.25)
    logistic = decay_weights(minutes, 30, AccessibilitySettings(cutoffs_min=(30,), decay="logistic"))
    assert logistic[3] == pytest.approx(0.5) and logistic[2] + logistic[4] == pytest.approx(1.0)
    assert np.all(np.diff(logistic[:6]) < 0) and logistic[6] == 0


def test_accessibility_sums_the_weights_of_each_origin() -> None:
    rng = np.random.default_rng(3)
    minutes = rng.integers(0, 90, (7, 11, 2)).astype(np.float32)
    minutes[rng.random(minutes.shape) < 0.1] = np.nan
    weights = rng.integers(0, 50, 11).astype(float)
    settings = AccessibilitySettings(cutoffs_min=(20, 45))
    got = accessibility_of_rows(minutes, weights, settings)
    for i in range(7):
        for p in range(2):
            for c, cutoff in enumerate((20, 45)):
                expected = sum(w for t, w in zip(minutes[i, :, p], weights, strict=True) if t < cutoff)
                assert got[i, p, c] == expected


def test_accessibility_settings_report_every_problem() -> None:
    from maas.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        AccessibilitySettings(cutoffs_min=(0, 30, 30), decay="gaussian", decay_width_min=-1)
    message = str(caught.value)
    for part in ("cutoffs must be 1..240", "repeat", "decay must be one of", "decay width"):
        assert part in message, message


# -- the commands on real data ---------------------------------------------------------------------------


def _area_args(shared_data: Path, cache: Path) -> list[str]:
    return ["--area", "helsinki", "--data-dir", str(shared_data), "--cache-dir", str(cache)]


@pytest.fixture(scope="module")
def grid(shared_data: Path) -> Path:
    return shared_data / "helsinki" / "population_grid_2020.gpkg"


@pytest.mark.realdata
def test_matrix_runs_the_same_in_process_and_on_a_local_cluster(
    helsinki: Any, helsinki_cache: Path, shared_data: Path, grid: Path, tmp_path: Path
) -> None:
    """Two percentiles at once, Parquet from this process and CSV from two worker processes: the same
    pairs and minutes, the same as the in-memory matrix, and p25 never above p50."""
    from planner.matrix import MatrixSettings, travel_time_matrix
    from planner.points import read_points
    from planner.router import Planner

    base = ["matrix", *_area_args(shared_data, helsinki_cache), "--origins", str(grid), "--depart", DEPART]
    base += ["--percentiles", "25,50"]
    assert main([*base, "--workers", "0", "--out", str(tmp_path / "here.parquet")]) == 0
    assert main([*base, "--workers", "2", "--out", str(tmp_path / "cluster.csv")]) == 0
    here = pd.read_parquet(tmp_path / "here.parquet")
    cluster = pd.read_csv(tmp_path / "cluster.csv", dtype={"from_id": str, "to_id": str})
    assert list(here.columns) == ["from_id", "to_id", "travel_time_p25", "travel_time_p50"]
    assert len(here) == 92 * 92 and here["travel_time_p50"].notna().mean() > 0.95
    pd.testing.assert_frame_equal(
        here.astype({"travel_time_p25": float, "travel_time_p50": float}),
        cluster.astype({"travel_time_p25": float, "travel_time_p50": float}),
    )
    both = here.dropna()
    assert (both["travel_time_p25"] <= both["travel_time_p50"]).all()
    points = read_points(grid)
    memory = travel_time_matrix(
        Planner(helsinki), points, None, dt.datetime.fromisoformat(DEPART), settings=MatrixSettings()
    )
    assert np.array_equal(here["travel_time_p50"].to_numpy(dtype=float).reshape(92, 92), memory.minutes, equal_nan=True)


@pytest.mark.realdata
def test_accessibility_counts_the_population_the_matrix_reaches(
    helsinki_cache: Path, shared_data: Path, grid: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cumulative residents within 10 and 20 minutes, checked against the matrix file of the same points,
    as a CSV table, a GeoPackage layer and a PNG map."""
    import geopandas as gpd

    area = _area_args(shared_data, helsinki_cache)
    assert main(["matrix", *area, "--origins", str(grid), "--depart", DEPART, "--out", str(tmp_path / "m.csv")]) == 0
    argv = ["accessibility", *area, "--opportunities", str(grid), "--column", "population", "--depart", DEPART]
    argv += ["--cutoffs", "10,20", "--workers", "0"]
    assert main([*argv, "--out", str(tmp_path / "a.csv")]) == 0
    assert "population reachable from 92 origins" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "a.csv", dtype={"id": str})
    matrix = pd.read_csv(tmp_path / "m.csv", dtype={"from_id": str, "to_id": str})
    residents = gpd.read_file(grid).astype({"id": str}).set_index("id")["population"]
    matrix["population"] = matrix["to_id"].map(residents)
    for cutoff in (10, 20):
        expected = matrix[matrix["travel_time"] < cutoff].groupby("from_id")["population"].sum()
        got = table[table["cutoff"] == cutoff].set_index("id")["accessibility"]
        assert (got.reindex(expected.index) == expected).all(), cutoff
    assert set(table.columns) == {"id", "opportunity", "percentile", "cutoff", "accessibility"}
    assert (tmp_path / "a.png").stat().st_size > 20_000
    assert main([*argv, "--decay", "logistic", "--out", str(tmp_path / "a.gpkg")]) == 0
    layer = gpd.read_file(tmp_path / "a.gpkg")
    assert len(layer) == 92 and {"population_p50_c10", "population_p50_c20"} <= set(layer.columns)
    assert (layer["population_p50_c20"] >= layer["population_p50_c10"]).all()


@pytest.mark.realdata
def test_accessibility_names_a_missing_or_bad_opportunity_column(
    helsinki_cache: Path, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    places = tmp_path / "places.csv"
    places.write_text("id,lat,lon,jobs\na,60.170,24.940,10\nb,60.168,24.930,\nc,60.165,24.935,many\n")
    argv = ["accessibility", *_area_args(shared_data, helsinki_cache), "--opportunities", str(places)]
    argv += ["--depart", DEPART, "--out", str(tmp_path / "a.csv")]
    assert main([*argv, "--column", "schools"]) == 2
    err = capsys.readouterr().err
    assert "field 'schools': the opportunity column is missing; the file has id, lat, lon, jobs" in err, err
    assert main([*argv, "--column", "jobs"]) == 2
    err = capsys.readouterr().err
    assert "field 'jobs', row 4: must be a number of at least 0" in err, err


# -- a real cluster: a scheduler and two workers in their own processes ----------------------------------


@pytest.mark.realdata
def test_a_matrix_on_a_real_cluster_survives_a_worker_dying(
    helsinki: Any,
    helsinki_cache: Path,
    shared_data: Path,
    grid: Path,
    tmp_path: Path,
    dask_cluster: tuple[str, list[subprocess.Popen[bytes]]],
) -> None:
    """`maas matrix --scheduler` gives the file a local run gives; then, with the library, one worker is
    killed after the first chunk is written: the other finishes, and every pair is there once."""
    from maas.cluster import ClusterSettings, open_engine
    from planner.matrix import MatrixSettings
    from planner.matrix_run import write_matrix
    from planner.planner_spec import PlannerSpec
    from planner.points import read_points
    from planner.router import Planner

    address, workers = dask_cluster
    base = ["matrix", *_area_args(shared_data, helsinki_cache), "--origins", str(grid), "--depart", DEPART]
    assert main([*base, "--workers", "0", "--out", str(tmp_path / "local.csv")]) == 0
    assert main([*base, "--scheduler", address, "--out", str(tmp_path / "remote.csv")]) == 0
    local = (tmp_path / "local.csv").read_bytes()
    assert (tmp_path / "remote.csv").read_bytes() == local

    planner = Planner(helsinki)
    spec = PlannerSpec.of(planner)
    killed: list[int] = []

    def kill_one_worker(done: int, total: int) -> None:
        if not killed:
            workers[0].send_signal(signal.SIGKILL)
            killed.append(done)

    points = read_points(grid)
    started = time.perf_counter()
    with open_engine(ClusterSettings(scheduler=address)) as engine:
        write_matrix(
            engine,
            spec,
            points,
            None,
            dt.datetime.fromisoformat(DEPART),
            str(tmp_path / "survivor.csv"),
            settings=MatrixSettings(),
            progress=kill_one_worker,
        )
    assert killed and workers[0].wait(timeout=10) == -signal.SIGKILL
    assert (tmp_path / "survivor.csv").read_bytes() == local
    assert time.perf_counter() - started < 120
