"""GTFS shapes as flat arrays, and cutting a shape between a boarding and an alighting stop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from maas.cache import save_npz

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Shapes:
    shape_ids: np.ndarray  # str, sorted
    start: np.ndarray  # int64[n+1] into lon/lat
    lon: np.ndarray
    lat: np.ndarray

    @classmethod
    def from_table(cls, table: pd.DataFrame | None) -> Shapes:
        """Shapes from GTFS ``shapes.txt`` (an empty set when the feed has none)."""
        if table is None or not len(table):
            return cls(np.array([], dtype=str), np.zeros(1, np.int64), np.zeros(0), np.zeros(0))
        df = table.sort_values(["shape_id", "shape_pt_sequence"], kind="stable")
        ids = df["shape_id"].astype(str).to_numpy(dtype=str)
        first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        return cls(
            ids[first],
            np.r_[first, len(ids)].astype(np.int64),
            df["shape_pt_lon"].to_numpy(np.float64),
            df["shape_pt_lat"].to_numpy(np.float64),
        )

    def coords(self, shape_id: str) -> np.ndarray | None:
        """(lon, lat) points of a shape, or None for an unknown shape id."""
        i = int(np.searchsorted(self.shape_ids, shape_id))
        if i >= len(self.shape_ids) or self.shape_ids[i] != shape_id:
            return None
        a, b = self.start[i], self.start[i + 1]
        return np.column_stack([self.lon[a:b], self.lat[a:b]])

    def save(self, path: Path) -> None:
        """Write the shapes to an ``.npz`` file."""
        save_npz(
            path,
            shape_ids=self.shape_ids,
            start=self.start,
            lon=self.lon,
            lat=self.lat,
            format_version=np.array(FORMAT_VERSION),
        )

    @classmethod
    def load(cls, path: Path) -> Shapes:
        """Read shapes written by :meth:`save`."""
        with np.load(path) as d:
            return cls(d["shape_ids"], d["start"], d["lon"], d["lat"])


def cut_between(coords: np.ndarray, stop_coords: np.ndarray) -> list[np.ndarray]:
    """Split a shape at consecutive stops: piece i runs from stop i to stop i+1.

    Each stop is matched to the nearest shape vertex at or after the previous stop's match, so
    loops and shapes that pass a stop twice are cut in travel order.
    """
    kx = np.cos(np.radians(float(np.mean(coords[:, 1]))))
    pos = 0
    idx = []
    for lon, lat in stop_coords:
        d = ((coords[pos:, 0] - lon) * kx) ** 2 + (coords[pos:, 1] - lat) ** 2
        pos = pos + int(np.argmin(d))
        idx.append(pos)
    pieces = []
    for i in range(len(stop_coords) - 1):
        a, b = idx[i], idx[i + 1]
        inner = coords[a + 1 : b] if b > a + 1 else np.zeros((0, 2))
        pieces.append(np.vstack([stop_coords[i], inner, stop_coords[i + 1]]))
    return pieces
