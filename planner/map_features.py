"""What a trip map draws from the area's OpenStreetMap extract: water, parks, buildings, streets,
and the names of districts, stations and main streets.

Read with pyosmium (areas assembled from closed ways and multipolygon relations), simplified to
about 2 m and rounded to about 1 m so that a city centre's few thousand shapes stay small enough
to send to a browser. The sea is not an area in OSM extracts (it is the land's coastline), so the
coastline is kept as lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from maas.errors import StreetDataError

__all__ = ["Label", "MapFeatures", "read_map_features"]

Ring = tuple[tuple[float, float], ...]  # (lon, lat) points

PARK_TAGS = {
    "leisure": {"park", "garden", "playground", "pitch", "nature_reserve"},
    "landuse": {"grass", "forest", "recreation_ground", "cemetery", "meadow", "village_green"},
    "natural": {"wood", "scrub", "grassland", "heath"},
}
WATER_TAGS = {"natural": {"water", "bay"}, "waterway": {"riverbank", "dock"}, "landuse": {"reservoir", "basin"}}


@dataclass(frozen=True, slots=True)
class Label:
    """A name to print on the map where OSM puts it: a district (``place=suburb/quarter/neighbourhood``),
    a rail or metro station (``railway=station``), or a main street (at the middle of its longest way)."""

    lon: float
    lat: float
    text: str
    kind: str  # "district", "station" or "street"
    angle_deg: float = 0.0  # a street's direction where its name is printed (east = 0, north = 90)


@dataclass(frozen=True, slots=True)
class MapFeatures:
    """Outer rings of the area's water, parks and buildings, its coastline and streets as lines, and names."""

    water: tuple[Ring, ...]
    parks: tuple[Ring, ...]
    buildings: tuple[Ring, ...]
    coastline: tuple[Ring, ...]
    labels: tuple[Label, ...] = ()
    streets: tuple[Ring, ...] = ()  # streets and their links, where cars or pedestrians' squares are
    main_streets: tuple[Ring, ...] = ()  # motorways to tertiary roads, drawn wider


def _matches(tags: object, table: dict[str, set[str]]) -> bool:
    return any(tags.get(key) in values for key, values in table.items())  # type: ignore[attr-defined]


def _simplified(points: list[tuple[float, float]], tolerance: float, closed: bool) -> Ring | None:
    from shapely import LineString, Polygon

    if len(points) < (4 if closed else 2):
        return None
    shape = Polygon(points) if closed else LineString(points)
    simple = shape.simplify(tolerance, preserve_topology=closed)
    if simple.is_empty:
        return None
    coords = simple.exterior.coords if closed else simple.coords
    return tuple((round(x, 5), round(y, 5)) for x, y in coords)


def read_map_features(osm_file: str | Path, tolerance_deg: float = 0.00002) -> MapFeatures:
    """The water, parks, buildings and coastline of ``osm_file``; :class:`StreetDataError` naming the
    file when it cannot be read."""
    import osmium

    water: list[Ring] = []
    parks: list[Ring] = []
    buildings: list[Ring] = []
    coastline: list[Ring] = []
    labels: dict[tuple[str, str], Label] = {}  # one label per name and kind
    keys = ("building", "leisure", "landuse", "natural", "waterway", "place", "railway", "highway")
    streets: dict[str, tuple[float, list[tuple[float, float]]]] = {}  # name -> (total m, longest way)
    lines: dict[bool, list[Ring]] = {True: [], False: []}  # street lines, by whether the street is a main one
    try:
        source = osmium.FileProcessor(str(osm_file)).with_locations().with_areas()
        for obj in source.with_filter(osmium.filter.KeyFilter(*keys)):
            if isinstance(obj, osmium.osm.Node):
                label = _label(obj)
                if label is not None:
                    labels.setdefault((label.text, label.kind), label)
                continue
            if isinstance(obj, osmium.osm.Way) and obj.tags.get("highway") in DRAWN_STREETS:
                highway = str(obj.tags.get("highway"))
                line = _simplified([(n.lon, n.lat) for n in obj.nodes if n.location.valid()], tolerance_deg, False)
                if line:
                    lines[highway.removesuffix("_link") in WIDE_STREETS].append(line)
                if highway in MAIN_STREETS and obj.tags.get("name"):
                    _add_street(streets, obj)
                continue
            if isinstance(obj, osmium.osm.Way) and obj.tags.get("natural") == "coastline":
                line = _simplified([(n.lon, n.lat) for n in obj.nodes if n.location.valid()], tolerance_deg, False)
                if line:
                    coastline.append(line)
                continue
            if not isinstance(obj, osmium.osm.Area):
                continue
            tags = obj.tags
            target = (
                buildings
                if "building" in tags
                else water
                if _matches(tags, WATER_TAGS)
                else parks
                if _matches(tags, PARK_TAGS)
                else None
            )
            if target is None:
                continue
            for ring in obj.outer_rings():
                shape = _simplified([(n.lon, n.lat) for n in ring], tolerance_deg, True)
                if shape:
                    target.append(shape)
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:
        raise StreetDataError(f"{osm_file}: cannot read map features ({exc})") from exc
    named = tuple(labels.values()) + _street_labels(streets)
    return MapFeatures(
        tuple(water), tuple(parks), tuple(buildings), tuple(coastline), named, tuple(lines[False]), tuple(lines[True])
    )


MAIN_STREETS = {"primary", "secondary", "tertiary"}  # named ones get labels
WIDE_STREETS = {"motorway", "trunk", *MAIN_STREETS}
DRAWN_STREETS = {
    *WIDE_STREETS,
    *(f"{kind}_link" for kind in WIDE_STREETS),
    "unclassified",
    "residential",
    "living_street",
    "pedestrian",
    "service",
}
STREET_LABELS = 40  # the longest named main streets get a label


def _add_street(streets: dict[str, tuple[float, list[tuple[float, float]]]], way: object) -> None:
    """Count a named main street's way; keep its longest way for the label."""
    points = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]  # type: ignore[attr-defined]
    if len(points) < 2:
        return
    name = way.tags.get("name")  # type: ignore[attr-defined]
    length = _length_m(points)
    total, longest = streets.get(name, (0.0, []))
    streets[name] = (total + length, points if length > _length_m(longest) else longest)


def _length_m(points: list[tuple[float, float]]) -> float:
    import numpy as np

    from planner.street_graph import haversine_m

    if len(points) < 2:
        return 0.0
    lon, lat = (np.array(c) for c in zip(*points, strict=True))
    return float(haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:]).sum())


def _street_labels(streets: dict[str, tuple[float, list[tuple[float, float]]]]) -> tuple[Label, ...]:
    """Labels for the longest named main streets, at the middle of their longest way, along it."""
    import math

    out = []
    for name, (_, points) in sorted(streets.items(), key=lambda item: -item[1][0])[:STREET_LABELS]:
        mid = len(points) // 2
        a, b = points[max(mid - 1, 0)], points[min(mid, len(points) - 1)]
        if a == b:
            continue
        scale = math.cos(math.radians(a[1]))
        angle = math.degrees(math.atan2(b[1] - a[1], (b[0] - a[0]) * scale))
        angle = angle - 180 if angle > 90 else angle + 180 if angle < -90 else angle  # never upside down
        out.append(Label((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, name, "street", angle))
    return tuple(out)


DISTRICT_PLACES = {"suburb", "quarter", "neighbourhood"}


def _label(node: object) -> Label | None:
    """A node's name as a map label, if it names a district or a station."""
    tags = node.tags  # type: ignore[attr-defined]
    name = tags.get("name", "")
    if not name or not node.location.valid():  # type: ignore[attr-defined]
        return None
    if tags.get("place") in DISTRICT_PLACES:
        kind = "district"
    elif tags.get("railway") == "station":
        kind = "station"
    else:
        return None
    return Label(node.location.lon, node.location.lat, name, kind)  # type: ignore[attr-defined]
