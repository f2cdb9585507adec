"""The ruins of the numba LNS (dispatch.lns) and the restarts of ``shorten_from_new_starts``."""

from __future__ import annotations

import numpy as np
import pytest
from budgets import work_budget
from test_route_min import one_route_each, random_problem

from dispatch.lns import _costliest_group, _related_group
from dispatch.model import DispatchError
from dispatch.ortools_search import schedule
from dispatch.pdp_arrays import seed_numba
from dispatch.solver import LnsParams
from dispatch.stages import eject_routes, shorten_from_new_starts
from dispatch.validate import validate

pytestmark = pytest.mark.usefixtures("compiled_kernels")


def test_a_related_ruin_takes_distinct_requests_mostly_the_nearest() -> None:
    """Requests on a line: a group around one is that one and others, never twice the same, and its
    nearest neighbour is taken far more often than the farthest request."""
    n = 40
    position = np.arange(n, dtype=np.float64)
    related = np.argsort(np.abs(position[:, None] - position[None, :]), axis=1).astype(np.int64)
    chosen = np.empty(n, np.int64)
    seed_numba(3)
    near = far = 0
    for _ in range(2000):
        _related_group(10, 6, related, chosen)
        group = chosen[:6].tolist()
        assert group[0] == 10 and len(set(group)) == 6
        near += 9 in group or 11 in group
        far += n - 1 in group
    assert near > 1500 and far < 100


def test_a_costliest_ruin_prefers_the_request_with_the_longest_detour() -> None:
    """Two routes on a line; request 2 is picked up far off the line: the costliest ruin takes it first
    far more often than any other, and takes only served requests, each once."""
    coordinate = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 50.0, 6.0, 7.0, 8.0, 0.0, 0.0])  # nodes 0..7, depot 8, 9
    distance = np.round(np.abs(coordinate[:, None] - coordinate[None, :]) * 100).astype(np.int64)
    # request k: nodes 2k and 2k + 1; route 0 serves requests 0 and 1, route 1 requests 2 and 3
    routes = np.array([[0, 1, 2, 3, 0, 0, 0, 0], [4, 5, 6, 7, 0, 0, 0, 0]], np.int64)
    lengths = np.array([4, 4], np.int64)
    start = np.array([8, 8], np.int64)
    chosen = np.empty(4, np.int64)
    saving = np.empty(4, np.float64)
    order = np.empty(4, np.int64)
    seed_numba(5)
    first = np.zeros(4, np.int64)
    for _ in range(1000):
        _costliest_group(routes, lengths, distance, start, 3, chosen, saving, order)
        assert len(set(chosen[:3].tolist())) == 3 and set(chosen[:3].tolist()) <= {0, 1, 2, 3}
        first[chosen[0]] += 1
    assert first[2] > 600 and first[2] == first.max()


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("starts", [{"restarts": 3}, {"probes": 3}])
def test_new_starts_keep_the_fleet_and_repeat_under_a_work_budget(seed: int, starts: dict[str, int]) -> None:
    """Vehicles first: rounds or probes from new ejection-pool starts never end with more routes than a
    single round or a worse plan than the start, the plan is valid, and the same seed gives the same plan."""
    problem = random_problem(seed, n_requests=10)
    first = one_route_each(problem)
    params = work_budget(40, seed=seed).with_changes(lns=starts)
    one_round = params.with_changes(lns={"restarts": 1, "probes": 1})
    start = eject_routes(problem, first, params.budget.share(0.3), params)
    single = shorten_from_new_starts(problem, start, params.budget.share(0.5), one_round, first=first)
    several = shorten_from_new_starts(problem, start, params.budget.share(0.5), params, first=first)
    again = shorten_from_new_starts(problem, start, params.budget.share(0.5), params, first=first)
    assert several == again
    assert several.rank(problem) <= start.rank(problem)
    assert len(several.routes) <= len(single.routes)
    assert not several.unserved(problem)
    assert not validate(problem, schedule(problem, several)).violations


def test_lns_parameters_name_every_bad_setting() -> None:
    with pytest.raises(DispatchError) as info:
        LnsParams(restarts=0, blink=1.0, probes=0)
    for word in ("restarts", "blink", "probes"):
        assert word in str(info.value)
