"""Plans that parallel solver workers share: a worker left with more routes takes another's fewer.

Where vehicles count first, each worker's ejection pool reaches the fleet its own random choices lead
it to, and on the hardest rows only one worker reaches the smallest. The other then shortens routes of
a plan with a route too many, which the result never uses. Each worker posts the plans of its pool
stage on a board the workers share; a worker checks it between its short LNS runs, and where another
posted fewer routes it continues from those plans (with its own seed: a second search in the basin
that counts), probing them from the other end of the list so that the two workers do not shorten the
same start at the same time. Workers also post their probes' plans, and where another worker's plans
have as many routes as one's own they are donors for one's route exchange (``dispatch.route_exchange``):
children that mix the basins both cores found.

Only under a time budget: under an iteration budget what a worker finds on the board would depend on
the other's speed, and the same input must give the same plan.
"""

from __future__ import annotations

import contextlib
from collections.abc import MutableMapping, Sequence

from dispatch.model import Problem
from dispatch.plan import RoutePlan


class FleetBoard:
    """One worker's view of the shared board: ``shared`` maps a worker to the plans it posted, best first
    (a ``multiprocessing.Manager`` dict between processes, or a plain dict in one)."""

    def __init__(self, shared: MutableMapping[int, tuple[RoutePlan, ...]], worker: int) -> None:
        self._shared = shared
        self._worker = worker

    def post(self, plans: Sequence[RoutePlan]) -> None:
        """Post this worker's plans (best first), replacing what it posted before. A board that cannot
        be reached (its manager gone) is left alone: sharing helps the search, it must not end it."""
        with contextlib.suppress(OSError, EOFError):
            self._shared[self._worker] = tuple(plans)

    def fewer_routes(self, problem: Problem, fleet: tuple[int, int]) -> tuple[RoutePlan, ...]:
        """The plans another worker posted whose best ranks before ``fleet`` (riders left out, then routes:
        ``RoutePlan.rank``'s first two), best first; () if none does."""
        found: tuple[RoutePlan, ...] = ()
        best = fleet
        for plans in self._others():
            rank = plans[0].rank(problem)[:2]
            if rank < best:
                found, best = plans, rank
        return found

    def same_fleet(self, problem: Problem, fleet: tuple[int, int]) -> tuple[RoutePlan, ...]:
        """Every plan other workers posted that ranks equal to ``fleet`` (riders left out, then routes),
        best first; () if none does."""
        ranked = [(plan.rank(problem), plan) for plans in self._others() for plan in plans]
        found = sorted((item for item in ranked if item[0][:2] == fleet), key=lambda item: item[0])
        return tuple(plan for _rank, plan in found)

    def _others(self) -> list[tuple[RoutePlan, ...]]:
        """Other workers' posts, each non-empty; none where the board cannot be reached (the worker goes
        on alone)."""
        try:
            posted = list(self._shared.items())
        except (OSError, EOFError):
            return []
        return [plans for worker, plans in posted if worker != self._worker and plans]
