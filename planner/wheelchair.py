"""Area data for a wheelchair user: only accessible trips and stops, and walking without steps.

GTFS marks trips (``wheelchair_accessible``) and stops (``wheelchair_boarding``; a platform without
its own value takes its station's) as 1 accessible, 2 not, 0 or empty unknown. ``strict`` (the
default) uses only what is marked 1; ``lenient`` also what is unknown. Walking, to and from stops
and between them, uses the walk graph without OSM ways tagged ``highway=steps`` or ``wheelchair=no``
(kerbs are node tags the street reader does not keep, so they are not checked).

The result has the same stop, route, pattern and edge numbers as the data it comes from, so the
planner searches it exactly as the ordinary data.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from planner.area_data import FOOTPATH_MAX_M, AreaData
from planner.footpaths import compute_footpaths

Unknown = Literal["strict", "lenient"]
ACCESSIBLE = 1
NOT_ACCESSIBLE = 2


def usable(codes: np.ndarray, unknown: Unknown) -> np.ndarray:
    """Which GTFS accessibility codes a wheelchair user may rely on."""
    if unknown not in ("strict", "lenient"):
        raise ValueError(f"unknown accessibility must be 'strict' or 'lenient', got {unknown!r}")
    return np.asarray(codes == ACCESSIBLE if unknown == "strict" else codes != NOT_ACCESSIBLE, dtype=bool)


def wheelchair_area_data(data: AreaData, unknown: Unknown = "strict") -> AreaData:
    """``data`` restricted to what a wheelchair user can use (see the module docstring)."""
    timetable = data.timetable
    restricted = timetable.restricted(
        usable(timetable.trip_wheelchair, unknown), usable(timetable.stop_wheelchair, unknown)
    )
    walk = data.streets["walk"].step_free()
    links = data.stop_links
    with np.errstate(invalid="ignore"):  # a stop on a flight of steps: 0 x inf, never a transfer
        footpaths = compute_footpaths(restricted, walk, links.edge, links.fraction, links.distance_m, FOOTPATH_MAX_M)
    return dataclasses.replace(data, timetable=restricted, streets={**data.streets, "walk": walk}, footpaths=footpaths)
