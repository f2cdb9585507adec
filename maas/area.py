"""Area definitions (``data/areas/<name>.toml``) and where their data files live.

An area names its GTFS feed and OSM extract relative to a data directory, which
is resolved in this order: an explicit ``data_dir`` argument (the CLI's
``--data-dir``), the ``MAAS_DATA_DIR`` environment variable, ``../shared/data``
beside the project checkout when it exists.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maas.errors import ConfigError, DataNotFoundError

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
            if not isinstance(value, int | float) or not value > 0:
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
    size: int = 6
    seats: int = 8
    wheelchair_places: int = 1
    speed_kmh: float = 18.0

    def __post_init__(self) -> None:
        problems = []
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
class ShuttleService:
    zones: tuple[ShuttleZone, ...]
    depot: tuple[float, float]  # (lon, lat)
    fleet: FleetDefaults
    operating_hours: tuple[str, str] = ("07:00", "19:00")
    max_wait_min: float = 15.0
    max_ride_factor: float = 2.0  # ride time <= factor * direct time + max_ride_extra_min
    max_ride_extra_min: float = 5.0


@dataclass(frozen=True, slots=True)
class Area:
    """Everything that defines one service area."""

    name: str
    title: str
    timezone: str
    gtfs_file: Path
    osm_file: Path
    population_file: Path | None
    service_date: dt.date
    bbox: tuple[float, float, float, float]  # west, south, east, north (lon/lat)
    data_dir: Path
    streets: StreetSettings = field(default_factory=StreetSettings)
    shuttle: ShuttleService | None = None

    def contains(self, lon: float, lat: float) -> bool:
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
    if not isinstance(value, kind):
        problems.append(f"{prefix}{key} has the wrong type ({type(value).__name__})")
        return None
    return value


def _parse_shuttle(raw: dict[str, Any], problems: list[str]) -> ShuttleService | None:
    zones = []
    for i, z in enumerate(raw.get("zones", [])):
        prefix = f"shuttle.zones[{i}]."
        name = _get(z, "name", str, problems, prefix)
        polygon = _get(z, "polygon", list, problems, prefix)
        hubs = _get(z, "hub_stop_ids", list, problems, prefix)
        if polygon is not None and (len(polygon) < 3 or any(len(p) != 2 for p in polygon)):
            problems.append(f"{prefix}polygon needs at least 3 [lon, lat] points")
            polygon = None
        if name and polygon and hubs is not None:
            zones.append(
                ShuttleZone(name, tuple((float(x), float(y)) for x, y in polygon), tuple(str(h) for h in hubs))
            )
    depot = _get(raw, "depot", list, problems, "shuttle.")
    fleet_raw = raw.get("fleet", {})
    try:
        fleet = FleetDefaults(**fleet_raw)
    except (TypeError, ConfigError) as exc:
        problems.append(str(exc))
        fleet = FleetDefaults()
    hours = raw.get("operating_hours", ["07:00", "19:00"])
    if depot is None or len(depot) != 2:
        problems.append("shuttle.depot must be [lon, lat]")
        return None
    return ShuttleService(
        zones=tuple(zones),
        depot=(float(depot[0]), float(depot[1])),
        fleet=fleet,
        operating_hours=(str(hours[0]), str(hours[1])),
        max_wait_min=float(raw.get("max_wait_min", 15.0)),
        max_ride_factor=float(raw.get("max_ride_factor", 2.0)),
        max_ride_extra_min=float(raw.get("max_ride_extra_min", 5.0)),
    )


def load_area(
    name_or_path: str | Path = "helsinki", data_dir: str | Path | None = None, *, check_files: bool = True
) -> Area:
    """Read an area definition; reports every problem in the file at once."""
    path = area_file(name_or_path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    problems: list[str] = []
    a = raw.get("area", {})
    name = _get(a, "name", str, problems, "area.")
    title = _get(a, "title", str, problems, "area.", default=name)
    timezone = _get(a, "timezone", str, problems, "area.")
    gtfs = _get(a, "gtfs", str, problems, "area.")
    osm = _get(a, "osm", str, problems, "area.")
    population = _get(a, "population", str, problems, "area.", default=None)
    service_date = _get(a, "service_date", dt.date, problems, "area.")
    bbox = _get(a, "bbox", list, problems, "area.")
    if bbox is not None and (len(bbox) != 4 or not (bbox[0] < bbox[2] and bbox[1] < bbox[3])):
        problems.append("area.bbox must be [west, south, east, north] with west<east, south<north")
    if timezone:
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(timezone)
        except Exception:
            problems.append(f"area.timezone {timezone!r} is not a known time zone")
    try:
        streets = StreetSettings(**raw.get("streets", {}))
    except (TypeError, ConfigError) as exc:
        problems.append(str(exc))
        streets = StreetSettings()
    shuttle = _parse_shuttle(raw["shuttle"], problems) if "shuttle" in raw else None
    _problems_to_error(str(path), problems)
    root = resolve_data_dir(data_dir)
    area = Area(
        name=name,
        title=title,
        timezone=timezone,
        gtfs_file=root / gtfs,
        osm_file=root / osm,
        population_file=(root / population) if population else None,
        service_date=service_date,
        bbox=tuple(float(v) for v in bbox),  # type: ignore[arg-type]
        data_dir=root,
        streets=streets,
        shuttle=shuttle,
    )
    if check_files:
        missing = [p for p in (area.gtfs_file, area.osm_file) if not p.is_file()]
        if missing:
            raise DataNotFoundError(
                f"area {name!r} needs "
                + ", ".join(str(p) for p in missing)
                + f" (data directory {root}); see the README's 'Data' section for where to get them"
            )
    return area
