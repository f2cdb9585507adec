"""Fleet-sizing sweeps: every (fleet size, demand level, seed) shuttle day as one independent task.

A day runs where the engine puts it (this process, a local Dask cluster, a remote one) in a
temporary SQLite file of its own; only its key figures come back. The sweep's own SQLite file
records each finished day as it arrives, so a sweep stopped by a crash, a killed worker or Ctrl-C
is resumed by running the same command again: finished days are not run twice. Days are seeded
and the re-optimisation has a work budget, so a day gives the same figures wherever it runs.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dispatch.model import DispatchError
from dispatch.online import OnlineParams
from maas.area import Area
from maas.cluster import Engine

__all__ = ["SweepDay", "SweepSettings", "SweepStore", "run_day", "run_sweep", "sweep_days"]

SWEEP_FORMAT = 1
_INPUTS: dict[tuple[Area, str | None], tuple[Any, Any]] = {}
_LOADING = threading.Lock()


@dataclass(frozen=True, slots=True, order=True)
class SweepDay:
    """One simulated day of a sweep."""

    fleet: int
    requests: int
    seed: int

    @property
    def key(self) -> str:
        return f"fleet{self.fleet}-requests{self.requests}-seed{self.seed}"


@dataclass(frozen=True, slots=True)
class SweepSettings:
    """What every day of a sweep shares: the area, its cache, the service hours, seats and online settings."""

    area: Area
    cache: str | None = None
    hours: tuple[float, float] = (7.0, 19.0)
    seats: int | None = None
    params: OnlineParams = field(default_factory=OnlineParams)

    def describe(self) -> dict[str, Any]:
        """The settings as plain data (stored with the sweep, to refuse resuming with other settings)."""
        return {
            "area": self.area.name,
            "hours": list(self.hours),
            "seats": self.seats,
            "params": asdict(self.params),
            "format": SWEEP_FORMAT,
        }


def sweep_days(fleets: Iterable[int], requests: Iterable[int], seeds: Iterable[int]) -> list[SweepDay]:
    """Every combination, smallest fleet and demand first."""
    days = sorted({SweepDay(f, r, s) for f in fleets for r in requests for s in seeds})
    if not days:
        raise DispatchError("a sweep needs at least one fleet size, demand level and seed")
    return days


def _inputs(settings: SweepSettings) -> tuple[Any, Any]:
    """This process's area data and shuttle network for the sweep's area (loaded once, then reused)."""
    key = (settings.area, settings.cache)
    with _LOADING:
        if key not in _INPUTS:
            from dispatch.day import shuttle_network
            from planner.area_data import load_area_data

            data = load_area_data(settings.area, cache=settings.cache)
            _INPUTS[key] = (data, shuttle_network(data))
        return _INPUTS[key]


def keep_inputs(settings: SweepSettings, data: Any) -> None:
    """Build the shuttle network for ``data`` (the sweep's area, already loaded) and keep both for this
    process's days; local workers forked afterwards start with them, and the network's cache file is
    written once, here, instead of by every worker at the same moment."""
    from dispatch.day import shuttle_network

    with _LOADING:
        _INPUTS[(settings.area, settings.cache)] = (data, shuttle_network(data))


def prepare_worker(settings: SweepSettings) -> None:
    """Load the area and the shuttle network on a worker before its first day arrives."""
    _inputs(settings)


def run_day(settings: SweepSettings, day: SweepDay) -> dict[str, Any]:
    """Simulate one day to its end and return its key figures (``dispatch.kpi.DayKpis`` as a dict,
    plus ``seconds``, the wall time of the day)."""
    from dispatch.day import DayConfig, temporary_day
    from dispatch.kpi import compute_kpis

    started = time.perf_counter()
    data, network = _inputs(settings)
    config = DayConfig(
        fleet=day.fleet,
        requests=day.requests,
        hours=settings.hours,
        seed=day.seed,
        seats=settings.seats,
        params=settings.params,
    )
    with temporary_day(data, network, config) as store:
        kpis = compute_kpis(store, network)
    return {**asdict(kpis), "seconds": time.perf_counter() - started}


class SweepStore:
    """The sweep's SQLite file: its settings and one row per finished day."""

    def __init__(self, path: Path, settings: SweepSettings) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS days (key TEXT PRIMARY KEY, fleet INTEGER NOT NULL, requests INTEGER NOT NULL,"
            " seed INTEGER NOT NULL, kpis TEXT NOT NULL, finished_at REAL NOT NULL)"
        )
        wanted = json.dumps(settings.describe(), sort_keys=True)
        row = self.db.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('settings', ?)", (wanted,))
        elif row[0] != wanted:
            self.db.close()
            raise DispatchError(
                f"{path} holds a sweep run with other settings ({row[0]}); "
                "give another --out folder to start a new sweep, or the same settings to resume it"
            )

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def done(self) -> set[str]:
        """Keys of the days already finished."""
        return {key for (key,) in self.db.execute("SELECT key FROM days")}

    def record(self, day: SweepDay, kpis: dict[str, Any]) -> None:
        """Store a finished day (once: a day that arrives twice keeps its first figures)."""
        self.db.execute(
            "INSERT OR IGNORE INTO days VALUES (?, ?, ?, ?, ?, ?)",
            (day.key, day.fleet, day.requests, day.seed, json.dumps(kpis), time.time()),
        )

    def rows(self) -> list[dict[str, Any]]:
        """Every finished day: fleet, requests, seed and its key figures."""
        out = []
        for fleet, requests, seed, kpis in self.db.execute(
            "SELECT fleet, requests, seed, kpis FROM days ORDER BY fleet, requests, seed"
        ):
            out.append({"fleet": fleet, "requests": requests, "seed": seed, **json.loads(kpis)})
        return out


def run_sweep(
    engine: Engine,
    settings: SweepSettings,
    days: Sequence[SweepDay],
    store: SweepStore,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Run the days ``store`` does not hold yet on ``engine``, recording each as it finishes;
    returns how many days ran."""
    finished = store.done()
    # the longest days first (more requests, then more shuttles), so that no worker is left finishing
    # a long day alone at the end while the others idle
    todo = sorted((day for day in days if day.key not in finished), key=lambda d: (-d.requests, -d.fleet, d.seed))
    if not todo:
        return 0
    engine.prepare_workers(prepare_worker, settings)
    done = len(days) - len(todo)
    if progress:
        progress(done, len(days))
    for index, kpis in engine.run(run_day, [(settings, day) for day in todo], in_flight=2 * engine.workers):
        store.record(todo[index], kpis)
        done += 1
        if progress:
            progress(done, len(days))
    return len(todo)
