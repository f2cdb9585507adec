"""A planner described by value, so that worker processes can load the same one from the cache.

Batch tasks (matrix chunks, accessibility chunks) run in other processes, possibly on other
machines. They receive a :class:`PlannerSpec` (a few hundred bytes) instead of a planner, and
:meth:`PlannerSpec.load` builds the planner once per process from the area's compiled cache;
later tasks in the same process reuse it. On a cluster, the area's data and cache paths must be
visible to every worker under the same names (shared storage).

The cached planner holds mutable search state; every search takes the planner's lock, so the
threads of one worker process take turns on it.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from pathlib import Path

from maas.area import Area
from planner.router import Planner, RouterParams

__all__ = ["PlannerSpec"]

_LOADED: dict[PlannerSpec, Planner] = {}
_LOADING = threading.Lock()


@dataclass(frozen=True, slots=True)
class PlannerSpec:
    """The area, its cache directory, the first service date and the routing settings of a planner."""

    area: Area
    cache: str | None = None
    service_date: dt.date | None = None
    params: RouterParams = field(default_factory=RouterParams)

    @classmethod
    def of(cls, planner: Planner) -> PlannerSpec:
        """The spec that loads a planner like ``planner`` (same area, cache, date and settings)."""
        data = planner.data
        cache = str(Path(data.cache).resolve()) if data.cache is not None else None
        return cls(planner.area, cache, data.timetable.service_date, planner.params)

    def load(self) -> Planner:
        """This process's planner for the spec: loaded from the cache on first use, then reused."""
        with _LOADING:
            planner = _LOADED.get(self)
            if planner is None:
                from planner.area_data import load_area_data

                data = load_area_data(self.area, service_date=self.service_date, cache=self.cache)
                planner = Planner(data, self.params)
                _LOADED[self] = planner
            return planner

    def remember(self, planner: Planner) -> None:
        """Use ``planner`` (already loaded in this process) for this spec instead of loading it again."""
        with _LOADING:
            _LOADED.setdefault(self, planner)
