"""Whether the solver's tables fit in memory, before any is built.

The numba searches keep two stop-by-stop tables of 8-byte integers (travel with service, distance), so a
batch of n requests needs about 16 × (2n)² bytes per worker process, plus the request-by-request
relatedness (about 16 × n² at its peak): about 2.3 GB for 5,000 requests, 8 GB for 10,000. A batch that
does not fit would be killed by the system part-way through with no message; instead the solver runs
fewer workers, or refuses the batch and says how much it needs.
"""

from __future__ import annotations

import os
from pathlib import Path

from dispatch.model import Problem

BASE_BYTES = 300 * 1024**2  # a worker process before its tables: the interpreter, numpy, numba, OR-Tools
HEADROOM = 0.9  # of the memory available, at most this share is planned for


def bytes_per_worker(problem: Problem) -> int:
    """About the most memory one solver process holds for ``problem`` (measured on Helsinki batches
    of 5,000 requests: 2.27 GB against 2.3 estimated)."""
    n = len(problem.requests)
    stops = 2 * n + 2 * len({v.kind() for v in problem.vehicles})
    return 16 * stops * stops + 16 * n * n + BASE_BYTES


def available_bytes() -> int | None:
    """Memory the system can give without swapping (Linux: ``MemAvailable``); None where unknown."""
    meminfo = Path("/proc/meminfo")
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def workers_that_fit(problem: Problem, workers: int, available: int | None) -> int:
    """How many of ``workers`` solver processes fit in ``available`` bytes (all where unknown); 0: not
    even one."""
    if available is None:
        return workers
    return max(0, min(workers, int(available * HEADROOM) // bytes_per_worker(problem)))
