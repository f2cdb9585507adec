"""Router benchmark on the Helsinki data, with two peers side by side.

    python3 benchmarks/bench_router.py [--queries 1000] [--seed 42] [--baseline-queries 30]
                                       [--pyraptor-queries 20] [--no-pyraptor]

Measures (warm caches, fixed seed):
* door-to-door earliest-arrival plans (street access, RAPTOR, itinerary assembly) between random
  points inside the street extract, departures uniform in 07:00-09:00 on 2022-02-22;
* stop-to-stop transit searches alone;
* 60-minute range queries (travel time per departure minute);
* the same stop-to-stop queries answered by a networkx Dijkstra on a time-expanded graph, and by
  the PyPI package ``pyraptor`` (pure-Python RAPTOR; it pins pandas<2, so it runs in its own
  virtual environment under benchmarks/.venv-pyraptor, created on first use). Each peer has its
  own transfer model; our search is run with exactly that model and the arrival times must agree.

Prints a table and writes benchmarks/results/router.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from maas.area import load_area
from planner.area_data import load_area_data
from planner.footpaths import Footpaths
from planner.raptor import INF, RaptorNetwork, RaptorQuery, search
from planner.router import Planner
from planner.timetable import Timetable

HERE = Path(__file__).resolve().parent
DATE = dt.date(2022, 2, 22)  # the area's service date (set in main)
HOURS = (7 * 3600, 9 * 3600)  # departures are drawn from these hours (--hours)
TARGETS_MS = {"door_to_door_p50": 20, "door_to_door_p95": 100, "stop_to_stop_p50": 2, "range_60min_p50": 200}


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) if values else float("nan")


def random_points(planner: Planner, rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    west, south, east, north = planner.area.bbox
    out: list[tuple[float, float]] = []
    while len(out) < n:
        lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        if planner.walk.snapper.snap(lon, lat)[0].distance_m <= 100:
            out.append((lat, lon))
    return out


def bench_door_to_door(planner: Planner, rng: np.random.Generator, n: int) -> dict[str, Any]:
    points = random_points(planner, rng, 2 * n)
    times, found, transit = [], 0, 0
    for i in range(n):
        depart = dt.datetime.combine(DATE, dt.time()) + dt.timedelta(seconds=int(rng.integers(HOURS[0], HOURS[1])))
        start = time.perf_counter()
        result = planner.plan(points[2 * i], points[2 * i + 1], depart_at=depart)
        times.append((time.perf_counter() - start) * 1000)
        found += bool(len(result))
        transit += any(it.transit_legs for it in result)
    return {
        "n": n,
        "p50_ms": pct(times, 50),
        "p95_ms": pct(times, 95),
        "mean_ms": statistics.mean(times),
        "with_itinerary": found,
        "with_transit_option": transit,
    }


def served_stops(tt: Timetable) -> np.ndarray:
    return np.flatnonzero(np.diff(tt.stop_pattern_start) > 0)


def stop_queries(tt: Timetable, rng: np.random.Generator, n: int) -> list[tuple[int, int, int]]:
    stops = served_stops(tt)
    return [
        (int(a), int(b), int(rng.integers(HOURS[0], HOURS[1])))
        for a, b in (rng.choice(stops, 2, replace=False) for _ in range(n))
    ]


def run_stop_queries(
    network: RaptorNetwork,
    queries: list[tuple[int, int, int]],
    *,
    transfer_slack: int,
    origin_groups: dict[int, list[int]] | None = None,
    dest_groups: dict[int, list[int]] | None = None,
) -> tuple[list[float], list[int | None]]:
    times, arrivals = [], []
    n = network.timetable.n_stops
    state = network.new_state()
    for origin, dest, t0 in queries:
        egress = np.full(n, INF, dtype=np.int64)
        egress[dest_groups[dest] if dest_groups else [dest]] = 0
        sources = np.array(origin_groups[origin] if origin_groups else [origin])
        start = time.perf_counter()
        query = RaptorQuery(
            sources,
            np.full(len(sources), t0),
            egress,
            max_rides=8,
            walk_speed_mps=1.0,
            board_slack_s=0,
            transfer_slack_s=transfer_slack,
            journeys=False,  # the search alone: the arrival, no journey to rebuild
        )
        result = search(network, query, state)
        times.append((time.perf_counter() - start) * 1000)
        arrivals.append(min(result.arrivals) if result.arrivals else None)
    return times, arrivals


def bench_range(planner: Planner, rng: np.random.Generator, n: int) -> dict[str, Any]:
    points = random_points(planner, rng, 2 * n)
    times = []
    for i in range(n):
        start = dt.datetime.combine(DATE, dt.time(HOURS[0] // 3600)) + dt.timedelta(minutes=int(rng.integers(0, 60)))
        t = time.perf_counter()
        planner.profile(points[2 * i], points[2 * i + 1], start, window_min=60)
        times.append((time.perf_counter() - t) * 1000)
    return {"n": n, "p50_ms": pct(times, 50), "p95_ms": pct(times, 95)}


def no_footpaths(tt: Timetable) -> Footpaths:
    """Changes only at the same stop (the model of the time-expanded baseline)."""
    return Footpaths(
        np.zeros(tt.n_stops + 1, np.int64),
        np.zeros(0, np.int32),
        np.zeros(0, np.float32),
        np.zeros(0, np.int32),
        np.zeros(0, bool),
        np.zeros(tt.n_stops, np.int32),
        0.0,
    )


# -- peer 1: networkx time-expanded Dijkstra ------------------------------------------------------
def networkx_baseline(
    tt: Timetable, queries: list[tuple[int, int, int]], slack: int
) -> tuple[list[float], list[int | None], float]:
    import networkx as nx

    t_build = time.perf_counter()
    graph = nx.DiGraph()
    wait_times: dict[int, set[int]] = {}
    node_id = 0
    arrival_nodes: dict[int, list[tuple[int, int]]] = {}
    for p in range(tt.n_patterns):
        arr, dep = tt.trip_times(p)
        stops = tt.pattern_stop_list(p)
        board = tt.pattern_can_board[tt.pattern_stop_start[p] : tt.pattern_stop_start[p + 1]]
        alight = tt.pattern_can_alight[tt.pattern_stop_start[p] : tt.pattern_stop_start[p + 1]]
        for k in range(arr.shape[0]):
            prev_dep = None
            for j, s in enumerate(stops):
                a_node, d_node = node_id, node_id + 1
                node_id += 2
                if prev_dep is not None:
                    graph.add_edge(prev_dep[0], a_node, weight=int(arr[k, j] - prev_dep[1]))
                graph.add_edge(a_node, d_node, weight=int(dep[k, j] - arr[k, j]))
                if j and alight[j]:
                    ready = int(arr[k, j]) + slack
                    graph.add_edge(a_node, ("w", int(s), ready), weight=slack)
                    wait_times.setdefault(int(s), set()).add(ready)
                    arrival_nodes.setdefault(int(s), []).append((a_node, int(arr[k, j])))
                if board[j] and j < len(stops) - 1:
                    graph.add_edge(("w", int(s), int(dep[k, j])), d_node, weight=0)
                    wait_times.setdefault(int(s), set()).add(int(dep[k, j]))
                prev_dep = (d_node, int(dep[k, j]))
    for s, ts in wait_times.items():
        ordered = sorted(ts)
        for a, b in itertools.pairwise(ordered):
            graph.add_edge(("w", s, a), ("w", s, b), weight=b - a)
    build_s = time.perf_counter() - t_build
    times, arrivals = [], []
    for origin, dest, t0 in queries:
        start = time.perf_counter()
        ts = sorted(wait_times.get(origin, ()))
        first = next((t for t in ts if t >= t0), None)
        best: int | None = None
        if first is not None:
            dist = nx.single_source_dijkstra_path_length(graph, ("w", origin, first), cutoff=4 * 3600)
            for node, _arr_t in arrival_nodes.get(dest, []):
                if node in dist:
                    at = first + dist[node]
                    best = at if best is None or at < best else best
        times.append((time.perf_counter() - start) * 1000)
        arrivals.append(best)
    return times, arrivals, build_s


# -- peer 2: pyraptor in its own virtual environment ---------------------------------------------
PYRAPTOR_HELPER = r"""
import json, sys, time
from pyraptor.gtfs.timetable import read_gtfs_timetable, gtfs_to_pyraptor_timetable
from pyraptor.model.raptor import RaptorAlgorithm
import loguru
loguru.logger.remove()
folder, queries_file, out_file = sys.argv[1:4]
t = time.perf_counter()
timetable = gtfs_to_pyraptor_timetable(read_gtfs_timetable(folder, "20220222", ["HSL"]))
build_s = time.perf_counter() - t
results = []
for origin, dest, t0 in json.load(open(queries_file)):
    start = time.perf_counter()
    raptor = RaptorAlgorithm(timetable)
    bags = raptor.run(timetable.stations.get(origin).stops, t0, 8)
    best = min((raptor.bag_star[s].earliest_arrival_time for s in timetable.stations.get(dest).stops), default=None)
    arrival = best if best is not None and best < 10**8 else None
    results.append({"ms": (time.perf_counter() - start) * 1000, "arrival": arrival})
json.dump({"build_s": build_s, "results": results}, open(out_file, "w"))
"""


def export_flat_gtfs(tt: Timetable, folder: Path) -> None:
    """Our compiled day (frequencies expanded) as plain GTFS in the form pyraptor reads."""
    import csv

    def hms(t: int) -> str:
        return f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "agency.txt", "w", newline="") as f:
        csv.writer(f).writerows([["agency_id", "agency_name"], ["HSL", "HSL"]])
    with open(folder / "routes.txt", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["route_id", "agency_id", "route_short_name", "route_long_name", "route_type"])
        for i, rid in enumerate(tt.route_ids):
            w.writerow([rid, "HSL", tt.route_short_names[i], tt.route_long_names[i], int(tt.route_types[i])])
    with open(folder / "calendar_dates.txt", "w", newline="") as f:
        csv.writer(f).writerows([["service_id", "date", "exception_type"], ["DAY", "20220222", 1]])
    with open(folder / "stops.txt", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["stop_id", "stop_name", "parent_station", "platform_code", "stop_code"])
        for i, sid in enumerate(tt.stop_ids):
            w.writerow([sid, tt.stop_names[i], "STATION", f"P{sid}", f"C{sid}"])  # codes must read as text
    with open(folder / "trips.txt", "w", newline="") as f, open(folder / "stop_times.txt", "w", newline="") as g:
        wt, ws = csv.writer(f), csv.writer(g)
        wt.writerow(["route_id", "service_id", "trip_id", "trip_short_name", "trip_long_name"])
        ws.writerow(["trip_id", "stop_sequence", "stop_id", "arrival_time", "departure_time"])
        n = 0
        for p in range(tt.n_patterns):
            arr, dep = tt.trip_times(p)
            stops = tt.pattern_stop_list(p)
            for k in range(arr.shape[0]):
                n += 1
                wt.writerow([tt.route_ids[tt.pattern_route[p]], "DAY", f"X{n}", n, "trip"])
                for j, s in enumerate(stops):
                    ws.writerow([f"X{n}", j + 1, tt.stop_ids[s], hms(int(arr[k, j])), hms(int(dep[k, j]))])


def pyraptor_python() -> Path:
    venv = HERE / ".venv-pyraptor"
    python = venv / "bin" / "python"
    if not python.exists():
        print("creating benchmarks/.venv-pyraptor with pyraptor (pandas<2) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        # pandas 1.x (pyraptor pins pandas<2) is built against numpy 1; pyraptor imports attrs undeclared
        subprocess.run([str(python), "-m", "pip", "install", "-q", "pyraptor==1.3.10", "numpy<2", "attrs"], check=True)
    return python


def station_groups(tt: Timetable) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for s in served_stops(tt):
        groups.setdefault(str(tt.stop_names[s]), []).append(int(s))
    return groups


def station_footpaths(tt: Timetable, groups: dict[str, list[int]], seconds: int) -> Footpaths:
    """pyraptor's transfer model: between different stops of one station (same name), a fixed time."""
    pairs = sorted((a, b) for members in groups.values() for a in members for b in members if a != b)
    src = np.array([a for a, _ in pairs], dtype=np.int64)
    return Footpaths(
        np.searchsorted(src, np.arange(tt.n_stops + 1)),
        np.array([b for _, b in pairs], np.int32),
        np.full(len(pairs), seconds, np.float32),
        np.full(len(pairs), -1, np.int32),
        np.zeros(len(pairs), bool),
        np.zeros(tt.n_stops, np.int32),
        float(seconds),
    )


def pyraptor_peer(tt: Timetable, rng: np.random.Generator, n: int) -> dict[str, Any]:
    """Station-to-station queries in pyraptor and in our search with pyraptor's transfer model."""
    groups = station_groups(tt)
    names = sorted(groups)
    pick = [
        (
            names[int(rng.integers(len(names)))],
            names[int(rng.integers(len(names)))],
            int(rng.integers(HOURS[0], HOURS[1])),
        )
        for _ in range(n)
    ]
    pick = [q for q in pick if q[0] != q[1]]
    # pyraptor ignores pickup/drop-off restrictions, so ours does too for this comparison
    plain = dataclasses.replace(
        tt, pattern_can_board=np.ones_like(tt.pattern_can_board), pattern_can_alight=np.ones_like(tt.pattern_can_alight)
    )
    station_state = RaptorNetwork(plain, station_footpaths(plain, groups, 120))
    index = {name: i for i, name in enumerate(names)}
    members = {index[name]: groups[name] for name in names}
    q_idx = [(index[a], index[b], t) for a, b, t in pick]
    ours_ms, ours_arr = run_stop_queries(
        station_state, q_idx, transfer_slack=0, origin_groups=members, dest_groups=members
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "gtfs"
        export_flat_gtfs(plain, folder)
        (Path(tmp) / "q.json").write_text(json.dumps(pick))
        (Path(tmp) / "helper.py").write_text(PYRAPTOR_HELPER)
        run = subprocess.run(
            [
                str(pyraptor_python()),
                str(Path(tmp) / "helper.py"),
                str(folder),
                str(Path(tmp) / "q.json"),
                str(Path(tmp) / "out.json"),
            ],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            return {"error": (run.stderr.strip().splitlines() or ["failed"])[-1]}
        peer = json.loads((Path(tmp) / "out.json").read_text())
    py_ms = [r["ms"] for r in peer["results"]]
    py_arr = [r["arrival"] for r in peer["results"]]
    return {
        "n": len(pick),
        "timetable_build_s": peer["build_s"],
        "p50_ms": pct(py_ms, 50),
        "ours_p50_ms": pct(ours_ms, 50),
        "speedup_p50": pct(py_ms, 50) / pct(ours_ms, 50),
        "arrivals_agree": sum(a == b for a, b in zip(ours_arr, py_arr, strict=True)),
        "disagreements": [(q, a, b) for q, a, b in zip(pick, ours_arr, py_arr, strict=True) if a != b][:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--range-queries", type=int, default=50)
    parser.add_argument("--baseline-queries", type=int, default=30)
    parser.add_argument("--pyraptor-queries", type=int, default=20)
    parser.add_argument("--no-pyraptor", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--area", default="helsinki")
    parser.add_argument("--hours", default="7-9", help="departure hours START-END (Porto Alegre's buses: 11-16)")
    parser.add_argument("--out", help="default benchmarks/results/router.json (router-<area>.json elsewhere)")
    args = parser.parse_args()
    global DATE, HOURS
    start_h, end_h = (int(h) for h in args.hours.split("-"))
    HOURS = (start_h * 3600, end_h * 3600)
    if args.out is None:
        name = "router.json" if args.area == "helsinki" else f"router-{args.area}.json"
        args.out = str(HERE / "results" / name)

    data = load_area_data(load_area(args.area))
    DATE = data.area.service_date
    planner = Planner(data)
    tt = data.timetable
    rng = np.random.default_rng(args.seed)
    # warm up (numba compilation, first searches) on points of the area, not counted
    warm = random_points(planner, np.random.default_rng(args.seed + 1), 2)
    planner.plan(warm[0], warm[1], depart_at=dt.datetime.combine(DATE, dt.time(HOURS[0] // 3600)))
    report: dict[str, Any] = {"seed": args.seed, "area": args.area, "date": DATE.isoformat(), "hours": args.hours}

    print(f"door-to-door: {args.queries} queries ...", flush=True)
    report["door_to_door"] = bench_door_to_door(planner, rng, args.queries)
    state = RaptorNetwork(tt, data.footpaths)
    queries = stop_queries(tt, rng, args.queries)
    times, _ = run_stop_queries(state, queries, transfer_slack=90)
    report["stop_to_stop"] = {"n": len(queries), "p50_ms": pct(times, 50), "p95_ms": pct(times, 95)}
    print(f"range queries: {args.range_queries} x 60 min ...", flush=True)
    report["range_60min"] = bench_range(planner, rng, args.range_queries)

    # networkx time-expanded baseline: same-stop changes with a 90 s slack, no footpaths
    print(f"networkx time-expanded Dijkstra: {args.baseline_queries} queries ...", flush=True)
    base_queries = queries[: args.baseline_queries]
    same_stop = RaptorNetwork(tt, no_footpaths(tt))
    ours_ms, ours_arr = run_stop_queries(same_stop, base_queries, transfer_slack=90)
    nx_ms, nx_arr, nx_build = networkx_baseline(tt, base_queries, 90)
    report["networkx_time_expanded"] = {
        "n": len(base_queries),
        "graph_build_s": nx_build,
        "p50_ms": pct(nx_ms, 50),
        "ours_p50_ms": pct(ours_ms, 50),
        "speedup_p50": pct(nx_ms, 50) / pct(ours_ms, 50),
        "arrivals_agree": sum(a == b for a, b in zip(ours_arr, nx_arr, strict=True)),
    }

    if not args.no_pyraptor:
        print(f"pyraptor: {args.pyraptor_queries} queries (pure Python; slow) ...", flush=True)
        report["pyraptor"] = pyraptor_peer(tt, rng, args.pyraptor_queries)
        if "error" in report["pyraptor"]:
            print(f"pyraptor failed: {report['pyraptor']['error']}")

    d2d, s2s, rng60 = report["door_to_door"], report["stop_to_stop"], report["range_60min"]
    print(f"\n{'measure':<34}{'p50 ms':>10}{'p95 ms':>10}{'target':>10}")
    print(f"{'door-to-door plan (walk+transit)':<34}{d2d['p50_ms']:>10.2f}{d2d['p95_ms']:>10.2f}{'20 / 100':>10}")
    print(f"{'stop-to-stop RAPTOR':<34}{s2s['p50_ms']:>10.3f}{s2s['p95_ms']:>10.3f}{'2':>10}")
    print(f"{'60-min range query':<34}{rng60['p50_ms']:>10.2f}{rng60['p95_ms']:>10.2f}{'200':>10}")
    print(
        f"  ({d2d['with_itinerary']}/{d2d['n']} door-to-door queries found an itinerary, "
        f"{d2d['with_transit_option']} with a transit option)"
    )
    print(
        f"\n{'peer (same transfer model as ours)':<40}{'peer p50 ms':>12}{'ours p50 ms':>12}{'ratio':>8}{'agree':>10}"
    )
    nxr = report["networkx_time_expanded"]
    print(
        f"{'networkx time-expanded Dijkstra':<40}{nxr['p50_ms']:>12.1f}{nxr['ours_p50_ms']:>12.3f}"
        f"{nxr['speedup_p50']:>8.0f}{nxr['arrivals_agree']:>6}/{nxr['n']}"
    )
    if "pyraptor" in report and "error" not in report["pyraptor"]:
        pr = report["pyraptor"]
        print(
            f"{'pyraptor 1.3.10 (pure Python)':<40}{pr['p50_ms']:>12.1f}{pr['ours_p50_ms']:>12.3f}"
            f"{pr['speedup_p50']:>8.0f}{pr['arrivals_agree']:>6}/{pr['n']}"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
