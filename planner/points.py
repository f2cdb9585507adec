"""Reading origin and destination points (CSV ``id,lat,lon`` or GeoJSON) with every problem named.

A matrix row is keyed by its point ids, so ids must be present and unique; coordinates must be
finite WGS84 degrees. GeoJSON is read with the standard library and shapely rather than through
GDAL, so that a broken file is reported by feature number instead of failing inside a driver.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maas.errors import InputError, InputProblem
from maas.tabular import FieldReader, read_csv_file


@dataclass(frozen=True, slots=True)
class Point:
    id: str
    lat: float
    lon: float


def _fail(source: Path, problems: list[InputProblem]) -> InputError:
    return InputError(str(source), problems, kind="points file")


def read_points(path: str | Path) -> list[Point]:
    """Points from GeoJSON (point or polygon features; polygons give their centroid) or CSV (id, lat, lon).

    Raises :class:`InputError` naming every bad row or feature: missing or repeated ids, coordinates
    that are not numbers or out of range, geometries of other kinds, an empty file.
    """
    source = Path(path)
    if not source.is_file():
        problem = "does not exist" if not source.exists() else "is not a file"
        raise _fail(source, [InputProblem(source.name, None, problem)])
    suffix = source.suffix.lower()
    if suffix in (".csv", ".txt"):
        points, problems = _read_csv(source)
    elif suffix in (".geojson", ".json"):
        points, problems = _read_geojson(source)
    else:
        points, problems = _read_with_gdal(source)
    if suffix not in (".csv", ".txt"):  # CSV rows are checked with their line numbers
        seen: dict[str, int] = {}
        for number, point in enumerate(points, 1):
            if point.id in seen:
                message = f"feature {number}: id {point.id!r} repeats the one of feature {seen[point.id]}"
                problems.append(InputProblem(source.name, "id", message))
            seen.setdefault(point.id, number)
    if not points and not problems:
        problems.append(InputProblem(source.name, None, "has no points"))
    if problems:
        raise _fail(source, problems)
    return points


def _read_csv(source: Path) -> tuple[list[Point], list[InputProblem]]:
    table = read_csv_file(source)
    if table.frame is None:
        return [], list(table.problems)
    frame = table.frame
    missing = [c for c in ("id", "lat", "lon") if c not in frame.columns]
    if missing:
        return [], [InputProblem(source.name, c, "required column is missing (need id, lat, lon)") for c in missing]
    reader = FieldReader(source.name)
    points = []
    reader.unique_ids(frame)
    for line, ident, lat_raw, lon_raw in zip(frame.index, frame["id"], frame["lat"], frame["lon"], strict=True):
        lat = reader.number(lat_raw, int(line), "lat", low=-90, high=90)
        lon = reader.number(lon_raw, int(line), "lon", low=-180, high=180)
        points.append(Point(str(ident), lat, lon))
    return points, reader.problems


def _read_geojson(source: Path) -> tuple[list[Point], list[InputProblem]]:
    name = source.name
    try:
        text = source.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [InputProblem(name, None, "is not UTF-8 text")]
    if not text.strip():
        return [], [InputProblem(name, None, "is empty (expected a GeoJSON FeatureCollection)")]
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [InputProblem(name, None, f"is not valid JSON ({exc.msg})", (exc.lineno,))]
    if not isinstance(document, dict) or document.get("type") not in ("FeatureCollection", "Feature"):
        return [], [InputProblem(name, None, "is not a GeoJSON FeatureCollection")]
    features = document.get("features") if document["type"] == "FeatureCollection" else [document]
    if not isinstance(features, list):
        return [], [InputProblem(name, "features", "must be a list")]
    transform, crs_problem = _transformer(document.get("crs"))
    if crs_problem:
        return [], [InputProblem(name, "crs", crs_problem)]
    problems: list[InputProblem] = []
    points: list[Point] = []
    for number, feature in enumerate(features, 1):
        where = f"feature {number}"
        if not isinstance(feature, dict):
            problems.append(InputProblem(name, None, f"{where} is not a GeoJSON Feature"))
            continue
        properties = feature.get("properties") or {}
        ident = properties.get("id", feature.get("id")) if isinstance(properties, dict) else feature.get("id")
        if ident is None or (isinstance(ident, str) and not ident.strip()) or isinstance(ident, dict | list):
            problems.append(InputProblem(name, "id", f"{where} has no 'id' property (each point needs one)"))
            continue
        centre = _centre(feature.get("geometry"))
        if isinstance(centre, str):
            problems.append(InputProblem(name, "geometry", f"{where} ({ident}): {centre}"))
            continue
        lon, lat = transform(*centre) if transform else centre
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            problems.append(InputProblem(name, "geometry", f"{where} ({ident}): coordinates out of range"))
            continue
        points.append(Point(str(ident), float(lat), float(lon)))
    return points, problems


def _read_with_gdal(source: Path) -> tuple[list[Point], list[InputProblem]]:
    """GeoPackage, shapefile and other GDAL formats, through geopandas; each feature as GeoJSON."""
    import geopandas as gpd

    try:
        frame = gpd.read_file(source)
    except Exception as exc:  # GDAL drivers raise their own error types
        return [], [InputProblem(source.name, None, f"cannot be read as a geodata file ({exc})")]
    if "id" not in frame.columns:
        return [], [InputProblem(source.name, "id", "required column is missing")]
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    problems: list[InputProblem] = []
    points: list[Point] = []
    for number, (ident, geometry) in enumerate(zip(frame["id"], frame.geometry, strict=True), 1):
        centre = _centre(None if geometry is None else geometry.__geo_interface__)
        if isinstance(centre, str):
            problems.append(InputProblem(source.name, "geometry", f"feature {number} ({ident}): {centre}"))
        else:
            points.append(Point(str(ident), centre[1], centre[0]))
    return points, problems


def _centre(geometry: Any) -> tuple[float, float] | str:
    """(lon, lat) of a point, or the centroid of a polygon; a message when the geometry is unusable."""
    if not isinstance(geometry, dict):
        return "has no geometry"
    kind = geometry.get("type")
    if kind not in ("Point", "Polygon", "MultiPolygon"):
        return f"geometry type {kind!r} is not supported (Point, Polygon or MultiPolygon)"
    if not _finite_numbers(geometry.get("coordinates")):
        return "coordinates must be finite numbers"
    from shapely.geometry import shape

    try:
        shp = shape(geometry)
        if shp.is_empty or not shp.is_valid:
            return "empty or invalid geometry"
        if kind == "Point":
            return float(shp.x), float(shp.y)
        lat0 = shp.representative_point().y
    except Exception as exc:  # shapely raises several types for malformed coordinates
        return f"malformed coordinates ({type(exc).__name__})"
    # Centroid in a local metric frame (an equirectangular projection around the shape is exact enough
    # at the size of a zone or a hexagon), then back to degrees.
    from shapely import affinity

    k = math.cos(math.radians(lat0))
    if not math.isfinite(k) or k <= 0:
        return "coordinates out of range"
    centroid = affinity.scale(shp, xfact=k, yfact=1.0, origin=(0, 0)).centroid
    return float(centroid.x / k), float(centroid.y)


def _finite_numbers(coordinates: Any) -> bool:
    """Nested lists whose leaves are all finite numbers (and there is at least one)."""
    if isinstance(coordinates, list | tuple):
        return bool(coordinates) and all(_finite_numbers(c) for c in coordinates)
    return isinstance(coordinates, int | float) and not isinstance(coordinates, bool) and math.isfinite(coordinates)


def _transformer(crs: Any) -> tuple[Any, str | None]:
    """A (x, y) -> (lon, lat) function for a legacy GeoJSON ``crs`` member other than WGS84 (else None),
    and a message when that coordinate system is unknown."""
    if not isinstance(crs, dict):
        return None, None
    name = str((crs.get("properties") or {}).get("name", ""))
    if not name or name.upper().endswith(("CRS84", "4326")):
        return None, None
    from pyproj import Transformer
    from pyproj.exceptions import CRSError

    try:
        return Transformer.from_crs(name, "EPSG:4326", always_xy=True).transform, None
    except CRSError:
        return None, f"unknown coordinate system {name!r}"


@dataclass(frozen=True, slots=True)
class Opportunities:
    """Points and the opportunities at each; ``blank`` lists the rows (or features) with an empty
    value, counted as 0."""

    points: tuple[Point, ...]
    values: tuple[float, ...]
    column: str
    blank: tuple[int, ...] = ()

    @property
    def total(self) -> float:
        return float(sum(self.values))


def read_opportunities(path: str | Path, column: str) -> Opportunities:
    """Points and the opportunities at each (the numbers in ``column``: jobs, schools, residents).

    Empty cells count as 0 (and are listed in ``blank``). Raises :class:`InputError` naming every
    problem at once: those of :func:`read_points`, a missing column (listing the ones there are),
    values that are not numbers of at least 0.
    """
    source = Path(path)
    points = read_points(source)
    if source.suffix.lower() in (".csv", ".txt"):
        frame = read_csv_file(source).frame
        assert frame is not None  # read_points read it
        lines = [int(i) for i in frame.index]
        raw = list(frame[column]) if column in frame.columns else None
        columns = [str(c) for c in frame.columns]
    else:
        import geopandas as gpd

        table = gpd.read_file(source)
        lines = list(range(1, len(table) + 1))
        raw = list(table[column]) if column in table.columns else None
        columns = [str(c) for c in table.columns if c != "geometry"]
    if raw is None:
        message = f"the opportunity column is missing; the file has {', '.join(columns)}"
        raise _fail(source, [InputProblem(source.name, column, message)])
    values: list[float] = []
    bad: list[int] = []
    blank: list[int] = []
    for line, value in zip(lines, raw, strict=True):
        if (
            value is None
            or (isinstance(value, str) and not value.strip())
            or (isinstance(value, float) and math.isnan(value))
        ):
            blank.append(line)
            values.append(0.0)
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and number >= 0):
            bad.append(line)
        values.append(number)
    if bad:
        where = "" if source.suffix.lower() in (".csv", ".txt") else f" (features {bad[:10]})"
        rows = tuple(bad) if not where else ()
        raise _fail(source, [InputProblem(source.name, column, "must be a number of at least 0" + where, rows)])
    return Opportunities(tuple(points), tuple(values), column, tuple(blank))
