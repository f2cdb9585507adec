"""The online service's one feasibility model, in numba: ``replay_stops`` schedules a vehicle's stops,
and ``best_feasible`` finds the best feasible place for a new booking with it.

``dispatch.online.schedule`` (carrying out and checking a plan) and ``dispatch.online.best_insertion``
(deciding a booking) both go through ``replay_stops``, so the service has its rules written once.
``best_insertion`` ranks every place (vehicle, i, j) by the driving time it adds, then needs the first
place whose schedule replays (or, when riders' time is weighed, the one of least driving plus weighted
rider time among the first feasible places); replaying in Python for each of thousands of places made a rejection
cost over 100 ms on a fleet of 30.

Per vehicle: where and when it is next free, seats and wheelchair places taken and offered, shift end,
``battery`` (seconds of driving left above the reserve; inf when batteries are not modelled) and
``home`` (the charger's node; -1: none).

Per stop of every vehicle's plan (concatenated; vehicle ``v`` owns ``offset[v]:offset[v + 1]``):

* ``node``; ``earliest`` (the pickup window's start or a re-optimiser's hold, whichever is later;
  -inf for drop-offs); ``latest`` (the pickup window's end, or the latest drop-off);
* ``service``, ``seats`` and ``chairs`` (positive at a pickup, negative at a drop-off), ``is_pickup``;
* ``pair``: for a drop-off, the plan position of its pickup in the same plan, or -1 when the rider
  is already on board, with ``picked`` then the end of that pickup (NaN if unknown: infeasible);
* ``waits``: at a pickup, 1 if its rider waits outside (off a train: the wait past the window's start
  counts), -1 if they are at home bound for a departure (the time picked up before the window's end,
  the latest pickup that makes the train, counts), 0 otherwise.
"""

from __future__ import annotations

import numpy as np
from numba import njit

TOLERANCE_S = 1e-6


@njit(cache=True, nogil=True)
def replay_stops(  # type: ignore[no-untyped-def]
    time_s,
    here,
    clock,
    load,
    load_chairs,
    capacity,
    chair_capacity,
    shift_end,
    battery,
    home,
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
    seat, ride limit and the shift end hold, and the battery (``battery`` seconds of driving left, inf
    when not modelled) lasts through the stops and back to the charger at node ``home``. Fills
    ``arrival``, ``start``, ``departed`` (end of service) and ``load_after`` per stop; ``pair`` indexes
    these same ``n`` stops."""
    driven = 0.0
    for s in range(n):
        driven += time_s[here, node[s]]
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
    if n > 0 and home >= 0 and driven + time_s[here, home] > battery + TOLERANCE_S:
        return False
    return clock <= shift_end


@njit(cache=True, nogil=True)
def _candidate(  # type: ignore[no-untyped-def]
    i,
    j,
    base,
    n,
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
    waits,
    new_stop,
    new_waits,
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
    c_waits,
):
    """Fill the ``c_*`` arrays with the ``n`` stops from ``base`` and the new booking's pickup before
    stop ``i`` and drop-off before stop ``j`` (j >= i)."""
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
            c_waits[pos] = new_waits if pickup else 0
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
            c_waits[pos] = waits[s]
            k += 1


@njit(cache=True, nogil=True)
def rider_time(  # type: ignore[no-untyped-def]
    earliest, latest, is_pickup, pair, picked, waits, n, start, departed, ride_weight, home_weight
):
    """Riders' time lost on a replayed schedule of ``n`` stops, weighted: ``ride_weight`` times every ride
    (from the end of the pickup, or ``picked`` for a rider already on board, to the drop-off) and the
    wait past the window's start of every rider waiting outside (``waits`` 1: off a train); plus
    ``home_weight`` times, for a rider at home bound for a departure (``waits`` -1), the time picked up
    before the window's end (the latest pickup that still makes the train)."""
    total = 0.0
    for s in range(n):
        if is_pickup[s]:
            if waits[s] == 1 and np.isfinite(earliest[s]):
                total += ride_weight * (start[s] - earliest[s])
            elif waits[s] == -1 and np.isfinite(latest[s]):
                total += home_weight * (latest[s] - start[s])
        else:
            ride_from = departed[pair[s]] if pair[s] >= 0 else picked[s]
            if np.isfinite(ride_from):
                total += ride_weight * (start[s] - ride_from)
    return total


@njit(cache=True, nogil=True)
def best_feasible(  # type: ignore[no-untyped-def]
    time_s,
    cand_vehicle,
    cand_i,
    cand_j,
    cand_cost,
    v_node,
    v_clock,
    v_seats,
    v_chairs,
    v_capacity,
    v_chair_capacity,
    v_shift_end,
    v_battery,
    v_home,
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
    waits,
    new_stop,
    new_waits,
    ride_weight,
    home_weight,
    max_tried,
):
    """The feasible candidate (its plan replays, ``replay_stops``) of least cost, with its pickup and
    drop-off start; (-1, nan, nan) if none. Candidate c puts the pickup before stop ``cand_i[c]`` and
    the drop-off before stop ``cand_j[c]`` (j >= i) of vehicle ``cand_vehicle[c]``'s plan; candidates
    come sorted by ``cand_cost`` (the driving time they add).

    The cost is ``cand_cost`` plus the weighted rider time (``rider_time``) the candidate adds to its
    vehicle. With both weights 0 that is the first feasible candidate; otherwise the
    best of the first ``max_tried`` feasible candidates (no bound cuts the scan short: a detour can
    give a rider at home a later pickup, so rider time can fall as driving grows).

    ``new_stop`` = (pickup node, drop-off node, pickup earliest, pickup latest, latest drop-off,
    service, seats, wheelchairs, max ride) of the booking being placed; ``new_waits``: its rider's
    ``waits`` code.
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
    c_waits = np.empty(m, np.int64)
    arrival = np.empty(m, np.float64)
    start = np.empty(m, np.float64)
    departed = np.empty(m, np.float64)
    load_after = np.empty(m, np.int64)
    n_vehicles = offset.shape[0] - 1
    before = np.full(n_vehicles, np.nan)  # each vehicle's rider time on its current plan, when needed
    best, best_cost, best_pickup, best_dropoff = -1, np.inf, np.nan, np.nan
    tried = 0
    for c in range(cand_vehicle.shape[0]):
        v, i, j = cand_vehicle[c], cand_i[c], cand_j[c]
        base = offset[v]
        n = offset[v + 1] - base
        _candidate(
            i, j, base, n, node, earliest, latest, service, seats, chairs, is_pickup, pair, picked, max_ride,
            waits, new_stop, new_waits, c_node, c_earliest, c_latest, c_service, c_seats, c_chairs, c_pickup,
            c_pair, c_picked, c_ride, c_waits,
        )  # fmt: skip
        feasible = replay_stops(
            time_s, v_node[v], v_clock[v], v_seats[v], v_chairs[v], v_capacity[v], v_chair_capacity[v],
            v_shift_end[v], v_battery[v], v_home[v], c_node, c_earliest, c_latest, c_service, c_seats,
            c_chairs, c_pickup, c_pair, c_picked, c_ride, n + 2, arrival, start, departed, load_after,
        )  # fmt: skip
        if not feasible:
            continue
        if ride_weight == 0.0 and home_weight == 0.0:
            return c, start[i], start[j + 1]
        added = rider_time(
            c_earliest, c_latest, c_pickup, c_pair, c_picked, c_waits, n + 2, start, departed, ride_weight, home_weight
        )
        if np.isnan(before[v]):
            before[v] = _plan_rider_time(
                time_s, v, offset, v_node, v_clock, v_seats, v_chairs, v_capacity, v_chair_capacity,
                v_shift_end, v_battery, v_home, node, earliest, latest, service, seats, chairs, is_pickup,
                pair, picked, max_ride, waits, ride_weight, home_weight,
            )  # fmt: skip
        cost = cand_cost[c] + added - before[v]
        if cost < best_cost:
            best, best_cost, best_pickup, best_dropoff = c, cost, start[i], start[j + 1]
        tried += 1
        if tried >= max_tried:
            break
    return best, best_pickup, best_dropoff


@njit(cache=True, nogil=True)
def _plan_rider_time(  # type: ignore[no-untyped-def]
    time_s,
    v,
    offset,
    v_node,
    v_clock,
    v_seats,
    v_chairs,
    v_capacity,
    v_chair_capacity,
    v_shift_end,
    v_battery,
    v_home,
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
    waits,
    ride_weight,
    home_weight,
):
    """Weighted rider time (``rider_time``) of vehicle ``v``'s current plan; 0 if it does not replay."""
    a, b = offset[v], offset[v + 1]
    n = b - a
    arrival = np.empty(n, np.float64)
    start = np.empty(n, np.float64)
    departed = np.empty(n, np.float64)
    load_after = np.empty(n, np.int64)
    ok = replay_stops(
        time_s, v_node[v], v_clock[v], v_seats[v], v_chairs[v], v_capacity[v], v_chair_capacity[v],
        v_shift_end[v], v_battery[v], v_home[v], node[a:b], earliest[a:b], latest[a:b], service[a:b],
        seats[a:b], chairs[a:b], is_pickup[a:b], pair[a:b], picked[a:b], max_ride[a:b], n, arrival, start,
        departed, load_after,
    )  # fmt: skip
    if not ok:
        return 0.0
    return rider_time(
        earliest[a:b], latest[a:b], is_pickup[a:b], pair[a:b], picked[a:b], waits[a:b], n, start, departed,
        ride_weight, home_weight,
    )  # fmt: skip
