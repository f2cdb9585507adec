"""``maas matrix``, ``maas accessibility`` and ``maas sweep``: batch jobs, on every core or a cluster.

They run on a local Dask cluster (one worker process per core) when the job is large enough to
pay for starting it, in this process otherwise; ``--workers N`` (0: this process) and
``--scheduler tcp://host:8786`` choose explicitly. The results are the same wherever they run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maas.cluster import ClusterSettings
from maas.errors import MaasError
from maas_apps.cli_args import (
    add_area_arguments,
    area_data_from_args,
    datetime_arg,
    hours_arg,
    number_arg,
    planner_from_args,
)

if TYPE_CHECKING:
    from planner.matrix import MatrixSettings
    from planner.planner_spec import PlannerSpec

__all__ = [
    "SMALL_JOB_PAIRS",
    "add_batch_commands",
    "cmd_accessibility",
    "cmd_matrix",
    "cmd_sweep",
    "numbers_arg",
    "seeds_arg",
]

# Below this many origin-destination pairs a matrix runs in this process: starting worker processes
# costs about a second, more than a second core saves on a smaller job
# (benchmarks/results/matrix-helsinki-1000.json: 1,000 x 1,000 is already faster on two workers).
SMALL_JOB_PAIRS = 1_000_000


def numbers_arg(kind: type, low: float, high: float, what: str) -> Callable[[str], tuple[float, ...]]:
    """An argparse type: a comma-separated list of ``kind`` values in [low, high], without repeats."""
    one = number_arg(kind, low, high, what)

    def parse(text: str) -> tuple[float, ...]:
        values = tuple(one(part.strip()) for part in text.split(",") if part.strip())
        if not values:
            raise argparse.ArgumentTypeError(f"expected one or more of {what}, comma-separated, got {text!r}")
        if len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"a value repeats in {text!r}")
        return values

    return parse


def origin_progress(label: str = "origins") -> Callable[[int, int], None]:
    """A progress bar on a terminal, a line per tenth of the work in a log."""
    interactive = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if interactive:
            bar = "#" * (30 * done // total)
            end = "" if done < total else "\n"
            print(f"\r  {label} [{bar:<30}] {done}/{total}", end=end, file=sys.stderr, flush=True)
        elif done == total or done * 10 // total != (done - 1) * 10 // total:
            print(f"  {label} {done}/{total}", file=sys.stderr, flush=True)

    return progress


def _log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def cluster_settings(args: argparse.Namespace, small: bool) -> ClusterSettings:
    """The engine the flags ask for; without flags, this process for a ``small`` job, else every core."""
    if args.scheduler:
        return ClusterSettings(scheduler=args.scheduler)
    if args.workers is not None:
        return ClusterSettings(workers=args.workers)
    return ClusterSettings(workers=0 if small else None)


def _spec(args: argparse.Namespace) -> PlannerSpec:
    """The planner the flags describe, loaded here (building the cache if needed) for workers to reuse."""
    from planner.planner_spec import PlannerSpec
    from planner.r5_compare import r5_params

    if args.r5_settings:
        args.params = None
    planner = planner_from_args(args)
    if args.r5_settings:
        planner.params = r5_params()
    spec = PlannerSpec.of(planner)
    spec.remember(planner)
    return spec


def _matrix_settings(args: argparse.Namespace) -> MatrixSettings:
    from planner.matrix import MatrixSettings

    return MatrixSettings(window_min=args.window, percentiles=tuple(float(p) for p in args.percentile))


def _modes(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(m.strip() for m in args.modes.split(",") if m.strip())


def _report_unsnapped(out: Path, unsnapped: Sequence[tuple[str, str, str]]) -> None:
    from planner.matrix import write_unsnapped_csv

    if unsnapped:
        side = out.with_suffix(".unreachable.csv")
        write_unsnapped_csv(side, unsnapped)
        count = len({point for _, point, _ in unsnapped})
        print(f"{count} point(s) are not near a street and are unreachable; listed in {side}")


def cmd_matrix(args: argparse.Namespace) -> int:
    """``maas matrix``: a travel-time matrix streamed to CSV or Parquet (unreachable points listed beside it)."""
    from maas.cluster import open_engine
    from planner.matrix_run import write_matrix
    from planner.points import read_points

    started = time.perf_counter()
    settings = _matrix_settings(args)
    origins = read_points(args.origins)
    destinations = read_points(args.destinations) if args.destinations else None
    spec = _spec(args)
    pairs = len(origins) * len(destinations if destinations is not None else origins)
    with open_engine(cluster_settings(args, pairs < SMALL_JOB_PAIRS), log=_log) as engine:
        run = write_matrix(
            engine, spec, origins, destinations, args.depart, args.out, _modes(args), settings, origin_progress(), _log
        )
    print(f"wrote {args.out}: {run.pairs} pairs ({run.reachable} reachable) in {time.perf_counter() - started:.1f} s")
    _report_unsnapped(Path(args.out), run.unsnapped)
    return 0


def cmd_accessibility(args: argparse.Namespace) -> int:
    """``maas accessibility``: opportunities reachable from each origin within the cutoffs."""
    import numpy as np

    from maas.cluster import open_engine
    from maas_apps.accessibility_output import draw_accessibility_map, write_accessibility
    from planner.accessibility import AccessibilitySettings
    from planner.matrix_run import matrix_accessibility
    from planner.points import read_opportunities, read_points

    started = time.perf_counter()
    settings = _matrix_settings(args)
    access = AccessibilitySettings(
        cutoffs_min=tuple(args.cutoffs), decay=args.decay, decay_width_min=float(args.decay_width)
    )
    found = read_opportunities(args.opportunities, args.column)
    if found.blank:
        print(f"  {len(found.blank)} place(s) have no {args.column} value; counted as 0", file=sys.stderr)
    places, weights = list(found.points), np.asarray(found.values)
    origins = read_points(args.origins) if args.origins else places
    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".gpkg"):
        raise MaasError(f"--out must end in .csv or .gpkg, got {args.out}")
    spec = _spec(args)
    with open_engine(cluster_settings(args, len(origins) * len(places) < SMALL_JOB_PAIRS), log=_log) as engine:
        values, run = matrix_accessibility(
            engine,
            spec,
            origins,
            places,
            weights,
            args.depart,
            _modes(args),
            settings,
            access,
            origin_progress(),
            _log,
        )
    write_accessibility(out, origins, values, settings.percentiles, access.cutoffs_min, args.column)
    picture = Path(args.map) if args.map else out.with_suffix(".png")
    total = found.total
    draw_accessibility_map(picture, origins, values, settings.percentiles, access, args.column, total)
    print(
        f"wrote {out} and {picture}: {args.column} reachable from {run.origins} origins "
        f"({len(places)} places, {total:g} in all) in {time.perf_counter() - started:.1f} s"
    )
    _report_unsnapped(out, run.unsnapped)
    return 0


def seeds_arg(text: str) -> tuple[int, ...]:
    """An argparse type: seeds as ``1-5`` or ``1,2,7``."""
    try:
        if "-" in text:
            first, last = (int(x) for x in text.split("-"))
            values = tuple(range(first, last + 1))
        else:
            values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be FIRST-LAST or a comma list, e.g. 1-5; got {text!r}") from None
    if not values or len(values) > 1000 or min(values) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be 1 to 1000 values of at least 0, got {text!r}")
    return values


def cmd_sweep(args: argparse.Namespace) -> int:
    """``maas sweep``: shuttle days over fleet sizes, demand levels and seeds, resumable, with KPI plots."""
    from dispatch.online import OnlineParams, objective_settings
    from dispatch.sweep import SweepSettings, SweepStore, keep_inputs, run_sweep, sweep_days
    from maas.area import load_area
    from maas.cluster import open_engine
    from maas_apps.sweep_output import draw_sweep, smallest_fleet, sweep_tables

    started = time.perf_counter()
    area = load_area(args.area, args.data_dir)
    if area.shuttle is None:
        raise MaasError(f"area {area.name} defines no [shuttle] service to size")
    days = sweep_days(args.fleet, args.requests, args.seeds)
    params = OnlineParams(
        reoptimise=not args.no_reoptimise,
        reoptimise_solution_limit=args.reoptimise_budget,
        **objective_settings(area.shuttle.objective),
    )
    settings = SweepSettings(area, args.cache_dir, args.hours, args.seats, params)
    out = Path(args.out)
    keep_inputs(settings, area_data_from_args(args))  # caches built here, once, before workers start
    store = SweepStore(out / "sweep.sqlite", settings)
    try:
        keys = {d.key for d in days}
        waiting = len(keys - store.done())
        if waiting < len(days):
            print(f"  {len(days) - waiting} of {len(days)} days already done in {store.path}", file=sys.stderr)
        with open_engine(cluster_settings(args, waiting <= 1), log=_log) as engine:
            ran = run_sweep(engine, settings, days, store, origin_progress("days"))
        asked = {(d.fleet, d.requests, d.seed) for d in days}
        rows = [r for r in store.rows() if (r["fleet"], r["requests"], r["seed"]) in asked]
    finally:
        store.close()
    table, summary = sweep_tables(rows)
    table.to_csv(out / "days.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    hours = f"{args.hours[0]:g}-{args.hours[1]:g} h"
    title = f"{area.title or area.name}: shuttle fleet sizing ({len(args.seeds)} seed(s) per point, {hours})"
    draw_sweep(summary, out / "kpis.png", title)
    seconds = time.perf_counter() - started
    print(f"ran {ran} day(s) in {seconds:.1f} s; wrote {out / 'days.csv'}, summary.csv and kpis.png")
    for requests in sorted(set(args.requests)):
        fleet = smallest_fleet(summary, requests)
        answer = f"{fleet} shuttles" if fleet is not None else f"more than {max(args.fleet)} shuttles"
        print(f"95 % of riders served at {requests} requests a day: {answer}")
    return 0


def _engine_arguments(parser: argparse.ArgumentParser, small_job: str) -> None:
    """--workers and --scheduler: where the job's tasks run."""
    parser.add_argument(
        "--workers",
        type=number_arg(int, 0, 256, "a number of worker processes"),
        help=f"local Dask worker processes (0: this process; default: one per core, {small_job})",
    )
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")


def _batch_arguments(parser: argparse.ArgumentParser) -> None:
    """Departure, window, percentiles, modes, router settings and where the work runs."""
    parser.add_argument("--depart", type=datetime_arg, required=True, metavar="YYYY-MM-DDTHH:MM")
    parser.add_argument(
        "--window", type=number_arg(int, 1, 240, "minutes"), default=10, help="departure window in minutes"
    )
    parser.add_argument(
        "--percentile",
        "--percentiles",
        type=numbers_arg(float, 1, 100, "percentiles"),
        default=(50.0,),
        help="percentile(s) of travel time over the window, e.g. 50 or 25,50,75 (default 50)",
    )
    parser.add_argument("--modes", default="transit", help="transit, walk, bike or car")
    parser.add_argument("--params", help="router settings TOML")
    parser.add_argument(
        "--r5-settings",
        action="store_true",
        help="use R5's defaults (walk 3.6 km/h, bike 12 km/h, 60 s boarding wait, no transfer slack)",
    )
    _engine_arguments(parser, f"this process below {SMALL_JOB_PAIRS:,} origin-destination pairs")


def add_batch_commands(sub: Any) -> None:
    """matrix, accessibility and sweep."""
    from planner.accessibility import DECAYS

    matrix = sub.add_parser("matrix", help="travel-time matrix (from_id,to_id,travel_time in minutes, as r5py)")
    add_area_arguments(matrix)
    matrix.add_argument("--origins", required=True, help="GeoJSON, GeoPackage or CSV (id,lat,lon) points")
    matrix.add_argument("--destinations", help="default: the origins")
    _batch_arguments(matrix)
    matrix.add_argument("--out", required=True, help="file to write: .csv, or .parquet for Parquet")
    matrix.set_defaults(func=cmd_matrix)

    access = sub.add_parser("accessibility", help="opportunities reachable within travel-time cutoffs (as r5py)")
    add_area_arguments(access)
    access.add_argument(
        "--opportunities", required=True, help="points with a column of opportunities (CSV id,lat,lon,... or GIS)"
    )
    access.add_argument("--column", required=True, help="the opportunity column, e.g. jobs or population")
    access.add_argument("--origins", help="default: the opportunity points")
    access.add_argument(
        "--cutoffs",
        type=numbers_arg(int, 1, 240, "minutes"),
        default=(15, 30, 45, 60),
        help="minutes, e.g. 15,30,45,60",
    )
    access.add_argument("--decay", choices=DECAYS, default="step", help="decay function, as R5 defines them")
    access.add_argument(
        "--decay-width",
        type=number_arg(float, 0.1, 240, "minutes"),
        default=10.0,
        help="linear: ramp width; logistic: standard deviation (minutes)",
    )
    _batch_arguments(access)
    access.add_argument("--out", required=True, help="file to write: .csv (long table) or .gpkg (points)")
    access.add_argument("--map", help="PNG map to draw (default: the --out name with .png)")
    access.set_defaults(func=cmd_accessibility)

    sweep = sub.add_parser("sweep", help="shuttle days over fleet sizes x demand x seeds (resumable), KPI plots")
    add_area_arguments(sweep)
    sweep.add_argument("--fleet", type=numbers_arg(int, 1, 500, "fleet sizes"), required=True, help="e.g. 2,4,6,8,10")
    sweep.add_argument(
        "--requests", type=numbers_arg(int, 1, 100_000, "requests a day"), required=True, help="e.g. 500,1000,2000"
    )
    sweep.add_argument("--seeds", type=seeds_arg, default=(1,), help="e.g. 1-5 (default 1)")
    sweep.add_argument("--hours", type=hours_arg, default=(7.0, 19.0), help="service hours, START-END (default 7-19)")
    sweep.add_argument("--seats", type=number_arg(int, 1, 100, "a number of seats"), help="default: the area's")
    sweep.add_argument("--no-reoptimise", action="store_true", help="online insertion only")
    sweep.add_argument(
        "--reoptimise-budget",
        type=number_arg(int, 1, 1_000_000, "a number of solutions"),
        default=60,
        help="solutions per re-optimisation (a work budget: same figures on any machine)",
    )
    _engine_arguments(sweep, "this process for a single day")
    sweep.add_argument("--out", required=True, help="folder for sweep.sqlite, days.csv, summary.csv and kpis.png")
    sweep.set_defaults(func=cmd_sweep)
