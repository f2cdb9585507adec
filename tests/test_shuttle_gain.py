"""The shuttle's accessibility gain: figures recomputed from the command's own table, both cities."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from maas_apps.cli import main

pytestmark = pytest.mark.realdata


def _served_share(out: str) -> float:
    found = re.search(r"([\d.]+) % of riders served", out)
    assert found, out
    return float(found[1]) / 100


def _check_table(table: pd.DataFrame, out: str, trips_per_day: float) -> None:
    """Each cell's gain is what the module promises, and the headline is the table's weighted mean."""
    served = _served_share(out)
    both = table.dropna(subset=["walk_transit_to_hub_min", "shuttle_to_hub_min"])
    expected = served * (both["walk_transit_to_hub_min"] - both["shuttle_to_hub_min"]).clip(lower=0)
    assert (both["gain_min"] - expected).abs().max() < 0.02
    per_trip = (table["gain_min"] * table["population"]).sum() / table["population"].sum()
    # the table's gains are rounded to 0.01 min, so the headline is checked to its last printed digit
    printed = re.search(r"gain ([\d.]+) min per trip", out)
    hours = re.search(r"([\d.]+) hours per resident per year", out)
    assert printed and hours, out
    assert float(printed[1]) == pytest.approx(per_trip, abs=0.051), out
    assert float(hours[1]) == pytest.approx(
        per_trip * trips_per_day * 365 / 60, abs=0.051 + 0.01 * trips_per_day * 365 / 60
    )


def test_porto_alegre_residents_gain_time_and_jobs(
    shared_data: Path, poa_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hexes = str(shared_data / "porto_alegre" / "poa_hexgrid.csv")
    argv = ["shuttle-gain", "--area", "porto_alegre", "--data-dir", str(shared_data), "--cache-dir", str(poa_cache)]
    argv += ["--population", hexes, "--opportunities", hexes, "--column", "jobs", "--requests", "300"]
    argv += ["--trips-per-day", "2", "--out", str(tmp_path / "gain.csv")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(tmp_path / "gain.csv")
    assert len(table) >= 20 and set(table["zone"]) == {"São Geraldo"}
    _check_table(table, out, 2.0)
    for cutoff in (30, 45):
        assert (table[f"jobs_c{cutoff}_with"] >= table[f"jobs_c{cutoff}_without"]).all()
    assert (table["gain_min"] > 0).sum() >= 5  # the far side of the zone is well served by the shuttle
    assert (tmp_path / "gain.png").stat().st_size > 30_000


def test_helsinki_uses_a_given_day_and_names_missing_inputs(
    shared_data: Path, helsinki: Any, helsinki_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    area = ["--data-dir", str(shared_data), "--cache-dir", str(helsinki_cache)]
    day = tmp_path / "day.sqlite"
    assert main(["simulate", *area, "--requests", "200", "--fleet", "4", "--no-reoptimise", "--db", str(day)]) == 0
    capsys.readouterr()
    assert main(["shuttle-gain", *area, "--db", str(day), "--out", str(tmp_path / "gain.csv")]) == 0
    out = capsys.readouterr().out
    assert f"from the day in {day}" in out, out
    _check_table(pd.read_csv(tmp_path / "gain.csv"), out, 1.0)
    assert main(["shuttle-gain", *area, "--db", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "x.csv")]) == 2
    assert "none.sqlite does not exist" in capsys.readouterr().err
    argv = ["shuttle-gain", *area, "--opportunities", str(tmp_path / "gain.csv"), "--out", str(tmp_path / "y.csv")]
    assert main(argv) == 2
    assert "--opportunities needs --column" in capsys.readouterr().err
