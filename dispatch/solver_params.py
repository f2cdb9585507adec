"""The solver's settings: small checked dataclasses, one per stage, loadable from TOML tables.

```toml
[solver]
time_limit_s = 60
seed = 3
[solver.ortools]
metaheuristic = "TABU_SEARCH"
[solver.lns]
removed_share = 0.25
[solver.shares]
lns = 0.8
```

Every problem in a file is reported at once. Measurements behind the defaults are in
``benchmarks/results/solver-tuning.md``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatch.budget import Budget
from dispatch.model import DispatchError
from maas.settings import checked_table, load_table

FIRST_SOLUTION_STRATEGIES = (
    "PARALLEL_CHEAPEST_INSERTION",
    "SEQUENTIAL_CHEAPEST_INSERTION",
    "LOCAL_CHEAPEST_INSERTION",
    "BEST_INSERTION",
    "PATH_CHEAPEST_ARC",
    "SAVINGS",
    "AUTOMATIC",
)
METAHEURISTICS = (
    "GUIDED_LOCAL_SEARCH",
    "SIMULATED_ANNEALING",
    "TABU_SEARCH",
    "GENERIC_TABU_SEARCH",
    "GREEDY_DESCENT",
    "AUTOMATIC",
)


def _raise(table: str, problems: list[str]) -> None:
    if problems:
        raise DispatchError(f"{table} parameters: " + "; ".join(problems))


def _share_problems(owner: object, names: tuple[str, ...], low_open: bool = False) -> list[str]:
    problems = []
    for name in names:
        value = getattr(owner, name)
        inside = 0 < value <= 1 if low_open else 0 <= value <= 1
        if not inside:
            problems.append(f"{name} must be in {'(0, 1]' if low_open else '0..1'}, got {value}")
    return problems


def _flag_problems(owner: object, names: tuple[str, ...]) -> list[str]:
    """A problem for each of the settings ``names`` that is not true or false (TOML may hold anything)."""
    return [
        f"{name} must be true or false, got {getattr(owner, name)!r}"
        for name in names
        if not isinstance(getattr(owner, name), bool)
    ]


@dataclass(frozen=True, slots=True)
class OrtoolsParams:
    """How the OR-Tools routing search builds and improves routes (``[solver.ortools]``)."""

    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    portfolio: bool = True  # explore several constructions first, then improve the best
    lns_operators: bool = False  # add OR-Tools' insertion-based LNS neighbourhoods (remove and reinsert requests)
    gls_lambda: float | None = None  # guided local search penalty coefficient (OR-Tools default 0.1)
    iterated_local_search: bool = False
    legacy_constraints: bool = False  # ride time and pairing as generic CP constraints (slower; for comparison)
    log_search: bool = False
    # with an iteration budget a search also stops after this many limit checks per iteration (about one
    # per neighbour looked at), so a search that finds nothing better ends the same way on every machine;
    # None: no such cap (the checks cost time; a search that finds nothing then runs to the time cap)
    checks_per_iteration: int | None = 100_000

    def __post_init__(self) -> None:
        problems = []
        if self.checks_per_iteration is not None and not 1 <= self.checks_per_iteration <= 10**9:
            problems.append(f"checks_per_iteration must be in 1..1e9, got {self.checks_per_iteration}")
        if self.first_solution not in FIRST_SOLUTION_STRATEGIES:
            problems.append(f"first_solution {self.first_solution!r} not in {', '.join(FIRST_SOLUTION_STRATEGIES)}")
        if self.metaheuristic not in METAHEURISTICS:
            problems.append(f"metaheuristic {self.metaheuristic!r} not in {', '.join(METAHEURISTICS)}")
        if self.gls_lambda is not None and not 0 < self.gls_lambda <= 100:
            problems.append(f"gls_lambda must be in (0, 100], got {self.gls_lambda}")
        _raise("OR-Tools", problems)


@dataclass(frozen=True, slots=True)
class LnsParams:
    """The numba ruin-and-recreate search that shortens routes (``[solver.lns]``).

    One iteration of its budget is ``steps_per_call`` steps.
    """

    removed_share: float = 0.3  # at most this share of the requests leaves per step (at least 2, at most 30)
    start_temperature: float = 2.0  # in average arcs (total distance / number of arcs)
    # the start temperature where routes are long (``warp_min_requests_per_route`` requests each on
    # average): there the search at 2 arcs settled in the basin of its start (solver-tuning.md)
    long_route_start_temperature: float = 6.0
    end_temperature: float = 0.02  # in average arcs
    steps_per_call: int = 100  # steps between looks at the clock (one iteration)
    blink: float = 0.01  # recreate passes over a cheapest place with this probability (0: never)
    regret_share: float = 0.0  # share of steps whose recreate is regret-2 insertion, not greedy in random order
    string_share: float = 0.0  # share of steps whose ruin takes strings of visits out of routes (SISR)
    # share of steps whose ruin swaps two routes' tails (2-opt*) and takes out the riders the cuts part
    # (benchmarks/results/solver-tuning.md)
    tail_share: float = 0.3
    # vehicles first: rounds, the first from the pool's plan, the others from new pool runs (1: one round;
    # more rounds shortened routes on hard instances but lost the best-known fleet more often)
    restarts: int = 1
    # vehicles first: short runs from this many pool starts, then the rest of the time from the best
    # (1: none; not together with restarts > 1, so rounds need probes = 1; see
    # benchmarks/results/solver-tuning.md)
    probes: int = 6
    # vehicles first, alike vehicles: after the probes, this many children of their plans by route
    # exchange (dispatch.route_exchange), each shortened by a short run; the rest of the time goes on
    # from the best (0: none)
    exchanges: int = 6
    # a removed request that fits nowhere when put back is squeezed in (dispatch.squeeze) before the step
    # is given up (greedy recreate only)
    squeeze: bool = False
    # a step whose greedy recreate leaves a rider out is tried again with that rider first, up to this
    # many attempts in all (1: given up at once)
    recreate_attempts: int = 1
    # routes may be late while the search runs, each unit of lateness (time warp) costing a penalty
    # that adapts so that about ``warp_feasible_share`` of the steps end at a plan on time; only a plan
    # on time is kept as the best. Where ride times and route durations are not limited (Li & Lim);
    # the recreate is then greedy with time warp (not squeeze, regret or retried attempts)
    time_warp: bool = True
    warp_feasible_share: float = 0.3
    # routes are long where the start's routes hold at least this many requests each on average; only
    # there time warp: it moves long routes out of their basin but costs distance where routes are
    # short (the Li & Lim families with 9-20 routes of 100 requests)
    warp_min_requests_per_route: float = 15.0
    # the share of the LNS's budget with time warp; the rest searches on time only, from the best plan
    # and annealed anew (measurements for these three: benchmarks/results/solver-tuning.md)
    warp_share: float = 0.25
    # > 0: a step whose greedy recreate leaves riders out is kept as a candidate, each rider left out
    # costing at first this many average arcs, a penalty that then adapts so that about
    # ``warp_feasible_share`` of the steps end serving everyone; only such a plan becomes the best
    # (0: such a step is given up; benchmarks/results/solver-tuning.md)
    bank_relax: float = 0.0

    def __post_init__(self) -> None:
        problems = _share_problems(self, ("removed_share",), low_open=True)
        problems += _share_problems(
            self, ("string_share", "tail_share", "regret_share", "warp_feasible_share", "warp_share")
        )
        problems += _flag_problems(self, ("squeeze", "time_warp"))
        if not self.bank_relax >= 0:
            problems.append(f"bank_relax must be >= 0, got {self.bank_relax}")
        if not self.warp_min_requests_per_route >= 0:
            problems.append(f"warp_min_requests_per_route must be >= 0, got {self.warp_min_requests_per_route}")
        if self.restarts < 1:
            problems.append(f"restarts must be >= 1, got {self.restarts}")
        if self.exchanges < 0:
            problems.append(f"exchanges must be >= 0, got {self.exchanges}")
        if self.probes < 1:
            problems.append(f"probes must be >= 1, got {self.probes}")
        if not 1 <= self.recreate_attempts <= 10:
            problems.append(f"recreate_attempts must be in 1..10, got {self.recreate_attempts}")
        if self.restarts > 1 and self.probes > 1:
            problems.append(
                f"restarts ({self.restarts}) and probes ({self.probes}) use new starts two ways: set one of"
                " them to 1 (probes = 1 for rounds; probes are 6 by default)"
            )
        if self.bank_relax > 0 and self.recreate_attempts > 1:
            problems.append(
                f"bank_relax ({self.bank_relax}) and recreate_attempts ({self.recreate_attempts}) treat a recreate"
                " that leaves riders out two ways: set bank_relax = 0 or recreate_attempts = 1"
            )
        if not 0 <= self.blink < 1:
            problems.append(f"blink must be in [0, 1), got {self.blink}")
        if not self.start_temperature >= self.end_temperature >= 0:
            problems.append("temperatures must satisfy start_temperature >= end_temperature >= 0")
        if not self.long_route_start_temperature >= self.end_temperature:
            problems.append("temperatures must satisfy long_route_start_temperature >= end_temperature")
        if self.steps_per_call < 1:
            problems.append(f"steps_per_call must be >= 1, got {self.steps_per_call}")
        _raise("LNS", problems)


@dataclass(frozen=True, slots=True)
class EjectionParams:
    """The ejection pool that takes routes away (``[solver.ejection]``).

    One iteration of its budget is ``steps_per_call`` insertions.
    """

    max_ejected: int = 2  # requests one insertion may push out of its route (1..3)
    perturb_moves: int = 20  # random relocations tried after each ejection
    # share of those tries that are exchanges instead (two requests of two routes trade places)
    perturb_exchanges: float = 0.0
    steps_per_call: int = 500  # insertions between looks at the clock (one iteration)
    # a request that fits nowhere even with ejections: True puts it back in the pool and goes on (fewer
    # vehicles, less time left to shorten routes); False gives the route up
    retry_stuck: bool = False
    # a route is given up once the pool has not become smaller than ever before in this attempt for
    # this share of the stage's budget (what ends a retrying pool); the time left goes to shortening
    patience: float = 0.25
    # routes the pool tries to take away at one fleet size, one after the other from the same plan, before
    # it settles (the smallest is not always the one that can go; each failed try costs up to its patience,
    # which the LNS then lacks: 1 by default, see benchmarks/results/solver-tuning.md)
    targets: int = 1
    # a request that fits nowhere first goes in where its route is least infeasible and others move out
    # of that route to where they fit (dispatch.squeeze); only if that fails does it eject
    squeeze: bool = False
    # runs of the pool from the same start, each with its own seed and an equal share of the stage's
    # budget (time one run leaves goes to the next ones), the fewest routes kept: a run settles within
    # a second or two at the fleet its random choices lead to, and another run often gets one further
    # than the same time spent waiting out the first run's patience
    restarts: int = 8

    def __post_init__(self) -> None:
        problems = _share_problems(self, ("patience",), low_open=True) + _share_problems(self, ("perturb_exchanges",))
        if not 1 <= self.targets <= 10:
            problems.append(f"targets must be in 1..10, got {self.targets}")
        if not 1 <= self.restarts <= 100:
            problems.append(f"restarts must be in 1..100, got {self.restarts}")
        if not 1 <= self.max_ejected <= 3:
            problems.append(f"max_ejected must be in 1..3, got {self.max_ejected}")
        if self.perturb_moves < 0:
            problems.append(f"perturb_moves must be >= 0, got {self.perturb_moves}")
        if self.steps_per_call < 1:
            problems.append(f"steps_per_call must be >= 1, got {self.steps_per_call}")
        problems += _flag_problems(self, ("retry_stuck", "squeeze"))
        _raise("ejection", problems)


@dataclass(frozen=True, slots=True)
class RuinParams:
    """Restarts of the OR-Tools search from the best plan with related requests taken out (``[solver.ruin]``)."""

    enabled: bool = True
    removed_share: float = 0.08  # share of requests removed (related ones: close in space and time) per restart
    slice_share: float = 0.04  # each restart searches this share of the budget (at least 2 s, or 10 iterations)

    def __post_init__(self) -> None:
        _raise("ruin", _share_problems(self, ("removed_share", "slice_share"), low_open=True))


@dataclass(frozen=True, slots=True)
class StageShares:
    """How the budget is shared between the stages (``[solver.shares]``)."""

    route_elimination: float = 0.5  # vehicles first: share of what is left spent on smaller fleets (OR-Tools)
    ejection: float = 0.25  # vehicles first, identical vehicles: share of what is left for the ejection pool
    lns: float = 0.85  # distance only, identical vehicles: share of what is left for the numba LNS
    fleet_first: bool = False  # vehicles first: eliminate routes early and longest (FLEET_FIRST_* in solver)
    # vehicles first, with the ejection pool: share of the whole budget for the first plan (the pool and the
    # LNS redo most of what OR-Tools' search adds to it, and the time is worth more to them)
    pool_construction: float = 0.08

    def __post_init__(self) -> None:
        problems = _share_problems(self, ("route_elimination", "ejection", "lns"))
        _raise("shares", problems + _share_problems(self, ("pool_construction",), low_open=True))


_SUBTABLES: dict[str, type] = {
    "ortools": OrtoolsParams,
    "lns": LnsParams,
    "ejection": EjectionParams,
    "ruin": RuinParams,
    "shares": StageShares,
}


@dataclass(frozen=True, slots=True)
class SolverParams:
    """The whole search: its budget, the integer scale, parallel workers, and each stage's settings.

    The budget is ``time_limit_s`` seconds, or, with ``iterations``, a count of iterations shared
    out between the stages: then the same input gives the same plan on any machine
    (``time_limit_s`` then only caps each OR-Tools search at a hundred times itself).
    """

    time_limit_s: float = 30.0
    iterations: int | None = None
    scale: int = 100
    unserved_penalty: float | None = None  # in distance units; default: 1000 x the largest distance
    seed: int = 0  # for every random choice of the stages
    workers: int = 1  # independent searches side by side in processes (one per core); the best is kept
    diversify: bool = True  # parallel workers differ in neighbourhoods and metaheuristic (solver.WORKER_FLAVOURS)
    ortools: OrtoolsParams = field(default_factory=OrtoolsParams)
    lns: LnsParams = field(default_factory=LnsParams)
    ejection: EjectionParams = field(default_factory=EjectionParams)
    ruin: RuinParams = field(default_factory=RuinParams)
    shares: StageShares = field(default_factory=StageShares)

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.time_limit_s <= 7 * 86400:
            problems.append(f"time_limit_s must be positive and at most a week, got {self.time_limit_s}")
        if self.iterations is not None and not 1 <= self.iterations <= 10**9:
            problems.append(f"iterations must be in 1..1e9, got {self.iterations}")
        if not 1 <= self.workers <= 64:
            problems.append(f"workers must be in 1..64, got {self.workers}")
        if not 1 <= self.scale <= 10_000:
            problems.append(f"scale must be in 1..10000, got {self.scale}")
        if self.unserved_penalty is not None and not 0 < self.unserved_penalty < 1e12:
            problems.append("unserved_penalty must be positive and below 1e12")
        if not 0 <= self.seed < 2**31:
            problems.append(f"seed must be in 0..2**31-1, got {self.seed}")
        _raise("solver", problems)

    @property
    def budget(self) -> Budget:
        """The whole search's budget: ``iterations`` if set, else ``time_limit_s``."""
        if self.iterations is not None:
            return Budget(iterations=self.iterations)
        return Budget(seconds=self.time_limit_s)

    def with_changes(self, **changes: Any) -> SolverParams:
        """A copy with top-level fields or stage fields changed: ``with_changes(ortools={"metaheuristic": ...})``."""
        nested = {
            name: dataclasses.replace(getattr(self, name), **value)
            for name, value in changes.items()
            if name in _SUBTABLES and isinstance(value, dict)
        }
        return dataclasses.replace(self, **{**changes, **nested})

    @classmethod
    def from_toml(cls, path: str | Path) -> SolverParams:
        """Parameters from the ``[solver]`` table of a TOML file and its stage tables; every problem at once.

        Parameters
        ----------
        path
            A TOML file with a ``[solver]`` table (or the settings at its top level), optionally with
            ``[solver.ortools]``, ``[solver.lns]``, ``[solver.ejection]``, ``[solver.ruin]`` and
            ``[solver.shares]`` tables.

        Returns
        -------
        SolverParams
            The checked parameters; a ``DispatchError`` names every unknown or ill-typed setting.
        """
        values = load_table(path, "solver", DispatchError)
        tables = {name: values.pop(name, {}) for name in _SUBTABLES}
        stage_problems: list[str] = []
        stages: dict[str, Any] = {}
        for name, kind in _SUBTABLES.items():
            if not isinstance(tables[name], dict):
                stage_problems.append(f"solver.{name} must be a table of settings")
                continue
            stage, found = checked_table(tables[name], kind, f"solver.{name}", DispatchError)
            stage_problems += found
            if stage is not None:
                stages[name] = stage
        params, problems = checked_table(values, cls, "solver", DispatchError, stages)
        if params is None or stage_problems:
            raise DispatchError(f"{path}: " + "; ".join([*problems, *stage_problems]))
        return params
