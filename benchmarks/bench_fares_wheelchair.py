"""Plan latency with fares and with wheelchair routing, against plain plans, in one run.

    python3 benchmarks/bench_fares_wheelchair.py [--queries 1000] [--seed 42] [--area helsinki]

The same door-to-door queries (random points inside the street extract, departures uniform in
07:00-09:00 on the area's service date, walk + transit) are planned three ways, interleaved so that
the machine's state is the same for each:

* ``plain``: no fare pricing (the planner as it was before fares);
* ``fares``: every option priced (GTFS Fares v1, the default);
* ``wheelchair``: priced, accessible trips and stops only (strict), walking without steps.

Prints a table and writes benchmarks/results/plan-fares-wheelchair.json. The issue's target: p50
of ``fares`` and ``wheelchair`` within 20 % of ``plain``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_router import pct, random_points

from maas.area import load_area
from planner.area_data import load_area_data
from planner.router import Planner

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--area", default="helsinki")
    args = parser.parse_args()

    data = load_area_data(load_area(args.area))
    priced = Planner(data)
    plain = Planner(data)
    plain.fares = None  # what a plan cost before fares were priced
    started = time.perf_counter()
    priced.for_wheelchair()  # built once, on first use; timed apart
    wheelchair_build_s = time.perf_counter() - started
    rng = np.random.default_rng(args.seed)
    points = random_points(priced, rng, 2 * args.queries)
    date = data.area.service_date
    departs = [
        dt.datetime.combine(date, dt.time()) + dt.timedelta(seconds=int(rng.integers(7 * 3600, 9 * 3600)))
        for _ in range(args.queries)
    ]
    for i in range(20):  # warm the numba searches and street buffers
        priced.plan(points[2 * i], points[2 * i + 1], depart_at=departs[i], wheelchair=True)
        plain.plan(points[2 * i], points[2 * i + 1], depart_at=departs[i])
    times: dict[str, list[float]] = {"plain": [], "fares": [], "wheelchair": []}
    found = {name: 0 for name in times}
    priced_options = step_free_options = 0
    for i in range(args.queries):
        a, b, when = points[2 * i], points[2 * i + 1], departs[i]
        for name in times:
            planner = plain if name == "plain" else priced
            t = time.perf_counter()
            result = planner.plan(a, b, depart_at=when, wheelchair=name == "wheelchair")
            times[name].append((time.perf_counter() - t) * 1000)
            found[name] += any(it.transit_legs for it in result)
            if name == "fares":
                priced_options += sum(it.fare is not None and it.fare.complete for it in result)
            if name == "wheelchair":
                step_free_options += sum(it.step_free_text == "step-free" for it in result)
    summary: dict[str, Any] = {
        "area": data.area.name,
        "seed": args.seed,
        "queries": args.queries,
        "hours": "7-9",
        "wheelchair_planner_build_s": round(wheelchair_build_s, 2),
        "priced_options": priced_options,
        "step_free_options": step_free_options,
    }
    base = pct(times["plain"], 50)
    print(f"{args.queries} door-to-door plans, {data.area.name}, seed {args.seed}")
    print(f"{'variant':<12}{'p50 ms':>9}{'p95 ms':>9}{'vs plain':>10}{'with transit':>14}")
    for name, values in times.items():
        p50, p95 = pct(values, 50), pct(values, 95)
        summary[name] = {
            "p50_ms": round(p50, 2),
            "p95_ms": round(p95, 2),
            "p50_vs_plain": round(p50 / base, 3),
            "with_transit_option": found[name],
        }
        print(f"{name:<12}{p50:>9.2f}{p95:>9.2f}{p50 / base:>10.2f}{found[name]:>14}")
    print(f"wheelchair planner built in {wheelchair_build_s:.2f} s (once per area and date)")
    out = HERE / "results" / f"plan-fares-wheelchair-{data.area.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
