"""Travel-time matrices: range RAPTOR against a fresh search per departure minute, same points, same run.

    python3 benchmarks/bench_matrix.py [--area helsinki] [--points 300] [--window 10] [--seed 1]

Random points on the area's walkable streets (fixed seed), a transit matrix from every point to
every point at the area's service date 08:30 with a ``--window``-minute departure window (median),
computed twice on one core: with range RAPTOR (the default: minutes searched latest first, labels
kept) and with a fresh search per minute. The two matrices must be identical. Writes
benchmarks/results/matrix-<area>.json and .csv.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from maas.area import load_area
from maas.errors import OutsideAreaError
from planner.area_data import load_area_data
from planner.matrix import MatrixSettings, travel_time_matrix
from planner.points import Point
from planner.router import Planner


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--area", default="helsinki")
    parser.add_argument("--data-dir")
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", default=None, help="output path without suffix (default benchmarks/results/matrix-<area>)"
    )
    args = parser.parse_args()
    area = load_area(args.area, args.data_dir)
    planner = Planner(load_area_data(area))
    planner.warm_up()
    points = street_points(planner, area.bbox, args.points, args.seed)
    depart = dt.datetime.combine(area.service_date, dt.time(8, 30))
    rows = []
    matrices = {}
    for label, range_raptor in (("range RAPTOR", True), ("fresh search per minute", False)):
        settings = MatrixSettings(window_min=args.window, range_raptor=range_raptor)
        started = time.perf_counter()
        matrix = travel_time_matrix(planner, points, None, depart, ("transit",), settings)
        seconds = time.perf_counter() - started
        matrices[label] = matrix.minutes
        pairs = len(points) ** 2
        rows.append(
            {
                "run": label,
                "points": len(points),
                "window_min": args.window,
                "seconds": round(seconds, 2),
                "ms_per_origin": round(1000 * seconds / len(points), 1),
                "reachable_pairs": int(np.isfinite(matrix.minutes).sum()),
                "pairs": pairs,
            }
        )
    same = bool(np.array_equal(matrices["range RAPTOR"], matrices["fresh search per minute"], equal_nan=True))
    speedup = rows[1]["seconds"] / max(rows[0]["seconds"], 1e-9)
    print(f"{'run':<26}{'points':>8}{'window':>8}{'seconds':>10}{'ms/origin':>11}{'reachable':>11}")
    for r in rows:
        print(
            f"{r['run']:<26}{r['points']:>8}{r['window_min']:>8}{r['seconds']:>10.2f}"
            f"{r['ms_per_origin']:>11.1f}{r['reachable_pairs']:>11}"
        )
    print(f"identical matrices: {same}; range RAPTOR {speedup:.1f}x faster")
    out = Path(args.out) if args.out else Path(__file__).parent / "results" / f"matrix-{area.name}"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "area": area.name,
        "seed": args.seed,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "identical": same,
        "speedup": round(speedup, 2),
        "runs": rows,
    }
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    with out.with_suffix(".csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"written {out.with_suffix('.json')} and .csv")
    if not same:
        raise SystemExit("range RAPTOR and the per-minute searches disagree")


if __name__ == "__main__":
    main()
