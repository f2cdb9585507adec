"""The ``maas`` command line.

Every subcommand resolves an area (``--area``, default ``helsinki``) and a data
directory (``--data-dir``, ``$MAAS_DATA_DIR`` or ``../shared/data``). Errors the
user can fix are printed as one clear message with exit code 2, never as a
traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maas.errors import MaasError
from maas_apps.batch_commands import add_batch_commands, origin_progress
from maas_apps.cli_args import (
    add_area_arguments,
    area_data_from_args,
    datetime_arg,
    hours_arg,
    latlon_arg,
    number_arg,
    planner_from_args,
    progress_printer,
)
from maas_apps.gain_command import add_gain_command

if TYPE_CHECKING:  # imported where used: the CLI starts fast
    from dispatch.solver import SolverParams


_METRES = number_arg(float, 0, 100_000, "a distance in metres")
_TRANSFERS = number_arg(int, 0, 7, "a number of transfers")
_POSITIVE_SECONDS = number_arg(float, 0.1, 86_400, "a number of seconds")
_WORKERS = number_arg(int, 1, 64, "a number of parallel searches")
_COUNT = number_arg(int, 1, 1_000_000, "a whole number")
_SEATS = number_arg(int, 1, 100, "a number of seats")

# dispatch.bench.SETS, named here so that the parser imports no solver (a test keeps the two equal)
BENCH_SETS = (
    "cordeau-a",
    "cordeau-b",
    "lilim-100",
    "lilim-200",
    "lilim-400",
    "planted-small",
    "planted-medium",
    "planted-large",
)


def _booking_id(text: str) -> str:
    if not (1 <= len(text) <= 64) or not all(c.isprintable() and not c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"a booking id is 1-64 printable characters without spaces, got {text!r}")
    return text


def info_facts(data: Any) -> dict[str, Any]:
    """The facts ``maas info`` prints, as a plain dict (also its ``--json`` output)."""
    import numpy as np

    tt = data.timetable
    s = tt.stats
    links = data.stop_links
    area = data.area
    linked = links.linked
    unlinked, farthest_unlinked = links.unlinked_inside(tt, 10)
    return {
        "area": area.name,
        "title": area.title,
        "timezone": area.timezone,
        "bbox_west_south_east_north": list(area.bbox),
        "gtfs_files": [str(p) for p in area.gtfs_files],
        "osm_file": str(area.osm_file),
        "service_date": tt.service_date.isoformat(),
        "stops": int(tt.n_stops),
        "stations": int((tt.stop_location_type == 1).sum()),
        "routes_in_feed": len(tt.route_ids),
        "routes_running": s.routes_active,
        "patterns": s.patterns,
        "patterns_split_for_overtaking": s.patterns_split_for_overtaking,
        "trips_in_feed": s.trips_in_feed,
        "trips_running_on_date_before_expansion": s.trips_active,
        "frequency_templates": s.frequency_templates,
        "frequency_rows": s.frequency_rows,
        "trips_after_frequency_expansion": s.trips_after_expansion,
        "trips_from_previous_day": s.trips_from_previous_day,
        "trips_from_next_day": s.trips_from_next_day,
        "service_dates": f"{len(data.service_dates)} ({data.service_dates[0]} to {data.service_dates[-1]})"
        if data.service_dates
        else "none",
        "stop_times_after_expansion": s.stop_times,
        "last_arrival": _hms(int(tt.arrivals.max())) if tt.n_trips else None,
        "osm_highway_ways": data.osm_stats.highway_ways,
        "osm_trimmed_node_references": data.osm_stats.trimmed_references,
        "osm_ways_dropped_under_two_nodes": data.osm_stats.ways_dropped,
        "graphs": {
            m: {"nodes": g.n_nodes, "edges": g.n_edges, "km_of_edges": round(float(g.edge_length.sum()) / 1000, 1)}
            for m, g in data.streets.items()
        },
        "stops_inside_extract": int(links.inside_extract.sum()),
        "stops_linked_to_walk_graph": int(linked.sum()),
        "stops_inside_not_linked": unlinked,
        "stops_inside_not_linked_farthest": farthest_unlinked,
        "stop_link_distance_m_p50_max": [
            round(float(np.median(links.distance_m[linked])), 1),
            round(float(links.distance_m[linked].max()), 1),
        ]
        if linked.any()
        else None,
        "loaded_from_cache": data.from_cache,
        "load_seconds": round(data.seconds, 3),
    }


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _print_facts(facts: dict[str, Any]) -> None:
    width = max(len(k) for k in facts)
    for key, value in facts.items():
        if key == "graphs":
            for mode, g in value.items():
                label = f"{mode} graph"
                print(f"{label:<{width}}  {g['nodes']} nodes, {g['edges']} edges, {g['km_of_edges']} km")
        else:
            print(f"{key:<{width}}  {value}")


def cmd_info(args: argparse.Namespace) -> int:
    """``maas info``: feed and street-graph facts of an area."""
    data = area_data_from_args(args, verbose=not args.json)
    facts = info_facts(data)
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        _print_facts(facts)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """``maas build``: build or refresh an area's caches, with progress."""
    started = time.perf_counter()
    data = area_data_from_args(args, rebuild=args.rebuild)
    prepare_app_caches(data, args.cache_dir, progress_printer(started))
    print(
        f"{data.area.name}: caches ready in {time.perf_counter() - started:.1f} s "
        f"({'loaded from cache' if data.from_cache else 'built'}); run 'maas info' for the figures"
    )
    return 0


def prepare_app_caches(data: Any, cache_dir: str | None, say: Callable[[str], None]) -> None:
    """What the app and the shuttle service need besides the area data, built once so that no rider
    waits for it: the map's ground image and the shuttle network's all-pairs tables."""
    area = data.area
    if area.osm_file is not None:
        from maas_apps.webapp import ground_image, ground_image_path

        if not ground_image_path(area, cache_dir).is_file():
            say("drawing the map's water, parks, buildings, streets and names (once per extract)")
        ground_image(area, cache_dir)
    if area.shuttle is not None:
        from dispatch.day import shuttle_network

        shuttle_network(data, cache_dir)


def describe_itinerary(number: int, it: Any) -> str:
    """An itinerary as the CLI prints it: a summary line, then one line per leg in local times."""
    from planner.itinerary import ShuttleLeg, TransitLeg

    lines = [
        f"Option {number}: {it.clock(it.depart)} -> {it.clock(it.arrive)} ({round(it.duration_s / 60)} min), "
        f"{it.transfers} transfer{'s' if it.transfers != 1 else ''}, walking {it.walking_m:.0f} m, "
        f"{it.fare_text}, CO2 {it.co2_g:.0f} g, {it.step_free_text}"
    ]
    for leg in it.legs:
        span = f"  {it.clock(leg.start)}-{it.clock(leg.end)}"
        if isinstance(leg, TransitLeg):
            stops = len(leg.intermediate_stops) + 1
            lines.append(
                f"{span}  {leg.mode} {leg.route_short_name} from {leg.origin.name} to {leg.destination.name} "
                f"({stops} stop{'s' if stops != 1 else ''})"
                + (f", towards {leg.headsign}" if leg.headsign else "")
                + _delay_note(leg)
            )
            lines += [f"      ! {alert}" for alert in leg.alerts]
        else:
            where = (
                leg.destination.name
                if leg.destination.stop_id is None
                else (f"{leg.destination.name} ({leg.destination.stop_id})")
            )
            note = " (approximate, outside the street map)" if leg.approximate else ""
            if isinstance(leg, ShuttleLeg):
                window = f"{it.clock(leg.pickup_earliest)}-{it.clock(leg.pickup_latest)}"
                note = f" (on-demand {leg.vehicle}, pickup {window})"
            lines.append(f"{span}  {leg.mode} {leg.distance_m:.0f} m to {where}{note}")
    return "\n".join(lines)


def cmd_plan(args: argparse.Namespace) -> int:
    """``maas plan``: door-to-door options, printed, as JSON or as GeoJSON."""
    planner = planner_from_args(args)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    kwargs = {"arrive_by": args.depart} if args.arrive_by else {"depart_at": args.depart}
    shuttle = None
    if "shuttle" in modes:
        from dispatch.day import shuttle_network
        from dispatch.quotes import ShuttleDispatcher
        from dispatch.service import ServiceStore

        if not args.db:
            raise MaasError("--modes shuttle needs --db FILE, a service day made with 'maas simulate --until HH:MM'")
        _require_day(args.db)
        service = planner.area.shuttle
        if service is None:
            raise MaasError(f"area {planner.area.name} has no shuttle service")
        shuttle = ShuttleDispatcher(
            ServiceStore(args.db),
            shuttle_network(planner.data),
            service,
            wheelchairs=1 if args.wheelchair else 0,
            service_date=planner.area.service_date,
        )
    if args.realtime:
        planner = _with_realtime(planner, args.realtime, args.depart)
    result = planner.plan(
        args.origin,
        args.destination,
        modes=modes,
        max_transfers=args.max_transfers,
        max_walk_m=args.max_walk,
        shuttle=shuttle,
        max_fare=args.max_fare,
        wheelchair=args.wheelchair or args.wheelchair_unknown is not None,
        unknown_accessibility=args.wheelchair_unknown or "strict",
        bike_on_board=args.bike_on_board,
        **kwargs,
    )
    if args.geojson:
        features = []
        for i, it in enumerate(result, 1):
            for feature in it.to_geojson()["features"]:
                feature["properties"]["option"] = i
                features.append(feature)
        with open(args.geojson, "w", encoding="utf-8") as handle:
            json.dump({"type": "FeatureCollection", "features": features}, handle)
    if args.json:
        print(
            json.dumps(
                {"itineraries": [it.to_dict() for it in result], "reason": result.reason}, ensure_ascii=False, indent=2
            )
        )
        return 0
    if not len(result):
        print(f"No journey found: {result.reason}")
        return 1
    print("\n\n".join(describe_itinerary(i, it) for i, it in enumerate(result, 1)))
    return 0


def _with_realtime(planner: Any, location: str, now: Any) -> Any:
    """The planner with a TripUpdates feed applied, or the static one with a warning when the feed is bad."""
    from maas.errors import RealtimeFeedError
    from planner.realtime import load_trip_updates

    try:
        realtime, report = planner.with_realtime(load_trip_updates(location), now)
    except RealtimeFeedError as error:
        print(f"warning: {error}\n  planning with the static timetable", file=sys.stderr)
        return planner
    for line in report.lines():
        print(line, file=sys.stderr)
    return realtime


def _delay_note(leg: Any) -> str:
    """The delay of a ride with real time in brackets ("(+3 min)", "(on time)"); "" without."""
    return f" ({leg.delay_text})" if leg.delay_text else ""


def _hhmm(minutes: float) -> str:
    total = round(minutes)
    return f"{total // 60:02d}:{total % 60:02d}"


def _solver_params(args: argparse.Namespace) -> SolverParams:
    """SolverParams from --params (TOML), with --time-limit and --workers (else the TOML's, else 2) on top."""
    import dataclasses

    from dispatch.solver import SolverParams

    params = SolverParams.from_toml(args.params) if args.params else SolverParams()
    # one search per core, two at most by default: OR-Tools' search itself uses one core
    workers = args.workers or (params.workers if params.workers > 1 else min(2, os.cpu_count() or 1))
    iterations = getattr(args, "iterations", None)
    if iterations is not None:  # a work budget: the same plan for the same input on any machine
        return dataclasses.replace(params, iterations=iterations, workers=workers)
    return dataclasses.replace(params, time_limit_s=args.time_limit, workers=workers)


def cmd_dispatch(args: argparse.Namespace) -> int:
    """``maas dispatch``: plan the fleet for a batch of real requests; JSON out, validated."""
    from dispatch.model import route_distance
    from dispatch.realworld import read_realworld
    from dispatch.solver import compile_kernels, solve
    from dispatch.validate import validate
    from maas.area import load_area
    from maas_apps.solve_progress import SolveWatch
    from planner.area_data import load_area_data

    area = load_area(args.area, args.data_dir)
    data = load_area_data(area, cache=args.cache_dir, progress=progress_printer(time.perf_counter()))
    problem = read_realworld(args.requests, args.fleet, data)
    same_place = [r.id for r in problem.requests if r.pickup == r.dropoff]
    if same_place:
        # not refused (the rider may still want the seat booked), but almost always a mistake in the file
        named = ", ".join(same_place[:10]) + (f" and {len(same_place) - 10} more" if len(same_place) > 10 else "")
        print(
            f"warning: {len(same_place)} request(s) in {args.requests} start and end at the same street point "
            f"(planned as a pickup and drop-off with no ride between): {named}",
            file=sys.stderr,
        )
    params = _solver_params(args)  # a bad settings file is refused before the solving starts
    budget = f"{args.iterations} iterations" if args.iterations else f"{args.time_limit:.0f} s"
    print(f"{len(problem.requests)} requests, {len(problem.vehicles)} vehicles; solving for {budget}", file=sys.stderr)
    compile_kernels()  # the first compilation takes seconds; the time limit is for the search
    with SolveWatch(time.perf_counter(), f"limit {budget}") as watch:
        solution = solve(problem, params, progress=watch)
    report = validate(problem, solution)
    plan = {
        "area": area.name,
        "served": solution.served,
        "unserved": [{"request": u.request, "reason": u.reason} for u in solution.unserved],
        "distance_km": round(solution.distance, 3),
        "ride_time_min": round(solution.ride_time, 1),
        "validator": report.summary(),
    }
    routes: list[dict[str, Any]] = []
    print(f"{'vehicle':<10}{'stops':>6}{'requests':>9}{'km':>8}{'start':>7}{'end':>7}")
    for route in solution.routes:
        km = route_distance(problem, route)
        n_req = sum(1 for s in route.stops if s.kind == "pickup")
        print(
            f"{route.vehicle:<10}{len(route.stops):>6}{n_req:>9}{km:>8.2f}{_hhmm(route.stops[0].departure):>7}"
            f"{_hhmm(route.stops[-1].arrival):>7}"
        )
        routes.append(
            {
                "vehicle": route.vehicle,
                "stops": [
                    {
                        "kind": s.kind,
                        "request": s.request,
                        "arrival": _hhmm(s.arrival),
                        "start": _hhmm(s.start_service),
                        "departure": _hhmm(s.departure),
                        "seats_on_board": s.load_seats,
                    }
                    for s in route.stops
                ],
            }
        )
    print(
        f"served {solution.served}/{len(problem.requests)}, {solution.distance:.2f} km, "
        f"ride time {solution.ride_time:.0f} min in all; validator: {report.summary()}"
    )
    for line in unserved_lines(solution.unserved, args.out):
        print(line)
    plan["routes"] = routes
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(plan, handle, indent=1, ensure_ascii=False)
    print(f"written {args.out}")
    return 0 if report.ok else 1


UNSERVED_LISTED = 20  # more riders left out than this are counted by reason instead of listed


def unserved_lines(unserved: Sequence[Any], out: str | Path) -> list[str]:
    """What ``maas dispatch`` prints about the riders left out: each with its reason where there are
    few; otherwise how many for each reason (a list of thousands helps no one on a terminal), the
    riders themselves being in the plan written to ``out``."""
    if len(unserved) <= UNSERVED_LISTED:
        return [f"  unserved {u.request}: {u.reason}" for u in unserved]
    counts = Counter(u.reason for u in unserved)
    lines = [f"  {len(unserved):,} riders unserved (each with its reason in {out}):"]
    lines += [f"  {n:>7,}  {reason}" for reason, n in sorted(counts.items(), key=lambda rc: (-rc[1], rc[0]))]
    return lines


def _shuttle_day(args: argparse.Namespace) -> tuple[Any, Any]:
    from dispatch.day import shuttle_network
    from maas.area import load_area
    from planner.area_data import load_area_data

    say = progress_printer(time.perf_counter())
    area = load_area(args.area, args.data_dir)
    data = load_area_data(area, cache=args.cache_dir, progress=say)
    say("shuttle network (all-pairs times on the drive graph at shuttle speed)")
    return data, shuttle_network(data)


def cmd_simulate(args: argparse.Namespace) -> int:
    """``maas simulate``: run (or resume) a shuttle service day, to its end or ``--until``."""
    from dispatch.day import DayConfig, open_day
    from dispatch.kpi import compute_kpis, write_reports
    from dispatch.online import OnlineParams, objective_settings

    data, network = _shuttle_day(args)
    assert data.area.shuttle is not None
    objective = objective_settings(data.area.shuttle.objective)
    if args.leave_later:
        objective["leave_later"] = True
    if args.rider_time_weight is not None:
        objective["rider_time_weight"] = args.rider_time_weight
    if args.choice_margin is not None:
        objective["choice_margin_s"] = args.choice_margin * 60
    config = DayConfig(
        fleet=args.fleet,
        requests=args.requests,
        hours=args.hours,
        seed=args.seed,
        seats=args.seats,
        demand_csv=Path(args.demand) if args.demand else None,
        params=OnlineParams(
            reoptimise=not args.no_reoptimise,
            reoptimise_every_s=args.reoptimise_every * 60,
            reoptimise_time_limit_s=args.reoptimise_time or 2.0,
            reoptimise_solution_limit=None if args.reoptimise_time else args.reoptimise_budget,
            **objective,
        ),
    )
    say = progress_printer(time.perf_counter())
    store = open_day(Path(args.db), data, network, config, say)
    started = time.perf_counter()
    if args.until is not None:
        day = store.settings()
        if not day.start_s <= args.until < day.end_s:
            raise MaasError(
                f"--until {_hhmm(args.until / 60)} is outside the day's service hours "
                f"({_hhmm(day.start_s / 60)}-{_hhmm(day.end_s / 60)}); leave it out to run the whole day"
            )
        store.run(network, say, until_s=args.until)
        from collections import Counter

        clock = float(store.meta("clock_s"))
        counts = Counter(r["status"] for r in store.bookings())
        served = counts["accepted"] + counts["onboard"] + counts["done"]
        print(
            f"the day in {args.db} is open at {_hhmm(clock / 60)}: {served} rides accepted, "
            f"{counts['rejected']} refused, "
            + (f"{counts['declined']} declined for walking and transit, " if counts["declined"] else "")
            + f"{counts['pending']} requests still to come.\n"
            f"Book with 'maas book --db {args.db} ...', plan with '--modes walk,transit,shuttle --db {args.db}', "
            f"run on with 'maas simulate --db {args.db}'."
        )
        return 0
    store.run(network, say)
    kpis = compute_kpis(store, network)
    out = Path(args.out) if args.out else Path(args.db).with_suffix("")
    paths = write_reports(store, kpis, out)
    rows = kpis.rows()
    width = max(len(name) for name, _ in rows)
    print(f"{'kpi':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.alternatives:
        paths += _alternatives(store, network, data, out)
    written = ", ".join(str(p) for p in paths)
    print(f"simulated in {time.perf_counter() - started:.1f} s; wrote {written}", file=sys.stderr)
    return 0


def _alternatives(store: Any, network: Any, data: Any, out: Path) -> list[Path]:
    """Each carried rider against walking and transit (``dispatch.alternatives``): the headline printed,
    every rider written to ``out/alternatives.csv``, and with the area's population grid the gain per
    cell of the riders' homes (``alternatives-cells.csv`` and a map)."""
    import csv

    from dispatch.alternatives import gain_against_alternatives
    from maas_apps.alternatives_output import write_cells
    from planner.router import Planner

    planner = Planner(data)
    gain = gain_against_alternatives(store, network, planner, data.area.service_date, origin_progress("riders"))
    print(gain.headline())
    for title, table in (("zone", gain.by_zone()), ("hour", gain.by_hour())):
        print(f"  by {title}: " + "; ".join(f"{t['group']} {t['mean_min']:+.1f} min ({t['riders']})" for t in table))
    path = out / "alternatives.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["booking", "zone", "to_departure", "shuttle_s", "alternative_s", "gained_min", "alternative_modes"]
        )
        for r in gain.riders:
            gained = "" if r.gained_s is None else f"{r.gained_s / 60:.2f}"
            modes = "+".join(r.modes)
            writer.writerow([r.booking, r.zone, r.to_departure, r.shuttle_s, r.alternative_s or "", gained, modes])
    return [path, *write_cells(gain, data.area, out)]


def _clock_s(text: str) -> float:
    from maas.tabular import parse_clock_minutes

    minutes = parse_clock_minutes(text)
    if minutes is None:
        raise argparse.ArgumentTypeError(f"expected a time HH:MM (hours 0-47, minutes 0-59), got {text!r}")
    return minutes * 60


def cmd_book(args: argparse.Namespace) -> int:
    """``maas book``: quote or book one shuttle ride against a day."""
    import uuid

    from dispatch.online import Booking
    from dispatch.service import ServiceStore

    _require_day(args.db)
    data, network = _shuttle_day(args)
    service = data.area.shuttle
    store = ServiceStore(args.db)
    clock = float(store.meta("clock_s"))
    now = clock if args.at is None else args.at
    earliest = args.pickup if args.pickup is not None else now
    for label, (lat, lon) in (("--from", args.origin), ("--to", args.destination)):
        if not data.area.contains(lon, lat):
            raise MaasError(f"{label} {lat},{lon} is outside the area {data.area.name}")
    plans = store.load_state().plans
    most_seats = max((p.seats for p in plans), default=0)
    most_places = max((p.wheelchair_places for p in plans), default=0)
    if args.seats > most_seats:
        raise MaasError(f"--seats {args.seats}: the largest shuttle of this day has {most_seats} seats")
    if args.wheelchair and most_places < 1:
        raise MaasError("--wheelchair: no shuttle of this day has a wheelchair place")
    pickup = network.snap(args.origin[1], args.origin[0])
    dropoff = network.snap(args.destination[1], args.destination[0])
    direct = float(network.time_s[pickup, dropoff])
    booking = Booking(
        id=args.id or f"b-{uuid.uuid4().hex[:8]}",
        pickup=pickup,
        dropoff=dropoff,
        announced_s=now,
        earliest_pickup_s=earliest,
        latest_pickup_s=earliest + service.max_wait_min * 60,
        max_ride_s=service.max_ride_s(direct),
        seats=args.seats,
        wheelchairs=1 if args.wheelchair else 0,
    )
    decision = store.quote(network, booking, args.at) if args.quote else store.book(network, booking, args.at)
    if decision.accepted:
        assert decision.promised_earliest_s is not None and decision.promised_latest_s is not None
        verb = "available" if args.quote else "booked"
        print(
            f"{verb} {booking.id}: {decision.vehicle}, pickup between {_hhmm(decision.promised_earliest_s / 60)} and "
            f"{_hhmm(decision.promised_latest_s / 60)}, arrival about {_hhmm((decision.planned_dropoff_s or 0) / 60)}"
        )
        return 0
    print(f"not available: {decision.reason}")
    return 1


def _require_day(db: str) -> None:
    """A ``--db`` that names no file is a mistake: say so, and how to make a day (before anything opens it)."""
    if not Path(db).is_file():
        raise MaasError(f"--db {db} does not exist; make a day with 'maas simulate --db {db} --until 08:00'")


def _require_free_port(address: str, port: int) -> None:
    """A port another program holds (or an address this machine does not have) is said before any data loads,
    naming the option to change, rather than after minutes of loading by the server's own message."""
    import socket

    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise MaasError(f"cannot listen on address {address!r}: {exc.strerror or exc}") from None
    family, kind, proto, _, where = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # as the servers do, so that a port left in TIME_WAIT by the last run is not taken for busy
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(where)
        except OSError as exc:
            raise MaasError(
                f"cannot listen on {address}:{port}: {exc.strerror or exc} "
                "(another program, or another maas, holds it: choose another with --port)"
            ) from None


def cmd_serve_rt(args: argparse.Namespace) -> int:
    """``maas serve-rt``: the shuttle day as GTFS-Realtime VehiclePositions and TripUpdates over HTTP."""
    from dispatch.gtfs_rt_out import PublishedDay, serve

    _require_day(args.db)
    _require_free_port(args.host, args.port)
    data, network = _shuttle_day(args)
    day = PublishedDay(network, data.area.service_date, data.area.timezone or None)
    server = serve(args.db, day, args.host, args.port)
    port = server.server_address[1]
    print(f"serving {args.db} as GTFS-Realtime on http://{args.host}:{port}/vehicle-positions.pb and /trip-updates.pb")
    print("(.txt for the same as text; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_export_flex(args: argparse.Namespace) -> int:
    """``maas export-flex``: the shuttle service as a static GTFS-Flex feed (zones, hubs, hours, booking)."""
    from dispatch.gtfs_flex import write_flex

    data = area_data_from_args(args)
    tt = data.timetable
    hubs = {
        str(s): (str(n), float(lat), float(lon))
        for s, n, lat, lon in zip(tt.stop_ids, tt.stop_names, tt.stop_lat, tt.stop_lon, strict=True)
    }
    dates = data.service_dates or (data.area.service_date,)
    written = write_flex(
        data.area, hubs, (f"{dates[0]:%Y%m%d}", f"{dates[-1]:%Y%m%d}"), Path(args.out), args.agency_url
    )
    print(f"wrote {len(written)} files of a GTFS-Flex feed to {args.out}: {', '.join(p.name for p in written)}")
    return 0


def cmd_bookings(args: argparse.Namespace) -> int:
    """``maas bookings``: the day's bookings as an aligned table."""
    from dispatch.service import ServiceStore

    _require_day(args.db)
    store = ServiceStore(args.db)
    rows = store.bookings()
    if args.status:
        rows = [r for r in rows if r["status"] == args.status]

    def clock(value: float | None) -> str:
        return "" if value is None else _hhmm(value / 60)

    table: list[tuple[str, ...]] = [("id", "status", "vehicle", "promised", "pickup", "dropoff", "reason")]
    for r in rows:
        promised = (
            f"{clock(r['promised_earliest_s'])}-{clock(r['promised_latest_s'])}" if r["promised_earliest_s"] else ""
        )
        cells = (r["id"], r["status"], r["vehicle"] or "", promised, clock(r["pickup_s"]), clock(r["dropoff_s"]))
        # ids and reasons come from users and files: show control characters escaped, one row per booking
        table.append((*(_printable(str(c)) for c in cells), _printable(r["reason"] or "")))
    widths = [max(len(row[i]) for row in table) for i in range(6)]
    for row in table:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:6])) + "  " + row[6])
    return 0


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def cmd_app(args: argparse.Namespace) -> int:
    """``maas app``: start the Streamlit app (this process becomes the server)."""
    from maas.area import PROJECT_ROOT, load_area
    from planner.area_data import load_area_data

    if args.db:
        _require_day(args.db)
    _require_free_port(args.address, args.port)
    area = load_area(args.area, args.data_dir)
    say = progress_printer(time.perf_counter())
    data = load_area_data(area, cache=args.cache_dir, progress=say)  # build caches first
    prepare_app_caches(data, args.cache_dir, say)
    env = dict(os.environ)
    if args.data_dir:
        env["MAAS_DATA_DIR"] = str(Path(args.data_dir).resolve())
    if args.cache_dir:
        env["MAAS_CACHE_DIR"] = str(Path(args.cache_dir).resolve())
    if args.db:
        env["MAAS_APP_LIVE_DB"] = str(Path(args.db).resolve())
    if args.realtime:
        is_url = args.realtime.startswith(("http://", "https://"))
        env["MAAS_APP_REALTIME"] = args.realtime if is_url else str(Path(args.realtime).resolve())
        env["MAAS_APP_REALTIME_REFRESH_S"] = str(args.realtime_refresh)
    command = [sys.executable, "-m", "maas_apps.app_server", "run", str(PROJECT_ROOT / "app.py")]
    command += ["--server.port", str(args.port)]
    command += ["--browser.gatherUsageStats", "false", "--server.address", args.address]
    if args.headless:
        command += ["--server.headless", "true"]
    print(f"starting the app on http://{args.address}:{args.port} (Ctrl+C stops it)", file=sys.stderr)
    return _exec(command, env)


def _exec(command: list[str], env: dict[str, str]) -> int:
    """Become the Streamlit server (same PID): Ctrl-C or a SIGTERM to this process stops the app itself,
    with no child left serving."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
    return 0  # not reached


def cmd_area_init(args: argparse.Namespace) -> int:
    """``maas area init``: write an area file from GTFS and OSM files."""
    from maas.area import AREAS_DIR, resolve_data_dir
    from maas_apps.area_init import draft_area

    data_dir = resolve_data_dir(args.data_dir)

    def find(name: str) -> Path:
        path = Path(name)
        return path if path.exists() or path.is_absolute() else data_dir / name

    draft = draft_area(args.name, [find(g) for g in args.gtfs], find(args.osm), data_dir, args.timezone)
    out = Path(args.out) if args.out else AREAS_DIR / f"{args.name}.toml"
    if out.exists() and not args.force:
        raise MaasError(f"{out} exists; choose another --out or add --force")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(draft.toml, encoding="utf-8")
    west, south, east, north = draft.bbox
    print(f"wrote {out}")
    print(f"  bbox (from the street extract): west {west}, south {south}, east {east}, north {north}")
    print(f"  service date: {draft.service_date} ({draft.best_dates[0][1]} trips in all feeds)")
    for facts in draft.feeds:
        span = f"{facts.first_departure}-{facts.last_departure}"
        print(f"  {facts.path.name}: time zone {facts.timezone}, departures {span}")
    print(f"next: maas build --area {out}  (it reports stops too far from the streets to be linked)")
    return 0


def benchmark_summary(rows: Sequence[Any]) -> str:
    """One line: where vehicles count first (a best-known vehicle count is given), how many runs match
    it and the distance gap over those only (fewer vehicles and more distance is not a worse gap);
    otherwise the mean and worst distance gap."""
    counted = [r for r in rows if r.best_known_vehicles is not None and r.best_known is not None]
    tail = f"unserved {sum(r.unserved for r in rows)}, invalid {sum(r.verdict != 'valid' for r in rows)}"
    with_vehicles = [r for r in counted if getattr(r, "minimize_vehicles", False)]
    if with_vehicles:
        same = [r for r in with_vehicles if r.vehicles == r.best_known_vehicles]
        fewer = sum(r.vehicles < r.best_known_vehicles for r in with_vehicles)
        gaps = [r.gap_pct for r in with_vehicles if r.gap_counts()]  # at the best-known fleet only
        mean = f"{sum(gaps) / len(gaps):.2f} %" if gaps else "n/a"
        worst = f"{max(gaps):.2f} %" if gaps else "n/a"
        return (
            f"{len(rows)} instances: best-known vehicle count on {len(same)}/{len(with_vehicles)}"
            f" ({fewer} with fewer); distance gap where equal: mean {mean}, worst {worst}; {tail}"
        )
    gaps = [r.gap_pct for r in rows if r.gap_pct is not None]
    if not gaps:
        return f"{len(rows)} instances (no best-known solutions to compare with); {tail}"
    return (
        f"{len(rows)} instances ({len(gaps)} with a best known): mean gap {sum(gaps) / len(gaps):.2f} %, "
        f"worst {max(gaps):.2f} %; {tail}"
    )


def cmd_dispatch_bench(args: argparse.Namespace) -> int:
    """``maas dispatch-bench``: the dispatcher on a benchmark set against the best-known solutions."""
    import contextlib

    from dispatch.bench import BenchTable, run_benchmark
    from maas.area import resolve_data_dir

    params = _solver_params(args)
    dispatch_dir = resolve_data_dir(args.data_dir) / "dispatch"
    header = f"{'instance':<15}{'cost':>10}{'best':>10}{'gap %':>8}{'veh':>5}{'bkv':>5}{'unserved':>9}{'s':>7}  verdict"
    csv_path = Path(args.csv) if args.csv else _new_results_file(f"dispatch-bench-{args.set}")
    tables = contextlib.ExitStack()
    table: BenchTable | None = None

    def start(count: int) -> None:
        # the table is opened once the instances are known (a wrong name leaves no empty file) and before
        # any is solved (a path that cannot be written fails now, not after the run)
        nonlocal table
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        table = tables.enter_context(BenchTable(csv_path))
        budget = f"{params.iterations} iterations" if params.iterations is not None else f"{params.time_limit_s:g} s"
        print(f"{args.set}: {count} instance(s), {budget} each; each row goes to {csv_path} as it is made")
        print(header, flush=True)

    def show(row: Any) -> None:
        gap = "" if row.gap_pct is None else f"{row.gap_pct:.2f}"
        best = "" if row.best_known is None else f"{row.best_known:.2f}"
        bkv = "" if row.best_known_vehicles is None else str(row.best_known_vehicles)
        print(
            f"{row.instance:<15}{row.cost:>10.2f}{best:>10}{gap:>8}{row.vehicles:>5}{bkv:>5}{row.unserved:>9}"
            f"{row.seconds:>7.1f}  {row.verdict}",
            flush=True,
        )
        if table is not None:
            table.add(row)

    only = [s.strip() for s in args.instances.split(",")] if args.instances else None
    out = Path(args.out) if args.out else None
    with tables:
        try:
            rows = run_benchmark(dispatch_dir, args.set, params, only, out, show, start)
        except KeyboardInterrupt:
            if table is not None:
                print(f"the {table.rows} finished row(s) are in {csv_path}", file=sys.stderr)
            raise
    print(benchmark_summary(rows))
    print(f"written {csv_path}")
    return 0


def _new_results_file(stem: str) -> Path:
    """A CSV path under benchmarks/results that no earlier run wrote: never the folder the command runs
    in, and never a committed result of the same name (the time of the run is in the name)."""
    from maas.area import PROJECT_ROOT

    folder = PROJECT_ROOT / "benchmarks" / "results"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = folder / f"{stem}-{stamp}.csv"
    count = 1
    while path.exists():
        count += 1
        path = folder / f"{stem}-{stamp}-{count}.csv"
    return path


BOOKING_STATUSES = ("pending", "accepted", "rejected", "declined", "onboard", "done")


def build_parser() -> argparse.ArgumentParser:
    """The ``maas`` command's argument parser."""
    parser = argparse.ArgumentParser(prog="maas", description="MaaS trip planner with autonomous-shuttle dispatch")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_planner_commands(sub)
    add_batch_commands(sub)
    add_gain_command(sub)
    _add_dispatch_commands(sub)
    _add_simulate_command(sub)
    _add_service_day_commands(sub)
    _add_area_commands(sub)
    return parser


def _add_planner_commands(sub: Any) -> None:
    """info, build and plan."""
    info = sub.add_parser("info", help="print feed and street-graph facts for an area")
    add_area_arguments(info)
    info.add_argument("--json", action="store_true", help="print the facts as JSON")
    info.set_defaults(func=cmd_info)
    build = sub.add_parser("build", help="build (or refresh) the compiled caches for an area")
    add_area_arguments(build)
    build.add_argument("--rebuild", action="store_true", help="ignore existing caches")
    build.set_defaults(func=cmd_build)

    plan = sub.add_parser("plan", help="plan a door-to-door trip")
    add_area_arguments(plan)
    plan.add_argument("--from", dest="origin", type=latlon_arg, required=True, metavar="LAT,LON")
    plan.add_argument("--to", dest="destination", type=latlon_arg, required=True, metavar="LAT,LON")
    plan.add_argument(
        "--depart",
        type=datetime_arg,
        required=True,
        metavar="YYYY-MM-DDTHH:MM",
        help="departure time (with --arrive-by: the time to arrive by)",
    )
    plan.add_argument("--arrive-by", action="store_true", help="treat --depart as the latest arrival")
    plan.add_argument("--modes", default="walk,transit", help="comma-separated: walk,bike,car,transit,shuttle")
    plan.add_argument("--db", help="service-day database the shuttle mode quotes against (maas simulate --db)")
    plan.add_argument("--max-transfers", type=_TRANSFERS, default=None)
    plan.add_argument("--max-walk", type=_METRES, default=None, help="metres of walking to or from transit")
    plan.add_argument(
        "--wheelchair",
        action="store_true",
        help="accessible trips and stops only, walking without steps, a wheelchair place on the shuttle",
    )
    plan.add_argument(
        "--wheelchair-unknown",
        choices=("strict", "lenient"),
        help="with --wheelchair: trips and stops with no accessibility information are left out (strict, "
        "the default) or used (lenient)",
    )
    plan.add_argument(
        "--realtime",
        metavar="FILE|URL",
        help="GTFS-Realtime TripUpdates (a .pb file or an http(s) URL) applied before planning",
    )
    plan.add_argument(
        "--bike-on-board",
        action="store_true",
        help="keep the bike: cycle all the way, or on trips that allow bikes with cycling to and from the stops",
    )
    plan.add_argument(
        "--max-fare",
        type=number_arg(float, 0, 1e6, "a price"),
        default=None,
        help="leave out options that cost more (in the fares' currency, e.g. 3.50)",
    )
    plan.add_argument("--params", help="router settings TOML ([router] table of RouterParams fields)")
    plan.add_argument("--json", action="store_true", help="print itineraries as JSON")
    plan.add_argument("--geojson", metavar="FILE", help="also write the itineraries' geometry as GeoJSON")
    plan.set_defaults(func=cmd_plan)


def _add_dispatch_commands(sub: Any) -> None:
    """dispatch (a batch of real requests) and dispatch-bench."""
    disp = sub.add_parser("dispatch", help="plan the shuttle fleet for a batch of requests (CSV in, JSON out)")
    disp.add_argument("--requests", required=True, help="requests CSV (see dispatch/realworld.py for columns)")
    disp.add_argument("--fleet", required=True, help="fleet CSV")
    disp.add_argument("--area", default="helsinki")
    disp.add_argument("--data-dir")
    disp.add_argument("--cache-dir")
    disp.add_argument("--time-limit", type=_POSITIVE_SECONDS, default=30.0)
    disp.add_argument(
        "--iterations",
        "--solutions",
        dest="iterations",
        type=number_arg(int, 1, 1_000_000, "a number of iterations"),
        help="a work budget instead of a time, shared out among the solver's stages (an iteration is an OR-Tools "
        "solution or a batch of numba search steps): the same plan on every run and machine",
    )
    disp.add_argument("--params", help="solver settings TOML")
    disp.add_argument("--workers", type=_WORKERS, help="parallel searches, best kept (default: 2, or 1 on one core)")
    disp.add_argument("--out", default="plan.json")
    disp.set_defaults(func=cmd_dispatch)

    bench = sub.add_parser("dispatch-bench", help="run the dispatcher on benchmark instances against best-known")
    bench.add_argument(
        "--set",
        required=True,
        choices=list(BENCH_SETS),
        help="published sets (with ../shared/data/dispatch) or planted ones (generated, every request servable)",
    )
    bench.add_argument("--time-limit", type=_POSITIVE_SECONDS, default=60.0, help="seconds per instance")
    bench.add_argument(
        "--iterations",
        dest="iterations",
        type=number_arg(int, 1, 1_000_000, "a number of iterations"),
        help="a work budget per instance instead of a time: the same results on every run and machine",
    )
    bench.add_argument("--instances", help="comma-separated instance names (default: the whole set)")
    bench.add_argument("--params", help="solver settings TOML ([solver] table and its stage tables, see SolverParams)")
    bench.add_argument("--workers", type=_WORKERS, help="parallel searches per instance (default: 2, or 1 on one core)")
    bench.add_argument("--data-dir", help="directory holding dispatch/ (default: ../shared/data)")
    bench.add_argument("--out", help="directory for one solution JSON per instance")
    bench.add_argument(
        "--csv",
        help="CSV file for the table (default: a new benchmarks/results/dispatch-bench-<set>-<date>-<time>.csv)",
    )
    bench.set_defaults(func=cmd_dispatch_bench)


def _add_simulate_command(sub: Any) -> None:
    """simulate: a shuttle service day."""
    sim = sub.add_parser("simulate", help="simulate a shuttle service day (online dispatch, SQLite state, KPIs)")
    add_area_arguments(sim)
    sim.add_argument(
        "--fleet", type=number_arg(int, 1, 1000, "a number of shuttles"), default=6, help="number of shuttles"
    )
    sim.add_argument("--seats", type=_SEATS, help="seats per shuttle (default: the area's)")
    sim.add_argument("--requests", type=_COUNT, default=1000, help="generated requests")
    sim.add_argument("--demand", help="read requests from this CSV instead of generating them")
    sim.add_argument("--hours", type=hours_arg, default=(7.0, 19.0), help="service hours, START-END (default 7-19)")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--db", default="sim.sqlite", help="SQLite file (resumed when it holds a day)")
    sim.add_argument("--out", help="directory for kpis.json/csv, hourly.csv, kpis.png (default: next to --db)")
    sim.add_argument("--no-reoptimise", action="store_true", help="immediate insertion only")
    sim.add_argument(
        "--until", type=_clock_s, metavar="HH:MM", help="stop the day at this time and leave it open for bookings"
    )
    sim.add_argument(
        "--leave-later",
        action="store_true",
        help="pick riders bound for a metro departure up as late as the plan allows (default: the area's objective)",
    )
    sim.add_argument(
        "--rider-time-weight",
        type=number_arg(float, 0, 100, "a weight"),
        help="seconds of driving a second of riders' time is worth when placing bookings (default: the area's)",
    )
    sim.add_argument(
        "--reoptimise-every",
        type=number_arg(float, 1, 1440, "minutes"),
        default=15.0,
        help="minutes between re-optimisations",
    )
    sim.add_argument(
        "--reoptimise-budget",
        type=number_arg(int, 1, 1_000_000, "a number of solutions"),
        default=60,
        help="solutions each re-optimisation may search (a work budget: the same day on every run; default 60)",
    )
    sim.add_argument(
        "--reoptimise-time",
        type=_POSITIVE_SECONDS,
        help="search each re-optimisation for this many seconds instead of a work budget (not reproducible)",
    )
    sim.add_argument(
        "--alternatives",
        action="store_true",
        help="also compare every rider with walking and transit (time at home gained; alternatives.csv)",
    )
    sim.add_argument(
        "--choice-margin",
        type=number_arg(float, -60, 60, "minutes"),
        metavar="MIN",
        help="riders choose: each compares the shuttle's offer with walking and transit and books it only when "
        "it gains them at least MIN minutes at home (default: every rider takes what is offered)",
    )
    sim.set_defaults(func=cmd_simulate)


def _add_service_day_commands(sub: Any) -> None:
    """book, bookings and app: working with a live service day."""
    book = sub.add_parser("book", help="book (or --quote) one shuttle ride against a day in a database")
    add_area_arguments(book)
    book.add_argument("--db", required=True)
    book.add_argument("--from", dest="origin", type=latlon_arg, required=True, help="LAT,LON")
    book.add_argument("--to", dest="destination", type=latlon_arg, required=True, help="LAT,LON")
    book.add_argument("--at", type=_clock_s, help="booking time HH:MM (default: the day's clock)")
    book.add_argument("--pickup", type=_clock_s, help="earliest pickup HH:MM (default: now)")
    book.add_argument("--seats", type=_SEATS, default=1)
    book.add_argument("--wheelchair", action="store_true")
    book.add_argument("--id", type=_booking_id, help="booking id (default: random)")
    book.add_argument("--quote", action="store_true", help="only say what would be offered")
    book.set_defaults(func=cmd_book)

    app = sub.add_parser("app", help="start the Streamlit trip planner and fleet dashboard")
    add_area_arguments(app)
    app.add_argument("--port", type=number_arg(int, 1, 65535, "a port"), default=8501)
    app.add_argument("--headless", action="store_true", help="do not open a browser")
    app.add_argument(
        "--address", default="127.0.0.1", help="interface to listen on (default: this machine only; 0.0.0.0: all)"
    )
    app.add_argument("--db", help="the live service day to plan and book against and show (maas simulate --until)")
    app.add_argument(
        "--realtime", metavar="FILE|URL", help="GTFS-Realtime TripUpdates applied to every plan (re-read as it changes)"
    )
    app.add_argument(
        "--realtime-refresh",
        type=number_arg(float, 5, 3600, "seconds"),
        default=60.0,
        help="seconds between reads of a --realtime URL (default 60)",
    )
    app.set_defaults(func=cmd_app)

    serve_rt = sub.add_parser("serve-rt", help="publish a shuttle day as GTFS-Realtime over HTTP")
    add_area_arguments(serve_rt)
    serve_rt.add_argument("--db", required=True, help="the service day (maas simulate --db, or the app's live day)")
    serve_rt.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    serve_rt.add_argument("--port", type=number_arg(int, 1, 65535, "a port"), default=8765)
    serve_rt.set_defaults(func=cmd_serve_rt)

    flex = sub.add_parser("export-flex", help="write the shuttle service as a static GTFS-Flex feed")
    add_area_arguments(flex)
    flex.add_argument("--out", required=True, help="folder for the feed's files")
    flex.add_argument("--agency-url", default="https://example.org/shuttle", help="the operator's web page")
    flex.set_defaults(func=cmd_export_flex)

    bookings = sub.add_parser("bookings", help="list the bookings of a day in a database")
    bookings.add_argument("--db", required=True)
    # dispatch.service.BookingStatus's values, written out so that the CLI starts without pandas (a test compares)
    bookings.add_argument("--status", choices=BOOKING_STATUSES)
    bookings.set_defaults(func=cmd_bookings)


def _add_area_commands(sub: Any) -> None:
    """area init."""
    area = sub.add_parser("area", help="make a new area file from GTFS and OSM files")
    area_sub = area.add_subparsers(dest="area_command", required=True)
    init = area_sub.add_parser("init", help="write data/areas/NAME.toml from the data (bbox, time zone, service date)")
    init.add_argument("--name", required=True, help="the area's name (letters, digits, _ and -)")
    init.add_argument("--gtfs", action="append", required=True, help="a GTFS feed (repeat for several)")
    init.add_argument("--osm", required=True, help="the OpenStreetMap extract (.osm.pbf or .osm)")
    init.add_argument("--data-dir", help="paths are written relative to it (default ../shared/data)")
    init.add_argument("--timezone", help="when the feeds name none (agency_timezone)")
    init.add_argument("--out", help="where to write the file (default data/areas/NAME.toml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=cmd_area_init)


_NEGATIVE_VALUE = re.compile(r"^-\d[\d.]*(,-?\d[\d.]*)*$")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--from -30.02,-51.22`` as ``--from=-30.02,-51.22``: argparse would take the value for an option.

    Coordinates south of the equator or west of Greenwich start with a minus sign; no option of
    ours looks like a number, so a number after an option is always that option's value.
    """
    out: list[str] = []
    for token in argv:
        if out and _NEGATIVE_VALUE.match(token) and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def _log_internal_error(argv: Sequence[str] | None) -> Path:
    """Write the current exception's trace to a log file and return its path."""
    import traceback

    from maas.cache import cache_dir

    try:
        folder = cache_dir() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        import tempfile

        folder = Path(tempfile.gettempdir())
    path = folder / f"maas-{dt.datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(f"maas {' '.join(argv if argv is not None else sys.argv[1:])}\n\n")
        traceback.print_exc(file=handle)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``maas`` command; 0 on success, 1 when the answer is "no", 2 for bad input, 3 on a bug.

    No traceback reaches the user: input problems are printed as one message, an unexpected
    internal error as one line with the log file that holds its trace.
    """
    parser = build_parser()
    args = parser.parse_args(_join_negative_values(list(sys.argv[1:] if argv is None else argv)))
    try:
        return int(args.func(args))
    except MaasError as exc:
        print(f"maas: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("maas: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) stopped reading: end quietly, as Unix tools do.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except OSError as exc:  # a file the user named cannot be written or read (folder missing, no permission, disk full)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"maas: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not the user's fault: one line and the trace in a file
        log = _log_internal_error(argv)
        print(f"maas: internal error ({type(exc).__name__}: {exc}); the trace is in {log}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
