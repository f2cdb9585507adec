"""A fleet-sizing sweep run one day after the other and on a local Dask cluster, same days, same figures.

    python3 benchmarks/bench_sweep.py [--fleet 4,6,8,10,12] [--requests 1000,2000] [--seeds 1-3]
                                      [--hours 7-19] [--workers 2] [--no-reoptimise]

Runs ``maas sweep`` twice as whole commands into fresh folders under benchmarks/results/: with
``--workers 0`` (every day in one process, one by one) and with ``--workers N``. Reports both wall
times, their ratio, and checks that the days' figures agree (timings aside). Writes
benchmarks/results/sweep-<area>.json, the summary table as sweep-<area>-summary.csv and the plot
as sweep-<area>-kpis.png.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
TIMINGS = ["decision_p50_ms", "decision_p95_ms", "seconds"]


def run(args: argparse.Namespace, workers: int, out: Path) -> tuple[float, str]:
    """Wall seconds and standard output of one ``maas sweep`` command in a fresh folder."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "maas_apps", "sweep", "--area", args.area, "--fleet", args.fleet]
    command += ["--requests", args.requests, "--seeds", args.seeds, "--hours", args.hours]
    command += ["--workers", str(workers), "--out", str(out)]
    if args.no_reoptimise:
        command.append("--no-reoptimise")
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--area", default="helsinki")
    parser.add_argument("--fleet", default="4,6,8,10,12")
    parser.add_argument("--requests", default="1000,2000")
    parser.add_argument("--seeds", default="1-3")
    parser.add_argument("--hours", default="7-19")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-reoptimise", action="store_true")
    args = parser.parse_args()
    results = HERE / "results"
    serial_s, _ = run(args, 0, results / f"sweep-{args.area}-serial")
    print(f"one by one        {serial_s:8.1f} s", flush=True)
    parallel_s, answer = run(args, args.workers, results / f"sweep-{args.area}-workers")
    print(f"{args.workers} Dask workers    {parallel_s:8.1f} s", flush=True)
    serial = pd.read_csv(results / f"sweep-{args.area}-serial" / "days.csv")
    parallel = pd.read_csv(results / f"sweep-{args.area}-workers" / "days.csv")
    same = serial.drop(columns=TIMINGS).equals(parallel.drop(columns=TIMINGS))
    summary = {
        "area": args.area,
        "fleet": args.fleet,
        "requests": args.requests,
        "seeds": args.seeds,
        "hours": args.hours,
        "reoptimise": not args.no_reoptimise,
        "days": len(serial),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "date": dt.date.today().isoformat(),
        "one_by_one_seconds": round(serial_s, 1),
        "sum_of_day_seconds": round(float(serial["seconds"].sum()), 1),
        "workers": args.workers,
        "workers_seconds": round(parallel_s, 1),
        "ratio": round(parallel_s / serial_s, 3),
        "same_figures": bool(same),
        "answers": [line for line in answer.splitlines() if line.startswith("95 %")],
    }
    print(json.dumps(summary, indent=2))
    name = f"sweep-{args.area}"
    (results / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    shutil.copy(results / f"sweep-{args.area}-workers" / "summary.csv", results / f"{name}-summary.csv")
    shutil.copy(results / f"sweep-{args.area}-workers" / "kpis.png", results / f"{name}-kpis.png")
    if not same:
        raise SystemExit("the two runs disagree")


if __name__ == "__main__":
    main()
