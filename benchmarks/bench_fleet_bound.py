"""The fewest-routes bound (dispatch.fleet_bound) beside the best-known fleets of the Li & Lim sets.

Where the bound equals the best-known fleet, the ejection pool stops there (dispatch.route_min) and the
time goes to shortening routes. A bound above a best-known fleet would be a bug: the script stops.

    python benchmarks/bench_fleet_bound.py --sets lilim-100,lilim-200,lilim-400 \
        --csv benchmarks/results/fleet-bound-lilim.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
COLUMNS = ("set", "instance", "bound", "best_known_vehicles", "milliseconds")


def _data_dir() -> Path:
    return Path(os.environ.get("MAAS_DATA_DIR", ROOT.parent.parent / "shared" / "data")) / "dispatch"


def main(argv: list[str] | None = None) -> int:
    from dispatch.bench import best_known, instance_files
    from dispatch.fleet_bound import fewest_routes_bound
    from dispatch.pdp_arrays import compile_problem
    from dispatch.readers import read_li_lim

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="lilim-200", help="comma-separated Li & Lim sets")
    parser.add_argument("--csv", type=Path, required=True)
    args = parser.parse_args(argv)
    data = _data_dir()
    known = best_known(data)
    rows = []
    for name in args.sets.split(","):
        for path in instance_files(data, name):
            problem = read_li_lim(path)
            compiled = compile_problem(problem, 100)
            fleet = known[path.stem][1] if path.stem in known else None
            started = time.perf_counter()
            bound = 1 if compiled is None or fleet is None else fewest_routes_bound(compiled, fleet)
            elapsed = (time.perf_counter() - started) * 1000
            if fleet is not None and bound > fleet:
                sys.exit(f"{path.stem}: bound {bound} above the best-known fleet {fleet}: check dispatch.fleet_bound")
            rows.append((name, path.stem, bound, fleet, round(elapsed, 1)))
    print(f"{'set':10s} {'bound = best known':>18s} {'instances':>9s} {'ms (max)':>8s}")
    for name in args.sets.split(","):
        mine = [r for r in rows if r[0] == name]
        tight = sum(r[2] == r[3] for r in mine)
        print(f"{name:10s} {tight:18d} {len(mine):9d} {max(r[4] for r in mine):8.0f}")
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
