"""Planted dial-a-ride instances: a plan serving every request is built first and the problem derived
around it; the independent validator must accept that plan, and the problem must be as tight as promised."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dispatch.model import DispatchError, Problem, Request, TimeWindow, Vehicle
from dispatch.planted import PLANTED_SETS, PlantedSpec, planted_instance, planted_set
from dispatch.validate import validate


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_planted_plan_serves_everyone_within_tight_limits(seed: int) -> None:
    spec = PlantedSpec(requests=60, vehicles=6, seed=seed, wheelchair_share=0.3, onboard_share=0.1)
    planted = planted_instance(spec)
    problem, plan = planted.problem, planted.plan
    report = validate(problem, plan)
    assert report.ok, report.violations[:5]
    assert report.served == len(problem.requests) == 60 and not plan.unserved
    assert abs(report.distance - plan.distance) < 1e-6
    # mixed fleets: seats, wheelchair places, several depots; riders on board tied to their vehicle
    assert len({v.seats for v in problem.vehicles}) >= 2
    tied = [r for r in problem.requests if r.vehicle is not None]
    assert tied and all(r.pickup_window.earliest == r.pickup_window.latest for r in tied)
    for r in problem.requests:
        direct = float(problem.travel_time[r.pickup, r.dropoff])
        assert r.max_ride_time is not None and r.max_ride_time >= 1.5 * direct - 1e-9
        if r.vehicle is None:  # one end has a window of 10-15 minutes (plus the solver grid's room)
            widths = [w.latest - w.earliest for w in (r.pickup_window, r.dropoff_window)]
            assert 10 - 1e-9 <= min(widths) <= 15 + 0.01 * 200, widths
    # the ride limit is 1.5 x direct, or the planted ride (plus the grid's room) where that is longer
    rides = {s.request: s for route in plan.routes for s in route.stops if s.kind == "dropoff"}
    picks = {s.request: s for route in plan.routes for s in route.stops if s.kind == "pickup"}
    slack = [r.max_ride_time - (rides[r.id].start_service - picks[r.id].departure) for r in problem.requests]
    assert min(slack) >= 0 and np.median(slack) < 1.0  # tight: most limits bind within a minute of the plan


def test_planted_instances_are_reproducible_and_specs_are_checked() -> None:
    a = planted_instance(PlantedSpec(requests=40, vehicles=4, seed=7))
    b = planted_instance(PlantedSpec(requests=40, vehicles=4, seed=7))
    assert a.problem.requests == b.problem.requests and a.problem.vehicles == b.problem.vehicles
    assert np.array_equal(a.problem.travel_time, b.problem.travel_time)
    c = planted_instance(PlantedSpec(requests=40, vehicles=4, seed=8))
    assert c.problem.requests != a.problem.requests
    with pytest.raises(DispatchError) as error:
        PlantedSpec(requests=10, vehicles=20, ride_factor=0.5, window_min=(15, 10), fill=0.0)
    message = str(error.value)  # every problem at once
    for name in ("vehicles", "ride_factor", "window_min", "fill"):
        assert name in message, message


def test_the_planted_sets_are_valid_benchmark_sets() -> None:
    from dispatch.bench import SETS
    from maas_apps.cli import BENCH_SETS

    assert tuple(BENCH_SETS) == tuple(SETS)
    for name in PLANTED_SETS:
        for planted in planted_set(name):
            assert validate(planted.problem, planted.plan).ok, planted.problem.name
    with pytest.raises(DispatchError, match="unknown planted set"):
        planted_set("planted-huge")


def test_a_window_off_the_solvers_grid_is_a_reason_not_a_crash() -> None:
    """A pickup window [3.123456, 3.123456] holds no whole step of the solver's scale: OR-Tools used to
    abort building the model ("CP Solver fail"); now that request is left out, saying why."""
    from dispatch.solver import SolverParams, solve

    m = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    requests = (
        Request("off-grid", 1, 2, pickup_window=TimeWindow(3.123456, 3.123456)),
        Request("fine", 1, 2, pickup_window=TimeWindow(5.0, 6.0)),
    )
    problem = Problem("grid", requests, (Vehicle("v", 0, 0, 4),), m, m.copy())
    solution = solve(problem, SolverParams(iterations=5, workers=1))
    assert solution.served == 1
    (left,) = solution.unserved
    assert left.request == "off-grid" and "grid" in left.reason
    assert validate(problem, solution).ok


def test_dispatch_bench_runs_a_planted_set_with_a_work_budget(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    from maas_apps.cli import main

    csv = tmp_path / "planted.csv"
    args = ["dispatch-bench", "--set", "planted-small", "--instances", "small-30x3", "--iterations", "30"]
    assert main([*args, "--workers", "1", "--csv", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "small-30x3" in out and "valid" in out and csv.is_file()
    row = csv.read_text().splitlines()[1].split(",")
    assert row[0] == "small-30x3" and float(row[3]) > 0  # the planted plan's distance is the best known


def test_dispatch_bench_without_csv_never_overwrites_a_result(capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Without --csv each run writes a new file under benchmarks/results, so a committed table of the
    same set (dispatch-bench-<set>.csv) is never overwritten by a user's run."""
    import maas.area
    from maas_apps.cli import main

    monkeypatch.setattr(maas.area, "PROJECT_ROOT", tmp_path)
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    committed = results / "dispatch-bench-planted-small.csv"
    committed.write_text("a committed table\n")
    args = ["dispatch-bench", "--set", "planted-small", "--instances", "small-30x3", "--iterations", "5"]
    assert main([*args, "--workers", "1"]) == 0
    assert main([*args, "--workers", "1"]) == 0
    out = capsys.readouterr().out
    written = sorted(results.glob("dispatch-bench-planted-small-*.csv"))
    assert len(written) == 2 and committed.read_text() == "a committed table\n"
    assert all(f"written {path}" in out for path in written)
    assert all(path.read_text().splitlines()[1].startswith("small-30x3,") for path in written)


def test_dispatch_bench_keeps_each_row_as_it_is_made(capsys, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A long benchmark stopped part way (Ctrl-C) keeps the rows it finished in its CSV, and says where;
    a wrong instance name is refused before anything is printed or written."""
    import dispatch.bench
    from dispatch.bench import read_csv
    from maas_apps.cli import main

    solved: list[str] = []
    real_solve = dispatch.bench.solve

    def solve_one_then_stop(problem, params):  # type: ignore[no-untyped-def]
        if solved:
            raise KeyboardInterrupt
        solved.append(problem.name)
        return real_solve(problem, params)

    monkeypatch.setattr(dispatch.bench, "solve", solve_one_then_stop)
    csv = tmp_path / "runs" / "planted.csv"
    args = ["dispatch-bench", "--set", "planted-small", "--iterations", "5", "--workers", "1", "--csv", str(csv)]
    assert main([*args, "--instances", "small-30x3,small-40x4"]) == 130
    captured = capsys.readouterr()
    assert "planted-small: 2 instance(s), 5 iterations each" in captured.out
    assert f"the 1 finished row(s) are in {csv}" in captured.err
    (row,) = read_csv(csv)
    assert row.instance == "small-30x3" and row.verdict == "valid"

    other = tmp_path / "other.csv"
    assert main([*args[:-1], str(other), "--instances", "small-30x3,nope"]) == 2
    captured = capsys.readouterr()
    assert "not in planted-small: nope" in captured.err
    assert captured.out == "" and not other.exists()


def test_spec_fields_are_all_checked() -> None:
    """Each numeric field refuses NaN (a spec is a parameter object that checks itself)."""
    for field in ("service_min", "side_km", "speed_kmh", "first_shift_h", "shift_slack_min", "time_step"):
        with pytest.raises(DispatchError, match=field):
            dataclasses.replace(PlantedSpec(requests=10, vehicles=2), **{field: float("nan")})


def test_a_planted_batch_on_helsinki_streets_is_what_maas_dispatch_reads(helsinki, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The files written for a planted batch, read back as ``maas dispatch`` reads them, hold a problem
    that the planted plan serves completely (checked by the independent validator)."""
    from dispatch.day import shuttle_network
    from dispatch.planted_batch import plan_as_read, planted_batch, write_planted_batch, zone_nodes
    from dispatch.realworld import read_realworld

    network = shuttle_network(helsinki)
    spec = PlantedSpec(60, 4, seed=1, service_min=1.0, onboard_share=0.0, first_shift_h=2.0, nearby=6)
    planted = planted_batch(network, spec, zone_nodes(network, helsinki.area), "helsinki-planted")
    requests_csv, fleet_csv = write_planted_batch(planted, network, tmp_path, 7 * 60)
    read = read_realworld(requests_csv, fleet_csv, helsinki)
    assert len(read.requests) == 60 and len({v.seats for v in read.vehicles}) >= 2
    assert all(v.shift.earliest >= 7 * 60 for v in read.vehicles)  # shifts from 07:00 on
    report = validate(read, plan_as_read(planted, read, 7 * 60))
    assert report.ok and report.served == 60, report.violations[:5]
    with pytest.raises(DispatchError, match="service_min"):
        planted_batch(network, PlantedSpec(10, 2), zone_nodes(network, helsinki.area), "x")


def test_the_ejection_pool_places_riders_a_plan_left_out_on_a_mixed_fleet() -> None:
    """Riders taken out of a planted plan (mixed seats, depots, shifts; riders on board tied to their
    vehicle) are put back by serve_left_out; the validator, written apart from the search, agrees."""
    from dispatch.budget import Budget
    from dispatch.ortools_search import schedule
    from dispatch.plan import RoutePlan
    from dispatch.route_min import serve_left_out

    planted = planted_instance(PlantedSpec(requests=60, vehicles=6, seed=4, onboard_share=0.1))
    problem = planted.problem
    free = [r.id for r in problem.requests if r.vehicle is None]
    taken = set(free[::7])
    start = RoutePlan.of(planted.plan).without(taken)
    assert set(start.unserved(problem)) == taken
    placed = serve_left_out(problem, start, Budget(iterations=50), seed=1)
    assert placed is not None and not placed.unserved(problem)
    solution = schedule(problem, placed, 100)
    report = validate(problem, solution)
    assert report.ok and report.served == 60, report.violations[:5]
    tied = {r.id: r.vehicle for r in problem.requests if r.vehicle is not None}
    for route in solution.routes:  # riders on board stay on their own vehicle
        assert all(tied.get(s.request, route.vehicle) == route.vehicle for s in route.stops if s.request)


def test_the_solver_serves_every_rider_of_a_small_planted_mixed_fleet() -> None:
    """Through solve() with a work budget: every rider of a planted instance is servable, and served."""
    from dispatch.solver import SolverParams, solve

    planted = planted_instance(PlantedSpec(requests=40, vehicles=4, seed=2, onboard_share=0.1))
    solution = solve(planted.problem, SolverParams(iterations=60, workers=1))
    report = validate(planted.problem, solution)
    assert report.ok and not solution.unserved, (solution.unserved, report.violations[:5])
    assert solution.distance <= planted.plan.distance + 1e-6
