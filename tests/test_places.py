"""Place search: what a rider types finds the place they mean, or says that it did not."""

from __future__ import annotations

from pathlib import Path

import pytest

from maas_apps.webapp import match_note
from planner.places import PlaceIndex, PlaceMatch, read_named_places


def index() -> PlaceIndex:
    return PlaceIndex(
        [
            PlaceMatch("Kalliolinnantie", "street", 60.158, 24.955),
            PlaceMatch("Kallio", "district", 60.184, 24.950),
            PlaceMatch("Kallion kirjasto", "stop", 60.183, 24.951),
            PlaceMatch("Jätkäsaari", "district", 60.157, 24.912),
        ]
    )


def test_the_exact_name_comes_first_and_accents_do_not_matter() -> None:
    places = index()
    assert [p.name for p in places.search("kallio")][:1] == ["Kallio"]
    assert places.search("Jatkasaari")[0].name == "Jätkäsaari"
    assert match_note("Kallio", places.search("Kallio")) == ""


def test_a_name_only_contained_in_others_is_said_so() -> None:
    places = PlaceIndex([PlaceMatch("Kalliolinnantie", "street", 60.158, 24.955)])
    note = match_note("Kallio", places.search("Kallio"))
    assert "No place in this area is called “Kallio”" in note and "Kalliolinnantie (street)" in note
    assert match_note("60.16, 24.93", places.search("60.16, 24.93")) == ""


def test_named_osm_places_inside_the_area_become_districts(tmp_path: Path) -> None:
    osm = tmp_path / "tiny.osm"
    osm.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
  <node id="1" lat="60.1570" lon="24.9116" version="1"><tag k="place" v="suburb"/><tag k="name" v="Jätkäsaari"/></node>
  <node id="2" lat="60.1840" lon="24.9500" version="1"><tag k="place" v="suburb"/><tag k="name" v="Kallio"/></node>
  <node id="3" lat="60.1600" lon="24.9300" version="1"><tag k="place" v="city"/><tag k="name" v="Helsinki"/></node>
  <node id="4" lat="60.1610" lon="24.9310" version="1"><tag k="place" v="square"/></node>
</osm>
""",
        encoding="utf-8",
    )
    found = read_named_places(osm, (24.892, 60.147, 24.99, 60.178))
    # Kallio lies north of the box, a city is not a district, a square without a name cannot be typed
    assert [(p.name, p.kind) for p in found] == [("Jätkäsaari", "district")]


def test_map_ground_has_water_parks_and_buildings(shared_data: Path, tmp_path: Path) -> None:
    """The trip map's ground from the real extract: the harbour and Töölönlahti, parks, buildings and the
    shore; a broken file is named, not a traceback."""
    from maas.errors import StreetDataError
    from planner.map_features import read_map_features

    ground = read_map_features(shared_data / "helsinki" / "helsinki_centre_2024-08-15.osm.pbf")
    assert len(ground.water) >= 20 and len(ground.parks) >= 1000 and len(ground.buildings) >= 2000
    assert len(ground.coastline) >= 50
    lons = [lon for ring in ground.buildings for lon, _ in ring]
    assert min(lons) > 24.85 and max(lons) < 25.0  # central Helsinki, in (lon, lat) order
    # the names a rider looks for on the map: districts and the metro and rail stations
    names = {(label.text, label.kind) for label in ground.labels}
    assert {("Jätkäsaari", "district"), ("Kamppi", "district"), ("Kruununhaka", "district")} <= names
    assert {("Kamppi", "station"), ("Rautatientori", "station"), ("Helsinki", "station")} <= names
    kamppi = next(x for x in ground.labels if (x.text, x.kind) == ("Kamppi", "station"))
    assert abs(kamppi.lat - 60.169) < 0.003 and abs(kamppi.lon - 24.932) < 0.005
    streets = [label for label in ground.labels if label.kind == "street"]
    assert 20 <= len(streets) <= 40 and {"Mannerheimintie", "Bulevardi"} <= {x.text for x in streets}
    assert all(-90 <= x.angle_deg <= 90 for x in streets)  # never printed upside down
    # the streets themselves, main ones apart (drawn wider), within the extract
    assert len(ground.streets) >= 3000 and len(ground.main_streets) >= 300
    street_lons = [lon for line in ground.streets + ground.main_streets for lon, _ in line]
    assert min(street_lons) > 24.85 and max(street_lons) < 25.0
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"not a pbf")
    with pytest.raises(StreetDataError, match=r"broken\.osm\.pbf"):
        read_map_features(broken)
