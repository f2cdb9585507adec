"""The online service's one feasibility model, in numba: ``replay_stops`` schedules a vehicle's stops,
and ``first_feasible`` finds the first feasible place for a new booking, cheapest first, with it.

``dispatch.online.schedule`` (carrying out and checking a plan) and ``dispatch.online.best_insertion``
(deciding a booking) both go through ``replay_stops``, so the service has its rules written once.
``best_insertion`` ranks every place (vehicle, i, j) by the driving time it adds, then needs the first
place whose schedule replays; replaying in Python for each of thousands of places made a rejection
cost over 100 ms on a fleet of 30.

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
def replay_stops(  # type: ignore[no-untyped-def]
    time_s,
    here,
    clock,
    load,
    load_chairs,
    capacity,
    chair_capacity,
    shift_end,
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
    n,
    arrival,
    start,
    departed,
    load_after,
):
    """Schedule the first ``n`` stops of the arrays, each as early as it can start, from ``here`` at
    ``clock`` with ``load`` seats and ``load_chairs`` wheelchair places taken; True if every window,
    seat, ride limit and the shift end hold. Fills ``arrival``, ``start``, ``departed`` (end of service)
    and ``load_after`` per stop; ``pair`` indexes these same ``n`` stops."""
    for s in range(n):
        reached = clock + time_s[here, node[s]]
        begin = max(reached, earliest[s])
        if begin > latest[s] + TOLERANCE_S:
            return False
        load += seats[s]
        load_chairs += chairs[s]
        if is_pickup[s]:
            if load > capacity or load_chairs > chair_capacity:
                return False
        else:
            ride_from = departed[pair[s]] if pair[s] >= 0 else picked[s]
            if np.isnan(ride_from) or begin - ride_from > max_ride[s] + TOLERANCE_S:
                return False
        arrival[s] = reached
        start[s] = begin
        departed[s] = begin + service[s]
        load_after[s] = load
        clock = begin + service[s]
        here = node[s]
    return clock <= shift_end


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
    """Index of the first candidate whose plan replays (``replay_stops``), with its pickup and drop-off
    start; -1 if none. Candidate c puts the pickup before stop ``cand_i[c]`` and the drop-off before
    stop ``cand_j[c]`` (j >= i) of vehicle ``cand_vehicle[c]``'s plan.

    ``new_stop`` = (pickup node, drop-off node, pickup earliest, pickup latest, latest drop-off,
    service, seats, wheelchairs, max ride) of the booking being placed.
    """
    longest = 0
    for v in range(offset.shape[0] - 1):
        longest = max(longest, offset[v + 1] - offset[v])
    m = longest + 2
    c_node = np.empty(m, np.int64)
    c_earliest = np.empty(m, np.float64)
    c_latest = np.empty(m, np.float64)
    c_service = np.empty(m, np.float64)
    c_seats = np.empty(m, np.int64)
    c_chairs = np.empty(m, np.int64)
    c_pickup = np.empty(m, np.bool_)
    c_pair = np.empty(m, np.int64)
    c_picked = np.empty(m, np.float64)
    c_ride = np.empty(m, np.float64)
    arrival = np.empty(m, np.float64)
    start = np.empty(m, np.float64)
    departed = np.empty(m, np.float64)
    load_after = np.empty(m, np.int64)
    for c in range(cand_vehicle.shape[0]):
        v, i, j = cand_vehicle[c], cand_i[c], cand_j[c]
        base = offset[v]
        n = offset[v + 1] - base
        k = 0  # next original stop
        for pos in range(n + 2):
            if pos == i or pos == j + 1:
                pickup = pos == i
                c_node[pos] = int(new_stop[0]) if pickup else int(new_stop[1])
                c_earliest[pos] = new_stop[2] if pickup else -np.inf
                c_latest[pos] = new_stop[3] if pickup else new_stop[4]
                c_service[pos] = new_stop[5]
                c_seats[pos] = int(new_stop[6]) if pickup else -int(new_stop[6])
                c_chairs[pos] = int(new_stop[7]) if pickup else -int(new_stop[7])
                c_pickup[pos] = pickup
                c_pair[pos] = -1 if pickup else i
                c_picked[pos] = np.nan
                c_ride[pos] = new_stop[8]
            else:
                s = base + k
                c_node[pos] = node[s]
                c_earliest[pos] = earliest[s]
                c_latest[pos] = latest[s]
                c_service[pos] = service[s]
                c_seats[pos] = seats[s]
                c_chairs[pos] = chairs[s]
                c_pickup[pos] = is_pickup[s]
                p = pair[s]
                # the original stop p moved one place for each new stop put before it
                c_pair[pos] = -1 if p < 0 else p + (1 if p >= i else 0) + (1 if p >= j else 0)
                c_picked[pos] = picked[s]
                c_ride[pos] = max_ride[s]
                k += 1
        feasible = replay_stops(
            time_s,
            v_node[v],
            v_clock[v],
            v_seats[v],
            v_chairs[v],
            v_capacity[v],
            v_chair_capacity[v],
            v_shift_end[v],
            c_node,
            c_earliest,
            c_latest,
            c_service,
            c_seats,
            c_chairs,
            c_pickup,
            c_pair,
            c_picked,
            c_ride,
            n + 2,
            arrival,
            start,
            departed,
            load_after,
        )
        if feasible:
            return c, start[i], start[j + 1]
    return -1, np.nan, np.nan
