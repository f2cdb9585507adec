"""Street graphs for walking, cycling and driving from a local OpenStreetMap ``.pbf``.

Three steps, one job each:

1. :func:`read_osm_highways` reads highway ways and their node coordinates with
   pyosmium. Extracts are clipped at their edge, so a way may reference nodes
   that are not in the file: such a way is cut into the runs of nodes that are
   present (a missing node in the middle splits it; a run of one node is
   dropped), and the number of trimmed references is reported.
2. :func:`build_mode_graph` turns the ways allowed for a mode into an osmnx-style
   ``networkx.MultiDiGraph`` (node ``x``/``y``, edge ``osmid``/``highway``/
   ``length``/``travel_time``), simplifies it with osmnx, and keeps the largest
   strongly connected component, so every node can reach every other.
3. :func:`compile_street_graph` flattens that graph into the
   :class:`~planner.street_graph.StreetGraph` arrays (CSR by source node, flat edge
   geometry) that searches, snapping and the cache use; no networkx is needed after this.

The mode rules follow osmnx's ``walk``/``bike``/``drive_service`` network filters,
with the Finnish practice that shared foot-and-cycle paths (``highway=cycleway``
with ``foot=designated/yes``, ``highway=footway`` with ``bicycle=yes``) are open
to both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # for annotations only: networkx is imported where a graph is built
    import networkx as nx

from maas.errors import StreetDataError
from planner.street_graph import StreetGraph, haversine_m

MODES = ("walk", "bike", "drive")

# Default drive speeds (km/h) where maxspeed is missing: Finnish urban practice (50 on main
# streets, 30-40 on residential and service roads). Shuttle speed caps are applied later.
DRIVE_SPEED_DEFAULTS_KMH: dict[str, float] = {
    "motorway": 80,
    "motorway_link": 50,
    "trunk": 60,
    "trunk_link": 40,
    "primary": 50,
    "primary_link": 40,
    "secondary": 50,
    "secondary_link": 40,
    "tertiary": 40,
    "tertiary_link": 30,
    "unclassified": 30,
    "residential": 30,
    "living_street": 20,
    "service": 20,
    "road": 30,
    "busway": 40,
}

_TAGS_KEPT = (
    "highway",
    "name",
    "oneway",
    "junction",
    "maxspeed",
    "access",
    "foot",
    "bicycle",
    "motor_vehicle",
    "motorcar",
    "service",
    "area",
    "oneway:bicycle",
    "cycleway",
    "wheelchair",
)

_WALK_EXCLUDED = {
    "abandoned",
    "bus_guideway",
    "construction",
    "motor",
    "motorway",
    "motorway_link",
    "no",
    "planned",
    "platform",
    "proposed",
    "raceway",
    "razed",
    "trunk",
    "trunk_link",
    "busway",
    "bus_stop",
    "elevator",
    "escalator",
    "rest_area",
    "services",
}
_BIKE_EXCLUDED = {
    "abandoned",
    "bus_guideway",
    "construction",
    "corridor",
    "elevator",
    "escalator",
    "footway",
    "motor",
    "motorway",
    "motorway_link",
    "no",
    "planned",
    "platform",
    "proposed",
    "raceway",
    "razed",
    "steps",
    "pedestrian",
    "busway",
    "bus_stop",
    "rest_area",
    "services",
}
_DRIVE_EXCLUDED = {
    "abandoned",
    "bridleway",
    "bus_guideway",
    "construction",
    "corridor",
    "cycleway",
    "elevator",
    "escalator",
    "footway",
    "no",
    "path",
    "pedestrian",
    "planned",
    "platform",
    "proposed",
    "raceway",
    "razed",
    "steps",
    "track",
    "bus_stop",
    "rest_area",
    "services",
    "busway",
}
_DRIVE_SERVICE_EXCLUDED = {"parking", "parking_aisle", "driveway", "private", "emergency_access"}
_YES = {"yes", "designated", "permissive", "official"}
_NO = {"no", "private"}


def allowed_directions(tags: dict[str, str], mode: str) -> tuple[bool, bool]:
    """(forward, backward) travel allowed on a way for ``mode``; (False, False) excludes it."""
    highway = tags.get("highway", "")
    if not highway or tags.get("area") == "yes":
        return False, False
    access = tags.get("access", "")
    if mode == "walk":
        foot = tags.get("foot", "")
        if foot in _NO:
            return False, False
        if highway in _WALK_EXCLUDED and foot not in _YES:
            return False, False
        if highway == "cycleway" and foot not in _YES and foot != "":
            return False, False
        if access in _NO and foot not in _YES:
            return False, False
        return True, True  # pedestrians ignore one-way streets
    if mode == "bike":
        bicycle = tags.get("bicycle", "")
        if bicycle in _NO:
            return False, False
        if highway in _BIKE_EXCLUDED and bicycle not in _YES:
            return False, False
        if access in _NO and bicycle not in _YES:
            return False, False
        if tags.get("oneway:bicycle") == "no" or tags.get("cycleway", "").startswith("opposite"):
            return True, True
        return _oneway(tags)
    if mode == "drive":
        if highway in _DRIVE_EXCLUDED:
            return False, False
        if tags.get("motor_vehicle") in _NO or tags.get("motorcar") in _NO or access in _NO:
            return False, False
        if highway == "service" and tags.get("service", "") in _DRIVE_SERVICE_EXCLUDED:
            return False, False
        return _oneway(tags)
    raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")


def _oneway(tags: dict[str, str]) -> tuple[bool, bool]:
    oneway = tags.get("oneway", "")
    if oneway in ("yes", "true", "1") or tags.get("junction") in ("roundabout", "circular"):
        return True, False
    if oneway in ("-1", "reverse"):
        return False, True
    return True, True


@dataclass(frozen=True)
class OsmHighways:
    """Highway ways of an extract, each a run of nodes that are all present in the file."""

    node_lon: dict[int, float]
    node_lat: dict[int, float]
    ways: list[tuple[int, np.ndarray, dict[str, str]]]  # (way id, node ids, tags)
    highway_ways: int
    trimmed_references: int
    ways_dropped: int


def read_osm_highways(path: str | Path) -> OsmHighways:
    """Read the highway ways of an ``.osm.pbf`` (or ``.osm``) file, trimming clipped ways."""
    import osmium

    source = Path(path)
    if not source.is_file():
        raise StreetDataError(f"OSM file {source} does not exist")
    raw_ways: list[tuple[int, list[int], dict[str, str]]] = []
    lon: dict[int, float] = {}
    lat: dict[int, float] = {}
    try:
        processor = osmium.FileProcessor(str(source), osmium.osm.NODE | osmium.osm.WAY)
        for obj in processor:
            if isinstance(obj, osmium.osm.Node):
                if obj.location.valid():
                    lon[obj.id] = obj.location.lon
                    lat[obj.id] = obj.location.lat
            elif isinstance(obj, osmium.osm.Way) and "highway" in obj.tags:
                tags = {k: obj.tags[k] for k in _TAGS_KEPT if k in obj.tags}
                raw_ways.append((obj.id, [n.ref for n in obj.nodes], tags))
    except Exception as exc:  # osmium raises RuntimeError, InvalidLocationError, ... for broken files
        raise StreetDataError(f"cannot read OSM file {source}: {exc}") from exc
    ways: list[tuple[int, np.ndarray, dict[str, str]]] = []
    trimmed = 0
    dropped = 0
    for way_id, refs, tags in raw_ways:
        run: list[int] = []
        pieces = 0
        for ref in refs:
            if ref in lon:
                run.append(ref)
                continue
            trimmed += 1
            if len(run) >= 2:
                ways.append((way_id, np.array(run, dtype=np.int64), tags))
                pieces += 1
            run = []
        if len(run) >= 2:
            ways.append((way_id, np.array(run, dtype=np.int64), tags))
            pieces += 1
        if pieces == 0:
            dropped += 1
    if not ways:
        raise StreetDataError(f"OSM file {source} has no usable highway ways")
    return OsmHighways(lon, lat, ways, len(raw_ways), trimmed, dropped)


_MAXSPEED_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?\s*$")


def parse_maxspeed_kmh(value: str | None) -> float | None:
    """km/h from an OSM maxspeed value ('40', '30 mph', 'FI:urban'); None when not usable."""
    if not value:
        return None
    value = value.split(";")[0]
    match = _MAXSPEED_NUMBER.match(value)
    if match:
        speed = float(match.group(1))
        return speed * 1.609344 if match.group(2) else speed
    zones = {"FI:urban": 50.0, "FI:rural": 80.0, "FI:living_street": 20.0, "walk": 6.0}
    return zones.get(value.strip())


def build_mode_graph(
    osm: OsmHighways, mode: str, *, speed_mps: float | None = None, drive_default_kmh: float = 30.0
) -> nx.MultiDiGraph:
    """An osmnx-style, simplified, strongly connected ``MultiDiGraph`` for one mode.

    ``travel_time`` (seconds) is ``length / speed_mps`` for walk and bike; for drive it uses
    the way's ``maxspeed`` or the highway class default, aggregated over simplified edges.
    """
    import networkx as nx
    import osmnx as ox

    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    if mode != "drive" and not (speed_mps and speed_mps > 0):
        raise ValueError(f"{mode} needs a positive speed_mps")
    graph = nx.MultiDiGraph(crs="epsg:4326", mode=mode)
    for way_id, refs, tags in osm.ways:
        forward, backward = allowed_directions(tags, mode)
        if not (forward or backward):
            continue
        lons = np.array([osm.node_lon[n] for n in refs])
        lats = np.array([osm.node_lat[n] for n in refs])
        lengths = haversine_m(lons[:-1], lats[:-1], lons[1:], lats[1:])
        if mode == "drive":
            kmh = parse_maxspeed_kmh(tags.get("maxspeed")) or DRIVE_SPEED_DEFAULTS_KMH.get(
                tags["highway"], drive_default_kmh
            )
            mps = kmh / 3.6
        else:
            kmh = (speed_mps or 1.0) * 3.6
            mps = speed_mps or 1.0
        attrs = {
            "osmid": way_id,
            "highway": tags["highway"],
            "name": tags.get("name", ""),
            "oneway": forward != backward,
            "speed_kph": kmh,
            "step_free": tags["highway"] != "steps" and tags.get("wheelchair", "") != "no",
        }
        for i in range(len(refs) - 1):
            u, v = int(refs[i]), int(refs[i + 1])
            if u == v:
                continue
            seg = {**attrs, "length": float(lengths[i]), "travel_time": float(lengths[i] / mps)}
            if forward:
                graph.add_edge(u, v, reversed=False, **seg)
            if backward:
                graph.add_edge(v, u, reversed=True, **seg)
    if graph.number_of_edges() == 0:
        raise StreetDataError(f"no OSM ways are usable for mode {mode!r}")
    for node in graph.nodes:
        graph.nodes[node]["x"] = osm.node_lon[node]
        graph.nodes[node]["y"] = osm.node_lat[node]
    graph = ox.simplify_graph(graph, edge_attr_aggs={"length": sum, "travel_time": sum, "step_free": min})
    graph = ox.truncate.largest_component(graph, strongly=True)
    return graph


def compile_street_graph(graph: Any, mode: str) -> StreetGraph:
    """Flatten an osmnx-style MultiDiGraph into :class:`StreetGraph` arrays."""
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    node_lon = np.array([graph.nodes[n]["x"] for n in nodes], dtype=np.float64)
    node_lat = np.array([graph.nodes[n]["y"] for n in nodes], dtype=np.float64)
    rows = []
    for u, v, data in graph.edges(data=True):
        rows.append((index[u], index[v], data))
    rows.sort(key=lambda r: (r[0], r[1]))
    geom_lon: list[np.ndarray] = []
    geom_lat: list[np.ndarray] = []
    counts = np.empty(len(rows), dtype=np.int64)
    names = []
    for k, (ui, vi, data) in enumerate(rows):
        geometry = data.get("geometry")
        if geometry is not None:
            xy = np.asarray(geometry.coords)
            xs, ys = xy[:, 0], xy[:, 1]
        else:
            xs = np.array([node_lon[ui], node_lon[vi]])
            ys = np.array([node_lat[ui], node_lat[vi]])
        geom_lon.append(xs)
        geom_lat.append(ys)
        counts[k] = len(xs)
        name = data.get("name", "")
        names.append(next((n for n in name if n), "") if isinstance(name, list) else str(name))
    edge_from = np.array([r[0] for r in rows], dtype=np.int32)
    return StreetGraph(
        mode=mode,
        node_osmid=np.array(nodes, dtype=np.int64),
        node_lon=node_lon,
        node_lat=node_lat,
        node_edge_start=np.searchsorted(edge_from, np.arange(len(nodes) + 1)).astype(np.int64),
        edge_from=edge_from,
        edge_to=np.array([r[1] for r in rows], dtype=np.int32),
        edge_length=np.array([r[2]["length"] for r in rows], dtype=np.float32),
        edge_time=np.array([r[2]["travel_time"] for r in rows], dtype=np.float32),
        edge_name=np.array(names, dtype=str),
        edge_step_free=np.array([_all_step_free(r[2].get("step_free", True)) for r in rows], dtype=bool),
        edge_geom_start=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        geom_lon=np.concatenate(geom_lon),
        geom_lat=np.concatenate(geom_lat),
    )


def _all_step_free(value: Any) -> bool:
    """An edge's step_free flag; a list where simplification merged ways it did not aggregate."""
    return all(bool(v) for v in value) if isinstance(value, list) else bool(value)


def to_networkx(street: StreetGraph) -> nx.MultiDiGraph:
    """An osmnx-style MultiDiGraph of a compiled street graph again (for display and osmnx tools)."""
    import networkx as nx
    from shapely.geometry import LineString

    graph = nx.MultiDiGraph(crs="epsg:4326", mode=street.mode)
    for i, osmid in enumerate(street.node_osmid):
        graph.add_node(int(osmid), x=float(street.node_lon[i]), y=float(street.node_lat[i]))
    for e in range(street.n_edges):
        graph.add_edge(
            int(street.node_osmid[street.edge_from[e]]),
            int(street.node_osmid[street.edge_to[e]]),
            length=float(street.edge_length[e]),
            travel_time=float(street.edge_time[e]),
            name=str(street.edge_name[e]),
            geometry=LineString(street.edge_coords(e)),
        )
    return graph
