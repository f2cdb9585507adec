"""Read and validate a GTFS feed (zip or directory) and resolve its service days.

Validation runs first on the raw text of every table (all columns as strings),
so that a malformed value is reported with its file, row and field instead of
failing inside a typed CSV parse, and so that *every* problem is reported at
once. Only a feed that passes is then read with gtfs-kit, whose typed tables
the timetable compiler uses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from maas.errors import DataNotFoundError, FeedProblem, FeedValidationError, NoServiceError
from maas.tabular import read_csv_bytes

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "stops": ("stop_id", "stop_lat", "stop_lon"),
    "routes": ("route_id", "route_type"),
    "trips": ("route_id", "service_id", "trip_id"),
    "stop_times": ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time"),
    "calendar": (
        "service_id",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "start_date",
        "end_date",
    ),
    "calendar_dates": ("service_id", "date", "exception_type"),
    "frequencies": ("trip_id", "start_time", "end_time", "headway_secs"),
    "transfers": ("from_stop_id", "to_stop_id", "transfer_type"),
    "fare_attributes": ("fare_id", "price", "currency_type"),
    "fare_rules": ("fare_id",),
}
# Required columns whose values may be empty (intermediate stop times are interpolated).
MAY_BE_EMPTY = {("stop_times", "arrival_time"), ("stop_times", "departure_time")}
REQUIRED_FILES = ("stops", "routes", "trips", "stop_times")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME_PATTERN = r"^\d{1,3}:[0-5]\d:[0-5]\d$"


def parse_gtfs_times(values: pd.Series) -> np.ndarray:
    """GTFS ``H:MM:SS`` strings to seconds since noon-minus-12h; empty or malformed -> -1.

    Times past 24:00:00 stay past 86,400 s, as GTFS means them.
    """
    text = values.astype("string").str.strip()
    ok = text.str.match(_TIME_PATTERN).fillna(False).to_numpy(dtype=bool)
    out = np.full(len(text), -1, dtype=np.int64)
    if ok.any():
        parts = text[ok].str.split(":", expand=True).astype(np.int64).to_numpy()
        out[ok] = parts[:, 0] * 3600 + parts[:, 1] * 60 + parts[:, 2]
    return out


def format_gtfs_time(seconds: int) -> str:
    """Seconds as GTFS ``HH:MM:SS`` (hours past 24 kept)."""
    sign = "-" if seconds < 0 else ""
    seconds = abs(int(seconds))
    return f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _read_raw_tables(path: Path) -> tuple[dict[str, pd.DataFrame], list[FeedProblem]]:
    """Every ``*.txt`` table of the feed, all values as strings (empty -> NA), indexed by file line.

    Files that cannot be read as CSV (not UTF-8, empty, ragged rows, a required file with a
    header only) are returned as problems instead.
    """
    tables: dict[str, pd.DataFrame] = {}
    problems: list[FeedProblem] = []

    def add(name: str, data: bytes) -> None:
        stem = name[:-4]
        table = read_csv_bytes(data, name, header_only_ok=stem not in REQUIRED_FILES)
        if table.frame is None:
            problems.extend(table.problems)
            tables[stem] = pd.DataFrame()  # present, so it is not also reported as missing
            return
        tables[stem] = table.frame.replace("", pd.NA)

    if path.is_dir():
        for file in sorted(path.glob("*.txt")):
            try:
                add(file.name, file.read_bytes())
            except OSError as exc:
                problems.append(FeedProblem(file.name, None, f"cannot be read ({exc.strerror})"))
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    name = Path(info.filename).name
                    if name.endswith(".txt") and not info.is_dir():
                        try:
                            data = archive.read(info)
                        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                            problems.append(FeedProblem(name, None, f"cannot be read from the zip ({exc})"))
                            continue
                        add(name, data)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise FeedValidationError(str(path), [FeedProblem(path.name, None, f"not a zip file ({exc})")]) from exc
    return tables, problems


def _rows(df: pd.DataFrame, mask: np.ndarray | pd.Series) -> tuple[int, ...]:
    # Raw tables are indexed by their line in the file (the header is line 1).
    return tuple(int(i) for i in df.index[np.asarray(mask, dtype=bool)])


class _Collector:
    def __init__(self) -> None:
        self.problems: list[FeedProblem] = []

    def add(self, file: str, field: str | None, message: str, rows: Iterable[int] = ()) -> None:
        self.problems.append(FeedProblem(f"{file}.txt", field, message, tuple(rows)))

    def check(self, df: pd.DataFrame, table: str, field: str, mask: np.ndarray | pd.Series, message: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.add(table, field, message, _rows(df, mask))


def validate_tables(tables: dict[str, pd.DataFrame]) -> list[FeedProblem]:
    """All problems found in the raw tables; an empty list means the feed is usable."""
    c = _Collector()
    usable = _check_presence(tables, c)
    _check_keys(usable, c)
    _check_values(usable, c)
    if "stop_times" in usable:
        _validate_stop_times(usable["stop_times"], c)
    return c.problems


def _check_presence(tables: dict[str, pd.DataFrame], c: _Collector) -> dict[str, pd.DataFrame]:
    """Required files, columns and values; returns the tables whose required columns are all there."""
    for name in REQUIRED_FILES:
        if name not in tables:
            c.add(name, None, "required file is missing")
    if "calendar" not in tables and "calendar_dates" not in tables:
        c.add("calendar", None, "neither calendar.txt nor calendar_dates.txt is present")
    usable: dict[str, pd.DataFrame] = {}
    for name, required in REQUIRED_COLUMNS.items():
        if name not in tables:
            continue
        df = tables[name]
        missing = [col for col in required if col not in df.columns]
        for col in missing:
            c.add(name, col, "required column is missing")
        if not missing:
            usable[name] = df
        for col in required:
            if col in df.columns and (name, col) not in MAY_BE_EMPTY:
                empty = df[col].isna()
                if name == "stops" and col in ("stop_lat", "stop_lon") and "location_type" in df:
                    # Generic nodes and boarding areas (types 3, 4) may lack coordinates.
                    empty &= ~df["location_type"].isin(["3", "4"])
                c.check(df, name, col, empty, "required value is empty")
    return usable


def _check_keys(usable: dict[str, pd.DataFrame], c: _Collector) -> None:
    """Unique ids, and every reference to another table found there."""

    def ids(table: str, col: str) -> pd.Series | None:
        return usable[table][col] if table in usable else None

    def unique(table: str, cols: list[str]) -> None:
        if table in usable:
            df = usable[table]
            c.check(df, table, ",".join(cols), df.duplicated(cols, keep="first"), f"duplicate {'/'.join(cols)}")

    unique("stops", ["stop_id"])
    unique("routes", ["route_id"])
    unique("trips", ["trip_id"])
    unique("stop_times", ["trip_id", "stop_sequence"])

    def references(table: str, col: str, target: pd.Series | None, target_name: str) -> None:
        if table in usable and target is not None:
            df = usable[table]
            bad = df[col].notna() & ~df[col].isin(set(target.dropna()))
            c.check(df, table, col, bad, f"refers to a {col} not in {target_name}")

    references("trips", "route_id", ids("routes", "route_id"), "routes.txt")
    references("stop_times", "trip_id", ids("trips", "trip_id"), "trips.txt")
    references("stop_times", "stop_id", ids("stops", "stop_id"), "stops.txt")
    references("frequencies", "trip_id", ids("trips", "trip_id"), "trips.txt")
    unique("fare_attributes", ["fare_id"])
    references("fare_rules", "fare_id", ids("fare_attributes", "fare_id"), "fare_attributes.txt")
    if "fare_rules" in usable and "route_id" in usable["fare_rules"].columns:
        references("fare_rules", "route_id", ids("routes", "route_id"), "routes.txt")
    for col in ("from_stop_id", "to_stop_id"):
        references("transfers", col, ids("stops", "stop_id"), "stops.txt")
    if "trips" in usable and ("calendar" in usable or "calendar_dates" in usable):
        services = pd.concat([usable[t]["service_id"] for t in ("calendar", "calendar_dates") if t in usable])
        references("trips", "service_id", services, "calendar.txt or calendar_dates.txt")


def _check_values(usable: dict[str, pd.DataFrame], c: _Collector) -> None:
    """Numbers in range, dates and times that parse, calendars and frequencies that make sense."""

    def numeric(table: str, col: str, low: float, high: float, integer: bool = True) -> None:
        if table not in usable or col not in usable[table].columns:
            return
        df = usable[table]
        values = pd.to_numeric(df[col], errors="coerce")
        present = df[col].notna()
        bad = present & (values.isna() | ~(values >= low) | ~(values <= high))
        if integer:
            bad |= present & values.notna() & (values != values.round())
        kind = "a whole number" if integer else "a number"
        c.check(df, table, col, bad, f"must be {kind} in [{low}, {high}]")

    numeric("stops", "stop_lat", -90, 90, integer=False)
    numeric("stops", "stop_lon", -180, 180, integer=False)
    if "stops" in usable:
        _far_stops(usable["stops"], c)
    numeric("stops", "location_type", 0, 4)
    numeric("routes", "route_type", 0, 1702)
    numeric("stop_times", "stop_sequence", 0, 2**31 - 1)
    for col in ("pickup_type", "drop_off_type"):
        numeric("stop_times", col, 0, 3)
    numeric("frequencies", "headway_secs", 1, 7 * 86400)
    numeric("frequencies", "exact_times", 0, 1)
    numeric("transfers", "transfer_type", 0, 5)
    numeric("transfers", "min_transfer_time", 0, 86400)
    numeric("calendar_dates", "exception_type", 1, 2)
    numeric("stops", "wheelchair_boarding", 0, 2)
    numeric("trips", "wheelchair_accessible", 0, 2)
    numeric("trips", "bikes_allowed", 0, 2)
    numeric("fare_attributes", "price", 0, 1e9, integer=False)
    numeric("fare_attributes", "transfers", 0, 2)
    numeric("fare_attributes", "transfer_duration", 0, 32767)  # gtfs-kit reads it as a 16-bit integer
    for day in WEEKDAYS:
        numeric("calendar", day, 0, 1)
    _check_dates(usable, c)
    if "frequencies" in usable:
        freq = usable["frequencies"]
        start = parse_gtfs_times(freq["start_time"])
        end = parse_gtfs_times(freq["end_time"])
        unparsable = "unparsable time (expected H:MM:SS)"
        c.check(freq, "frequencies", "start_time", freq["start_time"].notna() & (start < 0), unparsable)
        c.check(freq, "frequencies", "end_time", freq["end_time"].notna() & (end < 0), unparsable)
        ends_early = (start >= 0) & (end >= 0) & (end <= start)
        c.check(freq, "frequencies", "end_time", ends_early, "end_time is not after start_time")


def _check_dates(usable: dict[str, pd.DataFrame], c: _Collector) -> None:
    for table, cols in (("calendar", ("start_date", "end_date")), ("calendar_dates", ("date",))):
        if table in usable:
            df = usable[table]
            for col in cols:
                parsed = pd.to_datetime(df[col], format="%Y%m%d", errors="coerce")
                c.check(df, table, col, df[col].notna() & parsed.isna(), "not a date in YYYYMMDD form")
    if "calendar" in usable:
        cal = usable["calendar"]
        first_day = pd.to_datetime(cal["start_date"], format="%Y%m%d", errors="coerce")
        last_day = pd.to_datetime(cal["end_date"], format="%Y%m%d", errors="coerce")
        c.check(cal, "calendar", "end_date", (last_day < first_day).fillna(False), "end_date is before start_date")


FAR_STOP_KM = 1000.0


def _far_stops(stops: pd.DataFrame, c: _Collector) -> None:
    """Stops over 1,000 km from the feed's median stop: swapped lat and lon, or a missing sign.

    No city's transit reaches that far, and such a stop would silently join no street network.
    """
    lat = pd.to_numeric(stops["stop_lat"], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(stops["stop_lon"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if ok.sum() < 3:
        return
    lat0, lon0 = np.median(lat[ok]), np.median(lon[ok])
    p1, p2 = np.radians(lat), np.radians(lat0)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon0 - lon) / 2) ** 2
    km = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    far = ok & (km > FAR_STOP_KM)
    message = (
        f"over {FAR_STOP_KM:.0f} km from the feed's other stops (near {lat0:.3f}, {lon0:.3f}); lat and lon swapped?"
    )
    c.check(stops, "stops", "stop_lat", far, message)


def _validate_stop_times(st: pd.DataFrame, c: _Collector) -> None:
    arrival = parse_gtfs_times(st["arrival_time"])
    departure = parse_gtfs_times(st["departure_time"])
    for col, seconds in (("arrival_time", arrival), ("departure_time", departure)):
        c.check(st, "stop_times", col, st[col].notna() & (seconds < 0), "unparsable time (expected H:MM:SS)")
    sequence = pd.to_numeric(st["stop_sequence"], errors="coerce")
    order = np.lexsort((sequence.fillna(-1).to_numpy(), st["trip_id"].fillna("").to_numpy()))
    trip = st["trip_id"].fillna("").to_numpy()[order]
    arr = arrival[order]
    dep = departure[order]
    # GTFS lets intermediate stops leave times empty (to be interpolated), not the first or last.
    first = np.ones(len(order), dtype=bool)
    first[1:] = trip[1:] != trip[:-1]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = trip[:-1] != trip[1:]
    ends = first | last
    missing = np.zeros(len(st), dtype=bool)
    missing[order] = ends & ((arr < 0) & (dep < 0))
    empty_both = st["arrival_time"].isna().to_numpy() & st["departure_time"].isna().to_numpy()
    c.check(st, "stop_times", "arrival_time", missing & empty_both, "first and last stop of a trip need a time")
    # Decreasing times: arrival after departure at one stop, or a later stop earlier than the
    # last known time before it in the same trip.
    arr_f = np.where(arr >= 0, arr, dep)
    dep_f = np.where(dep >= 0, dep, arr)
    bad_here = np.zeros(len(st), dtype=bool)
    bad_here[order] = (arr_f >= 0) & (dep_f >= 0) & (dep_f < arr_f)
    c.check(st, "stop_times", "departure_time", bad_here, "departure before arrival at the same stop")
    known = np.where(dep_f >= 0, dep_f, -1)
    # running max of known times within a trip
    group = np.cumsum(first)
    running = pd.Series(known).groupby(group).cummax().to_numpy()
    prev_max = np.full(len(order), -1)
    prev_max[1:] = np.where(first[1:], -1, running[:-1])
    decreasing = np.zeros(len(st), dtype=bool)
    decreasing[order] = (arr_f >= 0) & (arr_f < prev_max)
    c.check(st, "stop_times", "arrival_time", decreasing, "time is earlier than at a previous stop of the same trip")


@dataclass(frozen=True, slots=True)
class ServiceCalendar:
    """Which service_ids run on which dates (calendar.txt and calendar_dates.txt combined)."""

    dates_by_service: dict[str, frozenset[dt.date]]

    @classmethod
    def from_tables(cls, calendar: pd.DataFrame | None, calendar_dates: pd.DataFrame | None) -> ServiceCalendar:
        """The calendar from ``calendar.txt`` and ``calendar_dates.txt`` (either may be absent)."""
        dates: dict[str, set[dt.date]] = {}
        if calendar is not None and len(calendar):
            for row in calendar.itertuples(index=False):
                start = _as_date(row.start_date)
                end = _as_date(row.end_date)
                flags = [int(str(getattr(row, d))) for d in WEEKDAYS]
                days = dates.setdefault(str(row.service_id), set())
                day = start
                while day <= end:
                    if flags[day.weekday()]:
                        days.add(day)
                    day += dt.timedelta(days=1)
        if calendar_dates is not None and len(calendar_dates):
            for row in calendar_dates.itertuples(index=False):
                days = dates.setdefault(str(row.service_id), set())
                day = _as_date(row.date)
                if str(row.exception_type) == "1":
                    days.add(day)
                else:
                    days.discard(day)
        return cls({sid: frozenset(d) for sid, d in dates.items()})

    def active_services(self, date: dt.date) -> frozenset[str]:
        """The service_ids running on ``date``."""
        return frozenset(s for s, d in self.dates_by_service.items() if date in d)

    def service_dates(self) -> list[dt.date]:
        """Every date on which some service runs, sorted."""
        return sorted(set().union(*self.dates_by_service.values())) if self.dates_by_service else []


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def describe_dates(dates: list[dt.date], limit: int = 20) -> str:
    """Dates for a message: the first ``limit`` listed, then how many there are and their span."""
    if not dates:
        return "none"
    shown = ", ".join(d.isoformat() for d in dates[:limit])
    return shown + (f" … ({len(dates)} dates, {dates[0]} to {dates[-1]})" if len(dates) > limit else "")


@dataclass(frozen=True)
class GtfsFeed:
    """A validated feed: gtfs-kit's typed tables plus its service calendar."""

    source: Path
    feed: object  # gtfs_kit.Feed
    calendar: ServiceCalendar

    def table(self, name: str) -> pd.DataFrame | None:
        """A GTFS table by name (``"stops"``), or None if the feed lacks it."""
        value = getattr(self.feed, name, None)
        return value if isinstance(value, pd.DataFrame) else None

    def require_service(self, date: dt.date) -> frozenset[str]:
        """The services running on ``date``; :class:`NoServiceError` listing the dates with service when none do."""
        services = self.calendar.active_services(date)
        trips = self.table("trips")
        if services and trips is not None and trips["service_id"].isin(services).any():
            return services
        dates = self.calendar.service_dates()
        raise NoServiceError(
            str(self.source),
            [
                FeedProblem(
                    "calendar.txt",
                    None,
                    f"no trips run on {date.isoformat()}; dates with service: {describe_dates(dates)}",
                )
            ],
        )


def _read_with_gtfs_kit(path: Path) -> object:
    import gtfs_kit
    import gtfs_kit.constants

    # gtfs-kit (<= 13.0) reads headway_secs as Int16, which overflows on real feeds (HSL has
    # headways up to 71,760 s); widen it before reading. Our validation already bounded it.
    frequency_types = gtfs_kit.constants.DTYPES.get("frequencies", {})
    if frequency_types.get("headway_secs") in ("Int16", "int16", "Int8"):
        frequency_types["headway_secs"] = "Int32"
    return gtfs_kit.read_feed(path, dist_units="km")


def _validated_tables(source: Path) -> dict[str, pd.DataFrame]:
    """The feed's tables as read and validated; raises :class:`FeedValidationError` listing every problem."""
    if not source.exists():
        raise DataNotFoundError(f"GTFS feed {source} does not exist")
    tables, unreadable = _read_raw_tables(source)
    problems = unreadable + validate_tables({k: v for k, v in tables.items() if len(v.columns)})
    for problem in unreadable:  # an unreadable file is not also "missing"
        problems = [p for p in problems if not (p.file == problem.file and p.message == "required file is missing")]
    if problems:
        raise FeedValidationError(str(source), problems)
    return {name: frame for name, frame in tables.items() if len(frame.columns)}


# Columns that hold a feed's own ids, which must be kept apart when feeds are merged.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "agency": ("agency_id",),
    "routes": ("route_id", "agency_id"),
    "trips": ("route_id", "service_id", "trip_id", "shape_id", "block_id"),
    "stops": ("stop_id", "parent_station", "zone_id", "level_id"),
    "stop_times": ("trip_id", "stop_id"),
    "calendar": ("service_id",),
    "calendar_dates": ("service_id",),
    "frequencies": ("trip_id",),
    "transfers": ("from_stop_id", "to_stop_id", "from_route_id", "to_route_id", "from_trip_id", "to_trip_id"),
    "shapes": ("shape_id",),
    "fare_attributes": ("fare_id", "agency_id"),
    "fare_rules": ("fare_id", "route_id", "origin_id", "destination_id", "contains_id"),
    "pathways": ("pathway_id", "from_stop_id", "to_stop_id"),
    "levels": ("level_id",),
}


def _with_feed_agency(name: str, frame: pd.DataFrame, agency: pd.DataFrame | None) -> pd.DataFrame:
    """Routes and fares that leave ``agency_id`` empty belong to their feed's one agency (GTFS lets a
    single-agency feed omit it); said explicitly before feeds merge, so that one operator's fare is
    never applied to another operator's rides."""
    if name not in ("routes", "fare_attributes") or agency is None or len(agency) != 1:
        return frame
    if "agency_id" not in agency.columns or pd.isna(agency["agency_id"].iloc[0]):
        return frame
    if "agency_id" not in frame.columns:
        frame["agency_id"] = pd.NA
    frame["agency_id"] = frame["agency_id"].fillna(agency["agency_id"].iloc[0])
    return frame


def feed_prefix(path: Path) -> str:
    """The prefix that keeps a feed's ids apart in a merged timetable: its file name without extension."""
    return path.name.split(".")[0] + ":"


def load_feed(path: str | Path) -> GtfsFeed:
    """Validate and read a GTFS feed; raises :class:`FeedValidationError` listing every problem."""
    return load_feeds([Path(path)])


def load_feeds(paths: Sequence[str | Path]) -> GtfsFeed:
    """Validate and read one or several GTFS feeds as one.

    With several feeds every id is prefixed with its feed's :func:`feed_prefix` (``poa_trensurb:123``),
    so that equal ids of different operators stay apart; transfers between the feeds are the walks
    between their stops, as within one feed. Problems of every feed are reported together.
    """
    sources = [Path(p) for p in paths]
    if not sources:
        raise DataNotFoundError("no GTFS feed given")
    per_feed: list[dict[str, pd.DataFrame]] = []
    problems: list[FeedProblem] = []
    for source in sources:
        try:
            per_feed.append(_validated_tables(source))
        except FeedValidationError as exc:
            if len(sources) == 1:
                raise
            problems += [dataclasses.replace(p, file=f"{source.name}/{p.file}") for p in exc.problems]
    if problems:
        raise FeedValidationError(", ".join(str(s) for s in sources), problems)
    if len(sources) == 1:
        tables = per_feed[0]
    else:
        names = sorted({name for t in per_feed for name in t} - {"feed_info"})
        tables = {}
        for name in names:
            parts = []
            for source, feed_tables in zip(sources, per_feed, strict=True):
                if name in feed_tables:
                    frame = _with_feed_agency(name, feed_tables[name].copy(), feed_tables.get("agency"))
                    for column in ID_COLUMNS.get(name, ()):
                        if column in frame.columns:
                            present = frame[column].notna()
                            frame.loc[present, column] = feed_prefix(source) + frame.loc[present, column].astype(str)
                    parts.append(frame)
            tables[name] = pd.concat(parts, ignore_index=True)
    # gtfs-kit reads exactly the rows that were validated: a line this reader skips or splits
    # differently from pandas (a stray control character, a blank-looking row) cannot reach it.
    import tempfile

    with tempfile.TemporaryDirectory(prefix="maas-gtfs-") as folder:
        for name, frame in tables.items():
            frame.to_csv(Path(folder) / f"{name}.txt", index=False, lineterminator="\n")
        feed = _read_with_gtfs_kit(Path(folder))
    calendar = ServiceCalendar.from_tables(getattr(feed, "calendar", None), getattr(feed, "calendar_dates", None))
    return GtfsFeed(
        source=sources[0] if len(sources) == 1 else Path(" + ".join(map(str, sources))), feed=feed, calendar=calendar
    )
