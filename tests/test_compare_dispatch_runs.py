"""benchmarks/compare_dispatch_runs.py: the figures the README quotes when it compares full runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dispatch.bench import BenchRow, read_csv, write_csv

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "compare_dispatch_runs.py"


def _table(path: Path, rows: list[tuple[str, float, int, int]]) -> Path:
    """A dispatch-bench table of Li & Lim rows (vehicles count first): instance, gap, vehicles, best-known vehicles."""
    write_csv(
        [
            BenchRow(name, 100, 1.0 + gap / 100, 1.0, gap, vehicles, known, 0, 60.0, "valid", minimize_vehicles=True)
            for name, gap, vehicles, known in rows
        ],
        path,
    )
    return path


def test_runs_side_by_side_count_only_rows_at_the_fleet_in_every_run(tmp_path: Path) -> None:
    first = _table(tmp_path / "a.csv", [("lr2_4_1", 1.0, 8, 8), ("lr2_4_2", 10.0, 7, 7), ("lc1_4_1", 0.0, 41, 40)])
    second = _table(tmp_path / "b.csv", [("lr2_4_1", 3.0, 8, 8), ("lr2_4_2", 4.0, 8, 7), ("lc1_4_1", 2.0, 40, 40)])
    out = tmp_path / "compare.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(first), str(second), "--json", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["runs"][str(first)]["all"] == {"rows": 3, "at_fleet": 2, "mean_gap_pct": 5.5, "worst_gap_pct": 10.0}
    assert report["runs"][str(second)]["families"]["lc1"]["mean_gap_pct"] == 2.0
    shared = report["at_fleet_in_all"]
    assert shared["rows"] == 1 and shared["mean_gap_pct"] == [1.0, 3.0] and shared["mean_spread_points"] == 2.0


def test_a_file_that_is_not_a_bench_table_is_named(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("instance,cost\nlr2_4_1,10\n")
    done = subprocess.run([sys.executable, str(SCRIPT), str(wrong)], capture_output=True, text=True)
    assert done.returncode != 0 and "wrong.csv" in done.stderr and "gap_pct" in done.stderr
    prose = tmp_path / "notes.md"
    prose.write_text("# not a table\n\nsome text\n")
    done = subprocess.run([sys.executable, str(SCRIPT), str(prose)], capture_output=True, text=True)
    assert done.returncode != 0 and "notes.md: not a dispatch-bench table" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_run_with_no_row_at_the_fleet_is_shown_without_a_gap(tmp_path: Path) -> None:
    over = _table(tmp_path / "over.csv", [("lr1_4_1", 1.0, 41, 40)])
    done = subprocess.run([sys.executable, str(SCRIPT), str(over), str(over)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "0/1" in done.stdout and "0 rows at the best-known fleet in every run" in done.stdout


def test_a_table_reads_back_as_written_and_a_fixed_fleet_gap_always_counts(tmp_path: Path) -> None:
    rows = [
        BenchRow("lr1_2_1", 100, 4819.12, 4819.12, 0.0, 20, 20, 0, 59.6, "valid", minimize_vehicles=True),
        BenchRow("a2-16", 16, 294.25, 294.25, 0.0, 2, 3, 0, 59.6, "valid", minimize_vehicles=False),
        BenchRow("small-30x3", 30, 420.52, None, None, 3, None, 1, 59.5, "valid"),
    ]
    write_csv(rows, tmp_path / "t.csv")
    assert read_csv(tmp_path / "t.csv") == rows
    # Cordeau's fleet is given, not minimised: its gap counts whatever the vehicle count; no best known, no gap
    assert [r.gap_counts() for r in rows] == [True, True, False]


def test_the_bench_summary_line_counts_gaps_at_the_best_known_fleet_only() -> None:
    """``maas dispatch-bench``'s last line uses the same rule: a run with more or fewer vehicles than the
    best known is counted in the fleet figures, not in the distance gap."""
    from maas_apps.cli import benchmark_summary

    rows = [
        BenchRow("lr2_2_1", 100, 1.01, 1.0, 1.0, 5, 5, 0, 60.0, "valid", minimize_vehicles=True),
        BenchRow("lr2_2_2", 100, 1.03, 1.0, 3.0, 4, 4, 0, 60.0, "valid", minimize_vehicles=True),
        BenchRow("lr2_2_6", 100, 0.95, 1.0, -5.0, 4, 3, 0, 60.0, "valid", minimize_vehicles=True),
        BenchRow("lr1_2_9", 100, 0.86, 1.0, -14.0, 12, 13, 0, 60.0, "valid", minimize_vehicles=True),
    ]
    line = benchmark_summary(rows)
    assert "best-known vehicle count on 2/4 (1 with fewer)" in line
    assert "mean 2.00 %, worst 3.00 %" in line
