"""Compare our travel-time matrices with R5's on the same feed (``../shared/data/r5_reference``).

Origins and destinations are the centroids of population-grid cells 0, 5, ..., 90; departure
2022-02-22 08:30 with a 10-minute window and the median, walking 3.6 km/h and cycling 12 km/h,
as R5 (via r5py) ran. R5 waits 60 s before every boarding and adds no other transfer slack,
so those are the settings used here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from planner.matrix import MatrixSettings, Point, read_points, travel_time_matrix
from planner.router import Planner, RouterParams

R5_WALK_MPS = 1.0  # 3.6 km/h
R5_BIKE_MPS = 12 / 3.6
R5_DEPART = dt.datetime(2022, 2, 22, 8, 30)
R5_FILES = {"transit": "travel_times_transit.csv", "walk": "travel_times_walk.csv", "bike": "travel_times_bicycle.csv"}


def r5_params() -> RouterParams:
    """Router settings that match R5's defaults (walk 3.6 km/h, bike 12 km/h, 60 s boarding wait, no transfer slack)."""
    return RouterParams(walk_speed_mps=R5_WALK_MPS, bike_speed_mps=R5_BIKE_MPS, board_slack_s=60, transfer_slack_s=0)


def grid_points(data_dir: Path) -> list[Point]:
    """Every fifth cell of the Helsinki population grid: the points R5's reference matrix was computed on."""
    points = read_points(data_dir / "helsinki" / "population_grid_2020.gpkg")
    return [p for p in points if int(p.id) % 5 == 0]


@dataclass(frozen=True)
class Agreement:
    mode: str
    pairs: int
    compared: int
    median_abs_diff: float
    mean_diff: float  # ours minus R5; positive = we are slower
    within_3: float
    within_5: float
    median_rel_diff: float
    worst: list[tuple[str, str, float, float]]  # from, to, ours, R5

    def as_dict(self) -> dict[str, Any]:
        """The agreement figures as plain data."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def compare(planner: Planner, data_dir: Path, mode: str) -> tuple[Agreement, pd.DataFrame]:
    """Our matrix against R5's reference for ``mode`` on the same points and time: the agreement figures
    and the joined table.
    """
    points = grid_points(data_dir)
    settings = MatrixSettings(max_trip_s=2 * 3600)
    modes = {"transit": ("transit",), "walk": ("walk",), "bike": ("bike",)}[mode]
    ours = travel_time_matrix(planner, points, None, R5_DEPART, modes, settings)
    mine = pd.DataFrame(ours.rows(), columns=["from_id", "to_id", "ours"]).astype({"from_id": int, "to_id": int})
    r5 = pd.read_csv(data_dir / "r5_reference" / R5_FILES[mode])
    both = mine.merge(r5, on=["from_id", "to_id"], how="outer")
    valid = both.dropna(subset=["ours", "travel_time"])
    off_diagonal = valid[valid.from_id != valid.to_id]
    diff = off_diagonal["ours"] - off_diagonal["travel_time"]
    rel = diff.abs() / off_diagonal["travel_time"].clip(lower=1)
    worst = off_diagonal.assign(d=diff.abs()).sort_values("d", ascending=False).head(8)
    return Agreement(
        mode=mode,
        pairs=len(both),
        compared=len(off_diagonal),
        median_abs_diff=float(diff.abs().median()),
        mean_diff=float(diff.mean()),
        within_3=float((diff.abs() <= 3).mean()),
        within_5=float((diff.abs() <= 5).mean()),
        median_rel_diff=float(rel.median()),
        worst=list(
            zip(
                worst["from_id"].astype(str),
                worst["to_id"].astype(str),
                worst["ours"].to_numpy(dtype=float).tolist(),
                worst["travel_time"].to_numpy(dtype=float).tolist(),
                strict=True,
            )
        ),
    ), both
