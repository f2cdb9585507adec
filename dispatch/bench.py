"""Benchmark the dispatcher on published instance sets against their best-known solutions."""

from __future__ import annotations

import csv
import functools
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from dispatch.model import DispatchError, Problem, Solution, Stop
from dispatch.planted import PLANTED_SETS, PlantedInstance, planted_set
from dispatch.readers import read_cordeau, read_li_lim
from dispatch.solver import SolverParams, compile_kernels, solve
from dispatch.validate import validate

SETS = ("cordeau-a", "cordeau-b", "lilim-100", "lilim-200", "lilim-400", *PLANTED_SETS)


@dataclass(frozen=True, slots=True)
class BenchRow:
    instance: str
    requests: int
    cost: float
    best_known: float | None
    gap_pct: float | None
    vehicles: int
    best_known_vehicles: int | None
    unserved: int
    seconds: float
    verdict: str
    minimize_vehicles: bool = False  # vehicles count first (Li & Lim), then distance

    def gap_counts(self) -> bool:
        """Whether the distance gap compares with the best known: there is one, and where vehicles count
        first the run has the best-known vehicle count (fewer vehicles and more distance is not a worse gap)."""
        return self.gap_pct is not None and (not self.minimize_vehicles or self.vehicles == self.best_known_vehicles)


def instance_files(dispatch_dir: Path, name: str) -> list[Path]:
    """The instance files of a benchmark set under ``data_dir`` (optionally only ``names``), sorted by name."""
    if name == "cordeau-a":
        files = sorted((dispatch_dir / "cordeau").glob("a*.txt"))
    elif name == "cordeau-b":
        files = sorted((dispatch_dir / "cordeau").glob("b*.txt"))
    elif name == "lilim-100":
        files = [f for f in sorted((dispatch_dir / "lilim").glob("l*.txt")) if "_" not in f.stem]
    elif name in ("lilim-200", "lilim-400"):
        files = sorted((dispatch_dir / "lilim").glob(f"l*_{name[-3]}_*.txt"))
    else:
        raise DispatchError(f"unknown set {name!r}; choose from {', '.join(SETS)}")
    if not files:
        raise DispatchError(f"no instances of {name} under {dispatch_dir}")
    return files


def best_known(dispatch_dir: Path) -> dict[str, tuple[float, int]]:
    """Best-known solutions of a set: instance name -> (vehicles, distance), from the shared ``bks.csv``."""
    path = dispatch_dir / "bks.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as handle:
        return {row["instance"]: (float(row["bks_distance"]), int(row["vehicles"])) for row in csv.DictReader(handle)}


def _exchange_node(problem: Problem, stop: Stop) -> int | str:
    # The exchange form names the depot 0 at both ends (Cordeau files may repeat it as node 2N+1).
    if stop.kind in ("start", "end"):
        return 0
    label = problem.label(stop.node)
    return int(label) if label.isdigit() else label


def solution_json(problem: Problem, solution: Solution) -> dict[str, object]:
    """The exchange form: instance node ids and start-of-service times, routes from depot to depot."""
    return {
        "instance": problem.name,
        "cost": round(solution.distance, 4),
        "routes": [
            {
                "vehicle": int(route.vehicle) if route.vehicle.isdigit() else route.vehicle,
                "stops": [{"node": _exchange_node(problem, s), "time": round(s.start_service, 4)} for s in route.stops],
            }
            for route in solution.routes
        ],
        "unserved": [int(u.request) if u.request.isdigit() else u.request for u in solution.unserved],
    }


def run_benchmark(
    dispatch_dir: Path,
    set_name: str,
    params: SolverParams,
    only: list[str] | None = None,
    out_dir: Path | None = None,
    progress: Callable[[BenchRow], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> list[BenchRow]:
    """Solve every instance of a set with ``params``, validate each solution independently and compare it
    with the best known; returns one result row per instance (and writes solutions to ``out`` if given).
    ``progress`` is told each row as it is made; ``on_start`` the number of instances once every name in
    ``only`` is found, before any is solved.
    """
    instances = _instances(dispatch_dir, set_name, only)
    if on_start:
        on_start(len(instances))
    compile_kernels()  # before the clock: the first compilation takes seconds
    rows = []
    for load, known in instances:
        problem = load()
        solution = solve(problem, params)
        report = validate(problem, solution)
        gap = 100 * (solution.distance - known[0]) / known[0] if known else None
        row = BenchRow(
            problem.name,
            len(problem.requests),
            round(solution.distance, 2),
            known[0] if known else None,
            None if gap is None else round(gap, 2),
            solution.vehicles_used,
            known[1] if known else None,
            len(solution.unserved),
            round(solution.solver_seconds, 1),
            report.summary(),
            problem.minimize_vehicles,
        )
        rows.append(row)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / f"{problem.name}.json").write_text(json.dumps(solution_json(problem, solution), indent=1))
        if progress:
            progress(row)
    return rows


def _instances(
    dispatch_dir: Path, set_name: str, only: list[str] | None
) -> list[tuple[Callable[[], Problem], tuple[float, int] | None]]:
    """The set's instances (each loaded when its turn comes) with their best known (distance, vehicles):
    from ``bks.csv`` for published sets, the planted plan's for planted ones."""
    if set_name in PLANTED_SETS:
        planted = {p.problem.name: p for p in planted_set(set_name)}
        names = list(planted)
        found: dict[str, tuple[Callable[[], Problem], tuple[float, int] | None]] = {
            name: (functools.partial(_problem_of, p), (p.plan.distance, p.plan.vehicles_used))
            for name, p in planted.items()
        }
    else:
        files = instance_files(dispatch_dir, set_name)
        bks = best_known(dispatch_dir)
        reader = read_cordeau if set_name.startswith("cordeau") else read_li_lim
        names = [f.stem for f in files]
        found = {f.stem: (functools.partial(reader, f), bks.get(f.stem)) for f in files}
    if only:
        wanted = set(only)
        missing = wanted - set(names)
        if missing:
            raise DispatchError(f"not in {set_name}: {', '.join(sorted(missing))}")
        names = [n for n in names if n in wanted]
    return [found[n] for n in names]


def _problem_of(planted: PlantedInstance) -> Problem:
    return planted.problem


def read_csv(path: Path) -> list[BenchRow]:
    """The rows ``write_csv`` wrote; a file without its columns is refused by name."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = set(BenchRow.__dataclass_fields__) - set(reader.fieldnames or ())
        if missing:
            raise DispatchError(f"{path}: not a dispatch-bench table (no column {', '.join(sorted(missing))})")
        return [_bench_row(row) for row in reader]


def _bench_row(row: dict[str, str]) -> BenchRow:
    def number(text: str) -> float | None:
        return float(text) if text else None

    def count(text: str) -> int | None:
        return int(text) if text else None

    return BenchRow(
        instance=row["instance"],
        requests=int(row["requests"]),
        cost=float(row["cost"]),
        best_known=number(row["best_known"]),
        gap_pct=number(row["gap_pct"]),
        vehicles=int(row["vehicles"]),
        best_known_vehicles=count(row["best_known_vehicles"]),
        unserved=int(row["unserved"]),
        seconds=float(row["seconds"]),
        verdict=row["verdict"],
        minimize_vehicles=row["minimize_vehicles"] == "True",
    )


class BenchTable:
    """A benchmark table on disk that grows a row at a time, each row flushed as it is added: a run stopped
    after an hour keeps the rows it finished. A context manager; the file is made when it is opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._handle = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._handle, fieldnames=list(BenchRow.__dataclass_fields__))
        self._writer.writeheader()
        self._handle.flush()

    def add(self, row: BenchRow) -> None:
        """Write ``row`` and flush it to disk."""
        self._writer.writerow(asdict(row))
        self._handle.flush()
        self.rows += 1

    def close(self) -> None:
        """Close the file (every row added is already on disk)."""
        self._handle.close()

    def __enter__(self) -> BenchTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_csv(rows: list[BenchRow], path: Path) -> None:
    """Write benchmark rows as CSV (``read_csv`` reads them)."""
    with BenchTable(path) as table:
        for row in rows:
            table.add(row)
