"""A real dispatch batch at city scale: ``maas dispatch`` on a day of Helsinki riders.

    python3 benchmarks/bench_dispatch_batch.py [--requests 1000] [--fleet 20] [--time-limit 60] [--seed 7]
    python3 benchmarks/bench_dispatch_batch.py --planted [--requests 1000] [--fleet 20] [--seed 1]

Without ``--planted`` the riders are the shuttle service's seeded demand (homes in the Jätkäsaari and
Hernesaari zones, timed to real metro departures and arrivals at Ruoholahti) and the fleet is
``--fleet`` 8-seat shuttles at the depot. With ``--planted`` they are a planted batch
(``dispatch.planted_batch``): a plan of ``--fleet`` shuttles of mixed seats, depots and shifts serves
every rider on the shuttle zones' streets, with 10-15 minute windows and ride limits of 1.5 x direct;
that plan is checked against the problem as the command reads it, by the independent validator.
Either is written as the CSV files a user gives ``maas dispatch``, and the whole command is timed in a
fresh process (reading, matrices, search, validation). Prints a table and writes
benchmarks/results/dispatch-batch[-planted].json and .csv. Target (issue 16): >= 98 % served, valid,
whole command <= 90 s with a 60 s limit.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


DAY_START_MIN = 7 * 60  # the planted batch's time 0 is 07:00


def write_planted(folder: Path, requests: int, fleet: int, seed: int) -> tuple[Path, Path, dict[str, Any]]:
    """A planted batch on the shuttle zones' streets, its files, and its plan's figures (checked valid
    against the problem ``maas dispatch`` reads from those files)."""
    from dispatch.day import shuttle_network
    from dispatch.planted import PlantedSpec
    from dispatch.planted_batch import plan_as_read, planted_batch, write_planted_batch, zone_nodes
    from dispatch.realworld import read_realworld
    from dispatch.validate import validate
    from maas.area import load_area
    from planner.area_data import load_area_data

    data = load_area_data(load_area("helsinki"))
    net = shuttle_network(data)
    spec = PlantedSpec(requests, fleet, seed=seed, service_min=1.0, onboard_share=0.0, first_shift_h=2.0, nearby=6)
    planted = planted_batch(net, spec, zone_nodes(net, data.area), f"helsinki-planted-{requests}x{fleet}")
    req, vehicles = write_planted_batch(planted, net, folder, DAY_START_MIN)
    read = read_realworld(req, vehicles, data)
    report = validate(read, plan_as_read(planted, read, DAY_START_MIN))
    if not report.ok or report.served != requests:
        raise SystemExit(f"the planted plan is not valid as read: {report.violations[:5]}")
    plan = {"planted_vehicles": len(planted.plan.routes), "planted_distance_km": round(planted.plan.distance, 3)}
    return req, vehicles, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--fleet", type=int, default=20)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=None, help="default 7 (service demand), 1 (planted)")
    parser.add_argument("--planted", action="store_true", help="a planted batch that a known plan serves")
    parser.add_argument("--out", default=None, help="default benchmarks/results/dispatch-batch[-planted]")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else (1 if args.planted else 7)
    default_out = "dispatch-batch-planted" if args.planted else "dispatch-batch"
    planted: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.planted:
            requests, fleet, planted = write_planted(folder, args.requests, args.fleet, seed)
        else:
            requests, fleet = write_batch(folder, args.requests, args.fleet, seed)
        plan = folder / "plan.json"
        argv = [sys.executable, "-m", "maas_apps", "dispatch", "--requests", str(requests), "--fleet", str(fleet)]
        started = time.perf_counter()
        code = subprocess.run([*argv, "--time-limit", str(args.time_limit), "--out", str(plan)]).returncode
        wall = time.perf_counter() - started
        if not plan.exists():
            raise SystemExit(f"maas dispatch ended with exit status {code} and wrote no plan (its message is above)")
        result = json.loads(plan.read_text())
    row = {
        "batch": "planted" if args.planted else "service demand",
        "requests": args.requests,
        "fleet": args.fleet,
        "time_limit_s": args.time_limit,
        "seed": seed,
        **planted,
        "served": result["served"],
        "served_share": result["served"] / args.requests,
        "vehicles_used": len(result["routes"]),
        "distance_km": result["distance_km"],
        "validator": result["validator"],
        "whole_command_s": round(wall, 1),
        "exit_status": code,
    }
    print(f"\n{'measure':<22}value")
    for key, value in row.items():
        print(f"{key:<22}{value}")
    out = Path(args.out or HERE / "results" / default_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(row, indent=1))
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    print(f"written {out.with_suffix('.json')} and .csv")


if __name__ == "__main__":
    main()
