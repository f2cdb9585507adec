"""The shuttle's gain for its zones' residents as demand grows (same fleet, seeded days, no re-optimisation).

    python3 benchmarks/bench_shuttle_gain.py [--area helsinki] [--requests 100,300,600,1000] [--seed 1]
        [--population FILE] [--opportunities FILE --column jobs]

For each demand level: simulate a day with the area's fleet (``maas shuttle-gain`` does the same
for one level), measure its service level, and compute the door-to-hub gain of every population
cell of the zones. Writes benchmarks/results/shuttle-gain-<area>-by-demand.csv and .json.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
from pathlib import Path

from dispatch.access_gain import GainSettings, ServiceLevel, shuttle_gain
from dispatch.day import DayConfig, shuttle_network, temporary_day
from dispatch.online import OnlineParams
from maas.area import load_area
from planner.area_data import load_area_data
from planner.points import read_opportunities
from planner.router import Planner

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--area", default="helsinki")
    parser.add_argument("--requests", default="100,300,600,1000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--population")
    parser.add_argument("--opportunities")
    parser.add_argument("--column")
    args = parser.parse_args()
    area = load_area(args.area)
    assert area.shuttle is not None
    data = load_area_data(area)
    planner = Planner(data)
    network = shuttle_network(data)
    cells = read_opportunities(args.population or area.population_file, "population")
    places = read_opportunities(args.opportunities, args.column) if args.opportunities else None
    depart = dt.datetime.combine(data.timetable.service_date, dt.time(8, 0))
    start_s, end_s = area.shuttle.hours_s
    rows = []
    for requests in (int(r) for r in args.requests.split(",")):
        config = DayConfig(
            fleet=area.shuttle.fleet.size,
            requests=requests,
            hours=(start_s / 3600, end_s / 3600),
            seed=args.seed,
            params=OnlineParams(reoptimise=False),
        )
        with temporary_day(data, network, config) as store:
            level = ServiceLevel.of_day(store, network, f"{requests} requests")
        gain = shuttle_gain(planner, network, area.shuttle, cells, level, GainSettings(depart), places)
        row = {
            "requests": requests,
            "shuttles": config.fleet,
            "served_pct": round(100 * level.served_share, 1),
            "pickup_after_window_opens_min": round(level.wait_min, 2),
            "detour_factor": round(level.detour_factor, 2),
            "residents": round(gain.residents),
            "minutes_per_trip": round(gain.minutes_per_trip, 2),
            "hours_per_resident_per_year": round(gain.hours_per_resident_per_year, 1),
        }
        if places is not None:
            for k, cutoff in enumerate(gain.settings.cutoffs_min):
                row[f"{args.column}_added_c{cutoff:g}"] = round(gain.extra_opportunities(k))
        rows.append(row)
        print(row, flush=True)
    out = HERE / "results" / f"shuttle-gain-{area.name}-by-demand"
    with out.with_suffix(".csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary = {"area": area.name, "seed": args.seed, "depart": depart.isoformat(), "rows": rows}
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"written {out.with_suffix('.csv')} and .json")


if __name__ == "__main__":
    main()
