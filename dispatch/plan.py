"""Route plans: which vehicle visits which pickups and drop-offs, in which order, without a schedule.

The solver's stages pass plans to one another; only ``dispatch.ortools_search.schedule`` turns a plan
into a ``Solution`` with times and loads. A plan computes its own distance and rank from the
problem's matrices, so two stages cannot disagree on which plan is better.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dispatch.model import Problem, Solution


@dataclass(frozen=True, slots=True)
class Visit:
    """One stop of a route plan: the pickup (``dropoff`` False) or the drop-off of a request."""

    request: str
    dropoff: bool

    def node(self, problem_requests: dict[str, tuple[int, int]]) -> int:
        """The problem node of this visit, given each request's (pickup, drop-off) nodes."""
        pickup, dropoff = problem_requests[self.request]
        return dropoff if self.dropoff else pickup


@dataclass(frozen=True, slots=True)
class PlannedRoute:
    """The visits of one vehicle between leaving its start depot and reaching its end depot."""

    vehicle: str
    visits: tuple[Visit, ...]


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """Visit orders of the vehicles that leave their depot; requests on no route are unserved."""

    routes: tuple[PlannedRoute, ...]

    @classmethod
    def of(cls, solution: Solution) -> RoutePlan:
        """The visit orders of a scheduled solution (its times and loads dropped).

        Parameters
        ----------
        solution
            A solution from the solver or any other source.

        Returns
        -------
        RoutePlan
            One planned route per route of ``solution`` that visits a request.
        """
        routes = []
        for route in solution.routes:
            visits = tuple(Visit(s.request, s.kind == "dropoff") for s in route.stops if s.request is not None)
            if visits:
                routes.append(PlannedRoute(route.vehicle, visits))
        return cls(tuple(routes))

    def served(self) -> frozenset[str]:
        """The ids of the requests some route visits."""
        return frozenset(v.request for route in self.routes for v in route.visits)

    def unserved(self, problem: Problem) -> tuple[str, ...]:
        """The ids of ``problem``'s requests no route visits, in the problem's order."""
        served = self.served()
        return tuple(r.id for r in problem.requests if r.id not in served)

    def distance(self, problem: Problem) -> float:
        """Total distance driven, depots included, from ``problem``'s unscaled distance matrix."""
        nodes = {r.id: (r.pickup, r.dropoff) for r in problem.requests}
        depots = {v.id: (v.start, v.end) for v in problem.vehicles}
        total = 0.0
        for route in self.routes:
            start, end = depots[route.vehicle]
            path = [start, *(visit.node(nodes) for visit in route.visits), end]
            total += float(problem.distance[path[:-1], path[1:]].sum())
        return total

    def rank(self, problem: Problem) -> tuple[int, int, float]:
        """How good the plan is, smaller better: unserved requests, then vehicles (where they count), then distance."""
        vehicles = len(self.routes) if problem.minimize_vehicles else 0
        return (len(self.unserved(problem)), vehicles, self.distance(problem))

    def without(self, removed: Iterable[str]) -> RoutePlan:
        """The plan with the ``removed`` requests taken out (a start for reinserting them)."""
        gone = set(removed)
        routes = (PlannedRoute(r.vehicle, tuple(v for v in r.visits if v.request not in gone)) for r in self.routes)
        return RoutePlan(tuple(r for r in routes if r.visits))

    def without_route(self, vehicle: str) -> RoutePlan:
        """The plan without ``vehicle``'s route (its requests become unserved)."""
        return RoutePlan(tuple(r for r in self.routes if r.vehicle != vehicle))
