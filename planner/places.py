"""Offline place search: districts (shuttle zones and OSM places), GTFS stop names, OSM street names
and OSM addresses.

Matching ignores case and accents (``Jatkasaari`` finds ``Jätkäsaari``); a name equal to the query
comes first, then names that start with it, then those containing it, then shorter names.
``"60.16,24.93"`` is read as coordinates.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from planner.area_data import AreaData

_COORDS = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[,;]\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    name: str
    kind: str  # "district", "stop", "street", "address" or "coordinates"
    lat: float
    lon: float


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def is_exact(query: str, name: str) -> bool:
    """Whether ``name`` is what ``query`` says, case and accents ignored."""
    return _fold(query.strip()) == _fold(name)


# OSM place=* values that name a part of a city a rider may type (a district, a quarter, a square)
PLACE_KINDS = frozenset({"suburb", "quarter", "neighbourhood", "borough", "square", "island", "islet", "locality"})


def read_named_places(osm_file: Path, bbox: tuple[float, float, float, float]) -> list[PlaceMatch]:
    """Named OSM place nodes (districts, quarters, squares, islands) inside ``bbox``, as districts."""
    import osmium

    west, south, east, north = bbox
    out = []
    for obj in osmium.FileProcessor(str(osm_file)).with_filter(osmium.filter.KeyFilter("place")):
        name = obj.tags.get("name")
        if not name or obj.tags.get("place") not in PLACE_KINDS or not isinstance(obj, osmium.osm.Node):
            continue
        try:
            lon, lat = obj.location.lon, obj.location.lat
        except osmium.InvalidLocationError:
            continue
        if west <= lon <= east and south <= lat <= north:
            out.append(PlaceMatch(name, "district", lat, lon))
    return out


def read_addresses(osm_file: Path, bbox: tuple[float, float, float, float]) -> list[PlaceMatch]:
    """``Street 12`` for every OSM node or building way with addr:street and addr:housenumber."""
    import osmium

    west, south, east, north = bbox
    out = []
    source = osmium.FileProcessor(str(osm_file)).with_locations().with_filter(osmium.filter.KeyFilter("addr:street"))
    for obj in source:
        number = obj.tags.get("addr:housenumber")
        if not number:
            continue
        try:
            if isinstance(obj, osmium.osm.Node):
                lon, lat = obj.location.lon, obj.location.lat
            elif isinstance(obj, osmium.osm.Way):
                lon = float(np.mean([n.lon for n in obj.nodes]))
                lat = float(np.mean([n.lat for n in obj.nodes]))
            else:
                continue
        except osmium.InvalidLocationError:
            continue
        if west <= lon <= east and south <= lat <= north:
            out.append(PlaceMatch(f"{obj.tags.get('addr:street')} {number}", "address", lat, lon))
    return out


class PlaceIndex:
    """Search over an area's stops, streets and addresses."""

    def __init__(self, places: list[PlaceMatch]) -> None:
        unique: dict[tuple[str, str], PlaceMatch] = {}
        for place in places:
            unique.setdefault((place.kind, place.name), place)
        self.places = list(unique.values())
        self._folded = [_fold(p.name) for p in self.places]

    @classmethod
    def for_area(cls, data: AreaData) -> PlaceIndex:
        """An index of the area's served stops, named streets, OSM addresses and shuttle districts."""
        area = data.area
        west, south, east, north = area.bbox
        tt = data.timetable
        places = []
        for i in np.flatnonzero(np.diff(tt.stop_pattern_start) > 0):  # stops with service
            lat, lon = float(tt.stop_lat[i]), float(tt.stop_lon[i])
            if west <= lon <= east and south <= lat <= north:
                places.append(PlaceMatch(str(tt.stop_names[i]), "stop", lat, lon))
        walk = data.streets["walk"]
        names = walk.edge_name
        best: dict[str, tuple[float, int]] = {}
        for edge in np.flatnonzero(names != ""):
            e = int(edge)
            name = str(names[e])
            if name not in best or walk.edge_length[e] > best[name][0]:
                best[name] = (float(walk.edge_length[e]), int(e))
        for name, (_, e) in best.items():
            coords = walk.edge_coords(e)
            mid = coords[len(coords) // 2]
            places.append(PlaceMatch(name, "street", float(mid[1]), float(mid[0])))
        places += read_addresses(area.osm_file, area.bbox)
        for zone in area.shuttle.zones if area.shuttle else ():
            ring = np.array(zone.polygon)
            places.append(PlaceMatch(zone.name, "district", float(ring[:, 1].mean()), float(ring[:, 0].mean())))
        places += read_named_places(area.osm_file, area.bbox)  # after the zones: a zone keeps its own point
        return cls(places)

    def search(self, query: str, limit: int = 10) -> list[PlaceMatch]:
        """Up to ``limit`` places matching ``query`` (case and accents ignored; prefixes first), or the
        coordinates when ``query`` is ``LAT,LON``.
        """
        match = _COORDS.match(query)
        if match:
            lat, lon = float(match.group(1)), float(match.group(2))
            return [PlaceMatch(f"{lat:.5f}, {lon:.5f}", "coordinates", lat, lon)]
        needle = _fold(query.strip())
        if len(needle) < 2:
            return []
        kind_rank = {"district": 0, "stop": 1, "street": 2, "address": 3}
        hits = []
        for place, folded in zip(self.places, self._folded, strict=True):
            at = folded.find(needle)
            if at >= 0:
                rank = -1 if folded == needle else 0 if at == 0 else 1
                hits.append((rank, kind_rank[place.kind], len(folded), folded, place))
        hits.sort(key=lambda h: h[:4])
        return [h[4] for h in hits[:limit]]
