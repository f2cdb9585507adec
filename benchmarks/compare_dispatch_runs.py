"""Several ``maas dispatch-bench`` tables of one set side by side: how far apart are the runs?

One 60 s run per instance is a sample, not a measure: on Li & Lim 400 the same code and seed gave one
row 4.78 % in one run and 36.43 % in another. Before a difference between two runs is read as a
change of the code, compare it with what runs of the same code differ by. For each table this prints
the best-known fleet count, the mean and worst gap where it counts (``BenchRow.gap_counts``, the rule
``maas dispatch-bench`` sums up by: at the best-known fleet where vehicles count first), the same by
family (the instance name up to its first ``_``, or its letters for Cordeau and Li & Lim 100), and, on
the rows at the best-known fleet in every table, the mean gap of each and the spread of each row (its
largest gap minus its smallest):

    python benchmarks/compare_dispatch_runs.py benchmarks/results/dispatch-full-lilim-400.csv \\
        benchmarks/results/dispatch-s25-full-lilim-400.csv --json benchmarks/results/compare.json
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path
from typing import Any

from dispatch.bench import BenchRow, read_csv
from dispatch.model import DispatchError


def _rows(path: Path) -> dict[str, BenchRow]:
    if not path.is_file():
        raise SystemExit(f"{path}: no such file")
    try:
        rows = {row.instance: row for row in read_csv(path)}
    except DispatchError as error:
        raise SystemExit(str(error)) from None
    if not rows:
        raise SystemExit(f"{path}: no rows")
    return rows


def _family(name: str) -> str:
    return name.split("_")[0] if "_" in name else re.sub(r"[\d-]+$", "", name)


def _counted_gap(row: BenchRow) -> float | None:
    return row.gap_pct if row.gap_counts() else None


def _summary(rows: list[BenchRow]) -> dict[str, Any]:
    gaps = [g for g in map(_counted_gap, rows) if g is not None]
    return {
        "rows": len(rows),
        "at_fleet": len(gaps),
        "mean_gap_pct": round(statistics.mean(gaps), 2) if gaps else None,
        "worst_gap_pct": round(max(gaps), 2) if gaps else None,
    }


def compare(paths: list[Path]) -> dict[str, Any]:
    """Each table's summary, by family, and the rows whose gap counts (``BenchRow.gap_counts``) in all of them."""
    tables = {str(p): _rows(p) for p in paths}
    names = sorted(set.intersection(*(set(t) for t in tables.values())))
    if not names:
        raise SystemExit("the tables have no instance in common")
    families = sorted({_family(n) for n in names})
    report: dict[str, Any] = {"instances": len(names), "runs": {}}
    for path, table in tables.items():
        report["runs"][path] = {
            "all": _summary([table[n] for n in names]),
            "families": {f: _summary([table[n] for n in names if _family(n) == f]) for f in families},
        }
    counted = {n: [_counted_gap(t[n]) for t in tables.values()] for n in names}
    gaps = {n: [g for g in row if g is not None] for n, row in counted.items() if None not in row}
    spreads = sorted(((max(g) - min(g), n) for n, g in gaps.items()), reverse=True)
    report["at_fleet_in_all"] = {
        "rows": len(gaps),
        "mean_gap_pct": [round(statistics.mean(g[k] for g in gaps.values()), 2) for k in range(len(tables))]
        if gaps
        else [],
        "mean_spread_points": round(statistics.mean(s for s, _ in spreads), 2) if spreads else None,
        "widest": [{"instance": n, "gaps_pct": gaps[n], "spread_points": round(s, 2)} for s, n in spreads[:5]],
    }
    return report


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _print(report: dict[str, Any]) -> None:
    runs = report["runs"]
    print(f"{report['instances']} instances in every table")
    print(f"{'run':60s}{'fleet':>8s}{'mean %':>9s}{'worst %':>9s}")
    for path, run in runs.items():
        a = run["all"]
        gaps = "".join(f"{_percent(a[key]):>9s}" for key in ("mean_gap_pct", "worst_gap_pct"))
        print(f"{path[-60:]:60s}{a['at_fleet']:>5d}/{a['rows']:<2d}{gaps}")
    families = next(iter(runs.values()))["families"]
    print("by family (fleet, mean gap where at the best-known fleet), one column per run in the order above:")
    for family in families:
        cells = []
        for run in runs.values():
            s = run["families"][family]
            cells.append(f"{s['at_fleet']}/{s['rows']} {_percent(s['mean_gap_pct']):>6s}")
        print(f"  {family:8s}" + "".join(f"{c:>16s}" for c in cells))
    shared = report["at_fleet_in_all"]
    print(f"{shared['rows']} rows at the best-known fleet in every run; mean gap per run: {shared['mean_gap_pct']}")
    if shared["rows"]:
        print(f"mean spread of a row (largest gap minus smallest): {shared['mean_spread_points']} points; widest:")
        for w in shared["widest"]:
            print(f"  {w['instance']:12s} {w['gaps_pct']}  spread {w['spread_points']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="+", type=Path, help="dispatch-bench CSV files of one set")
    parser.add_argument("--json", type=Path, help="write the comparison here as well")
    args = parser.parse_args()
    report = compare(args.tables)
    _print(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"written {args.json}")


if __name__ == "__main__":
    main()
