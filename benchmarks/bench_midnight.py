"""Trips just after midnight: answered, equal to a search given the previous day's trips, and as fast.

    python3 benchmarks/bench_midnight.py [--queries 100] [--seed 1]

Random door-to-door queries in the Helsinki extract, departing between 00:00 and 01:30 on
2022-02-23 (a date the feed has no service of its own: only the 22nd's night trips run). Each is
planned twice: as a rider asks (the 23rd's service day, which holds the 22nd's trips past
midnight) and in the 22nd's frame given explicitly (``service_day``: the same moment at 24:00-25:30).
Answers must be equal: the same trips at the same local times. The same origins and destinations
are planned at 08:00-09:30 on the 22nd for the latency comparison (target: midnight p50 <= 2 x day).
Writes benchmarks/results/midnight.json and .csv.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from maas.area import load_area
from maas.errors import OutsideAreaError
from planner.area_data import load_area_data
from planner.itinerary import Itinerary, TransitLeg
from planner.router import Planner

NIGHT = dt.date(2022, 2, 23)
FEED_DAY = dt.date(2022, 2, 22)


def signature(it: Itinerary) -> tuple[object, ...]:
    """What a rider sees: modes, trips (without the compiled day's suffix) and local times."""
    trips = tuple(leg.trip_id.split("@prev-day")[0] for leg in it.legs if isinstance(leg, TransitLeg))
    return (it.modes, trips, it.local(it.depart).isoformat(), it.local(it.arrive).isoformat())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "midnight"))
    args = parser.parse_args()
    area = load_area("helsinki", args.data_dir)
    planner = Planner(load_area_data(area))
    west, south, east, north = area.bbox
    rng = np.random.default_rng(args.seed)

    def point() -> tuple[float, float]:
        while True:
            lat, lon = float(rng.uniform(south, north)), float(rng.uniform(west, east))
            try:
                planner.snap(planner.walk, lat, lon, "point")
                return lat, lon
            except OutsideAreaError:
                continue

    # warm-up: compile (or load) both service days' timetables before timing
    started = time.perf_counter()
    planner.plan(point(), point(), depart_at=dt.datetime.combine(NIGHT, dt.time(0, 30)))
    warm_s = time.perf_counter() - started
    rows = []
    for q in range(args.queries):
        origin, destination = point(), point()
        night = dt.datetime.combine(NIGHT, dt.time()) + dt.timedelta(seconds=int(rng.integers(0, 90 * 60)))
        day = dt.datetime.combine(FEED_DAY, dt.time(8)) + dt.timedelta(seconds=int(rng.integers(0, 90 * 60)))
        t0 = time.perf_counter()
        asked = planner.plan(origin, destination, depart_at=night)
        t1 = time.perf_counter()
        explicit = planner.plan(origin, destination, depart_at=night, service_day=FEED_DAY)
        t2 = time.perf_counter()
        daytime = planner.plan(origin, destination, depart_at=day)
        t3 = time.perf_counter()
        rows.append(
            {
                "query": q,
                "origin": f"{origin[0]:.5f},{origin[1]:.5f}",
                "destination": f"{destination[0]:.5f},{destination[1]:.5f}",
                "depart": night.isoformat(),
                "options": len(asked),
                "transit_options": sum(bool(it.transit_legs) for it in asked),
                "answered": bool(len(asked)) or bool(asked.reason),
                "day_options": len(daytime),
                "equal": [signature(it) for it in asked] == [signature(it) for it in explicit],
                "night_ms": (t1 - t0) * 1000,
                "explicit_ms": (t2 - t1) * 1000,
                "day_ms": (t3 - t2) * 1000,
            }
        )
    night_p50 = statistics.median(r["night_ms"] for r in rows)
    day_p50 = statistics.median(r["day_ms"] for r in rows)
    summary = {
        "queries": len(rows),
        "answered": sum(r["answered"] for r in rows),
        "with_options": sum(r["options"] > 0 for r in rows),
        "with_transit": sum(r["transit_options"] > 0 for r in rows),
        "equal_to_explicit_previous_day": sum(r["equal"] for r in rows),
        "night_p50_ms": night_p50,
        "night_p95_ms": float(np.percentile([r["night_ms"] for r in rows], 95)),
        "day_p50_ms": day_p50,
        "day_p95_ms": float(np.percentile([r["day_ms"] for r in rows], 95)),
        "night_over_day_p50": night_p50 / day_p50,
        "first_query_s": warm_s,
    }
    print(f"{args.queries} queries from {NIGHT} 00:00-01:30 (seed {args.seed}); daytime: {FEED_DAY} 08:00-09:30")
    for key, value in summary.items():
        print(f"  {key:<32}{value:>12.2f}" if isinstance(value, float) else f"  {key:<32}{value:>12}")
    ok = summary["answered"] == summary["equal_to_explicit_previous_day"] == len(rows)
    print(f"target every query answered and equal: {'ok' if ok else 'MISSED'}")
    print(f"target midnight p50 <= 2 x daytime p50: {'ok' if summary['night_over_day_p50'] <= 2 else 'MISSED'}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"seed": args.seed, "cpu_count": os.cpu_count(), "python": platform.python_version()}
    out.with_suffix(".json").write_text(json.dumps({**meta, "summary": summary, "queries": rows}, indent=2))
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"written {out.with_suffix('.json')} and .csv")


if __name__ == "__main__":
    main()
