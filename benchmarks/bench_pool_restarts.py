"""The ejection pool alone: one long run against several shorter runs from the same first plan.

For each instance the first plan is built once (the solver's own construction, 4.8 s, as a 60 s run
gives it) and kept under ``benchmarks/results/pool-starts/`` (not committed); then the pool runs from
it with ``EjectionParams.restarts`` = 1 (one run, the old stage) or k for the same total time, and the
fewest routes each reaches is written with the time its best run ended.

    python benchmarks/bench_pool_restarts.py --instances lr2_2_8,lr1_2_6 --restarts 1,8 --seeds 0,1 \
        --seconds 24 --csv benchmarks/results/pool-restarts.csv

Runs one process per (instance, restarts, seed), two at a time on two cores.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_lns_starts import _data_dir, _problem

ROOT = Path(__file__).resolve().parent
STARTS = ROOT / "results" / "pool-starts"
COLUMNS = ("instance", "restarts", "seed", "first_routes", "routes", "best_known_routes", "best_ended_s", "seconds")
FIRST_PLAN_SECONDS = 4.8  # the construction's share of a 60 s run where the pool follows (8 %)


def kept_first_plan(name: str, problem: Any) -> Any:
    """The instance's first plan as the solver's construction makes it in a 60 s run, built once and kept
    under ``STARTS`` so that every later run (and every version of the code) starts from the same plan."""
    from dispatch.budget import Budget
    from dispatch.solver import SolverParams
    from dispatch.stages import construct

    path = STARTS / f"{name}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    STARTS.mkdir(parents=True, exist_ok=True)
    first = construct(problem, SolverParams(time_limit_s=60), Budget(seconds=FIRST_PLAN_SECONDS))
    path.write_bytes(pickle.dumps(first))
    return first


def write_rows(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """``rows`` as a CSV with a header of ``columns`` (the folder made if missing); says where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    print(f"written {path}")


def one_run(name: str, restarts: int, seed: int, seconds: float) -> dict[str, Any]:
    """The pool with ``restarts`` runs from the instance's kept first plan, ``seconds`` in all."""
    from dispatch.bench import best_known
    from dispatch.budget import Budget
    from dispatch.route_min import RESTART_SEED, eliminate_routes_by_ejection
    from dispatch.solver import EjectionParams, compile_kernels

    problem = _problem(name)
    compile_kernels()
    first = kept_first_plan(name, problem)
    params = EjectionParams(retry_stuck=True)
    started = time.perf_counter()
    routes, ended = len(first.routes), 0.0
    for r in range(restarts):
        # the seeds of dispatch.route_min.pool_runs, but each run a fixed equal share (pool_runs passes
        # what a run leaves on to the next): so the time the best run ended can be read here
        piece = Budget(seconds=seconds / restarts)
        fewer = eliminate_routes_by_ejection(problem, first, piece, 100, seed + RESTART_SEED * r, params)
        if fewer is not None and len(fewer.routes) < routes:
            routes, ended = len(fewer.routes), time.perf_counter() - started
    known = best_known(_data_dir()).get(name)
    return {
        "instance": name,
        "restarts": restarts,
        "seed": seed,
        "first_routes": len(first.routes),
        "routes": routes,
        "best_known_routes": known[1] if known else "",
        "best_ended_s": round(ended, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _child(name: str, restarts: int, seed: str, seconds: float) -> list[str]:
    """The command line of one pool setting's own process."""
    one = ["--one", name, str(restarts), seed, str(seconds)]
    return [sys.executable, __file__, "--instances", name, "--csv", os.devnull, *one]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", required=True, help="Li & Lim names, comma-separated")
    parser.add_argument("--restarts", default="1,8", help="runs of the pool to compare, comma-separated")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--seconds", type=float, default=24.0, help="the pool's whole time per setting")
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--one", nargs=4, metavar=("NAME", "RESTARTS", "SEED", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        name, restarts, seed, seconds = args.one
        print(json.dumps(one_run(name, int(restarts), int(seed), float(seconds))))
        return
    names = args.instances.split(",")
    for name in names:  # first plans one at a time: they are built on a time budget
        subprocess.run(_child(name, 1, "0", 0.01), check=True, capture_output=True)
    jobs = list(itertools.product(names, [int(k) for k in args.restarts.split(",")], args.seeds.split(",")))
    rows: list[dict[str, Any]] = []
    for pair in (jobs[i : i + 2] for i in range(0, len(jobs), 2)):
        procs = [subprocess.Popen(_child(n, k, s, args.seconds), stdout=subprocess.PIPE, text=True) for n, k, s in pair]
        for proc in procs:
            out, _ = proc.communicate()
            if proc.returncode != 0:
                raise SystemExit(f"a pool run failed (exit {proc.returncode})")
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(",".join(str(rows[-1][c]) for c in COLUMNS), flush=True)
    write_rows(args.csv, COLUMNS, rows)


if __name__ == "__main__":
    main()
