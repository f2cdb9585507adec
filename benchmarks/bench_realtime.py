"""Applying GTFS-Realtime TripUpdates for every trip of the Helsinki feed, and planning after it.

    python3 benchmarks/bench_realtime.py [--queries 500] [--seed 42] [--repeat 5]

The feed is written with the official bindings from the static timetable: every run of the day gets
one stop-time update at a random stop of its trip with a delay of -60..+600 s (seed fixed), 2 % of
runs are canceled and 2 % skip one stop; frequency runs carry their start_time. Measured: reading
the protobuf, applying it (median of ``--repeat``), and door-to-door plan latency (walk + transit,
07:00-09:00, the same queries) on the static and on the updated timetable, interleaved.

Targets (issue 23): applying a feed with updates for every trip <= 1 s; plan p50 within 10 % of the
static one. Writes benchmarks/results/realtime-helsinki.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from pathlib import Path

import numpy as np
from bench_router import pct, random_points

from maas.area import load_area
from planner.area_data import load_area_data
from planner.realtime import apply_trip_updates, read_trip_updates
from planner.router import Planner
from planner.timetable import Timetable

HERE = Path(__file__).resolve().parent


def every_trip_feed(tt: Timetable, rng: np.random.Generator) -> bytes:
    """One TripUpdate per run of the service day (its own runs, not the neighbouring days')."""
    from google.transit import gtfs_realtime_pb2 as rt

    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.timestamp = int(time.time())
    trip_pattern = np.repeat(np.arange(tt.n_patterns), np.diff(tt.pattern_trip_start))
    for g, (label, source) in enumerate(zip(tt.trip_ids.tolist(), tt.trip_source_ids.tolist(), strict=True)):
        if label.endswith("-day"):
            continue
        entity = message.entity.add()
        entity.id = str(g)
        update = entity.trip_update
        update.trip.trip_id = source
        start = label[len(source) + 1 :] if label != source else ""
        if start:
            update.trip.start_time = start
        draw = rng.random()
        if draw < 0.02:
            update.trip.schedule_relationship = rt.TripDescriptor.CANCELED
            continue
        stops = tt.pattern_stop_list(int(trip_pattern[g]))
        stu = update.stop_time_update.add()
        stu.stop_id = str(tt.stop_ids[stops[int(rng.integers(0, len(stops)))]])
        if draw < 0.04 and len(stops) > 2:
            stu.schedule_relationship = rt.TripUpdate.StopTimeUpdate.SKIPPED
        else:
            delay = int(rng.integers(-60, 601))
            stu.arrival.delay = delay
            stu.departure.delay = delay
    return message.SerializeToString()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    data = load_area_data(load_area("helsinki"))
    static = Planner(data)
    rng = np.random.default_rng(args.seed)
    payload = every_trip_feed(data.timetable, rng)
    started = time.perf_counter()
    feed = read_trip_updates(payload, "every-trip.pb")
    read_s = time.perf_counter() - started
    apply_s = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        _, report = apply_trip_updates(data.timetable, feed, static.clock)
        apply_s.append(time.perf_counter() - started)
    live, report = static.with_realtime(feed)
    points = random_points(static, rng, 2 * args.queries)
    date = data.area.service_date
    departs = [
        dt.datetime.combine(date, dt.time()) + dt.timedelta(seconds=int(rng.integers(7 * 3600, 9 * 3600)))
        for _ in range(args.queries)
    ]
    for i in range(20):
        static.plan(points[2 * i], points[2 * i + 1], depart_at=departs[i])
        live.plan(points[2 * i], points[2 * i + 1], depart_at=departs[i])
    times: dict[str, list[float]] = {"static": [], "realtime": []}
    delayed_legs = 0
    for i in range(args.queries):
        for name, planner in (("static", static), ("realtime", live)):
            t = time.perf_counter()
            result = planner.plan(points[2 * i], points[2 * i + 1], depart_at=departs[i])
            times[name].append((time.perf_counter() - t) * 1000)
            if name == "realtime":
                delayed_legs += sum(1 for it in result for leg in it.transit_legs if leg.delay_s)
    summary = {
        "area": "helsinki",
        "seed": args.seed,
        "feed_bytes": len(payload),
        "trip_updates": len(feed.updates),
        "runs_updated": report.trips_updated,
        "runs_canceled": report.trips_canceled,
        "stops_skipped": report.stops_skipped,
        "patterns_split": report.patterns_split,
        "read_s": round(read_s, 3),
        "apply_s_median": round(statistics.median(apply_s), 3),
        "apply_s_max": round(max(apply_s), 3),
        "queries": args.queries,
        "static_p50_ms": round(pct(times["static"], 50), 2),
        "static_p95_ms": round(pct(times["static"], 95), 2),
        "realtime_p50_ms": round(pct(times["realtime"], 50), 2),
        "realtime_p95_ms": round(pct(times["realtime"], 95), 2),
        "legs_with_a_delay": delayed_legs,
    }
    summary["realtime_p50_vs_static"] = round(summary["realtime_p50_ms"] / summary["static_p50_ms"], 3)
    print(f"feed: {summary['trip_updates']} trip updates, {len(payload) / 1e6:.1f} MB, read in {read_s:.2f} s")
    print(
        f"applied: {report.trips_updated} runs updated, {report.trips_canceled} canceled, "
        f"{report.stops_skipped} stops skipped, {report.patterns_split} patterns split; "
        f"median {summary['apply_s_median']:.2f} s (max {summary['apply_s_max']:.2f} s) of {args.repeat}"
    )
    print(f"{'plans':<10}{'p50 ms':>9}{'p95 ms':>9}")
    for name in times:
        print(f"{name:<10}{pct(times[name], 50):>9.2f}{pct(times[name], 95):>9.2f}")
    print(f"realtime p50 / static p50 = {summary['realtime_p50_vs_static']:.3f}; {delayed_legs} legs showed a delay")
    out = HERE / "results" / "realtime-helsinki.json"
    out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
