"""Plans timed without OR-Tools (``dispatch.array_schedule``), and the solver above the size where
OR-Tools' model is no longer built: what a batch of thousands of requests goes through."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import dispatch.ortools_search as ortools_search
import dispatch.stages as stages
from dispatch.array_schedule import schedule_from_arrays
from dispatch.construct import CHUNK, insertion_plan
from dispatch.model import DispatchError, Problem, Request, TimeWindow, Vehicle
from dispatch.pdp_arrays import compile_problem
from dispatch.plan import PlannedRoute, RoutePlan, Visit
from dispatch.planted import PlantedSpec, planted_instance
from dispatch.solver import SolverParams, solve
from dispatch.validate import validate

pytestmark = pytest.mark.usefixtures("compiled_kernels")


@pytest.mark.parametrize("seed", range(4))
def test_planted_plans_timed_without_ortools_are_valid(seed: int) -> None:
    # mixed seats and wheelchair places, shifts, ride limits and riders on board tied to their vehicle
    planted = planted_instance(PlantedSpec(24, 4, seed=seed, onboard_share=0.1))
    problem = planted.problem
    plan = RoutePlan.of(planted.plan)
    timed = schedule_from_arrays(problem, plan)
    report = validate(problem, timed)
    assert report.ok, report.violations
    assert timed.served == len(problem.requests)
    assert RoutePlan.of(timed) == plan  # the same visits in the same order
    # the same distance as OR-Tools' schedule of the same plan
    assert timed.distance == pytest.approx(ortools_search.schedule(problem, plan).distance, abs=1e-6)


def test_a_route_without_a_schedule_names_its_vehicle() -> None:
    xs = np.array([0.0, 10.0, 20.0])
    matrix = np.abs(xs[:, None] - xs[None, :])
    # the drop-off window closes before the vehicle can get there
    late = Request("late", 1, 2, dropoff_window=TimeWindow(0.0, 5.0))
    problem = Problem("tiny", (late,), (Vehicle("bus-7", 0, 0, 4),), matrix, matrix.copy())
    plan = RoutePlan((PlannedRoute("bus-7", (Visit("late", False), Visit("late", True))),))
    with pytest.raises(DispatchError, match="bus-7"):
        schedule_from_arrays(problem, plan)


def test_unplanned_requests_get_a_reason() -> None:
    planted = planted_instance(PlantedSpec(12, 2, seed=3, onboard_share=0.0))
    plan = RoutePlan.of(planted.plan)
    left_out = plan.routes[0].visits[0].request
    timed = schedule_from_arrays(planted.problem, plan.without([left_out]))
    assert [u.request for u in timed.unserved] == [left_out]
    assert timed.unserved[0].reason
    assert validate(planted.problem, timed).ok


@pytest.mark.parametrize("portfolio", [True, False])
def test_above_the_ortools_size_the_solver_plans_with_numba_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, portfolio: bool
) -> None:
    planted = planted_instance(PlantedSpec(30, 5, seed=2, onboard_share=0.0))
    monkeypatch.setattr(stages, "ORTOOLS_MAX_REQUESTS", 10)

    def no_ortools(*args: object, **kwargs: object) -> None:
        raise AssertionError("OR-Tools' model was built")

    monkeypatch.setattr(stages, "search", no_ortools)
    monkeypatch.setattr(ortools_search, "search", no_ortools)
    monkeypatch.setattr("dispatch.solver.schedule", no_ortools)
    monkeypatch.setattr("dispatch.solver.search", no_ortools)
    # OR-Tools alone (portfolio = false) cannot plan such a batch: the numba stages do, and the log says so
    params = SolverParams(iterations=40, workers=1).with_changes(ortools={"portfolio": portfolio})
    solution = solve(planted.problem, params)
    assert ("portfolio = false" in caplog.text) is not portfolio
    report = validate(planted.problem, solution)
    assert report.ok, report.violations
    assert solution.served == 30  # the planted plan serves everyone
    # the same plan on every run: a work budget, numba searches seeded
    assert RoutePlan.of(solve(planted.problem, params)) == RoutePlan.of(solution)


def test_insertion_under_a_time_budget_stops_and_leaves_the_rest_for_the_search() -> None:
    problem = planted_instance(PlantedSpec(150, 6, seed=4, onboard_share=0.0)).problem
    everyone = insertion_plan(problem, 100)
    cut = insertion_plan(problem, 100, seconds=0.0)  # only the first chunk before the clock is read
    assert everyone is not None and cut is not None
    assert len(cut.served()) <= CHUNK < len(everyone.served())
    # what it did insert is a plan the vehicles can drive
    assert validate(problem, schedule_from_arrays(problem, cut)).ok


def test_compiled_arrays_are_reused_for_the_same_problem_only() -> None:
    planted = planted_instance(PlantedSpec(10, 2, seed=1))
    first = compile_problem(planted.problem, 100)
    assert compile_problem(planted.problem, 100) is first
    assert compile_problem(planted.problem, 10) is not first
    copy = dataclasses.replace(planted.problem, name="other")
    again = compile_problem(copy, 100)
    assert again is not first
    assert again is not None and first is not None
    assert np.array_equal(again.transit, first.transit)
