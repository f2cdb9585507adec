"""A full shuttle service day, timed: immediate insertion alone against insertion plus re-optimisation.

    python3 benchmarks/bench_shuttle_day.py [--requests 1000] [--fleet 10] [--seed 1] [--hours 7-19]

Both runs get the same seeded demand on the Helsinki shuttle zones. Prints a table (served share,
vehicle-km, waits, decision times, wall time) and writes JSON and CSV to benchmarks/results/.
Targets (2 cores): a day with 1000 requests and 10 shuttles <= 300 s with a booking decision p95 <= 300 ms;
a day with 5000 requests and 30 shuttles <= 600 s with a decision p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from dispatch.day import DayConfig, open_day, shuttle_network
from dispatch.kpi import compute_kpis
from dispatch.online import OnlineParams, objective_settings
from maas.area import load_area
from planner.area_data import load_area_data

TARGETS = {"wall_s": 300.0, "decision_p95_ms": 300.0}
TARGETS_AT_5000 = {"wall_s": 600.0, "decision_p95_ms": 100.0}  # 5000 requests, 30 shuttles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--area", default="helsinki")
    parser.add_argument("--data-dir")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--fleet", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hours", default="7-19")
    parser.add_argument("--reoptimise-budget", type=int, default=60, help="solutions per re-optimisation")
    parser.add_argument("--reoptimise-time", type=float, help="seconds per re-optimisation instead of a budget")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "shuttle-day"))
    args = parser.parse_args()
    hours = tuple(float(h) for h in args.hours.split("-"))
    data = load_area_data(load_area(args.area, args.data_dir))
    network = shuttle_network(data)
    assert data.area.shuttle is not None
    objective = objective_settings(data.area.shuttle.objective)  # the area's, as maas simulate uses
    results = []
    for label, reoptimise in (("insertion only", False), ("insertion + re-optimisation", True)):
        params = OnlineParams(
            reoptimise=reoptimise,
            reoptimise_time_limit_s=args.reoptimise_time or 2.0,
            reoptimise_solution_limit=None if args.reoptimise_time else args.reoptimise_budget,
            **objective,
        )
        config = DayConfig(args.fleet, args.requests, (hours[0], hours[1]), args.seed, params=params)
        with tempfile.TemporaryDirectory() as tmp:
            store = open_day(Path(tmp) / "day.sqlite", data, network, config, lambda _m: None)
            started = time.perf_counter()
            store.run(network, lambda m, label=label: print(f"  [{label}] {m}", flush=True))
            wall = time.perf_counter() - started
            kpis = compute_kpis(store, network)
            store.close()
        results.append({"run": label, "wall_s": wall, **dataclasses.asdict(kpis)})
    columns = [
        "served_share",
        "served",
        "rejected",
        "vehicle_km",
        "empty_km",
        "occupancy",
        "pooled_share",
        "wait_p50_min",
        "wait_p95_min",
        "ride_p50_min",
        "detour_factor_mean",
        "promises_kept_share",
        "decision_p50_ms",
        "decision_p95_ms",
        "wall_s",
    ]
    print(f"\n{args.requests} requests, {args.fleet} shuttles, seed {args.seed}, hours {args.hours}")
    print(f"{'measure':<22}" + "".join(f"{r['run']:>30}" for r in results))
    for column in columns:
        print(f"{column:<22}" + "".join(f"{r[column]:>30.3f}" for r in results))
    targets = TARGETS_AT_5000 if args.requests >= 5000 else TARGETS
    for name, target in targets.items():
        verdict = "ok" if all(r[name] <= target for r in results) else "MISSED"
        print(f"target {name} <= {target:g}: {verdict}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"requests": args.requests, "fleet": args.fleet, "seed": args.seed, "hours": args.hours}
    meta |= {"cpu_count": os.cpu_count(), "python": platform.python_version(), "targets": targets}
    out.with_suffix(".json").write_text(json.dumps({**meta, "runs": results}, indent=2))
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(results[0]))
        writer.writeheader()
        writer.writerows(results)
    print(f"written {out.with_suffix('.json')} and .csv")


if __name__ == "__main__":
    main()
