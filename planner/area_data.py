"""Build, cache and load everything an area needs: timetable, street graphs, stop links.

:func:`load_area_data` is the one entry point: it loads compiled arrays from
the cache when their key matches (milliseconds), and otherwise builds them from
the GTFS and OSM files, reporting progress, and writes them for next time.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maas.area import Area
from maas.cache import cache_dir, cache_key, save_npz, write_text
from planner import street_graph as street_graph_mod
from planner import timetable as timetable_mod
from planner.footpaths import Footpaths, compute_footpaths
from planner.gtfs_feed import load_feeds
from planner.service_time import ServiceClock
from planner.shapes import Shapes
from planner.street_graph import EdgeSnapper, StreetGraph
from planner.streets import MODES, build_mode_graph, compile_street_graph, read_osm_highways
from planner.timetable import Timetable
from planner.timetable_compiler import compile_timetable

Progress = Callable[[str], None]
LINKS_FORMAT_VERSION = 1
FOOTPATH_MAX_M = 1000.0  # walking transfers up to 1 km, as R5 allows by default


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class OsmStats:
    highway_ways: int
    trimmed_references: int
    ways_dropped: int


@dataclass(frozen=True)
class StopLinks:
    """Each GTFS stop's link to the walk graph (edge -1 when not linked)."""

    edge: np.ndarray  # int32[S]
    fraction: np.ndarray  # float32[S]
    distance_m: np.ndarray  # float32[S]; inf when not linked
    inside_extract: np.ndarray  # bool[S]: the stop lies inside the area's bbox

    @property
    def linked(self) -> np.ndarray:
        return self.edge >= 0

    def unlinked_inside(self, timetable: Timetable, limit: int = 10) -> tuple[int, list[str]]:
        """How many stops inside the extract are too far from a walkable street to be linked, and the
        farthest ``limit`` of them as "id name (N m)" (often stations reached by a long path, e.g. airports)."""
        idx = np.flatnonzero(self.inside_extract & ~self.linked)
        order = idx[np.argsort(-self.distance_m[idx])][:limit]
        names = [f"{timetable.stop_ids[i]} {timetable.stop_names[i]} ({self.distance_m[i]:.0f} m)" for i in order]
        return len(idx), names


@dataclass(frozen=True)
class AreaData:
    area: Area
    timetable: Timetable
    streets: dict[str, StreetGraph]
    stop_links: StopLinks
    footpaths: Footpaths
    shapes: Shapes
    osm_stats: OsmStats
    from_cache: bool
    seconds: float
    service_dates: tuple[dt.date, ...] = ()  # every date the feeds have service on
    cache: Path | None = None  # the cache directory it was loaded from (other dates load from there too)

    def has_service(self, date: dt.date) -> bool:
        """Whether the feeds have service of their own on ``date``."""
        return date in self.service_dates

    def snapper(self, mode: str = "walk") -> EdgeSnapper:
        """A nearest-edge lookup on the ``mode`` street graph."""
        return EdgeSnapper(self.streets[mode])


def _street_params(area: Area) -> dict[str, Any]:
    s = area.streets
    return {"walk": s.walk_speed_mps, "bike": s.bike_speed_mps, "drive_default": s.drive_default_kmh}


def link_stops(timetable: Timetable, walk: StreetGraph, area: Area) -> StopLinks:
    """Snap every stop inside the area's bbox to the walk graph within ``stop_link_max_m``."""
    inside = np.array(
        [area.contains(lo, la) for lo, la in zip(timetable.stop_lon, timetable.stop_lat, strict=True)], dtype=bool
    )
    n = timetable.n_stops
    edge = np.full(n, -1, dtype=np.int32)
    fraction = np.zeros(n, dtype=np.float32)
    distance = np.full(n, np.inf, dtype=np.float32)
    idx = np.flatnonzero(inside)
    if len(idx):
        snaps = EdgeSnapper(walk).snap(timetable.stop_lon[idx], timetable.stop_lat[idx])
        for i, s in zip(idx, snaps, strict=True):
            distance[i] = s.distance_m
            if s.distance_m <= area.streets.stop_link_max_m:
                edge[i] = s.edge
                fraction[i] = s.fraction
    return StopLinks(edge, fraction, distance, inside)


def load_area_data(
    area: Area,
    *,
    service_date: dt.date | None = None,
    cache: str | Path | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    streets_of: AreaData | None = None,
) -> AreaData:
    """Timetable, street graphs and stop links for ``area``, from the cache or freshly built.

    Parameters
    ----------
    area
        The area (``maas.area.load_area``).
    service_date
        The service day to compile (default: the area's ``service_date``).
    cache
        The cache directory (default: the area's); entries are keyed by the content of their inputs.
    rebuild
        Build afresh even where the cache holds the data.
    progress
        Called with a line of text at each step of a build.
    streets_of
        Area data of the same area (another date) whose street graphs are shared instead of
        loaded again.

    Returns
    -------
    AreaData
        The compiled timetable, the walk, bike and drive graphs and the stop links. An
        ``InputError`` names every problem of the feeds (file, field, rows).
    """
    say = progress or _quiet
    started = time.perf_counter()
    date = service_date or area.service_date
    root = cache_dir(cache) / area.name
    root.mkdir(parents=True, exist_ok=True)
    say(f"hashing inputs ({', '.join(p.name for p in area.gtfs_files)}, {area.osm_file.name})")
    tt_key = cache_key(
        "timetable",
        timetable_mod.FORMAT_VERSION,
        list(area.gtfs_files),
        {"date": date.isoformat(), "zone": area.timezone or None},
    )
    st_key = cache_key("streets", street_graph_mod.FORMAT_VERSION, [area.osm_file], _street_params(area))
    link_key = cache_key(
        "links",
        LINKS_FORMAT_VERSION,
        [],
        {"tt": tt_key, "st": st_key, "bbox": area.bbox, "max": area.streets.stop_link_max_m},
    )
    dates_path = root / f"service-dates-{cache_key('service-dates', 1, list(area.gtfs_files), {})}.json"
    timetable, shapes, tt_cached = _timetable(area, date, root, tt_key, dates_path, rebuild, say)
    if streets_of is not None and streets_of.area == area:
        graphs, osm_stats, st_cached = streets_of.streets, streets_of.osm_stats, True
    else:
        # Street graphs depend only on the extract and the street settings: areas on one extract share them.
        graphs, osm_stats, st_cached = _street_graphs(area, cache_dir(cache) / "streets", st_key, rebuild, say)
    links, links_cached = _stop_links(
        area, timetable, graphs["walk"], root / f"stop-links-{link_key}.npz", rebuild, say
    )
    footpath_path = root / f"footpaths-{link_key}-{int(FOOTPATH_MAX_M)}.npz"
    if footpath_path.exists() and not rebuild:
        footpaths, fp_cached = Footpaths.load(footpath_path), True
    else:
        say(f"walking transfers between stops (up to {FOOTPATH_MAX_M:.0f} m)")
        footpaths = compute_footpaths(
            timetable, graphs["walk"], links.edge, links.fraction, links.distance_m, FOOTPATH_MAX_M
        )
        footpaths.save(footpath_path)
        fp_cached = False
    if not dates_path.exists():  # a timetable cached before the dates were kept
        say("reading the feeds' calendars")
        dates = load_feeds(area.gtfs_files).calendar.service_dates()
        write_text(dates_path, json.dumps([d.isoformat() for d in dates]))
    return AreaData(
        area,
        timetable,
        graphs,
        links,
        footpaths,
        shapes,
        osm_stats,
        tt_cached and st_cached and links_cached and fp_cached,
        time.perf_counter() - started,
        tuple(dt.date.fromisoformat(d) for d in json.loads(dates_path.read_text())),
        cache_dir(cache),
    )


def _timetable(
    area: Area, date: dt.date, root: Path, key: str, dates_path: Path, rebuild: bool, say: Progress
) -> tuple[Timetable, Shapes, bool]:
    """The compiled timetable and shapes of ``date`` (and whether they came from the cache)."""
    tt_path = root / f"timetable-{date.isoformat()}-{key}.npz"
    shapes_path = root / f"shapes-{key}.npz"
    if tt_path.exists() and shapes_path.exists() and not rebuild:
        return Timetable.load(tt_path), Shapes.load(shapes_path), True
    t0 = time.perf_counter()
    say(f"reading and validating GTFS {', '.join(map(str, area.gtfs_files))}")
    feed = load_feeds(area.gtfs_files)
    say(f"compiling timetable for {date.isoformat()}")
    timetable = compile_timetable(feed, date, ServiceClock(area.timezone or None))
    timetable.save(tt_path)
    write_text(dates_path, json.dumps([d.isoformat() for d in feed.calendar.service_dates()]))
    shapes = Shapes.from_table(feed.table("shapes"))
    shapes.save(shapes_path)
    say(f"timetable: {timetable.n_trips} trips in {timetable.n_patterns} patterns ({time.perf_counter() - t0:.1f} s)")
    return timetable, shapes, False


def _street_graphs(
    area: Area, shared: Path, key: str, rebuild: bool, say: Progress
) -> tuple[dict[str, StreetGraph], OsmStats, bool]:
    """The walk, bike and drive graphs of the area's extract (and whether they came from the cache)."""
    shared.mkdir(parents=True, exist_ok=True)
    paths = {m: shared / f"streets-{m}-{key}.npz" for m in MODES}
    meta = shared / f"streets-{key}.json"
    if all(p.exists() for p in paths.values()) and meta.exists() and not rebuild:
        return {m: StreetGraph.load(p) for m, p in paths.items()}, OsmStats(**json.loads(meta.read_text())), True
    t0 = time.perf_counter()
    say(f"reading OpenStreetMap {area.osm_file}")
    osm = read_osm_highways(area.osm_file)
    osm_stats = OsmStats(osm.highway_ways, osm.trimmed_references, osm.ways_dropped)
    speeds = {"walk": area.streets.walk_speed_mps, "bike": area.streets.bike_speed_mps, "drive": None}
    graphs = {}
    for i, mode in enumerate(MODES, 1):
        say(f"building {mode} graph ({i}/{len(MODES)})")
        graph = build_mode_graph(osm, mode, speed_mps=speeds[mode], drive_default_kmh=area.streets.drive_default_kmh)
        graphs[mode] = compile_street_graph(graph, mode)
        graphs[mode].save(paths[mode])
        say(f"{mode}: {graphs[mode].n_nodes} nodes, {graphs[mode].n_edges} edges")
    write_text(meta, json.dumps(asdict(osm_stats)))
    say(f"street graphs built ({time.perf_counter() - t0:.1f} s)")
    return graphs, osm_stats, False


def _stop_links(
    area: Area, timetable: Timetable, walk: StreetGraph, path: Path, rebuild: bool, say: Progress
) -> tuple[StopLinks, bool]:
    """Each stop's link to the walk graph (and whether it came from the cache)."""
    if path.exists() and not rebuild:
        with np.load(path) as data:
            return StopLinks(data["edge"], data["fraction"], data["distance_m"], data["inside_extract"]), True
    say("linking stops to the walk graph")
    links = link_stops(timetable, walk, area)
    count, examples = links.unlinked_inside(timetable, 5)
    if count:
        say(
            f"{count} stop(s) inside the extract are over {area.streets.stop_link_max_m:.0f} m from a walkable "
            f"street and are reached as the crow flies (x 1.3): {'; '.join(examples)}"
        )
    save_npz(
        path, edge=links.edge, fraction=links.fraction, distance_m=links.distance_m, inside_extract=links.inside_extract
    )
    return links, False
