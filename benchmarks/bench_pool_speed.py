"""The ejection pool's speed: the same work timed, with a digest of the plans it ends with.

The first worker's pool (its ``[solver.ejection]`` settings, ``pool_runs``) runs from each instance's kept
first plan with an iteration budget and a fixed seed, so two versions of the kernels do the same work and
must end with the same plans; only the time may differ. The first plans are ``bench_pool_restarts``'s (kept
under ``benchmarks/results/pool-starts/``, not committed), so every version reads the same starts. Run it once
per version, the older one from a worktree of its commit:

    PYTHONPATH=/path/to/older-worktree python3 benchmarks/bench_pool_speed.py --label before \
        --instances lr1_2_9,lc1_2_8,lrc1_2_7,lr1_2_6 --iterations 400 --csv benchmarks/results/pool-speed-before.csv
    python3 benchmarks/bench_pool_speed.py --label after --instances lr1_2_9,lc1_2_8,lrc1_2_7,lr1_2_6 \
        --iterations 400 --csv benchmarks/results/pool-speed-after.csv \
        --compare benchmarks/results/pool-speed-before.csv

``--compare`` prints both side by side and says whether every plan is the same.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import time
from pathlib import Path
from typing import Any

from bench_lns_starts import _problem
from bench_pool_restarts import kept_first_plan, write_rows

COLUMNS = ("label", "instance", "iterations", "seed", "first_routes", "routes", "seconds", "digest")


def one_instance(name: str, iterations: int, seed: int, label: str) -> dict[str, Any]:
    """The first worker's pool runs on ``name`` from its kept first plan, ``iterations`` in all."""
    from dispatch.budget import Budget
    from dispatch.route_min import pool_runs
    from dispatch.solver import WORKER_FLAVOURS, SolverParams

    problem = _problem(name)
    first = kept_first_plan(name, problem)
    params = SolverParams().with_changes(**WORKER_FLAVOURS[0]).ejection
    started = time.perf_counter()
    runs = pool_runs(problem, first, Budget(iterations=iterations), 100, seed, params)
    seconds = time.perf_counter() - started
    visits = [[(route.vehicle, [(v.request, v.dropoff) for v in route.visits]) for route in run.routes] for run in runs]
    return {
        "label": label,
        "instance": name,
        "iterations": iterations,
        "seed": seed,
        "first_routes": len(first.routes),
        "routes": min((len(run.routes) for run in runs), default=len(first.routes)),
        "seconds": round(seconds, 2),
        "digest": hashlib.sha256(repr(visits).encode()).hexdigest()[:16],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", required=True, help="Li & Lim names, comma-separated")
    parser.add_argument("--iterations", type=int, default=400, help="the pool's budget per instance")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--label", default="this", help="names this version in the table")
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--compare", type=Path, help="another version's CSV to print beside this one")
    args = parser.parse_args()
    from dispatch.solver import compile_kernels

    compile_kernels()  # not timed: the kernels compile (or load from the cache) before the first run
    rows = []
    print(f"{'instance':10s} {'routes':>6s} {'seconds':>8s}  digest", flush=True)
    for name in args.instances.split(","):
        rows.append(one_instance(name, args.iterations, args.seed, args.label))
        row = rows[-1]
        print(
            f"{name:10s} {row['first_routes']:>3d}->{row['routes']:<2d} {row['seconds']:8.2f}  {row['digest']}",
            flush=True,
        )
    print(f"{'total':10s} {'':6s} {sum(r['seconds'] for r in rows):8.2f}")
    write_rows(args.csv, COLUMNS, rows)
    if args.compare:
        with args.compare.open(newline="") as f:
            other = {row["instance"]: row for row in csv.DictReader(f)}
        print(f"\n{'instance':10s} {other[rows[0]['instance']]['label']:>10s} {args.label:>10s}  speed-up  same plans")
        same_all = True
        for row in rows:
            theirs = other[row["instance"]]
            same = theirs["digest"] == row["digest"]
            same_all &= same
            speed = float(theirs["seconds"]) / row["seconds"]
            print(
                f"{row['instance']:10s} {float(theirs['seconds']):10.2f} {row['seconds']:10.2f}  {speed:7.2f}x  {same}"
            )
        total_theirs = sum(float(other[r["instance"]]["seconds"]) for r in rows)
        total = sum(r["seconds"] for r in rows)
        print(f"{'total':10s} {total_theirs:10.2f} {total:10.2f}  {total_theirs / total:7.2f}x  {same_all}")


if __name__ == "__main__":
    main()
