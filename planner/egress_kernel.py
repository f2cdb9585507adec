"""The last step of a matrix in numba: from arrivals at stops to arrivals at every destination.

Each destination keeps only the stops within walking reach (a few hundred of the area's
thousands), as compressed rows: ``start[j]:start[j + 1]`` index ``stop`` and ``seconds``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def arrive_at_destinations(stop_arrival, start, stop, seconds, out):  # type: ignore[no-untyped-def]
    """``out[j]``: the earliest ``stop_arrival[s] + seconds`` over destination j's stops (``INF``-like
    values stay large; the caller compares with its own infinity)."""
    for j in range(out.shape[0]):
        best = np.iinfo(np.int64).max
        for q in range(start[j], start[j + 1]):
            t = stop_arrival[stop[q]] + seconds[q]
            if t < best:
                best = t
        out[j] = best
