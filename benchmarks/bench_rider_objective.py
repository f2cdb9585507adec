"""The dispatcher's objective against riders' time at home: a sweep of the rider-time weight.

    python3 benchmarks/bench_rider_objective.py [--weights 0,1,3] [--early-weights 0,0.5]
                                                [--leave-later off,on] [--choice-margins off,0,2]
                                                [--fleet 6]
                                                [--requests 1000] [--seeds 1] [--no-reoptimise]
                                                [--out benchmarks/results/rider-objective]

Every combination of ``--weights`` (seconds of driving a second of riders' time, riding or waiting
off a train, is worth when a booking is placed and a re-optimised plan is judged), ``--early-weights``
(the same for each second a rider bound for a train is picked up at home before the latest pickup that
makes it), ``--leave-later``, ``--choice-margins`` (riders choose: an offer is booked only when it
gains the rider at least that many minutes at home over walking and transit; ``off``: every rider
takes what is offered, and the served share is then of all requests) and ``--fleet`` runs the same
seeded Helsinki day (``--requests`` riders, service hours 07-19). Each request's best walk-and-transit
option is planned once per seed (it does not depend on the dispatch); every carried rider's time at
home gained is measured against it. Prints a table (served share, vehicle-km, wait, ride, time gained
per rider, share of riders gaining, hours gained per day) and writes JSON, CSV and a PNG of served
share, vehicle-km and time gained against the weight.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from dispatch.alternatives import Alternative, request_alternatives, rider_gains
from dispatch.day import DayConfig, open_day, shuttle_network
from dispatch.demand import generate_demand
from dispatch.kpi import compute_kpis
from dispatch.online import OnlineParams
from maas.area import load_area
from maas_apps.batch_commands import numbers_arg, seeds_arg
from planner.area_data import load_area_data
from planner.router import Planner

HERE = Path(__file__).parent
HOURS = (7.0, 19.0)


def run_day(
    data: Any,
    network: Any,
    args: argparse.Namespace,
    fleet: int,
    seed: int,
    params: OnlineParams,
    alternatives: dict[str, Alternative],
) -> Any:
    """One seeded day; the open store (the caller closes it) and its wall time."""
    config = DayConfig(fleet, args.requests, HOURS, seed, params=params)
    tmp = Path(tempfile.mkdtemp(prefix="rider-objective-"))
    store = open_day(tmp / "day.sqlite", data, network, config, lambda _m: None, alternatives)
    started = time.perf_counter()
    store.run(network, lambda _m: None)
    return store, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--area", default="helsinki")
    parser.add_argument("--data-dir")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--fleet", type=numbers_arg(int, 1, 500, "fleet sizes"), default=(6,), help="e.g. 4,6,8")
    parser.add_argument("--seeds", type=seeds_arg, default=(1,), help="e.g. 1-5")
    parser.add_argument("--weights", type=numbers_arg(float, 0, 100, "weights"), default=(0.0, 1.0, 3.0))
    parser.add_argument("--early-weights", type=numbers_arg(float, 0, 100, "weights"), default=(0.0,))
    parser.add_argument("--leave-later", default="off,on")
    parser.add_argument(
        "--choice-margins",
        default="off",
        help="riders choose: minutes an offer must gain over walking and transit to be booked, e.g. off,0,2",
    )
    parser.add_argument("--no-reoptimise", action="store_true")
    parser.add_argument("--out", default=str(HERE / "results" / "rider-objective"))
    args = parser.parse_args()
    data = load_area_data(load_area(args.area, args.data_dir))
    network = shuttle_network(data)
    planner = Planner(data)
    runs: list[dict[str, Any]] = []
    margins = [None if m == "off" else float(m) for m in args.choice_margins.split(",")]
    for seed in args.seeds:
        # the same requests for every run of this seed, so their alternatives are planned once
        requests = generate_demand(data.area, network, data.timetable, args.requests, seed, HOURS)
        alternatives = request_alternatives(requests, network, planner, data.area.service_date)
        for fleet, weight, early, later, margin in itertools.product(
            args.fleet,
            args.weights,
            args.early_weights,
            args.leave_later.split(","),
            margins,
        ):
            params = OnlineParams(
                reoptimise=not args.no_reoptimise,
                rider_time_weight=weight,
                early_pickup_weight=early,
                leave_later=later == "on",
                choice_margin_s=None if margin is None else margin * 60,
            )
            store, wall = run_day(data, network, args, fleet, seed, params, alternatives)
            kpis = compute_kpis(store, network)
            gain = rider_gains(store, alternatives)
            store.close()
            run = {
                "seed": seed,
                "fleet": fleet,
                "rider_time_weight": weight,
                "early_pickup_weight": early,
                "leave_later": later == "on",
                "choice_margin_min": margin,
                "chose_shuttle_share": kpis.chose_shuttle_share,
                "served_share": kpis.served_share,
                "vehicle_km": kpis.vehicle_km,
                "wait_p50_min": kpis.wait_p50_min,
                "ride_p50_min": kpis.ride_p50_min,
                "detour_factor_mean": kpis.detour_factor_mean,
                "gain_mean_min": gain.mean_min,
                "gain_median_min": gain.median_min,
                "share_gaining": gain.share_gaining,
                "hours_gained_per_day": gain.hours_per_day,
                "energy_kwh": kpis.energy_kwh,
                "charges": kpis.charges,
                "charging_h": kpis.charging_h,
                "battery_low_share": kpis.battery_low_share,
                "decision_p95_ms": kpis.decision_p95_ms,
                "wall_s": wall,
            }
            runs.append(run)
            print(
                f"seed {seed} fleet {fleet} weight {weight:g} early {early:g} leave-later {later} "
                f"choice {'off' if margin is None else f'{margin:g} min'}: "
                f"chose {100 * kpis.chose_shuttle_share:.1f} %, served {100 * kpis.served_share:.1f} %, "
                f"{kpis.vehicle_km:.0f} km, gain {gain.mean_min:+.2f} min, "
                f"{100 * gain.share_gaining:.0f} % gain, {kpis.charges} charges ({wall:.0f} s)",
                flush=True,
            )
    print_table(runs)
    write(runs, args)


def print_table(runs: list[dict[str, Any]]) -> None:
    """The runs as a table, one row each."""
    head = f"{'seed':>4} {'fleet':>5} {'weight':>6} {'early':>5} {'later':>5} {'choice':>6} {'chose':>6} "
    head += f"{'served':>7} {'veh-km':>7} "
    head += f"{'wait50':>6} "
    head += f"{'ride50':>6} {'gain':>6} {'median':>6} {'gaining':>7} {'h/day':>6}"
    print("\n" + head)
    for r in runs:
        print(
            f"{r['seed']:>4} {r['fleet']:>5} {r['rider_time_weight']:>6g} {r['early_pickup_weight']:>5g} "
            f"{'on' if r['leave_later'] else 'off':>5} "
            f"{'off' if r['choice_margin_min'] is None else format(r['choice_margin_min'], 'g'):>6} "
            f"{100 * r['chose_shuttle_share']:>5.1f}% {100 * r['served_share']:>6.1f}% "
            f"{r['vehicle_km']:>7.0f} {r['wait_p50_min']:>6.1f} "
            f"{r['ride_p50_min']:>6.1f} "
            f"{r['gain_mean_min']:>+6.2f} {r['gain_median_min']:>+6.2f} {100 * r['share_gaining']:>6.0f}% "
            f"{r['hours_gained_per_day']:>6.1f}"
        )


def write(runs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """JSON, CSV and a plot of served share, vehicle-km and time gained against the weight."""
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"requests": args.requests, "reoptimise": not args.no_reoptimise, "cpu_count": os.cpu_count()}
    meta["python"] = platform.python_version()
    out.with_suffix(".json").write_text(json.dumps({**meta, "runs": runs}, indent=2))
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(runs[0]))
        writer.writeheader()
        writer.writerows(runs)
    plot(runs, args, out.with_suffix(".png"))
    print(f"written {out.with_suffix('.json')}, .csv and .png")


def plot(runs: list[dict[str, Any]], args: argparse.Namespace, path: Path) -> None:
    """Served share, vehicle-km and time gained, means over seeds, against the rider-time weight (or
    against the fleet size when one weight was run), a line per other setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_weight = len({r["rider_time_weight"] for r in runs}) > 1
    x_key = "rider_time_weight" if by_weight else "fleet"

    def setting(r: dict[str, Any]) -> tuple[Any, ...]:
        fleet = r["fleet"] if by_weight else None
        return (fleet, r["early_pickup_weight"], r["leave_later"], str(r["choice_margin_min"]))

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
    measures = (
        ("served_share", "served share (%)", 100.0),
        ("vehicle_km", "vehicle-km per day", 1.0),
        ("gain_mean_min", "time at home gained per rider (min)", 1.0),
    )
    for ax, (key, label, scale) in zip(axes, measures, strict=True):
        for (fleet, early, later, choice), group in itertools.groupby(
            sorted(runs, key=lambda r: (*map(str, setting(r)), r[x_key])), key=setting
        ):
            rows = list(group)
            xs = sorted({r[x_key] for r in rows})
            means = [float(np.mean([r[key] for r in rows if r[x_key] == x])) * scale for x in xs]
            name = f"{fleet} shuttles, " if fleet is not None else ""
            name += f"early-pickup weight {early:g}, leave-later {'on' if later else 'off'}"
            name += ", every rider takes the offer" if choice == "None" else f", riders choose ({choice} min)"
            ax.plot(xs, means, marker="o", label=name)
        ax.set_xlabel("rider-time weight (s of driving per s of riders' time)" if by_weight else "shuttles")
        if not by_weight:
            ax.set_xticks(sorted({r["fleet"] for r in runs}))
        ax.set_title(label)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=2, frameon=False)
    axes[2].axhline(0, color="grey", linewidth=0.8)
    what = "the dispatch objective's rider-time weight" if by_weight else "fleet size, means over seeds"
    fig.suptitle(f"Helsinki, {args.requests} requests a day: {what}")
    fig.tight_layout(rect=(0, 0.04 + 0.03 * ((len(labels) + 1) // 2), 1, 1))
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
