"""A real dispatch batch at city scale: ``maas dispatch`` on a day of generated Helsinki riders.

    python3 benchmarks/bench_dispatch_batch.py [--requests 1000] [--fleet 20] [--time-limit 60] [--seed 7]

The riders are the shuttle service's seeded demand (homes in the Jätkäsaari and Hernesaari zones,
timed to real metro departures and arrivals at Ruoholahti), written as the CSV files a user gives
``maas dispatch``; the whole command is timed (reading, matrices, search, validation). Prints a table
and writes benchmarks/results/dispatch-batch.json and .csv. Target (issue 16): >= 98 % served,
valid, whole command <= 90 s with a 60 s limit.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write_batch(folder: Path, requests: int, fleet: int, seed: int) -> tuple[Path, Path]:
    from dispatch.day import shuttle_network
    from dispatch.demand import generate_demand
    from dispatch.realworld import write_requests_csv
    from maas.area import load_area
    from planner.area_data import load_area_data

    data = load_area_data(load_area("helsinki"))
    net = shuttle_network(data)
    riders = generate_demand(data.area, net, data.timetable, requests, seed=seed)

    req = folder / "requests.csv"
    write_requests_csv(riders, net, req)
    vehicles = folder / "fleet.csv"
    lines = ["id,depot_lat,depot_lon,seats,wheelchair_places"]
    lines += [f"shuttle-{k + 1:02d},60.1560,24.9215,8,1" for k in range(fleet)]
    vehicles.write_text("\n".join(lines) + "\n")
    return req, vehicles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--fleet", type=int, default=20)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(HERE / "results" / "dispatch-batch"))
    args = parser.parse_args()
    from maas_apps.cli import main as maas

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        requests, fleet = write_batch(folder, args.requests, args.fleet, args.seed)
        plan = folder / "plan.json"
        started = time.perf_counter()
        argv = ["dispatch", "--requests", str(requests), "--fleet", str(fleet)]
        code = maas([*argv, "--time-limit", str(args.time_limit), "--out", str(plan)])
        wall = time.perf_counter() - started
        result = json.loads(plan.read_text())
    row = {
        "requests": args.requests,
        "fleet": args.fleet,
        "time_limit_s": args.time_limit,
        "seed": args.seed,
        "served": result["served"],
        "served_share": result["served"] / args.requests,
        "vehicles_used": len(result["routes"]),
        "distance_km": result["distance_km"],
        "validator": result["validator"],
        "whole_command_s": round(wall, 1),
        "exit_status": code,
    }
    print(f"\n{'measure':<18}value")
    for key, value in row.items():
        print(f"{key:<18}{value}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(row, indent=1))
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    print(f"written {out.with_suffix('.json')} and .csv")


if __name__ == "__main__":
    main()
