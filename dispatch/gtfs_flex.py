"""The shuttle service described as a static GTFS-Flex feed, so other planners know where and when it runs.

One route per shuttle zone (``route_type`` 715, demand and response), two trips each (zone to hub
and hub to zone) every day of the feeds' calendar. A zone is a GeoJSON polygon in
``locations.geojson``; its stop time has the service's operating hours as the pickup and drop-off
window and points at a booking rule (book in real time, the wait the service promises). The hubs are
the area's GTFS stops, copied with their names and coordinates.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from maas.area import Area
from maas.errors import MaasError
from planner.gtfs_feed import format_gtfs_time

FILES = (
    "agency.txt",
    "routes.txt",
    "stops.txt",
    "locations.geojson",
    "calendar.txt",
    "trips.txt",
    "stop_times.txt",
    "booking_rules.txt",
)


def _slug(name: str) -> str:
    """An id from a zone's name: "Jätkäsaari" -> "jatkasaari"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "zone"


def write_flex(
    area: Area,
    hubs: dict[str, tuple[str, float, float]],
    dates: tuple[str, str],
    out: Path,
    agency_url: str = "https://example.org/shuttle",
) -> list[Path]:
    """Write the feed's files into ``out``; ``hubs``: stop_id -> (name, lat, lon) from the area's GTFS;
    ``dates``: the first and last service date (YYYYMMDD)."""
    service = area.shuttle
    if service is None:
        raise MaasError(f"area {area.name} defines no [shuttle] service to describe")
    missing = sorted({h for z in service.zones for h in z.hub_stop_ids} - set(hubs))
    if missing:
        raise MaasError(f"hub stop(s) {', '.join(missing)} of the shuttle zones are not in the area's GTFS")
    start, end = service.hours_s
    window = (format_gtfs_time(int(start)), format_gtfs_time(int(end)))
    out.mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[dict[str, Any]]] = {
        "agency.txt": [
            {
                "agency_id": "shuttle",
                "agency_name": f"{area.title} on-demand shuttle",
                "agency_url": agency_url,
                "agency_timezone": area.timezone or "UTC",
            }
        ],
        "routes.txt": [],
        "stops.txt": [
            {"stop_id": stop, "stop_name": name, "stop_lat": lat, "stop_lon": lon}
            for stop, (name, lat, lon) in sorted(hubs.items())
            if any(stop in z.hub_stop_ids for z in service.zones)
        ],
        "calendar.txt": [
            {"service_id": "daily", **dict.fromkeys(_WEEK, 1), "start_date": dates[0], "end_date": dates[1]}
        ],
        "trips.txt": [],
        "stop_times.txt": [],
        "booking_rules.txt": [
            {
                "booking_rule_id": "book-now",
                "booking_type": 0,  # real-time booking
                "message": f"Book in the app; pickup within {service.max_wait_min:g} minutes of the time asked",
            }
        ],
    }
    features = []
    for zone in service.zones:
        feature, route, trips, times = _zone_tables(zone.name, zone.polygon, zone.hub_stop_ids, window)
        features.append(feature)
        tables["routes.txt"].append(route)
        tables["trips.txt"] += trips
        tables["stop_times.txt"] += times
    written = []
    for name, rows in tables.items():
        path = out / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        written.append(path)
    geojson = out / "locations.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1))
    written.append(geojson)
    return written


def _zone_tables(
    name: str, polygon: tuple[tuple[float, float], ...], hubs: tuple[str, ...], window: tuple[str, str]
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """A zone's GeoJSON feature, its route, and its trips to and from each hub with their stop times."""
    slug = _slug(name)
    ring = [list(p) for p in polygon] + [list(polygon[0])]
    zone_id = f"zone-{slug}"
    feature = {
        "type": "Feature",
        "id": zone_id,
        "properties": {"stop_name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    route_id = f"shuttle-{slug}"
    route = {"route_id": route_id, "agency_id": "shuttle", "route_short_name": name, "route_type": 715}
    trips, times = [], []
    for hub in hubs:
        for direction, (first, second) in enumerate(((zone_id, hub), (hub, zone_id))):
            trip = f"{route_id}-{hub}-{'to-hub' if direction == 0 else 'from-hub'}"
            trips.append({"route_id": route_id, "service_id": "daily", "trip_id": trip, "direction_id": direction})
            for sequence, place in enumerate((first, second), 1):
                in_zone = place == zone_id
                boards = sequence == 1
                times.append(
                    {
                        "trip_id": trip,
                        "stop_sequence": sequence,
                        "stop_id": "" if in_zone else place,
                        "location_id": place if in_zone else "",
                        "start_pickup_drop_off_window": window[0],
                        "end_pickup_drop_off_window": window[1],
                        "pickup_type": 2 if boards else 1,  # 2: arrange it (book); 1: none
                        "drop_off_type": 1 if boards else 0,
                        "pickup_booking_rule_id": "book-now" if boards else "",
                        "drop_off_booking_rule_id": "",
                    }
                )
    return feature, route, trips, times


_WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
