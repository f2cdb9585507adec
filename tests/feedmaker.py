"""Write tiny GTFS feeds for tests: a dict of tables in, a directory or zip out."""

from __future__ import annotations

import zipfile
from pathlib import Path

BASE_TABLES: dict[str, str] = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nA,Test,http://x,Europe/Helsinki\n",
    "stops.txt": (
        "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
        "S1,One,60.160,24.920,,\n"
        "S2,Two,60.162,24.925,,\n"
        "S3,Three,60.164,24.930,,\n"
        "S4,Four,60.166,24.935,,\n"
    ),
    "routes.txt": "route_id,route_short_name,route_long_name,route_type\nR1,1,One line,3\nR2,2,Two line,0\n",
    "trips.txt": ("route_id,service_id,trip_id,trip_headsign\nR1,WK,T1,Four\nR1,WK,T2,Four\n"),
    "stop_times.txt": (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,S1,1\n"
        "T1,08:05:00,08:05:30,S2,2\n"
        "T1,08:10:00,08:10:00,S3,3\n"
        "T2,09:00:00,09:00:00,S1,1\n"
        "T2,09:05:00,09:05:00,S2,2\n"
        "T2,09:10:00,09:10:00,S3,3\n"
    ),
    "calendar.txt": (
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20220221,20220225\n"
    ),
}


def write_feed(directory: Path, overrides: dict[str, str | None] | None = None, *, as_zip: bool = False) -> Path:
    """Write BASE_TABLES with ``overrides`` (None removes a file); return the feed path."""
    tables = dict(BASE_TABLES)
    for name, text in (overrides or {}).items():
        if text is None:
            tables.pop(name, None)
        else:
            tables[name] = text
    directory.mkdir(parents=True, exist_ok=True)
    if as_zip:
        path = directory / "feed.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for name, text in tables.items():
                archive.writestr(name, text)
        return path
    feed_dir = directory / "feed"
    feed_dir.mkdir(exist_ok=True)
    for name, text in tables.items():
        (feed_dir / name).write_text(text, encoding="utf-8")
    return feed_dir
