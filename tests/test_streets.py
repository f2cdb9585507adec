"""Street graphs from a tiny OSM file written here: modes, oneways, clipping, snapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.street_graph import EdgeSnapper, StreetGraph, haversine_m
from planner.streets import (
    allowed_directions,
    build_mode_graph,
    compile_street_graph,
    parse_maxspeed_kmh,
    read_osm_highways,
    to_networkx,
)

# Node grid ~110 m apart around (60.160, 24.920).
NODES = {
    1: (24.9200, 60.1600),
    2: (24.9220, 60.1600),
    3: (24.9240, 60.1600),
    4: (24.9240, 60.1610),
    5: (24.9220, 60.1590),
    6: (24.9240, 60.1590),
    7: (24.9200, 60.1610),
    8: (24.9180, 60.1620),
    9: (24.9170, 60.1625),
    10: (24.9220, 60.1580),
    11: (24.9250, 60.1585),
    12: (24.9190, 60.1600),
}
WAYS = [
    (10, [1, 2, 3], {"highway": "residential", "maxspeed": "40", "name": "Kuja"}),
    (11, [3, 4], {"highway": "residential", "oneway": "yes"}),
    (12, [4, 7, 1], {"highway": "residential"}),
    (13, [2, 5], {"highway": "footway"}),
    (14, [4, 7, 999, 8, 9], {"highway": "residential"}),  # clipped: 999 is missing
    (15, [998, 997], {"highway": "residential"}),  # wholly outside the extract
    (16, [3, 6], {"highway": "steps"}),
    (17, [5, 6], {"highway": "cycleway", "foot": "designated"}),
    # dead-end spurs, so that nodes 1, 5 and 6 are intersections and survive simplification
    (18, [5, 10], {"highway": "footway"}),
    (19, [6, 11], {"highway": "path"}),
    (20, [1, 12], {"highway": "residential"}),
]


def write_osm(path: Path) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (lon, lat) in NODES.items():
        lines.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}"/>')
    for wid, refs, tags in WAYS:
        lines.append(f'<way id="{wid}" version="1">')
        lines += [f'<nd ref="{r}"/>' for r in refs]
        lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("</way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture()
def osm(tmp_path: Path):  # type: ignore[no-untyped-def]
    return read_osm_highways(write_osm(tmp_path / "tiny.osm"))


def edges_by_osmid(graph: StreetGraph) -> set[tuple[int, int]]:
    ids = graph.node_osmid
    return {(int(ids[u]), int(ids[v])) for u, v in zip(graph.edge_from, graph.edge_to, strict=True)}


def test_clipped_ways_are_trimmed_not_fatal(osm) -> None:  # type: ignore[no-untyped-def]
    assert osm.highway_ways == len(WAYS)
    assert osm.trimmed_references == 3  # 999, 998, 997
    assert osm.ways_dropped == 1  # way 15 has no node inside the extract
    pieces = [refs.tolist() for wid, refs, _ in osm.ways if wid == 14]
    assert pieces == [[4, 7], [8, 9]]  # split at the missing node, not bridged


def test_walk_graph_is_two_way_keeps_footpaths_and_drops_islands(osm) -> None:  # type: ignore[no-untyped-def]
    walk = compile_street_graph(build_mode_graph(osm, "walk", speed_mps=1.25), "walk")
    edges = edges_by_osmid(walk)
    assert (2, 5) in edges and (5, 2) in edges
    assert (4, 3) in edges  # pedestrians ignore oneway
    assert 8 not in walk.node_osmid and 9 not in walk.node_osmid  # island piece of the clipped way
    np.testing.assert_allclose(walk.edge_time, walk.edge_length / 1.25, rtol=1e-5)


def test_drive_graph_respects_oneway_and_excludes_paths(osm) -> None:  # type: ignore[no-untyped-def]
    graph = build_mode_graph(osm, "drive")
    drive = compile_street_graph(graph, "drive")
    edges = edges_by_osmid(drive)
    assert (3, 4) in edges and (4, 3) not in edges
    assert 5 not in drive.node_osmid and 6 not in drive.node_osmid
    # node 2 only continues the street for cars, so simplification merges 1-2-3 into one edge
    assert 2 not in drive.node_osmid
    e = next(
        i
        for i, (u, v) in enumerate(zip(drive.edge_from, drive.edge_to, strict=True))
        if (drive.node_osmid[u], drive.node_osmid[v]) == (1, 3)
    )
    expected = haversine_m(24.92, 60.16, 24.922, 60.16) + haversine_m(24.922, 60.16, 24.924, 60.16)
    assert drive.edge_length[e] == pytest.approx(expected, rel=1e-4)
    assert drive.edge_time[e] == pytest.approx(expected / (40 / 3.6), rel=1e-4)  # maxspeed 40
    assert len(drive.edge_coords(e)) == 3
    # strongly connected: every node reaches every other
    from scipy.sparse.csgraph import connected_components

    assert connected_components(drive.to_scipy(), connection="strong")[0] == 1


def test_bike_rules() -> None:
    assert allowed_directions({"highway": "footway"}, "bike") == (False, False)
    assert allowed_directions({"highway": "footway", "bicycle": "yes"}, "bike") == (True, True)
    assert allowed_directions({"highway": "residential", "oneway": "yes"}, "bike") == (True, False)
    assert allowed_directions({"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}, "bike") == (
        True,
        True,
    )
    assert allowed_directions({"highway": "steps"}, "bike") == (False, False)
    assert allowed_directions({"highway": "primary", "oneway": "-1"}, "drive") == (False, True)
    assert allowed_directions({"highway": "service", "service": "parking_aisle"}, "drive") == (False, False)
    assert allowed_directions({"highway": "motorway"}, "walk") == (False, False)
    with pytest.raises(ValueError):
        allowed_directions({"highway": "residential"}, "boat")


def test_maxspeed_parsing() -> None:
    assert parse_maxspeed_kmh("40") == 40
    assert parse_maxspeed_kmh("30 mph") == pytest.approx(48.28, rel=1e-3)
    assert parse_maxspeed_kmh("FI:urban") == 50
    assert parse_maxspeed_kmh("none") is None and parse_maxspeed_kmh(None) is None


def test_round_trip_through_npz_and_networkx(osm, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    walk = compile_street_graph(build_mode_graph(osm, "walk", speed_mps=1.25), "walk")
    walk.save(tmp_path / "w.npz")
    loaded = StreetGraph.load(tmp_path / "w.npz")
    assert loaded.mode == "walk" and np.array_equal(loaded.edge_length, walk.edge_length)
    nxg = to_networkx(loaded)
    assert nxg.number_of_edges() == walk.n_edges and nxg.number_of_nodes() == walk.n_nodes


def test_snapping_matches_brute_force_in_utm(osm) -> None:  # type: ignore[no-untyped-def]
    """Independent check: the nearest segment and distance computed in UTM with pyproj + shapely."""
    from pyproj import Transformer
    from shapely.geometry import LineString, Point

    walk = compile_street_graph(build_mode_graph(osm, "walk", speed_mps=1.25), "walk")
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32635", always_xy=True)
    lines = [LineString([to_utm.transform(x, y) for x, y in walk.edge_coords(e)]) for e in range(walk.n_edges)]
    rng = np.random.default_rng(7)
    lons = rng.uniform(24.917, 24.926, 40)
    lats = rng.uniform(60.1585, 60.1625, 40)
    snaps = EdgeSnapper(walk).snap(lons, lats)
    for lon, lat, snap in zip(lons, lats, snaps, strict=True):
        p = Point(to_utm.transform(lon, lat))
        best = min(line.distance(p) for line in lines)
        assert snap.distance_m == pytest.approx(best, rel=0.005, abs=0.05)
        # the snapped point lies on the chosen edge, at the reported fraction of its length
        line = lines[snap.edge]
        q = Point(to_utm.transform(snap.lon, snap.lat))
        assert line.distance(q) < 0.05
        assert line.project(q) / line.length == pytest.approx(snap.fraction, abs=0.005)


def test_far_point_raises_with_distance(osm) -> None:  # type: ignore[no-untyped-def]
    from maas.errors import OutsideAreaError

    walk = compile_street_graph(build_mode_graph(osm, "walk", speed_mps=1.25), "walk")
    with pytest.raises(OutsideAreaError, match=r"is \d+ m from the nearest walk street"):
        EdgeSnapper(walk).snap_one(24.95, 60.17, max_distance_m=200)
