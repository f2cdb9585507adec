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
import sys
import time
from collections.abc import Sequence
from typing import Any

from maas.errors import MaasError


def _progress(start: float) -> Any:
    def say(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f} s] {message}", file=sys.stderr, flush=True)

    return say


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from exc


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--area", default="helsinki", help="area name under data/areas or a .toml path")
    parser.add_argument("--data-dir", help="directory holding the area's data files")
    parser.add_argument("--cache-dir", help="where compiled data is cached (default $MAAS_CACHE_DIR or ~/.cache/maas)")
    parser.add_argument("--date", type=_date, help="service date (default: the area's service_date)")


def _load(args: argparse.Namespace, *, rebuild: bool = False, verbose: bool = True) -> Any:
    from maas.area import load_area
    from planner.area_data import load_area_data

    area = load_area(args.area, args.data_dir)
    start = time.perf_counter()
    return load_area_data(
        area,
        service_date=args.date,
        cache=args.cache_dir,
        rebuild=rebuild,
        progress=_progress(start) if verbose else None,
    )


def info_facts(data: Any) -> dict[str, Any]:
    """The facts ``maas info`` prints, as a plain dict (also its ``--json`` output)."""
    import numpy as np

    tt = data.timetable
    s = tt.stats
    links = data.stop_links
    area = data.area
    linked = links.linked
    return {
        "area": area.name,
        "title": area.title,
        "timezone": area.timezone,
        "bbox_west_south_east_north": list(area.bbox),
        "gtfs_file": str(area.gtfs_file),
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
    data = _load(args, verbose=not args.json)
    facts = info_facts(data)
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        _print_facts(facts)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    data = _load(args, rebuild=args.rebuild)
    print(
        f"{data.area.name}: caches ready in {data.seconds:.1f} s "
        f"({'loaded from cache' if data.from_cache else 'built'}); run 'maas info' for the figures"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maas", description="MaaS trip planner with autonomous-shuttle dispatch")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="print feed and street-graph facts for an area")
    _common(info)
    info.add_argument("--json", action="store_true", help="print the facts as JSON")
    info.set_defaults(func=cmd_info)
    build = sub.add_parser("build", help="build (or refresh) the compiled caches for an area")
    _common(build)
    build.add_argument("--rebuild", action="store_true", help="ignore existing caches")
    build.set_defaults(func=cmd_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MaasError as exc:
        print(f"maas: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("maas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
