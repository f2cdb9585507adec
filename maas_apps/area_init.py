"""Write a new area file from the data alone: ``maas area init``.

What an area needs besides file names is read from the files: the street extract's extent (the
``bbox`` that says which coordinates the planner covers), the feeds' time zone, and a service date
on which every feed runs (the busiest such weekday), with the hours its trips start. The shuttle
service is left out (commented); zones and hubs are the one thing a person has to draw.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from maas.errors import ConfigError, DataNotFoundError


@dataclass(frozen=True, slots=True)
class FeedFacts:
    path: Path
    timezone: str | None
    trips_by_date: dict[dt.date, int]
    first_departure: str | None
    last_departure: str | None


@dataclass(frozen=True, slots=True)
class AreaDraft:
    name: str
    toml: str
    service_date: dt.date
    bbox: tuple[float, float, float, float]
    feeds: tuple[FeedFacts, ...]
    best_dates: tuple[tuple[dt.date, int], ...]  # (date, trips) of the busiest dates every feed serves


def _table(archive: zipfile.ZipFile | Path, name: str) -> pd.DataFrame | None:
    try:
        if isinstance(archive, Path):
            path = archive / name
            data = path.read_bytes() if path.is_file() else None
        else:
            data = archive.read(name) if name in {Path(n).name for n in archive.namelist()} else None
            if data is None:
                return None
    except (KeyError, OSError):
        return None
    if data is None:
        return None
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")


def feed_facts(path: Path) -> FeedFacts:
    """Time zone, trips per service date and the span of trip starts of one GTFS feed (zip or folder)."""
    from planner.gtfs_feed import ServiceCalendar

    if not path.exists():
        raise DataNotFoundError(f"GTFS feed {path} does not exist")
    source: zipfile.ZipFile | Path = path if path.is_dir() else zipfile.ZipFile(path)
    agency = _table(source, "agency.txt")
    trips = _table(source, "trips.txt")
    stop_times = _table(source, "stop_times.txt")
    calendar = ServiceCalendar.from_tables(_table(source, "calendar.txt"), _table(source, "calendar_dates.txt"))
    if trips is None:
        raise ConfigError(f"{path}: no trips.txt; is this a GTFS feed?")
    trips_per_service = Counter(trips["service_id"])
    by_date: Counter[dt.date] = Counter()
    for service, dates in calendar.dates_by_service.items():
        for day in dates:
            by_date[day] += trips_per_service.get(service, 0)
    first = last = None
    if stop_times is not None and "departure_time" in stop_times:
        times = stop_times.loc[stop_times["departure_time"].str.strip() != "", "departure_time"].str.strip()
        padded = times.str.zfill(8)
        if len(padded):
            first, last = str(padded.min())[:5], str(padded.max())[:5]
    zone = None
    if agency is not None and "agency_timezone" in agency and len(agency):
        zone = str(agency["agency_timezone"].iloc[0]).strip() or None
    return FeedFacts(path, zone, dict(by_date), first, last)


def extract_bbox(osm: Path) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the highway nodes of an OSM extract, rounded outwards to 0.001°."""
    import math

    from planner.streets import read_osm_highways

    highways = read_osm_highways(osm)
    used = {int(n) for _, nodes, _ in highways.ways for n in nodes}
    lons = [highways.node_lon[n] for n in used]
    lats = [highways.node_lat[n] for n in used]
    return (
        math.floor(min(lons) * 1000) / 1000,
        math.floor(min(lats) * 1000) / 1000,
        math.ceil(max(lons) * 1000) / 1000,
        math.ceil(max(lats) * 1000) / 1000,
    )


def draft_area(name: str, gtfs: list[Path], osm: Path, data_dir: Path, timezone: str | None = None) -> AreaDraft:
    """An area file's text for these data files (paths written relative to ``data_dir`` where they lie in it)."""
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"area name {name!r}: use letters, digits, '_' and '-' only")
    if not gtfs:
        raise ConfigError("give at least one --gtfs feed")
    if not osm.is_file():
        raise DataNotFoundError(f"OSM extract {osm} does not exist")
    facts = tuple(feed_facts(p) for p in gtfs)
    zones = {f.timezone for f in facts if f.timezone}
    zone = timezone or (sorted(zones)[0] if zones else None)
    if zone is None:
        raise ConfigError("the feeds name no agency_timezone; give --timezone (e.g. Europe/Helsinki)")
    common = set.intersection(*(set(d for d, n in f.trips_by_date.items() if n) for f in facts))
    candidates = common or set().union(*(f.trips_by_date for f in facts))
    if not candidates:
        raise ConfigError("no feed has a date with service in its calendar")
    ranked = sorted(
        candidates,
        key=lambda d: (-sum(f.trips_by_date.get(d, 0) for f in facts), d.weekday() >= 5, d),
    )
    best = tuple((d, sum(f.trips_by_date.get(d, 0) for f in facts)) for d in ranked[:5])
    service_date = best[0][0]
    bbox = extract_bbox(osm)

    def relative(path: Path) -> str:
        try:
            return path.resolve().relative_to(data_dir.resolve()).as_posix()
        except ValueError:
            return path.resolve().as_posix()

    feeds = [relative(p) for p in gtfs]
    gtfs_value = json.dumps(feeds[0]) if len(feeds) == 1 else "[" + ", ".join(json.dumps(f) for f in feeds) + "]"
    hours = "; ".join(f"{f.path.name}: departures from {f.first_departure} to {f.last_departure}" for f in facts)
    others = ", ".join(f"{d.isoformat()} ({n} trips)" for d, n in best[1:])
    prefix_note = (
        "# With several feeds every GTFS id is prefixed with its feed's file name, e.g. "
        f'"{Path(feeds[-1]).name.split(".")[0]}:STOP_ID".\n'
        if len(feeds) > 1
        else ""
    )
    toml = f"""# Written by `maas area init`; paths are relative to the data directory.
{prefix_note}
[area]
name = {json.dumps(name)}
title = {json.dumps(name.replace("_", " ").title())}
timezone = {json.dumps(zone)}
gtfs = {gtfs_value}
osm = {json.dumps(relative(osm))}
# The busiest date every feed serves ({best[0][1]} trips); others: {others or "none"}.
# {hours}
service_date = {service_date.isoformat()}
# The extent of the street extract (west, south, east, north): points outside it are "outside the area".
bbox = [{bbox[0]}, {bbox[1]}, {bbox[2]}, {bbox[3]}]

[streets]
walk_speed_mps = 1.28
bike_speed_mps = 5.5
drive_default_kmh = 40.0   # where a road has no maxspeed tag and its class no default
stop_link_max_m = 150.0

# An on-demand shuttle (optional): draw its zones and name their hub stops (GTFS stop_ids with
# departures in the operating hours), then uncomment.
# [shuttle]
# depot = [LON, LAT]
# operating_hours = ["07:00", "19:00"]
# [shuttle.fleet]
# size = 6
# seats = 8
# [[shuttle.zones]]
# name = "District"
# hub_stop_ids = ["STOP_ID"]
# polygon = [[LON, LAT], [LON, LAT], [LON, LAT]]
"""
    return AreaDraft(name, toml, service_date, bbox, facts, best)
