"""The last step of a matrix in numba: from arrivals at stops to arrivals at every destination.

Each destination keeps only the stops within walking reach (a few hundred of the area's
thousands), as compressed rows: ``start[j]:start[j + 1]`` index ``stop`` and ``seconds``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def improve_destinations(stop_arrival, previous, by_stop_start, destination, seconds, out):  # type: ignore[no-untyped-def]
    """Range RAPTOR's egress: ``out`` holds the destinations' arrivals for the later minute; only the
    stops whose arrival improved since (``stop_arrival[s] < previous[s]``) can improve a destination,
    so only their rows (stop s's destinations ``destination[by_stop_start[s]:by_stop_start[s + 1]]``)
    are walked."""
    for s in range(stop_arrival.shape[0]):
        t0 = stop_arrival[s]
        if t0 < previous[s]:
            for q in range(by_stop_start[s], by_stop_start[s + 1]):
                t = t0 + seconds[q]
                j = destination[q]
                if t < out[j]:
                    out[j] = t
