"""``maas shuttle-gain``: what the shuttle adds to the accessibility of the residents of its zones."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from maas.errors import MaasError
from maas_apps.cli_args import (
    add_area_arguments,
    area_data_from_args,
    datetime_arg,
    number_arg,
    planner_from_args,
)

__all__ = ["add_gain_command", "cmd_shuttle_gain", "service_level"]


def service_level(args: argparse.Namespace, data: Any, network: Any) -> Any:
    """The service level of the day in ``--db``, or of a day simulated now with the area's fleet."""
    from dispatch.access_gain import ServiceLevel
    from dispatch.day import DayConfig, temporary_day
    from dispatch.online import OnlineParams, objective_settings
    from dispatch.service import ServiceStore

    if args.db:
        if not Path(args.db).is_file():
            raise MaasError(f"{args.db} does not exist (make a day with 'maas simulate --db {args.db}')")
        store = ServiceStore(Path(args.db))
        try:
            if not store.is_initialised():
                raise MaasError(f"{args.db} holds no service day")
            return ServiceLevel.of_day(store, network, f"the day in {args.db}")
        finally:
            store.close()
    service = data.area.shuttle
    start_s, end_s = service.hours_s
    hours = (start_s / 3600, end_s / 3600)
    # insertion only: a day in seconds, and a conservative service level (re-optimising serves more)
    config = DayConfig(
        fleet=service.fleet.size,
        requests=args.requests,
        hours=hours,
        seed=args.seed,
        params=OnlineParams(reoptimise=False, **objective_settings(service.objective)),
    )
    source = (
        f"a simulated day ({args.requests} requests, {config.fleet} shuttles, seed {args.seed}, no re-optimisation)"
    )
    print(f"  simulating the shuttle day: {source}", file=sys.stderr)
    with temporary_day(data, network, config) as store:
        return ServiceLevel.of_day(store, network, source)


def cmd_shuttle_gain(args: argparse.Namespace) -> int:
    """``maas shuttle-gain``: minutes to the hub and opportunities gained per cell, a map and the headline."""
    from dispatch.access_gain import GainSettings, shuttle_gain
    from dispatch.day import shuttle_network
    from maas_apps.gain_output import draw_gain_map, gain_headline, write_gain_csv
    from planner.points import read_opportunities

    started = time.perf_counter()
    data = area_data_from_args(args)
    service = data.area.shuttle
    if service is None:
        raise MaasError(f"area {data.area.name} defines no [shuttle] service")
    cells_file = Path(args.population) if args.population else data.area.population_file
    if cells_file is None:
        raise MaasError(
            f"area {data.area.name} names no population file: give --population FILE (points or cells "
            "with a population column)"
        )
    if args.opportunities and not args.column:
        raise MaasError("--opportunities needs --column (the opportunity column, e.g. jobs)")
    population = read_opportunities(cells_file, args.population_column)
    opportunities = read_opportunities(args.opportunities, args.column) if args.opportunities else None
    planner = planner_from_args(args)
    network = shuttle_network(data)
    level = service_level(args, data, network)
    depart = args.depart or dt.datetime.combine(data.timetable.service_date, dt.time(8, 0))
    settings = GainSettings(
        depart, tuple(float(c) for c in args.cutoffs), args.trips_per_day, args.days_per_year, args.window
    )
    gain = shuttle_gain(planner, network, service, population, level, settings, opportunities)
    out = Path(args.out)
    write_gain_csv(gain, out)
    tt = data.timetable
    hubs = [
        (float(tt.stop_lon[tt.stop_index(s)]), float(tt.stop_lat[tt.stop_index(s)]))
        for zone in service.zones
        for s in zone.hub_stop_ids
    ]
    picture = Path(args.map) if args.map else out.with_suffix(".png")
    draw_gain_map(gain, service, hubs, picture)
    print(gain_headline(gain))
    print(f"wrote {out} and {picture} in {time.perf_counter() - started:.1f} s")
    return 0


def add_gain_command(sub: Any) -> None:
    """shuttle-gain."""
    gain = sub.add_parser(
        "shuttle-gain", help="minutes and opportunities the shuttle gives the residents of its zones (map, CSV)"
    )
    add_area_arguments(gain)
    gain.add_argument("--db", help="a service day (maas simulate --db) whose service level to use")
    gain.add_argument(
        "--requests",
        type=number_arg(int, 1, 100_000, "requests"),
        default=1000,
        help="without --db: requests of the day simulated (default 1000)",
    )
    gain.add_argument("--seed", type=number_arg(int, 0, 10**9, "a seed"), default=1)
    gain.add_argument("--population", help="cells with residents (default: the area's population file)")
    gain.add_argument("--population-column", default="population")
    gain.add_argument("--opportunities", help="places with opportunities, to count what the shuttle brings in reach")
    gain.add_argument("--column", help="the opportunity column, e.g. jobs")
    gain.add_argument(
        "--depart",
        type=datetime_arg,
        metavar="YYYY-MM-DDTHH:MM",
        help="when residents leave (default: the service date at 08:00)",
    )
    gain.add_argument("--window", type=number_arg(int, 1, 240, "minutes"), default=10)
    gain.add_argument(
        "--cutoffs", type=lambda t: tuple(int(x) for x in t.split(",")), default=(30, 45), help="minutes, e.g. 30,45"
    )
    gain.add_argument(
        "--trips-per-day",
        type=number_arg(float, 0.01, 20, "trips"),
        default=1.0,
        help="trips to or from the hub per resident and day, for the yearly figure (default 1)",
    )
    gain.add_argument("--days-per-year", type=number_arg(int, 1, 366, "days"), default=365)
    gain.add_argument("--out", required=True, help="CSV to write (one row per cell)")
    gain.add_argument("--map", help="PNG map (default: the --out name with .png)")
    gain.set_defaults(func=cmd_shuttle_gain)
