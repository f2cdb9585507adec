"""Agreement with R5 on the real Helsinki feed, and real trips planned end to end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from planner.itinerary import TransitLeg
from planner.r5_compare import compare, r5_params
from planner.router import Planner

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def r5_planner(helsinki) -> Planner:  # type: ignore[no-untyped-def]
    return Planner(helsinki, r5_params())


def test_transit_matrix_agrees_with_r5(r5_planner: Planner, shared_data: Path) -> None:
    agreement, table = compare(r5_planner, shared_data, "transit")
    assert agreement.pairs == 361 and table["ours"].notna().all()
    # measured 2026-11-22: median 1.0 min, 98.5 % within 3 min, 99.7 % within 5, mean bias +0.01 min
    assert agreement.median_abs_diff <= 2.0
    assert agreement.within_5 >= 0.95
    assert abs(agreement.mean_diff) <= 1.0  # no systematic bias


def test_walk_matrix_agrees_with_r5(r5_planner: Planner, shared_data: Path) -> None:
    agreement, _ = compare(r5_planner, shared_data, "walk")
    assert agreement.median_rel_diff <= 0.10  # measured 2.5 %


def test_bike_matrix_stays_close_to_r5(r5_planner: Planner, shared_data: Path) -> None:
    # We do not model R5's level-of-traffic-stress rules, under which R5's cyclists detour or walk
    # their bikes; our bike times are ~2 min (median 20 %) shorter. This guards against regressions.
    agreement, _ = compare(r5_planner, shared_data, "bike")
    assert agreement.median_abs_diff <= 2.5 and agreement.within_5 >= 0.95
    assert -3.0 <= agreement.mean_diff <= 0.5


def test_real_trip_from_jatkasaari_to_kruununhaka(helsinki) -> None:  # type: ignore[no-untyped-def]
    planner = Planner(helsinki)
    result = planner.plan((60.1575, 24.9170), (60.1735, 24.9560), depart_at=dt.datetime(2022, 2, 22, 8, 30))
    assert len(result) >= 1
    best = result[0]
    assert best.transit_legs, "a 3 km trip at rush hour should use transit"
    walk_only = planner.plan(
        (60.1575, 24.9170), (60.1735, 24.9560), depart_at=dt.datetime(2022, 2, 22, 8, 30), modes=("walk",)
    )[0]
    assert best.arrive < walk_only.arrive
    for before, after in zip(best.legs, best.legs[1:], strict=False):
        assert after.start >= before.end
    for leg in best.transit_legs:
        assert isinstance(leg, TransitLeg) and leg.route_short_name and len(leg.geometry) >= 2
        assert leg.distance_m > 0
    assert best.depart >= 8 * 3600 + 30 * 60


def test_range_raptor_matrix_equals_a_fresh_search_per_minute(r5_planner: Planner, shared_data: Path) -> None:
    """On R5's 19 grid points over its 10-minute window: range RAPTOR (labels kept from minute to
    minute, the default) gives the same matrix as searching every minute afresh."""
    import numpy as np

    from planner.matrix import MatrixSettings, travel_time_matrix
    from planner.r5_compare import R5_DEPART, grid_points

    points = grid_points(shared_data)
    percentiles = (1.0, 50.0, 100.0)  # the fastest minute, the median, the slowest
    ranged = travel_time_matrix(
        r5_planner, points, None, R5_DEPART, ("transit",), MatrixSettings(percentiles=percentiles)
    )
    fresh = travel_time_matrix(
        r5_planner, points, None, R5_DEPART, ("transit",), MatrixSettings(percentiles=percentiles, range_raptor=False)
    )
    assert np.isfinite(ranged.minutes).sum() > 300
    assert np.array_equal(ranged.by_percentile, fresh.by_percentile, equal_nan=True)
