"""The online service's insertion check in numba: the first feasible place, cheapest first.

``dispatch.online.best_insertion`` ranks every place (vehicle, i, j) for a new booking by the
driving time it adds, then needs the first place whose schedule replays. Replaying a plan in Python
for each of thousands of places made a rejection (every place fails) cost over 100 ms on a fleet of
30; here the same rules as ``dispatch.online.schedule`` run on flat arrays.

Per stop of every vehicle's plan (concatenated; vehicle ``v`` owns ``offset[v]:offset[v + 1]``):

* ``node``; ``earliest`` (the pickup window's start or a re-optimiser's hold, whichever is later;
  -inf for drop-offs); ``latest`` (the pickup window's end, or the latest drop-off);
* ``service``, ``seats`` and ``chairs`` (positive at a pickup, negative at a drop-off), ``is_pickup``;
* ``pair``: for a drop-off, the plan position of its pickup in the same plan, or -1 when the rider
  is already on board, with ``picked`` then the end of that pickup (NaN if unknown: infeasible).
"""

from __future__ import annotations

import numpy as np
from numba import njit

TOLERANCE_S = 1e-6


@njit(cache=True)
def first_feasible(  # type: ignore[no-untyped-def]
    time_s,
    cand_vehicle,
    cand_i,
    cand_j,
    v_node,
    v_clock,
    v_seats,
    v_chairs,
    v_capacity,
    v_chair_capacity,
    v_shift_end,
    offset,
    node,
    earliest,
    latest,
    service,
    seats,
    chairs,
    is_pickup,
    pair,
    picked,
    max_ride,
    new_stop,
):
    """Index of the first candidate whose plan replays, with its pickup and drop-off start; -1 if none.

    ``new_stop`` = (pickup node, drop-off node, pickup earliest, pickup latest, latest drop-off,
    service, seats, wheelchairs, max ride) of the booking being placed.
    """
    p_node = int(new_stop[0])
    d_node = int(new_stop[1])
    p_early, p_late, d_late = new_stop[2], new_stop[3], new_stop[4]
    new_service, new_seats, new_chairs, new_ride = new_stop[5], int(new_stop[6]), int(new_stop[7]), new_stop[8]
    longest = 0
    for v in range(offset.shape[0] - 1):
        longest = max(longest, offset[v + 1] - offset[v])
    departed = np.empty(longest + 1, np.float64)
    for c in range(cand_vehicle.shape[0]):
        v, i, j = cand_vehicle[c], cand_i[c], cand_j[c]
        base = offset[v]
        n = offset[v + 1] - base
        here = v_node[v]
        clock = v_clock[v]
        load = v_seats[v]
        load_chairs = v_chairs[v]
        new_departed = np.nan
        p_start = np.nan
        d_start = np.nan
        ok = True
        k = 0  # next original stop
        for pos in range(n + 2):
            if pos == i:
                arrival = clock + time_s[here, p_node]
                start = max(arrival, p_early)
                if start > p_late + TOLERANCE_S:
                    ok = False
                    break
                load += new_seats
                load_chairs += new_chairs
                if load > v_capacity[v] or load_chairs > v_chair_capacity[v]:
                    ok = False
                    break
                new_departed = start + new_service
                p_start = start
                clock = start + new_service
                here = p_node
            elif pos == j + 1:
                arrival = clock + time_s[here, d_node]
                start = arrival
                if start > d_late + TOLERANCE_S or start - new_departed > new_ride + TOLERANCE_S:
                    ok = False
                    break
                load -= new_seats
                load_chairs -= new_chairs
                d_start = start
                clock = start + new_service
                here = d_node
            else:
                s = base + k
                arrival = clock + time_s[here, node[s]]
                start = max(arrival, earliest[s])
                if start > latest[s] + TOLERANCE_S:
                    ok = False
                    break
                load += seats[s]
                load_chairs += chairs[s]
                if is_pickup[s]:
                    if load > v_capacity[v] or load_chairs > v_chair_capacity[v]:
                        ok = False
                        break
                    departed[k] = start + service[s]
                else:
                    ride_from = departed[pair[s]] if pair[s] >= 0 else picked[s]
                    if np.isnan(ride_from) or start - ride_from > max_ride[s] + TOLERANCE_S:
                        ok = False
                        break
                clock = start + service[s]
                here = node[s]
                k += 1
        if ok and clock <= v_shift_end[v]:
            return c, p_start, d_start
    return -1, np.nan, np.nan
