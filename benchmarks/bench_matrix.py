"""Travel-time matrices as users run them: the whole ``maas matrix`` command, on 0/1/2 workers, beside a peer.

    python3 benchmarks/bench_matrix.py [--area helsinki] [--points 1000] [--window 10] [--seed 1]
                                       [--runs 0,1,2] [--repeat 1] [--peer cafein]
    python3 benchmarks/bench_matrix.py --area porto_alegre --origins ../shared/data/porto_alegre/poa_hexgrid.csv \
                                       --time 14:00 --runs 0,2

Points: ``--points`` random points on the area's walkable streets (fixed ``--seed``), or a file
(``--origins``). Every point to every point by transit, at the area's service date and ``--time``
with a ``--window``-minute departure window, median. Each run is the whole command in a fresh
process (reading points, loading the area, starting workers, writing Parquet), timed by wall
clock: ``--runs`` lists worker counts (0 = in one process, N = a local Dask cluster of N
processes), each timed ``--repeat`` times, interleaved (the machine drifts over minutes), and the
medians reported. The files of all runs must be identical. With ``--peer cafein`` the same points go
through cafein's ``TravelTimeMatrix`` (installed in ``benchmarks/.venv-cafein``) and its times are
compared pair by pair with ours. Writes benchmarks/results/matrix-<area>-<n>.json and .csv.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from maas.area import load_area
from maas.errors import OutsideAreaError
from planner.area_data import load_area_data
from planner.points import Point, read_points
from planner.router import Planner

HERE = Path(__file__).parent
CAFEIN_PYTHON = HERE / ".venv-cafein" / "bin" / "python"


def street_points(planner: Planner, bbox: tuple[float, float, float, float], n: int, seed: int) -> list[Point]:
    """``n`` random points that snap to a walkable street inside ``bbox``."""
    west, south, east, north = bbox
    rng = np.random.default_rng(seed)
    points: list[Point] = []
    while len(points) < n:
        lat, lon = float(rng.uniform(south, north)), float(rng.uniform(west, east))
        try:
            planner.snap(planner.walk, lat, lon, "point")
        except OutsideAreaError:
            continue
        points.append(Point(str(len(points)), lat, lon))
    return points


def run_ours(args: argparse.Namespace, points_csv: Path, depart: str, workers: int, out: Path) -> float:
    """Wall seconds of one ``maas matrix`` command in a fresh process."""
    command = [sys.executable, "-m", "maas_apps", "matrix", "--area", args.area, "--origins", str(points_csv)]
    command += ["--depart", depart, "--window", str(args.window), "--workers", str(workers), "--out", str(out)]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_cafein(args: argparse.Namespace, area_files: dict[str, str], points_csv: Path, depart: str, out: Path) -> dict:
    """cafein's matrix on the same points in its own environment: build and matrix seconds."""
    command = [str(CAFEIN_PYTHON), str(HERE / "peer_cafein_matrix.py"), "--points", str(points_csv)]
    command += ["--depart", depart, "--window", str(args.window), "--out", str(out)]
    command += ["--osm", area_files["osm"]] + [x for feed in area_files["feeds"] for x in ("--gtfs", feed)]
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["wall_seconds"] = time.perf_counter() - started
    return report


def _label(workers: int) -> str:
    return "one process" if workers == 0 else f"Dask, {workers} worker{'s' if workers > 1 else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--area", default="helsinki")
    parser.add_argument("--data-dir")
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--origins", help="a points file instead of random street points")
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--time", default="08:30")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", default="0,1,2", help="worker counts to time (0: one process)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="time each run this many times, interleaved; report the medians"
    )
    parser.add_argument("--peer", choices=["cafein"], help="also time this peer on the same points")
    parser.add_argument(
        "--check-fresh",
        action="store_true",
        help="also compute the matrix with a fresh search per departure minute and compare (must be identical)",
    )
    args = parser.parse_args()
    area = load_area(args.area, args.data_dir)
    planner = Planner(load_area_data(area))  # builds the cache before any timed run
    points = read_points(args.origins) if args.origins else street_points(planner, area.bbox, args.points, args.seed)
    n = len(points)
    name = f"matrix-{area.name}-{n}"
    work = HERE / "results" / name
    work.mkdir(parents=True, exist_ok=True)
    points_csv = work / "points.csv"
    pd.DataFrame({"id": [p.id for p in points], "lat": [p.lat for p in points], "lon": [p.lon for p in points]}).to_csv(
        points_csv, index=False
    )
    depart = f"{area.service_date.isoformat()}T{args.time}"
    rows: list[dict] = []
    files: dict[str, Path] = {}
    counts = [int(w) for w in args.runs.split(",")]
    timings: dict[int, list[float]] = {w: [] for w in counts}
    for repetition in range(args.repeat):  # interleaved, so that the machine's drift hits every run alike
        for workers in counts:
            out = work / f"ours-{workers}.parquet"
            seconds = run_ours(args, points_csv, depart, workers, out)
            timings[workers].append(round(seconds, 2))
            print(f"{_label(workers):<22}{seconds:8.1f} s  (repetition {repetition + 1})", flush=True)
    for workers in counts:
        files[_label(workers)] = work / f"ours-{workers}.parquet"
        row = {"run": _label(workers), "points": n, "window_min": args.window}
        rows.append({**row, "seconds": float(np.median(timings[workers])), "all_seconds": timings[workers]})
    tables = {label: pd.read_parquet(path) for label, path in files.items()}
    first = next(iter(tables.values()))
    identical = all(t.equals(first) for t in tables.values())
    for row in rows:
        row["reachable_pairs"] = int(first["travel_time"].notna().sum())
        row["pairs"] = len(first)
    fresh_identical = None
    if args.check_fresh:
        from planner.matrix import MatrixSettings, travel_time_matrix

        started = time.perf_counter()
        when = dt.datetime.fromisoformat(depart)
        fresh = travel_time_matrix(
            planner, points, None, when, settings=MatrixSettings(window_min=args.window, range_raptor=False)
        )
        fresh_s = time.perf_counter() - started
        ours = first["travel_time"].to_numpy(dtype=float).reshape(n, n)
        fresh_identical = bool(np.array_equal(ours, fresh.minutes, equal_nan=True))
        print(f"fresh search per minute (one process, in memory) {fresh_s:.1f} s; identical: {fresh_identical}")
    agreement = None
    if args.peer == "cafein":
        files_of_area = {"osm": str(area.osm_file), "feeds": [str(f) for f in area.gtfs_files]}
        report = run_cafein(args, files_of_area, points_csv, depart, work / "cafein.parquet")
        rows.append(
            {
                "run": "cafein 0.29 (all cores)",
                "points": n,
                "window_min": args.window,
                "seconds": round(report["wall_seconds"], 2),
                "build_seconds": round(report["build_seconds"], 2),
                "matrix_seconds": round(report["matrix_seconds"], 2),
                "reachable_pairs": report["reachable_pairs"],
                "pairs": n * n,
            }
        )
        theirs = pd.read_parquet(work / "cafein.parquet").astype({"from_id": str, "to_id": str})
        both = first.merge(theirs, on=["from_id", "to_id"], suffixes=("_ours", "_cafein")).dropna()
        both = both[both.from_id != both.to_id]
        diff = both["travel_time_ours"] - both["travel_time_cafein"]
        agreement = {
            "pairs_compared": len(both),
            "median_abs_diff_min": float(diff.abs().median()),
            "within_3_min": round(float((diff.abs() <= 3).mean()), 4),
            "mean_diff_min": round(float(diff.mean()), 3),
        }
    print(f"\n{'run':<26}{'points':>8}{'window':>8}{'seconds':>10}{'reachable':>12}")
    for r in rows:
        print(f"{r['run']:<26}{r['points']:>8}{r['window_min']:>8}{r['seconds']:>10.1f}{r['reachable_pairs']:>12}")
    print(f"our runs give identical files: {identical}")
    if agreement:
        print(f"ours vs cafein: {agreement}")
    summary = {
        "area": area.name,
        "points": n,
        "seed": None if args.origins else args.seed,
        "origins_file": args.origins,
        "depart": depart,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "date": dt.date.today().isoformat(),
        "identical": identical,
        "identical_to_fresh_search_per_minute": fresh_identical,
        "repeat": args.repeat,
        "runs": rows,
        "agreement_with_peer": agreement,
    }
    median = {w: float(np.median(t)) for w, t in timings.items()}
    if 1 in median and 2 in median:
        summary["speedup_2_workers_vs_1"] = round(median[1] / median[2], 3)
        print(f"2 workers vs 1 (medians): {summary['speedup_2_workers_vs_1']:.2f}x")
    if 0 in median and 1 in median:
        summary["overhead_1_worker_vs_one_process"] = round(median[1] / median[0] - 1, 3)
        print(f"1 worker over one process (medians): {100 * summary['overhead_1_worker_vs_one_process']:+.1f} %")
    out = HERE / "results" / name
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    with out.with_suffix(".csv").open("w", newline="", encoding="utf-8") as handle:
        fields = list(dict.fromkeys(k for r in rows for k in r))
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    print(f"written {out.with_suffix('.json')} and .csv")
    if not identical or fresh_identical is False:
        raise SystemExit("the runs disagree")


if __name__ == "__main__":
    main()
