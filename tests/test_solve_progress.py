"""Progress of a running solve: what an operator sees while ``maas dispatch`` works through a batch."""

from __future__ import annotations

import io
import threading
import time

import pytest

from dispatch.plan import RoutePlan
from dispatch.planted import PlantedSpec, planted_instance
from dispatch.progress import SolveProgress
from dispatch.solver import SolverParams, solve
from maas_apps.solve_progress import SolveWatch

pytestmark = pytest.mark.usefixtures("compiled_kernels")


@pytest.mark.parametrize("workers", [1, 2])
def test_each_worker_reports_its_stages_and_the_plan_does_not_change(workers: int) -> None:
    problem = planted_instance(PlantedSpec(20, 3, seed=5, onboard_share=0.1)).problem
    params = SolverParams(iterations=20, workers=workers, seed=2)
    events: list[SolveProgress] = []
    watched = solve(problem, params, progress=events.append)
    plain = solve(problem, params)
    # reporting only reads the plans: the same iterations give the same plan with or without it
    assert RoutePlan.of(watched) == RoutePlan.of(plain)
    assert {e.worker for e in events} == set(range(workers))
    for worker in range(workers):
        own = [e for e in events if e.worker == worker]
        assert own[0].stage == "first plan"
        assert len(own) >= 2
        assert [e.seconds for e in own] == sorted(e.seconds for e in own)
        assert all(e.requests == len(problem.requests) and 0 <= e.served <= e.requests for e in own)
    # the best stage plan reported is the plan returned
    best = min(events, key=lambda e: (e.requests - e.served, e.distance))
    assert best.served == watched.served
    assert best.distance == pytest.approx(watched.distance, rel=1e-9)


def test_the_watch_prints_stages_and_says_it_is_still_searching_when_quiet() -> None:
    out = io.StringIO()
    event = SolveProgress(worker=1, stage="first plan", seconds=0.4, served=9, requests=10, routes=2, distance=12.5)
    with SolveWatch(time.perf_counter(), "limit 60 s", out=out, quiet_s=0.2) as watch:
        watch(event)
        deadline = time.perf_counter() + 5
        while "still searching" not in out.getvalue() and time.perf_counter() < deadline:
            time.sleep(0.1)
    text = out.getvalue()
    assert "worker 1, first plan: 9/10 served, 2 routes, 12.5 km" in text
    assert "still searching (limit 60 s); best so far 9/10 served, 2 routes, 12.5 km" in text
    # the ticker stops with the watch
    assert not any(t.name == watch._ticker.name and t.is_alive() for t in threading.enumerate())


def test_a_long_lns_run_shows_its_best_plans_as_they_improve(monkeypatch: pytest.MonkeyPatch) -> None:
    import dispatch.lns as lns
    from dispatch.budget import Budget
    from dispatch.construct import insertion_plan
    from dispatch.stages import relatedness

    problem = planted_instance(PlantedSpec(60, 4, seed=3, onboard_share=0.0)).problem
    start = insertion_plan(problem, 100)
    assert start is not None
    monkeypatch.setattr(lns, "REPORT_EVERY_S", 0.0)  # every improvement, for the test
    shown: list[RoutePlan] = []
    related = relatedness(problem)
    best = lns.shorten_routes(problem, start, Budget(iterations=30), related, seed=1, on_best=shown.append)
    assert best is not None and shown
    ranks = [(len(p.unserved(problem)), p.distance(problem)) for p in shown]
    assert ranks == sorted(ranks, reverse=True)  # each shown plan better than the one before
    assert ranks[-1] == (len(best.unserved(problem)), best.distance(problem))
    assert ranks[0] < (len(start.unserved(problem)), start.distance(problem))
    # showing only reads: the same iterations give the same plan without it
    assert lns.shorten_routes(problem, start, Budget(iterations=30), related, seed=1) == best


def test_thousands_of_riders_left_out_are_counted_by_reason_not_listed() -> None:
    from dispatch.model import Unserved
    from maas_apps.cli import UNSERVED_LISTED, unserved_lines

    busy = "every vehicle with room is busy in its window"
    hours = "outside the service hours"
    few = [Unserved("r1", busy), Unserved("r2", hours)]
    assert unserved_lines(few, "plan.json") == [f"  unserved r1: {busy}", f"  unserved r2: {hours}"]
    many = [Unserved(f"r{k}", busy if k % 4 else hours) for k in range(3000)]
    lines = unserved_lines(many, "plan.json")
    assert len(lines) == 3 < UNSERVED_LISTED
    assert lines[0] == "  3,000 riders unserved (each with its reason in plan.json):"
    assert lines[1] == f"    2,250  {busy}" and lines[2] == f"      750  {hours}"
