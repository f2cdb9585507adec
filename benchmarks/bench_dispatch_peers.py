"""Our dispatcher beside PyVRP and VROOM on Li & Lim PDPTW instances, judged by our own validator.

    python3 benchmarks/bench_dispatch_peers.py [--time-limit 30] [--instances lc101,lr101,...]

Each solver gets the same instance and time limit (VROOM runs until its own search ends at
exploration level 5; its time is reported). Every peer's routes are turned into our Solution form
(earliest schedule along its visit order) and checked by dispatch.validate with the unscaled
Euclidean distances, so costs are comparable to the best known. Objective everywhere: vehicles
first (a large fixed cost per vehicle), then distance. VROOM has no per-request ride-time limit,
so this comparison is on Li & Lim only. Prints a table and writes benchmarks/results/dispatch_peers.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

from dispatch.bench import best_known
from dispatch.model import Problem, Route, Solution, Stop, Unserved, route_distance
from dispatch.readers import read_li_lim
from dispatch.solver import SolverParams, compile_kernels, solve
from dispatch.validate import validate
from maas.area import resolve_data_dir

HERE = Path(__file__).resolve().parent
DEFAULT = "lc101,lr101,lrc101,lc104,lr104,lrc104,lr201,lrc201,lr204"
SCALE = 100


def fixed_cost(problem: Problem) -> int:
    """Per used vehicle, in scaled units: more than any route's distance, so vehicles come first, yet
    not so large that PyVRP's penalty management breaks down (a flat 10**9 made it return infeasible
    solutions on lr101 and lrc101 with a "penalty parameter has reached its maximum" warning)."""
    return math.ceil(float(problem.distance.max()) * SCALE * (problem.n_nodes + 1))


def schedule(problem: Problem, vehicle_index: int, visits: list[tuple[int, str]]) -> Route:
    """Earliest feasible timing of a visit order [(request index, 'pickup'|'dropoff'), ...]."""
    vehicle = problem.vehicles[vehicle_index]
    t = vehicle.shift.earliest
    stops = [Stop(vehicle.start, "start", None, t, t, t, 0, 0)]
    position, load = vehicle.start, 0
    for k, kind in visits:
        r = problem.requests[k]
        node = r.pickup if kind == "pickup" else r.dropoff
        window = r.pickup_window if kind == "pickup" else r.dropoff_window
        service = r.pickup_service if kind == "pickup" else r.dropoff_service
        arrival = t + float(problem.travel_time[position, node])
        start = max(arrival, window.earliest)
        t = start + service
        load += r.seats if kind == "pickup" else -r.seats
        stops.append(Stop(node, kind, r.id, arrival, start, t, load, 0))
        position = node
    arrival = t + float(problem.travel_time[position, vehicle.end])
    stops.append(Stop(vehicle.end, "end", None, arrival, arrival, arrival, 0, 0))
    return Route(vehicle.id, tuple(stops))


def as_solution(problem: Problem, routes: list[Route], seconds: float) -> Solution:
    served = {s.request for r in routes for s in r.stops if s.request}
    distance = sum(route_distance(problem, r) for r in routes)
    return Solution(
        problem.name,
        tuple(routes),
        tuple(Unserved(q.id, "peer left it out") for q in problem.requests if q.id not in served),
        distance,
        0.0,
        seconds,
        0,
    )


def run_pyvrp(problem: Problem, seconds: float) -> Solution:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    model = pyvrp.Model()
    locations = [model.add_location(x=0, y=0) for _ in range(problem.n_nodes)]
    depot_vehicle = problem.vehicles[0]
    depot = model.add_depot(
        locations[depot_vehicle.start],
        tw_early=int(depot_vehicle.shift.earliest * SCALE),
        tw_late=int(depot_vehicle.shift.latest * SCALE),
    )
    model.add_vehicle_type(
        num_available=len(problem.vehicles),
        capacity=depot_vehicle.seats,
        start_depot=depot,
        end_depot=depot,
        fixed_cost=fixed_cost(problem),
        tw_early=int(depot_vehicle.shift.earliest * SCALE),
        tw_late=int(depot_vehicle.shift.latest * SCALE),
    )
    for r in problem.requests:
        model.add_shipment(
            locations[r.pickup],
            locations[r.dropoff],
            pickup_tw_early=math.ceil(r.pickup_window.earliest * SCALE),
            pickup_tw_late=math.floor(r.pickup_window.latest * SCALE),
            pickup_service_duration=math.ceil(r.pickup_service * SCALE),
            delivery_tw_early=math.ceil(r.dropoff_window.earliest * SCALE),
            delivery_tw_late=math.floor(r.dropoff_window.latest * SCALE),
            delivery_service_duration=math.ceil(r.dropoff_service * SCALE),
            amount=r.seats,
        )
    for i in range(problem.n_nodes):
        for j in range(problem.n_nodes):
            model.add_edge(
                locations[i],
                locations[j],
                distance=round(float(problem.distance[i, j]) * SCALE),
                duration=math.ceil(float(problem.travel_time[i, j]) * SCALE),
            )
    start = time.perf_counter()
    result = model.solve(stop=MaxRuntime(seconds), seed=42, display=False)
    elapsed = time.perf_counter() - start
    routes = []
    for v, route in enumerate(result.best.routes()):
        kinds = {pyvrp.ActivityType.PICKUP: "pickup", pyvrp.ActivityType.DELIVERY: "dropoff"}
        visits = [(a.idx, kinds[a.type]) for a in route.schedule() if a.type in kinds]
        routes.append(schedule(problem, v, visits))
    return as_solution(problem, routes, elapsed)


def run_vroom(problem: Problem) -> Solution:
    import vroom

    instance = vroom.Input()
    durations = [
        [math.ceil(float(problem.travel_time[i, j]) * SCALE) for j in range(problem.n_nodes)]
        for i in range(problem.n_nodes)
    ]
    costs = [
        [round(float(problem.distance[i, j]) * SCALE) for j in range(problem.n_nodes)] for i in range(problem.n_nodes)
    ]
    instance.set_durations_matrix(profile="car", matrix_input=durations)
    instance.set_costs_matrix(profile="car", matrix_input=costs)
    for v, vehicle in enumerate(problem.vehicles):
        instance.add_vehicle(
            vroom.Vehicle(
                v,
                start=vehicle.start,
                end=vehicle.end,
                capacity=[vehicle.seats],
                time_window=vroom.TimeWindow(int(vehicle.shift.earliest * SCALE), int(vehicle.shift.latest * SCALE)),
                costs=vroom.VehicleCosts(fixed=fixed_cost(problem)),
            )
        )
    for k, r in enumerate(problem.requests):
        instance.add_shipment(
            vroom.ShipmentStep(
                2 * k,
                r.pickup,
                default_service=math.ceil(r.pickup_service * SCALE),
                time_windows=[
                    vroom.TimeWindow(
                        math.ceil(r.pickup_window.earliest * SCALE), math.floor(r.pickup_window.latest * SCALE)
                    )
                ],
            ),
            vroom.ShipmentStep(
                2 * k + 1,
                r.dropoff,
                default_service=math.ceil(r.dropoff_service * SCALE),
                time_windows=[
                    vroom.TimeWindow(
                        math.ceil(r.dropoff_window.earliest * SCALE), math.floor(r.dropoff_window.latest * SCALE)
                    )
                ],
            ),
            amount=vroom.Amount([r.seats]),
        )
    start = time.perf_counter()
    result = instance.solve(exploration_level=5, nb_threads=2)
    elapsed = time.perf_counter() - start
    routes = []
    table = result.routes
    for v in sorted(set(table["vehicle_id"])):
        steps = table[(table["vehicle_id"] == v) & (table["type"].isin(["pickup", "delivery"]))]
        ids, types = steps["id"].tolist(), steps["type"].tolist()
        visits = [(int(i) // 2, "pickup" if t == "pickup" else "dropoff") for i, t in zip(ids, types, strict=True)]
        routes.append(schedule(problem, int(v), visits))
    return as_solution(problem, routes, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--instances", default=DEFAULT)
    parser.add_argument("--workers", type=int, default=2, help="our parallel searches (VROOM gets 2 threads too)")
    parser.add_argument("--data-dir")
    parser.add_argument("--out", default=str(HERE / "results" / "dispatch_peers.json"))
    args = parser.parse_args()
    folder = resolve_data_dir(args.data_dir) / "dispatch"
    bks = best_known(folder)
    rows: list[dict[str, Any]] = []
    compile_kernels()  # our numba searches, before any clock starts
    print(f"{'instance':<9}{'solver':<8}{'veh':>4}{'bkv':>4}{'distance':>10}{'best':>10}{'gap %':>7}{'s':>6}  verdict")
    for name in args.instances.split(","):
        problem = read_li_lim(folder / "lilim" / f"{name}.txt")
        known = bks.get(name)
        runs = {
            "ours": lambda p=problem: solve(p, SolverParams(time_limit_s=args.time_limit, workers=args.workers)),
            "pyvrp": lambda p=problem: run_pyvrp(p, args.time_limit),
            "vroom": lambda p=problem: run_vroom(p),
        }
        for solver, run in runs.items():
            try:
                solution = run()
            except Exception as exc:  # a peer failing is a result too; keep going
                print(f"{name:<9}{solver:<8} failed: {exc}")
                rows.append({"instance": name, "solver": solver, "error": str(exc)})
                continue
            report = validate(problem, solution)
            gap = 100 * (report.distance - known[0]) / known[0] if known else float("nan")
            row = {
                "instance": name,
                "solver": solver,
                "vehicles": report.vehicles_used,
                "best_known_vehicles": known[1] if known else None,
                "distance": round(report.distance, 2),
                "best_known": known[0] if known else None,
                "gap_pct": round(gap, 2),
                "unserved": len(solution.unserved),
                "seconds": round(solution.solver_seconds, 1),
                "verdict": report.summary(),
            }
            rows.append(row)
            print(
                f"{name:<9}{solver:<8}{row['vehicles']:>4}{row['best_known_vehicles'] or '':>4}"
                f"{row['distance']:>10.2f}{row['best_known'] or 0:>10.2f}{gap:>7.2f}{row['seconds']:>6.1f}  "
                f"{row['verdict']}" + (f", {row['unserved']} unserved" if row["unserved"] else ""),
                flush=True,
            )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    print(f"written {out}")


if __name__ == "__main__":
    main()
