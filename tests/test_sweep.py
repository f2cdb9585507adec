"""Fleet-sizing sweeps: every day once, resumable, the same figures wherever a day runs.

A day's figures are compared without its timings (decision milliseconds, wall seconds), which
depend on the machine; everything else is seeded and budgeted by work, so must be equal.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dispatch.model import DispatchError
from dispatch.online import OnlineParams
from dispatch.sweep import SweepDay, SweepSettings, SweepStore, run_sweep, sweep_days
from maas.area import load_area
from maas_apps.cli import main

TIMINGS = {"decision_p50_ms", "decision_p95_ms", "seconds"}


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in TIMINGS}


def test_every_combination_once_smallest_first() -> None:
    days = sweep_days([4, 2, 2], [100], [2, 1])
    assert [d.key for d in days] == [
        "fleet2-requests100-seed1",
        "fleet2-requests100-seed2",
        "fleet4-requests100-seed1",
        "fleet4-requests100-seed2",
    ]


@pytest.mark.realdata
def test_a_sweep_folder_refuses_other_settings_and_keeps_first_figures(shared_data: Path, tmp_path: Path) -> None:
    area = load_area("helsinki", shared_data)
    store = SweepStore(tmp_path / "sweep.sqlite", SweepSettings(area, hours=(8, 9)))
    store.record(SweepDay(2, 10, 1), {"served": 5})
    store.record(SweepDay(2, 10, 1), {"served": 7})  # a day Dask ran twice (after a worker died) counts once
    assert [r["served"] for r in store.rows()] == [5]
    store.close()
    with pytest.raises(DispatchError, match="holds a sweep run with other settings"):
        SweepStore(tmp_path / "sweep.sqlite", SweepSettings(area, hours=(8, 10)))


@pytest.mark.realdata
def test_sweep_command_writes_tables_and_plot_and_resumes(
    shared_data: Path, helsinki_cache: Path, helsinki: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sweep", "--area", "helsinki", "--data-dir", str(shared_data), "--cache-dir", str(helsinki_cache)]
    argv += ["--fleet", "1,2", "--requests", "15", "--hours", "8-9", "--workers", "0", "--out", str(tmp_path)]
    assert main([*argv, "--seeds", "1-2"]) == 0
    out = capsys.readouterr().out
    assert "ran 4 day(s)" in out and "95 % of riders served at 15 requests a day:" in out, out
    first = pd.read_csv(tmp_path / "days.csv")
    assert len(first) == 4 and set(first["fleet"]) == {1, 2}
    assert (first["served"] + first["rejected"] <= first["requests"]).all()
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary["days"]) == [2, 2] and "served_share_pct_mean" in summary.columns
    assert (tmp_path / "kpis.png").stat().st_size > 30_000

    assert main([*argv, "--seeds", "1-3"]) == 0
    captured = capsys.readouterr()
    assert "4 of 6 days already done" in captured.err and "ran 2 day(s)" in captured.out
    again = pd.read_csv(tmp_path / "days.csv")
    assert len(again) == 6
    old = first.set_index(["fleet", "seed"]).drop(columns=sorted(TIMINGS & set(first.columns)))
    new = again.set_index(["fleet", "seed"]).drop(columns=sorted(TIMINGS & set(again.columns))).loc[old.index]
    pd.testing.assert_frame_equal(old, new)


@pytest.mark.realdata
def test_a_sweep_on_a_real_cluster_survives_a_worker_dying(
    shared_data: Path,
    helsinki_cache: Path,
    helsinki: Any,
    tmp_path: Path,
    dask_cluster: tuple[str, list[subprocess.Popen[bytes]]],
) -> None:
    """Six days through a scheduler and two worker processes; one worker is killed when the first day
    is in: every day is recorded exactly once, with the figures a run in this process gives."""
    from maas.cluster import ClusterSettings, InProcess, open_engine

    address, workers = dask_cluster
    area = load_area("helsinki", shared_data)
    settings = SweepSettings(area, str(helsinki_cache), (8.0, 9.0), None, OnlineParams())
    days = sweep_days([1, 2, 3], [15], [1, 2])
    killed: list[int] = []

    def kill_one_worker(done: int, total: int) -> None:
        if done >= 1 and not killed:
            workers[0].send_signal(signal.SIGKILL)
            killed.append(done)

    remote = SweepStore(tmp_path / "remote" / "sweep.sqlite", settings)
    with open_engine(ClusterSettings(scheduler=address)) as engine:
        assert run_sweep(engine, settings, days, remote, kill_one_worker) == 6
    assert killed and workers[0].wait(timeout=10) == -signal.SIGKILL
    local = SweepStore(tmp_path / "local" / "sweep.sqlite", settings)
    assert run_sweep(InProcess(), settings, days, local) == 6
    remote_rows, local_rows = remote.rows(), local.rows()
    assert len(remote_rows) == 6 and len({(r["fleet"], r["seed"]) for r in remote_rows}) == 6
    assert [_figures(r) for r in remote_rows] == [_figures(r) for r in local_rows]
