"""Area definitions (``data/areas/<name>.toml``) and where their data files live.

An area names its GTFS feed and OSM extract relative to a data directory, which
is resolved in this order: an explicit ``data_dir`` argument (the CLI's
``--data-dir``), the ``MAAS_DATA_DIR`` environment variable, ``../shared/data``
beside the project checkout when it exists.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from maas.errors import ConfigError, DataNotFoundError
from maas.settings import checked_table

T = TypeVar("T")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
AREAS_DIR = PROJECT_ROOT / "data" / "areas"
DATA_DIR_ENV = "MAAS_DATA_DIR"


def _problems_to_error(source: str, problems: list[str]) -> None:
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class StreetSettings:
    """Speeds and limits for the street graphs.

    Walking 1.28 m/s and cycling 5.5 m/s are the speeds HSL's journey planner uses.
    ``drive_default_kmh`` applies to a road without a usable ``maxspeed`` tag when its
    highway class has no default in ``planner.streets.DRIVE_SPEED_DEFAULTS_KMH``.
    """

    walk_speed_mps: float = 1.28
    bike_speed_mps: float = 5.5
    drive_default_kmh: float = 30.0
    stop_link_max_m: float = 150.0

    def __post_init__(self) -> None:
        problems = []
        for name in ("walk_speed_mps", "bike_speed_mps", "drive_default_kmh", "stop_link_max_m"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e6:
                problems.append(f"streets.{name} must be a positive number, got {value!r}")
        _problems_to_error("street settings", problems)


@dataclass(frozen=True, slots=True)
class ShuttleZone:
    """A polygon served by the shuttle, feeding the hub stations (GTFS stop ids)."""

    name: str
    polygon: tuple[tuple[float, float], ...]  # (lon, lat) ring, not closed
    hub_stop_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FleetDefaults:
    """The shuttle fleet (``[shuttle.fleet]``). ``battery_kwh`` 0 leaves batteries out of the model; with a
    battery, a shuttle keeps ``battery_reserve`` of it unused, is never given a trip it could not finish
    and still reach the depot, and charges there at ``charge_kw`` once idle below ``charge_below``."""

    size: int = 6
    seats: int = 8
    wheelchair_places: int = 1
    speed_kmh: float = 18.0
    battery_kwh: float = 0.0
    kwh_per_km: float = 0.25
    charge_kw: float = 22.0
    battery_reserve: float = 0.1
    charge_below: float = 0.6

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.battery_kwh <= 1000:
            problems.append(
                f"fleet.battery_kwh must be in [0, 1000] (0: batteries not modelled), got {self.battery_kwh}"
            )
        if not 0 < self.kwh_per_km <= 5:
            problems.append(f"fleet.kwh_per_km must be in (0, 5], got {self.kwh_per_km}")
        if not 0 < self.charge_kw <= 1000:
            problems.append(f"fleet.charge_kw must be in (0, 1000], got {self.charge_kw}")
        if not 0 <= self.battery_reserve < 1:
            problems.append(f"fleet.battery_reserve must be a share in [0, 1), got {self.battery_reserve}")
        if not 0 <= self.charge_below < 1:
            problems.append(f"fleet.charge_below must be a share in [0, 1), got {self.charge_below}")
        if self.size < 1:
            problems.append(f"fleet.size must be at least 1, got {self.size}")
        if self.seats < 1:
            problems.append(f"fleet.seats must be at least 1, got {self.seats}")
        if self.wheelchair_places < 0:
            problems.append(f"fleet.wheelchair_places must be >= 0, got {self.wheelchair_places}")
        if not 0 < self.speed_kmh <= 60:
            problems.append(f"fleet.speed_kmh must be in (0, 60], got {self.speed_kmh}")
        _problems_to_error("shuttle fleet", problems)


@dataclass(frozen=True, slots=True)
class DispatchObjective:
    """What the dispatcher weighs when it places a booking (``[shuttle.objective]``).

    ``rider_time_weight``: seconds of driving one second of riders' time is worth (their rides, and the
    wait of riders off a train); ``early_pickup_weight``: the same for each second a rider bound for a
    departure is picked up at home before the latest pickup that makes the train; both 0 minimise
    driving alone. ``leave_later``: a rider bound for a
    departure picked up by an empty shuttle is planned as late as the plan allows, so they leave home
    later instead of waiting at the station.
    """

    rider_time_weight: float = 1.0
    early_pickup_weight: float = 0.0
    leave_later: bool = False

    def __post_init__(self) -> None:
        problems = []
        if isinstance(self.rider_time_weight, bool) or not 0 <= self.rider_time_weight <= 100:
            problems.append(f"objective.rider_time_weight must be in [0, 100], got {self.rider_time_weight!r}")
        if isinstance(self.early_pickup_weight, bool) or not 0 <= self.early_pickup_weight <= 100:
            problems.append(f"objective.early_pickup_weight must be in [0, 100], got {self.early_pickup_weight!r}")
        if not isinstance(self.leave_later, bool):
            problems.append(f"objective.leave_later must be true or false, got {self.leave_later!r}")
        _problems_to_error("shuttle objective", problems)


@dataclass(frozen=True, slots=True)
class ShuttleService:
    zones: tuple[ShuttleZone, ...]
    depot: tuple[float, float]  # (lon, lat)
    fleet: FleetDefaults
    operating_hours: tuple[str, str] = ("07:00", "19:00")
    max_wait_min: float = 15.0
    max_ride_factor: float = 2.0  # ride time <= factor * direct time + max_ride_extra_min
    max_ride_extra_min: float = 5.0
    fare: float | None = None  # a ride alone; None: not published
    fare_with_transit: float | None = None  # when the trip also rides transit (0: included in the ticket)
    fare_currency: str = ""  # "" : the transit feed's currency
    objective: DispatchObjective = field(default_factory=DispatchObjective)

    def max_ride_s(self, direct_s: float) -> float:
        """The service's promise on ride time, in seconds, for a ride whose direct time is ``direct_s``."""
        return self.max_ride_factor * direct_s + self.max_ride_extra_min * 60

    @property
    def hours_s(self) -> tuple[float, float]:
        """The operating hours as seconds after midnight of the service day (checked when the area was read)."""
        start, end = (_clock_minutes(h) for h in self.operating_hours)
        assert start is not None and end is not None
        return start * 60, end * 60


@dataclass(frozen=True, slots=True)
class Area:
    """Everything that defines one service area."""

    name: str
    title: str
    timezone: str
    gtfs_files: tuple[Path, ...]  # one feed, or several merged (ids kept apart by feed)
    osm_file: Path
    population_file: Path | None
    service_date: dt.date
    bbox: tuple[float, float, float, float]  # west, south, east, north (lon/lat)
    data_dir: Path
    streets: StreetSettings = field(default_factory=StreetSettings)
    shuttle: ShuttleService | None = None

    @property
    def gtfs_file(self) -> Path:
        """The first (often the only) feed."""
        return self.gtfs_files[0]

    def contains(self, lon: float, lat: float) -> bool:
        """Whether (lon, lat) lies inside the area's bounding box."""
        west, south, east, north = self.bbox
        return west <= lon <= east and south <= lat <= north


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """Find the data directory: argument, then ``$MAAS_DATA_DIR``, then ``../shared/data``."""
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise DataNotFoundError(f"--data-dir {path} is not a directory")
        return path.resolve()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise DataNotFoundError(f"{DATA_DIR_ENV}={env} is not a directory")
        return path.resolve()
    for candidate in (PROJECT_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate.resolve()
    raise DataNotFoundError(
        "No data directory found. Put the data beside the project as ../shared/data "
        "(helsinki/hsl_gtfs_2022-02-22.zip: HSL GTFS from r5py's sample data; "
        "helsinki/helsinki_centre_2024-08-15.osm.pbf: an OpenStreetMap extract of central "
        f"Helsinki), or pass --data-dir DIR, or set {DATA_DIR_ENV}=DIR."
    )


def area_file(name_or_path: str | Path) -> Path:
    """The TOML file for an area name (``helsinki``) or an explicit path."""
    path = Path(name_or_path)
    if path.suffix == ".toml":
        if not path.is_file():
            raise ConfigError(f"area file {path} does not exist")
        return path
    path = AREAS_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in AREAS_DIR.glob("*.toml"))
        raise ConfigError(f"unknown area {name_or_path!r}; known areas: {', '.join(known)}")
    return path


def _get(
    table: dict[str, Any], key: str, kind: type | tuple[type, ...], problems: list[str], prefix: str, default: Any = ...
) -> Any:
    if key not in table:
        if default is ...:
            problems.append(f"missing {prefix}{key}")
        return None if default is ... else default
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        problems.append(f"{prefix}{key} has the wrong type ({type(value).__name__})")
        return None
    return value


def _table(raw: dict[str, Any], key: str, problems: list[str], prefix: str = "") -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        problems.append(f"[{prefix}{key}] must be a table, got {type(value).__name__}")
        return {}
    return value


def _number(
    table: dict[str, Any], key: str, problems: list[str], prefix: str, default: float, low: float, high: float
) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(f"{prefix}{key} must be a number, got {value!r}")
        return default
    if not low <= value <= high:
        problems.append(f"{prefix}{key} must be in [{low:g}, {high:g}], got {value!r}")
        return default
    return float(value)


def _settings(values: dict[str, Any], settings_class: type[T], table: str, problems: list[str]) -> T:
    """A checked settings object from a TOML table (its defaults where the table has problems, listed)."""
    made, found = checked_table(values, settings_class, table, ConfigError)
    problems.extend(found)
    return settings_class() if made is None else made


def _lonlat(value: Any) -> tuple[float, float] | None:
    """A [lon, lat] pair of finite numbers in range, else None."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in value):
        return None
    lon, lat = float(value[0]), float(value[1])
    return (lon, lat) if -180 <= lon <= 180 and -90 <= lat <= 90 else None


def _clock_minutes(text: str) -> float | None:
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    hours, minutes = int(parts[0]), int(parts[1])
    return hours * 60.0 + minutes if hours < 48 and minutes < 60 else None


def _parse_shuttle(raw: dict[str, Any], problems: list[str]) -> ShuttleService | None:
    zones = []
    raw_zones = raw.get("zones", [])
    if not isinstance(raw_zones, list):
        problems.append("shuttle.zones must be a list of [[shuttle.zones]] tables")
        raw_zones = []
    for i, z in enumerate(raw_zones):
        prefix = f"shuttle.zones[{i}]."
        if not isinstance(z, dict):
            problems.append(f"shuttle.zones[{i}] must be a table")
            continue
        name = _get(z, "name", str, problems, prefix)
        polygon = _get(z, "polygon", list, problems, prefix)
        hubs = _get(z, "hub_stop_ids", list, problems, prefix)
        ring = [_lonlat(p) for p in polygon] if polygon is not None else []
        if polygon is not None and (len(ring) < 3 or any(p is None for p in ring)):
            problems.append(f"{prefix}polygon needs at least 3 [lon, lat] points of numbers in range")
            polygon = None
        if hubs is not None and (not hubs or not all(isinstance(h, str | int) and str(h).strip() for h in hubs)):
            problems.append(f"{prefix}hub_stop_ids must be a non-empty list of GTFS stop ids")
            hubs = None
        if name and polygon and hubs is not None:
            zones.append(ShuttleZone(name, tuple(p for p in ring if p is not None), tuple(str(h) for h in hubs)))
    if not raw_zones:
        problems.append("shuttle needs at least one [[shuttle.zones]] (name, polygon, hub_stop_ids)")
    depot = _lonlat(raw.get("depot"))
    if depot is None:
        problems.append("shuttle.depot must be [lon, lat] (numbers in range)")
    fleet = _settings(_table(raw, "fleet", problems, "shuttle."), FleetDefaults, "shuttle.fleet", problems)
    objective = _settings(
        _table(raw, "objective", problems, "shuttle."), DispatchObjective, "shuttle.objective", problems
    )
    hours = raw.get("operating_hours", ["07:00", "19:00"])
    clocks = [_clock_minutes(h) if isinstance(h, str) else None for h in hours] if isinstance(hours, list) else []
    if len(clocks) != 2 or None in clocks:
        problems.append('shuttle.operating_hours must be ["HH:MM", "HH:MM"], e.g. ["07:00", "19:00"]')
        hours = ["07:00", "19:00"]
    elif clocks[1] <= clocks[0]:  # type: ignore[operator]
        problems.append("shuttle.operating_hours must end after they start")
    max_wait = _number(raw, "max_wait_min", problems, "shuttle.", 15.0, 1, 240)
    factor = _number(raw, "max_ride_factor", problems, "shuttle.", 2.0, 1, 10)
    extra = _number(raw, "max_ride_extra_min", problems, "shuttle.", 5.0, 0, 240)
    fare = _optional_price(raw, "fare", problems)
    fare_with_transit = _optional_price(raw, "fare_with_transit", problems)
    currency = raw.get("fare_currency", "")
    if not isinstance(currency, str) or (currency and not (len(currency) == 3 and currency.isalpha())):
        problems.append(f"shuttle.fare_currency must be an ISO 4217 code such as EUR, got {currency!r}")
        currency = ""
    if depot is None:
        return None
    return ShuttleService(
        zones=tuple(zones),
        depot=depot,
        fleet=fleet,
        operating_hours=(str(hours[0]), str(hours[1])),
        max_wait_min=max_wait,
        max_ride_factor=factor,
        max_ride_extra_min=extra,
        fare=fare,
        fare_with_transit=fare if fare_with_transit is None else fare_with_transit,
        fare_currency=currency.upper(),
        objective=objective,
    )


def _optional_price(raw: dict[str, Any], key: str, problems: list[str]) -> float | None:
    """A price in the area file: absent means not published."""
    if key not in raw:
        return None
    return _number(raw, key, problems, "shuttle.", 0.0, 0, 1e6)


def load_area(
    name_or_path: str | Path = "helsinki", data_dir: str | Path | None = None, *, check_files: bool = True
) -> Area:
    """Read an area definition; reports every problem in the file at once.

    Parameters
    ----------
    name_or_path
        A bundled area's name (a file ``data/<name>.toml``) or the path of an area TOML file.
    data_dir
        The directory the area's data paths are relative to (default: ``../shared/data`` beside
        the project, or the ``MAAS_DATA_DIR`` environment variable).
    check_files
        Whether the feeds and extracts the area names must exist.

    Returns
    -------
    Area
        The checked area settings. A ``ConfigError`` lists every problem of the file at once.
    """
    path = area_file(name_or_path)
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    problems: list[str] = []
    a = _table(raw, "area", problems)
    name = _get(a, "name", str, problems, "area.")
    title = _get(a, "title", str, problems, "area.", default=name)
    timezone = _get(a, "timezone", str, problems, "area.")
    gtfs = _get(a, "gtfs", (str, list), problems, "area.")
    if isinstance(gtfs, list) and (not gtfs or not all(isinstance(g, str) and g.strip() for g in gtfs)):
        problems.append("area.gtfs must be a file name or a non-empty list of file names")
        gtfs = None
    osm = _get(a, "osm", str, problems, "area.")
    population = _get(a, "population", str, problems, "area.", default=None)
    service_date = _get(a, "service_date", dt.date, problems, "area.")
    bbox = _get(a, "bbox", list, problems, "area.")
    if bbox is not None:
        corners = [_lonlat(bbox[:2]), _lonlat(bbox[2:])] if len(bbox) == 4 else [None]
        if None in corners or not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
            problems.append("area.bbox must be [west, south, east, north] in degrees with west<east, south<north")
            bbox = None
    for key, value in (("name", name), ("gtfs", gtfs), ("osm", osm)):
        if isinstance(value, str) and not value.strip():
            problems.append(f"area.{key} is empty")
    if timezone:
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(timezone)
        except Exception:
            problems.append(f"area.timezone {timezone!r} is not a known time zone")
    streets = _settings(_table(raw, "streets", problems), StreetSettings, "streets", problems)
    shuttle = _parse_shuttle(_table(raw, "shuttle", problems), problems) if "shuttle" in raw else None
    _problems_to_error(str(path), problems)
    root = resolve_data_dir(data_dir)
    area = Area(
        name=name,
        title=title,
        timezone=timezone,
        gtfs_files=tuple(root / g for g in ([gtfs] if isinstance(gtfs, str) else gtfs)),
        osm_file=root / osm,
        population_file=(root / population) if population else None,
        service_date=service_date,
        bbox=tuple(float(v) for v in bbox),  # type: ignore[arg-type]
        data_dir=root,
        streets=streets,
        shuttle=shuttle,
    )
    if check_files:
        missing = [p for p in (*area.gtfs_files, area.osm_file) if not p.is_file()]
        if missing:
            raise DataNotFoundError(
                f"area {name!r} needs "
                + ", ".join(str(p) for p in missing)
                + f" (data directory {root}); see the README's 'Data' section for where to get them"
            )
    return area
