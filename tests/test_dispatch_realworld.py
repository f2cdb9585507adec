"""Real-world dispatch input on the Helsinki streets: CSV validation and a small valid plan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from budgets import work_budget

from dispatch.realworld import read_realworld, write_requests_csv
from dispatch.solver import LnsParams, solve
from dispatch.validate import validate
from maas.errors import InputError

pytestmark = pytest.mark.realdata

REQUESTS = """id,pickup_lat,pickup_lon,dropoff_lat,dropoff_lon,earliest_pickup,latest_pickup,seats,wheelchair
r1,60.1560,24.9180,60.1632,24.9155,08:00,08:10,1,0
r2,60.1575,24.9220,60.1632,24.9155,08:05,08:15,2,0
r3,60.1500,24.9250,60.1632,24.9155,08:00,08:20,1,1
"""
FLEET = """id,depot_lat,depot_lon,seats,wheelchair_places
ez10-1,60.1560,24.9215,8,1
ez10-2,60.1560,24.9215,8,0
"""


def test_maas_dispatch_warns_of_a_request_that_goes_nowhere(
    helsinki, tmp_path: Path, shared_data: Path, helsinki_cache: Path, compiled_kernels, capsys
) -> None:  # type: ignore[no-untyped-def]
    """A row whose pickup and drop-off are the same street point is planned, and named in a warning."""
    from maas_apps.cli import main

    requests, fleet = write(tmp_path, REQUESTS + "r9,60.1560,24.9180,60.15601,24.91801,08:00,08:10,1,0\n")
    out = tmp_path / "plan.json"
    argv = ["dispatch", "--requests", str(requests), "--fleet", str(fleet), "--data-dir", str(shared_data)]
    argv += ["--cache-dir", str(helsinki_cache), "--solutions", "5", "--workers", "1", "--out", str(out)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "warning: 1 request(s)" in err
    assert "(planned as a pickup and drop-off with no ride between): r9" in err, err
    assert '"validator": "valid' in out.read_text()


def write(tmp_path: Path, requests: str, fleet: str = FLEET) -> tuple[Path, Path]:
    (tmp_path / "requests.csv").write_text(requests, encoding="utf-8")
    (tmp_path / "fleet.csv").write_text(fleet, encoding="utf-8")
    return tmp_path / "requests.csv", tmp_path / "fleet.csv"


def test_small_batch_is_planned_validly(helsinki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    problem = read_realworld(*write(tmp_path, REQUESTS), helsinki)
    # the area's ride promise applies where no limit is given: 2 x direct + 5 min
    r1 = problem.requests[0]
    assert r1.max_ride_time == pytest.approx(2 * problem.travel_time[r1.pickup, r1.dropoff] + 5)
    solution = solve(problem, work_budget(100))
    assert validate(problem, solution).ok and not solution.unserved
    wheelchair_route = next(r for r in solution.routes if any(s.request == "r3" for s in r.stops))
    assert wheelchair_route.vehicle == "ez10-1"  # the only vehicle with a wheelchair place


def test_every_input_problem_is_reported_at_once(helsinki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = REQUESTS + "r4,60.30,24.9155,60.1632,24.9155,8h,08:20,1,0\nr5,60.1560,,60.1632,24.9155,08:00,07:00,1,0\n"
    with pytest.raises(InputError) as info:
        read_realworld(*write(tmp_path, bad), helsinki)
    message = str(info.value)
    assert "requests.csv, field 'pickup_lat', row 5: pickup (60.3, 24.9155) is outside the area helsinki" in message
    assert "requests.csv, field 'earliest_pickup', row 5: not a time ('8h')" in message
    assert "requests.csv, field 'pickup_lon', row 6: value is empty" in message
    assert "requests.csv, field 'latest_pickup', row 6: latest_pickup is before earliest_pickup" in message


def test_shuttle_never_drives_faster_than_its_cap(helsinki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    rows = [
        f"q{k},{rng.uniform(60.158, 60.170)},{rng.uniform(24.925, 24.95)},60.1632,24.9155,08:00,08:10" for k in range(8)
    ]
    header = "id,pickup_lat,pickup_lon,dropoff_lat,dropoff_lon,earliest_pickup,latest_pickup\n"
    problem = read_realworld(*write(tmp_path, header + "\n".join(rows) + "\n"), helsinki)
    minutes, km = problem.travel_time, problem.distance
    assert minutes.shape[0] >= 8
    off = ~np.eye(len(minutes), dtype=bool)
    assert (km[off] * 1000 / (minutes[off] * 60) <= 18 / 3.6 + 1e-3).all()
    for k in range(len(minutes)):  # shortest times obey the triangle inequality
        assert (minutes <= minutes[:, [k]] + minutes[[k], :] + 1e-6).all()


def _batch(helsinki, tmp_path: Path, n: int, fleet: int) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """A day of generated Helsinki riders as a dispatch batch (requests.csv, fleet.csv)."""
    from dispatch.day import shuttle_network
    from dispatch.demand import generate_demand

    net = shuttle_network(helsinki)
    riders = generate_demand(helsinki.area, net, helsinki.timetable, n, seed=7)

    write_requests_csv(riders, net, tmp_path / "requests.csv")
    fleet_lines = ["id,depot_lat,depot_lon,seats,wheelchair_places"] + [
        f"s{k},60.1560,24.9215,8,1" for k in range(fleet)
    ]
    (tmp_path / "fleet.csv").write_text("\n".join(fleet_lines) + "\n", encoding="utf-8")
    return tmp_path / "requests.csv", tmp_path / "fleet.csv"


def test_a_large_batch_is_planned_for_everyone_the_fleet_can_carry(helsinki, tmp_path: Path, compiled_kernels) -> None:  # type: ignore[no-untyped-def]
    """300 requests and 10 shuttles on a work budget: the first plan comes from insertion in time order (OR-Tools'
    constructions left most riders out at this size); everyone is served and the validator agrees."""
    import time

    started = time.perf_counter()
    problem = read_realworld(*_batch(helsinki, tmp_path, 300, 10), helsinki)
    assert time.perf_counter() - started < 5  # matrices are slices of the shuttle network, not searches
    assert problem.n_nodes <= 300
    # a short work budget: ruin and recreate on 300 requests takes about 14 ms a step
    solution = solve(problem, work_budget(20, lns=LnsParams(steps_per_call=10)))
    assert not solution.unserved, solution.unserved[:3]
    assert validate(problem, solution).ok


def test_unserved_riders_get_the_real_reason(helsinki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    requests = (
        REQUESTS
        + "r4,60.1560,24.9180,60.1632,24.9155,21:00,21:10,1,0\nr5,60.1560,24.9180,60.1632,24.9155,08:00,08:10,9,0\n"
        + "r6,60.1560,24.9180,60.1632,24.9155,18:58,18:59,1,0\n"
    )
    problem = read_realworld(*write(tmp_path, requests), helsinki)
    reasons = {u.request: u.reason for u in solve(problem, work_budget(50)).unserved}
    assert reasons["r4"].startswith("outside the service hours")  # the fleet works 07:00-19:00
    assert reasons["r5"] == "no vehicle has room for it (9 seat(s))"
    # on shift when it asks, but the ride would end after the shifts do
    assert reasons["r6"].startswith(
        "no vehicle with room on shift can reach the pickup within its window and still end"
    )
    assert set(reasons) == {"r4", "r5", "r6"}


def test_maas_dispatch_with_a_work_budget_gives_the_same_plan_twice(
    helsinki, tmp_path: Path, shared_data: Path, helsinki_cache: Path, compiled_kernels
) -> None:  # type: ignore[no-untyped-def]
    from maas_apps.cli import main

    requests, fleet = _batch(helsinki, tmp_path, 40, 4)
    common = ["dispatch", "--requests", str(requests), "--fleet", str(fleet), "--data-dir", str(shared_data)]
    common += ["--cache-dir", str(helsinki_cache), "--solutions", "5", "--workers", "2"]
    plans = []
    for k in range(2):
        out = tmp_path / f"plan{k}.json"
        assert main([*common, "--out", str(out)]) == 0
        plans.append(out.read_text())
    assert plans[0] == plans[1]
    assert '"validator": "valid' in plans[0]


def test_a_batch_too_large_for_memory_is_refused_with_what_it_needs(
    helsinki, tmp_path: Path, shared_data: Path, helsinki_cache: Path, monkeypatch, capsys, caplog
) -> None:  # type: ignore[no-untyped-def]
    import dispatch.solver as solver
    from dispatch.memory import bytes_per_worker
    from maas_apps.cli import main

    requests, fleet = _batch(helsinki, tmp_path, 40, 4)
    common = ["dispatch", "--requests", str(requests), "--fleet", str(fleet), "--data-dir", str(shared_data)]
    common += ["--cache-dir", str(helsinki_cache), "--solutions", "5", "--workers", "2"]
    # a machine with too little memory for even one worker: a message, not the system killing the job
    monkeypatch.setattr(solver, "available_bytes", lambda: 50 * 1024**2)
    refused = tmp_path / "refused.json"
    assert main([*common, "--out", str(refused)]) != 0
    message = capsys.readouterr().err
    assert "40 requests need about" in message and "GB is available: split the batch" in message
    assert not refused.exists()
    # room for one worker of the two asked for: one runs, and the log says so
    problem = read_realworld(requests, fleet, helsinki)
    monkeypatch.setattr(solver, "available_bytes", lambda: int(1.5 * bytes_per_worker(problem)))
    planned = tmp_path / "planned.json"
    assert main([*common, "--out", str(planned)]) == 0
    assert "running 1 worker(s) instead of 2" in caplog.text
    assert '"validator": "valid' in planned.read_text()
