"""Solver parameters for tests: a work budget (the same answer on any machine) that ends soon even
where OR-Tools finds nothing better (tiny instances often do)."""

from __future__ import annotations

import dataclasses
from typing import Any

from dispatch.solver import OrtoolsParams, SolverParams

QUICK_CHECKS = 2_000  # limit checks per iteration (the default suits real batches)


def work_budget(iterations: int, **changes: Any) -> SolverParams:
    """``SolverParams`` with ``iterations`` and few limit checks per iteration, plus ``changes``."""
    ortools = dataclasses.replace(changes.pop("ortools", OrtoolsParams()), checks_per_iteration=QUICK_CHECKS)
    return SolverParams(iterations=iterations, ortools=ortools, **changes)
