"""Online dial-a-ride: the fleet's current plan, immediate insertion, and rolling-horizon re-optimisation.

Times are seconds after midnight of the service day; locations are node indices into the shuttle
network's matrices (``time_s``, ``dist_m``). A vehicle's plan is where and when it is next free
(``node``, ``free_s``), who is on board there, and the ordered stops still to make.

Decisions are made here, state changes are recorded by the caller (``dispatch.service``):

* :func:`best_insertion` places a new booking into the current plan at the cheapest feasible
  position (added driving time) or says why it cannot; a rider gets an answer at once. The
  accepted pickup time becomes a *promise*: a pickup window of ``promise_window_s`` around it,
  inside the rider's own window. Every later change must keep it.
* :func:`reoptimise` hands the not-yet-served part of the plan to the OR-Tools core
  (``dispatch.solver.solve``): riders on board become requests fixed to their vehicle, picked up
  where the vehicle is next free; promised riders keep their promised windows. The new plan is
  adopted only if it serves every promised rider, replays feasibly here and drives less.

A stop a vehicle is already driving to is *locked*: it stays first.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from dispatch.model import Problem, Request, Solution, TimeWindow, Vehicle
from dispatch.plan import PlannedRoute, RoutePlan, Visit
from dispatch.solver import OrtoolsParams, SolverParams, solve
from maas.area import DispatchObjective

INF = math.inf


class Matrices(Protocol):
    """Anything with shuttle travel times (s) and distances (m) between node indices."""

    @property
    def time_s(self) -> np.ndarray: ...

    @property
    def dist_m(self) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Booking:
    """A rider's trip and, once accepted, the promise made (``promised_*``)."""

    id: str
    pickup: int
    dropoff: int
    announced_s: float
    earliest_pickup_s: float
    latest_pickup_s: float
    max_ride_s: float
    latest_dropoff_s: float = INF
    seats: int = 1
    wheelchairs: int = 0
    service_s: float = 30.0  # boarding or alighting
    promised_earliest_s: float | None = None
    promised_latest_s: float | None = None
    # the rider's best option without the shuttle, walking and transit: when they would leave home (to a
    # departure) or be home (from an arrival); None: not known, or there is none
    alternative_s: float | None = None

    @property
    def to_departure(self) -> bool:
        """Bound for a train (a latest drop-off at the hub); else off one, with no deadline."""
        return math.isfinite(self.latest_dropoff_s)

    @property
    def pickup_window(self) -> tuple[float, float]:
        if self.promised_earliest_s is not None and self.promised_latest_s is not None:
            return self.promised_earliest_s, self.promised_latest_s
        return self.earliest_pickup_s, self.latest_pickup_s


@dataclass(frozen=True, slots=True)
class PlannedStop:
    booking: str
    kind: str  # "pickup" or "dropoff"
    node: int
    not_before_s: float = -INF  # a start time the re-optimiser chose (waiting that keeps ride times)


@dataclass(frozen=True, slots=True)
class VehiclePlan:
    vehicle: str
    seats: int
    wheelchair_places: int
    node: int  # where the vehicle is, or is next free
    free_s: float  # when it can leave ``node``
    onboard: tuple[str, ...] = ()  # bookings on board when it leaves ``node``
    stops: tuple[PlannedStop, ...] = ()
    shift_end_s: float = INF
    battery_s: float = INF  # seconds of driving the battery has left above its reserve on leaving ``node``
    home: int = -1  # the charger's node (the depot); -1 when batteries are not modelled

    def locked(self, now: float) -> int:
        """How many leading stops cannot move: the one the vehicle is already driving to."""
        return 1 if self.stops and self.free_s < now else 0

    def departure(self, now: float) -> float:
        """When the vehicle leaves its current node: at ``free_s`` if it is driving to a locked stop, else
        not before ``now``.
        """
        return self.free_s if self.locked(now) else max(self.free_s, now)


@dataclass(frozen=True, slots=True)
class ScheduledStop:
    stop: PlannedStop
    arrival_s: float
    start_s: float
    departure_s: float
    load: int


@dataclass(frozen=True, slots=True)
class Insertion:
    vehicle: str
    pickup_position: int
    dropoff_position: int
    added_time_s: float
    pickup_s: float
    dropoff_s: float
    plan: VehiclePlan


@dataclass(frozen=True, slots=True)
class OnlineParams:
    promise_window_s: float = 600.0  # the pickup window a rider is promised (centred on the plan)
    reoptimise_every_s: float = 900.0
    reoptimise_time_limit_s: float = 2.0  # with a solution limit: only a safety cap
    # a work budget (solutions the search may find) makes a seeded day the same on every run and machine;
    # None searches for reoptimise_time_limit_s instead (results then depend on the machine's speed)
    reoptimise_solution_limit: int | None = 60
    reoptimise: bool = True
    # riders bound for a departure picked up as late as the plan allows: they leave home later, but the
    # lost slack costs pooling (fewer served: benchmarks/results/solver-tuning.md), so it is opt-in
    leave_later: bool = False
    # when a booking is placed and a re-optimised plan is judged, each second of riders' time costs this
    # many seconds of driving: riding, and waiting off a train (rider_time_weight); picked up at home
    # before the latest pickup that makes the train (early_pickup_weight); both 0: driving time alone
    rider_time_weight: float = 0.0
    early_pickup_weight: float = 0.0
    rider_time_candidates: int = 200  # feasible places weighed per booking at most (bounds latency)
    # riders choose: one whose offer does not gain them at least this much time at home over their own
    # alternative (Booking.alternative_s) takes the alternative; None: every rider takes what is offered
    choice_margin_s: float | None = None

    def __post_init__(self) -> None:
        from dispatch.model import DispatchError

        problems = []
        if not 0 <= self.rider_time_weight <= 100:
            problems.append("rider_time_weight must be in 0..100")
        if not 0 <= self.early_pickup_weight <= 100:
            problems.append("early_pickup_weight must be in 0..100")
        if self.rider_time_candidates < 1:
            problems.append("rider_time_candidates must be >= 1")
        if self.choice_margin_s is not None and not -3600 <= self.choice_margin_s <= 3600:
            problems.append("choice_margin_s must be in -3600..3600 (or None)")
        if self.promise_window_s < 0:
            problems.append("promise_window_s must be >= 0")
        if self.reoptimise_every_s <= 0:
            problems.append("reoptimise_every_s must be positive")
        if self.reoptimise_time_limit_s <= 0:
            problems.append("reoptimise_time_limit_s must be positive")
        if self.reoptimise_solution_limit is not None and not 1 <= self.reoptimise_solution_limit <= 10**6:
            problems.append("reoptimise_solution_limit must be in 1..1,000,000")
        if problems:
            raise DispatchError("online parameters: " + "; ".join(problems))


def objective_settings(objective: DispatchObjective) -> dict[str, Any]:
    """The area's ``[shuttle.objective]`` as ``OnlineParams`` keywords."""
    return {
        "rider_time_weight": objective.rider_time_weight,
        "early_pickup_weight": objective.early_pickup_weight,
        "leave_later": objective.leave_later,
    }


def schedule(
    plan: VehiclePlan,
    stops: Sequence[PlannedStop],
    bookings: Mapping[str, Booking],
    net: Matrices,
    now: float,
    picked_up_s: Mapping[str, float],
) -> list[ScheduledStop] | None:
    """Service times of ``stops`` for ``plan``'s vehicle, each as early as it can start; None if a rule breaks.

    Parameters
    ----------
    plan
        The vehicle: where it is, when it is free, who is on board, its seats and shift end.
    stops
        The stops to schedule in order (``plan.stops`` or a candidate order).
    bookings
        Every booking the stops and the riders on board belong to.
    net
        The shuttle network's travel times.
    now
        The day's clock (a vehicle driving to its first stop is locked to it).
    picked_up_s
        For riders already on board, when their pickup service ended.

    Returns
    -------
    list[ScheduledStop] | None
        Arrival, start and end of service and the load after each stop; None if a window, a seat,
        a ride limit, a drop-off deadline or the shift end breaks. The rules are
        ``dispatch.insertion_kernel.replay_stops``, the ones every booking decision uses.
    """
    from dispatch.insertion_kernel import replay_stops  # numba: compiled on first use, not at import

    trial = dataclasses.replace(plan, stops=tuple(stops))
    node, clock, seats, chairs, capacity, chair_capacity, shift_end, battery, home, _offset, *stop_arrays = plan_arrays(
        [trial], bookings, now, picked_up_s
    )
    n = len(stops)
    arrival, start, departed = (np.empty(n, np.float64) for _ in range(3))
    load = np.empty(n, np.int64)
    feasible = replay_stops(  # type: ignore[call-arg]
        net.time_s,
        int(node[0]),
        float(clock[0]),
        int(seats[0]),
        int(chairs[0]),
        int(capacity[0]),
        int(chair_capacity[0]),
        float(shift_end[0]),
        float(battery[0]),
        int(home[0]),
        *stop_arrays,
        n,
        arrival,
        start,
        departed,
        load,
    )
    if not feasible:
        return None
    return [
        ScheduledStop(stop, float(arrival[k]), float(start[k]), float(departed[k]), int(load[k]))
        for k, stop in enumerate(stops)
    ]


def _along(plan: VehiclePlan, stops: Sequence[PlannedStop], matrix: np.ndarray) -> float:
    """Sum of ``matrix`` over the legs from where the vehicle is through ``stops``."""
    node, total = plan.node, 0.0
    for stop in stops:
        total += float(matrix[node, stop.node])
        node = stop.node
    return total


def driving_time(plan: VehiclePlan, stops: Sequence[PlannedStop], net: Matrices) -> float:
    """Seconds of driving from where the vehicle is through ``stops``."""
    return _along(plan, stops, net.time_s)


def driving_distance(plan: VehiclePlan, stops: Sequence[PlannedStop], net: Matrices) -> float:
    """Metres of driving from where the vehicle is through ``stops``."""
    return _along(plan, stops, net.dist_m)


def best_insertion(
    plans: Sequence[VehiclePlan],
    booking: Booking,
    bookings: Mapping[str, Booking],
    net: Matrices,
    now: float,
    picked_up_s: Mapping[str, float],
    *,
    rider_time_weight: float = 0.0,
    early_pickup_weight: float = 0.0,
    rider_time_candidates: int = 200,
) -> Insertion | None:
    """The cheapest feasible place for ``booking`` in any vehicle's plan: least added driving time, plus
    ``rider_time_weight`` times the riders' time it adds (rides, and waits of riders off a train) and
    ``early_pickup_weight`` times the time it moves pickups at home earlier than the latest that makes
    the rider's train (``rider_time_s``).

    Every place (vehicle, i, j) gets its added driving time at once from the matrix; the places are
    then tried cheapest first (ties in the order vehicle, i, j) by their schedules (the rules of
    :func:`schedule`, in ``dispatch.insertion_kernel``). Without a weight the first that replays is
    the best; with one, at most ``rider_time_candidates`` feasible places are weighed.

    Parameters
    ----------
    plans
        Every vehicle's current plan.
    booking
        The request being placed.
    bookings
        The bookings of the plans' stops and riders on board.
    net
        The shuttle network's travel times.
    now
        The day's clock: a vehicle driving to its first stop keeps it.
    picked_up_s
        For riders on board, when their pickup service ended.

    Returns
    -------
    Insertion | None
        The vehicle, the two positions, the added driving time, the planned pickup and drop-off
        and the new plan; None if no place is feasible.
    """
    from dispatch.insertion_kernel import best_feasible  # numba: compiled on first use, not at import

    costs, vehicles, firsts, seconds = [], [], [], []
    for v, plan in enumerate(plans):
        if booking.seats > plan.seats or booking.wheelchairs > plan.wheelchair_places:
            continue
        added = _added_times(plan, booking.pickup, booking.dropoff, net.time_s)
        ii, jj = np.triu_indices(len(added))  # j >= i: the drop-off after the pickup
        keep = ii >= plan.locked(now)
        costs.append(added[ii[keep], jj[keep]])
        vehicles.append(np.full(int(keep.sum()), v, np.int64))
        firsts.append(ii[keep])
        seconds.append(jj[keep])
    if not costs:
        return None
    cost, vehicle, first, second = (np.concatenate(x) for x in (costs, vehicles, firsts, seconds))
    order = np.lexsort((second, first, vehicle, cost))
    arrays = plan_arrays(plans, bookings, now, picked_up_s)
    new_stop = booking_array(booking)
    c, pickup_s, dropoff_s = best_feasible(  # type: ignore[call-arg]
        net.time_s,
        vehicle[order].astype(np.int64),
        first[order].astype(np.int64),
        second[order].astype(np.int64),
        cost[order].astype(np.float64),
        *arrays,
        pickup_wait_codes(plans, bookings),
        new_stop,
        pickup_wait_code(booking),
        float(rider_time_weight),
        float(early_pickup_weight),
        int(rider_time_candidates),
    )
    if c < 0:
        return None
    v, i, j, added_s = int(vehicle[order[c]]), int(first[order[c]]), int(second[order[c]]), float(cost[order[c]])
    plan = plans[v]
    stops = list(plan.stops)
    pickup = PlannedStop(booking.id, "pickup", booking.pickup)
    dropoff = PlannedStop(booking.id, "dropoff", booking.dropoff)
    candidate = [*stops[:i], pickup, *stops[i:j], dropoff, *stops[j:]]
    return Insertion(
        plan.vehicle,
        i,
        j + 1,
        added_s,
        float(pickup_s),
        float(dropoff_s),
        dataclasses.replace(plan, stops=tuple(candidate), free_s=plan.departure(now)),
    )


def pickup_wait_code(booking: Booking) -> int:
    """How the rider's pickup time counts (``dispatch.insertion_kernel``'s ``waits``): -1 at home bound for
    a departure (the time before the window's end), 1 waiting outside off a train (past its start)."""
    return -1 if booking.to_departure else 1


def pickup_wait_codes(plans: Sequence[VehiclePlan], bookings: Mapping[str, Booking]) -> np.ndarray:
    """Per stop of ``plan_arrays``: ``pickup_wait_code`` at pickups, 0 at drop-offs."""
    return np.array(
        [
            pickup_wait_code(bookings[stop.booking]) if stop.kind == "pickup" else 0
            for plan in plans
            for stop in plan.stops
        ],
        np.int64,
    )


def rider_time_s(
    plan: VehiclePlan,
    timed: Sequence[ScheduledStop],
    bookings: Mapping[str, Booking],
    picked_up_s: Mapping[str, float],
    ride_weight: float = 1.0,
    home_weight: float = 1.0,
) -> float:
    """Riders' seconds lost on ``plan``'s schedule ``timed``: every ride to its drop-off (from the pickup's
    end, or the recorded pickup of a rider already on board), every wait outside past the window's start,
    and every pickup at home before the window's end, as ``dispatch.insertion_kernel.rider_time`` counts
    them when a booking is placed: the rides and waits times ``ride_weight``, the pickups at home times
    ``home_weight``."""
    total, picked = 0.0, dict(picked_up_s)
    for t in timed:
        booking = bookings[t.stop.booking]
        if t.stop.kind == "pickup":
            picked[booking.id] = t.departure_s
            if not booking.to_departure:
                total += ride_weight * (t.start_s - max(booking.pickup_window[0], t.stop.not_before_s))
            elif math.isfinite(booking.pickup_window[1]):
                total += home_weight * (booking.pickup_window[1] - t.start_s)
        elif booking.id in picked:
            total += ride_weight * (t.start_s - picked[booking.id])
    return total


def booking_array(booking: Booking) -> np.ndarray:
    """The booking being placed, as ``dispatch.insertion_kernel.best_feasible`` reads it."""
    earliest, latest = booking.pickup_window
    fields = (booking.pickup, booking.dropoff, earliest, latest, booking.latest_dropoff_s, booking.service_s)
    return np.array([*fields, booking.seats, booking.wheelchairs, booking.max_ride_s], np.float64)


def plan_arrays(
    plans: Sequence[VehiclePlan], bookings: Mapping[str, Booking], now: float, picked_up_s: Mapping[str, float]
) -> tuple[np.ndarray, ...]:
    """Every vehicle's plan as the flat arrays of ``dispatch.insertion_kernel`` (see its docstring)."""
    v_node, v_clock, v_seats, v_chairs, v_capacity, v_chair_capacity, v_shift_end, v_battery, v_home = (
        [] for _ in range(9)
    )
    offset = [0]
    node: list[int] = []
    earliest: list[float] = []
    latest: list[float] = []
    service: list[float] = []
    seats: list[int] = []
    chairs: list[int] = []
    is_pickup: list[bool] = []
    pair: list[int] = []
    picked: list[float] = []
    max_ride: list[float] = []
    for plan in plans:
        v_node.append(plan.node)
        v_clock.append(plan.departure(now))
        v_seats.append(sum(bookings[b].seats for b in plan.onboard))
        v_chairs.append(sum(bookings[b].wheelchairs for b in plan.onboard))
        v_capacity.append(plan.seats)
        v_chair_capacity.append(plan.wheelchair_places)
        v_shift_end.append(plan.shift_end_s)
        v_battery.append(plan.battery_s)
        v_home.append(plan.home)
        pickup_at: dict[str, int] = {}
        for k, stop in enumerate(plan.stops):
            booking = bookings[stop.booking]
            node.append(stop.node)
            service.append(booking.service_s)
            max_ride.append(booking.max_ride_s)
            if stop.kind == "pickup":
                window_start, window_end = booking.pickup_window
                earliest.append(max(window_start, stop.not_before_s))
                latest.append(window_end)
                seats.append(booking.seats)
                chairs.append(booking.wheelchairs)
                is_pickup.append(True)
                pair.append(-1)
                picked.append(INF)
                pickup_at[booking.id] = k
            else:
                earliest.append(stop.not_before_s)
                latest.append(booking.latest_dropoff_s)
                seats.append(-booking.seats)
                chairs.append(-booking.wheelchairs)
                is_pickup.append(False)
                pair.append(pickup_at.get(booking.id, -1))
                picked.append(picked_up_s.get(booking.id, math.nan))
        offset.append(len(node))
    return (
        np.array(v_node, np.int64),
        np.array(v_clock, np.float64),
        np.array(v_seats, np.int64),
        np.array(v_chairs, np.int64),
        np.array(v_capacity, np.int64),
        np.array(v_chair_capacity, np.int64),
        np.array(v_shift_end, np.float64),
        np.array(v_battery, np.float64),
        np.array(v_home, np.int64),
        np.array(offset, np.int64),
        np.array(node, np.int64),
        np.array(earliest, np.float64),
        np.array(latest, np.float64),
        np.array(service, np.float64),
        np.array(seats, np.int64),
        np.array(chairs, np.int64),
        np.array(is_pickup, np.bool_),
        np.array(pair, np.int64),
        np.array(picked, np.float64),
        np.array(max_ride, np.float64),
    )


def _added_times(plan: VehiclePlan, pickup: int, dropoff: int, time_s: np.ndarray) -> np.ndarray:
    """(n+1, n+1) added driving time of the pickup before stop i and the drop-off before stop j (j >= i;
    n: at the end), for a plan of n stops driven from ``plan.node``; below the diagonal is unused."""
    nodes = np.array([plan.node] + [s.node for s in plan.stops], dtype=np.int64)
    n = len(nodes) - 1
    after = np.append(nodes[1:], -1)  # the stop after each gap; -1 past the end
    at_end = after < 0
    nxt = np.where(at_end, 0, after)
    old_leg = np.where(at_end, 0.0, time_s[nodes, nxt])
    p_in = time_s[nodes, pickup] + np.where(at_end, 0.0, time_s[pickup, nxt]) - old_leg
    d_in = time_s[nodes, dropoff] + np.where(at_end, 0.0, time_s[dropoff, nxt]) - old_leg
    added = p_in[:, None] + d_in[None, :]
    together = time_s[nodes, pickup] + time_s[pickup, dropoff] + np.where(at_end, 0.0, time_s[dropoff, nxt]) - old_leg
    added[np.arange(n + 1), np.arange(n + 1)] = together
    out: np.ndarray = added.astype(np.float64)
    return out


def leave_later(
    insertion: Insertion,
    booking: Booking,
    bookings: Mapping[str, Booking],
    net: Matrices,
    now: float,
    picked_up_s: Mapping[str, float],
) -> Insertion:
    """For a rider bound for a departure, picked up by an empty shuttle: plan the pickup as late as
    the rest of the plan allows, so the rider leaves home later instead of waiting at the hub.

    The pickup is held (``not_before_s``) at the latest time, found by bisection, at which every
    stop of the vehicle's plan still replays; feasibility only shrinks as the hold moves later.
    """
    if not booking.to_departure:
        return insertion
    plan = insertion.plan
    everyone = {**bookings, booking.id: booking}
    k = insertion.pickup_position
    timed = schedule(plan, plan.stops, everyone, net, now, picked_up_s)
    if timed is None or (timed[k - 1].load if k else sum(everyone[b].seats for b in plan.onboard)) > 0:
        return insertion

    def held(t: float) -> tuple[VehiclePlan, list[ScheduledStop] | None]:
        stops = list(plan.stops)
        stops[k] = dataclasses.replace(stops[k], not_before_s=t)
        candidate = dataclasses.replace(plan, stops=tuple(stops))
        return candidate, schedule(candidate, stops, everyone, net, now, picked_up_s)

    lo, hi = insertion.pickup_s, booking.latest_pickup_s
    if held(hi)[1] is not None:
        lo = hi
    else:
        while hi - lo > 1.0:
            mid = (lo + hi) / 2
            if held(mid)[1] is not None:
                lo = mid
            else:
                hi = mid
    if lo <= insertion.pickup_s:
        return insertion
    candidate, timed_late = held(float(math.floor(lo)) if math.floor(lo) >= insertion.pickup_s else lo)
    if timed_late is None:
        return insertion
    return dataclasses.replace(
        insertion,
        pickup_s=timed_late[k].start_s,
        dropoff_s=timed_late[insertion.dropoff_position].start_s,
        plan=candidate,
    )


def promise(booking: Booking, planned_pickup_s: float, window_s: float) -> Booking:
    """The booking with a promised pickup window around its planned pickup, inside its own window."""
    earliest = max(booking.earliest_pickup_s, planned_pickup_s - window_s / 2)
    latest = min(booking.latest_pickup_s, max(planned_pickup_s, earliest) + window_s / 2)
    latest = max(latest, planned_pickup_s)
    return dataclasses.replace(booking, promised_earliest_s=earliest, promised_latest_s=latest)


def rejection_reason(booking: Booking, plans: Sequence[VehiclePlan], net: Matrices, now: float) -> str:
    """Why no vehicle can take ``booking`` now, in words a rider understands."""
    direct = float(net.time_s[booking.pickup, booking.dropoff])
    if booking.latest_pickup_s < now:
        return "its pickup window has already closed"
    if booking.earliest_pickup_s + booking.service_s + direct > booking.latest_dropoff_s:
        return "it cannot arrive in time even when driven directly"
    if all(booking.seats > p.seats or booking.wheelchairs > p.wheelchair_places for p in plans):
        return "no shuttle has room for it"
    if all(p.departure(now) + float(net.time_s[p.node, booking.pickup]) > booking.latest_pickup_s for p in plans):
        return "no shuttle can reach the pickup within the promised wait"
    return "every shuttle is busy in that window"


def _current_routes(
    problem: Problem,
    plans: Sequence[VehiclePlan],
    starts: Sequence[_Start],
    now: float,
) -> RoutePlan:
    """The plan being followed, as a route plan of the re-planning problem (the search's start); riders
    on board are picked up where the vehicle is."""
    routes = []
    for plan, _node, _begin, onboard, _kept in starts:
        visits = [Visit(b, False) for b in onboard] + [
            Visit(s.booking, s.kind == "dropoff") for s in plan.stops[plan.locked(now) :]
        ]
        if visits:
            routes.append(PlannedRoute(plan.vehicle, tuple(visits)))
    return RoutePlan(tuple(routes))


@dataclass(frozen=True, slots=True)
class ReoptimisationResult:
    adopted: bool
    plans: tuple[VehiclePlan, ...]
    distance_before_m: float
    distance_after_m: float
    reason: str


_Start = tuple[VehiclePlan, int, float, tuple[str, ...], list[PlannedStop]]  # plan, node, time, on board, kept


def reoptimise(
    plans: Sequence[VehiclePlan],
    bookings: Mapping[str, Booking],
    net: Matrices,
    now: float,
    picked_up_s: Mapping[str, float],
    params: OnlineParams,
    depot: int,
) -> ReoptimisationResult:
    """Re-plan every unlocked stop with the solver; keep the current plan unless the new one is better.

    Parameters
    ----------
    plans, bookings, net, now, picked_up_s
        The day as :func:`best_insertion` reads it.
    params
        The re-optimisation's budget (iterations or seconds).
    depot
        The node every vehicle returns to.

    Returns
    -------
    ReoptimisationResult
        Whether the new plans were adopted (every promised rider served, every plan replays, less
        driving, or with riders' time weighed a lower weighted cost), the plans in force, the distances
        before and after, and why.
    """
    before = sum(driving_distance(p, p.stops, net) for p in plans)

    def kept(reason: str, after: float = before) -> ReoptimisationResult:
        return ReoptimisationResult(False, tuple(plans), before, after, reason)

    picked = dict(picked_up_s)
    starts = _replan_starts(plans, bookings, net, now, picked_up_s, picked)
    if starts is None:
        return kept("current plan does not replay")
    requests, closing = _replan_requests(plans, starts, bookings, now, picked)
    if closing:
        return kept(f"{closing}'s window is closing")
    if not requests:
        return kept("nothing to re-plan")
    problem, used = _replan_problem(starts, requests, net, depot)
    # no cap on the search's limit checks: a re-optimisation starts from the plan being followed and
    # finds solutions steadily, and a cap cut it short (fewer riders served over a day); the time limit
    # guards against a search that finds nothing
    solution = solve(
        problem,
        SolverParams(
            time_limit_s=params.reoptimise_time_limit_s
            if params.reoptimise_solution_limit is None
            else max(params.reoptimise_time_limit_s, 30.0),
            iterations=params.reoptimise_solution_limit,
            scale=1,
            ortools=OrtoolsParams(portfolio=False, checks_per_iteration=None),
        ),
        initial=_current_routes(problem, plans, starts, now),
    )
    if solution.unserved:
        return kept("the re-optimiser dropped a promised rider")
    new_plans = _plans_from(solution, starts, used, bookings, net, now, picked_up_s)
    if new_plans is None:
        return kept("the new plan does not replay")
    after = sum(driving_distance(p, p.stops, net) for p in new_plans)
    if params.rider_time_weight > 0 or params.early_pickup_weight > 0:
        # the solver shortens driving; adopt its plan only if riders' time, at its weight, does not eat the gain
        weights = (params.rider_time_weight, params.early_pickup_weight)
        cost_before = weighted_cost(plans, bookings, net, now, picked_up_s, *weights)
        cost_after = weighted_cost(new_plans, bookings, net, now, picked_up_s, *weights)
        if cost_after >= cost_before - 1e-6:
            return kept("no improvement of driving and riders' time", after)
    elif after >= before - 1e-6:
        return kept("no improvement", after)
    return ReoptimisationResult(True, tuple(new_plans), before, after, "improved")


def weighted_cost(
    plans: Sequence[VehiclePlan],
    bookings: Mapping[str, Booking],
    net: Matrices,
    now: float,
    picked_up_s: Mapping[str, float],
    ride_weight: float,
    home_weight: float,
) -> float:
    """Driving seconds of ``plans`` plus their riders' weighted seconds (``rider_time_s``); infinite if a
    plan does not replay."""
    total = 0.0
    for plan in plans:
        timed = schedule(plan, plan.stops, bookings, net, now, picked_up_s)
        if timed is None:
            return math.inf
        riders = rider_time_s(plan, timed, bookings, picked_up_s, ride_weight, home_weight)
        total += driving_time(plan, plan.stops, net) + riders
    return total


def _replan_starts(
    plans: Sequence[VehiclePlan],
    bookings: Mapping[str, Booking],
    net: Matrices,
    now: float,
    picked_up_s: Mapping[str, float],
    picked: dict[str, float],
) -> list[_Start] | None:
    """Where and when each vehicle is next free (after its locked stop), in whole seconds, and who is on
    board then; ``picked`` gains the pickups of locked stops. None if a locked stop does not replay."""
    starts: list[_Start] = []
    for plan in plans:
        if plan.locked(now):
            timed = schedule(plan, plan.stops[:1], bookings, net, now, picked_up_s)
            if timed is None:
                return None
            first = plan.stops[0]
            aboard = set(plan.onboard)
            if first.kind == "pickup":
                aboard.add(first.booking)
                picked[first.booking] = timed[0].departure_s
            else:
                aboard.discard(first.booking)
            starts.append((plan, first.node, timed[0].departure_s, tuple(sorted(aboard)), [first]))
        else:
            starts.append((plan, plan.node, plan.departure(now), plan.onboard, []))
    # The solver works in whole seconds: start a little later (never earlier) than the plan allows.
    return [(plan, node, float(math.ceil(begin)), onboard, kept) for plan, node, begin, onboard, kept in starts]


def _replan_requests(
    plans: Sequence[VehiclePlan],
    starts: Sequence[_Start],
    bookings: Mapping[str, Booking],
    now: float,
    picked: Mapping[str, float],
) -> tuple[list[Request], str]:
    """The solver's requests: riders on board tied to their vehicle, picked up where it is next free;
    promised riders inside their windows. Also the id of a rider whose window is closing ("" if none)."""
    requests: list[Request] = []
    for plan, node, begin, onboard, _kept in starts:
        for b in onboard:
            booking = bookings[b]
            ridden = begin - picked[b]
            requests.append(
                Request(
                    b,
                    node,
                    booking.dropoff,
                    booking.seats,
                    booking.wheelchairs,
                    TimeWindow(begin, begin),
                    TimeWindow(0.0, booking.latest_dropoff_s),
                    0.0,
                    booking.service_s,
                    max(booking.max_ride_s - ridden, 0.0),
                    plan.vehicle,
                )
            )
    for plan in plans:
        for stop in plan.stops[plan.locked(now) :]:
            if stop.kind != "pickup":
                continue
            booking = bookings[stop.booking]
            earliest, latest = booking.pickup_window
            earliest, latest = float(math.ceil(max(earliest, now))), float(math.floor(latest))
            if latest < earliest:
                return requests, booking.id
            requests.append(
                Request(
                    booking.id,
                    booking.pickup,
                    booking.dropoff,
                    booking.seats,
                    booking.wheelchairs,
                    TimeWindow(earliest, latest),
                    TimeWindow(0.0, booking.latest_dropoff_s),
                    booking.service_s,
                    booking.service_s,
                    booking.max_ride_s,
                )
            )
    return requests, ""


def _replan_problem(
    starts: Sequence[_Start], requests: Sequence[Request], net: Matrices, depot: int
) -> tuple[Problem, list[int]]:
    """The re-planning problem on a compact node space: the network nodes used plus a free end node
    (vehicles end where they are); also the network node of each compact index."""
    used = sorted({s[1] for s in starts} | {depot} | {r.pickup for r in requests} | {r.dropoff for r in requests})
    index = {node: i for i, node in enumerate(used)}
    sub = np.ix_(used, used)
    k = len(used)
    travel = np.zeros((k + 1, k + 1))
    distance = np.zeros((k + 1, k + 1))
    travel[:k, :k] = net.time_s[sub]
    distance[:k, :k] = net.dist_m[sub]
    assert all(0 <= node < net.time_s.shape[0] for node in used)
    vehicles = tuple(
        Vehicle(plan.vehicle, index[node], k, plan.seats, plan.wheelchair_places, TimeWindow(begin, plan.shift_end_s))
        for plan, node, begin, _onboard, _kept in starts
    )
    problem = Problem(
        "reoptimise",
        tuple(dataclasses.replace(r, pickup=index[r.pickup], dropoff=index[r.dropoff]) for r in requests),
        vehicles,
        travel,
        distance,
    )
    return problem, used


def _plans_from(
    solution: Solution,
    starts: Sequence[_Start],
    used: Sequence[int],
    bookings: Mapping[str, Booking],
    net: Matrices,
    now: float,
    picked_up_s: Mapping[str, float],
) -> list[VehiclePlan] | None:
    """The solver's routes as vehicle plans that replay here (with its start times as holds where
    needed to keep ride times); None if one does not."""
    routes = {route.vehicle: route for route in solution.routes}
    new_plans = []
    for plan, _node, _begin, onboard, kept in starts:
        route = routes.get(plan.vehicle)
        new_stops = list(kept)
        holds = list(kept)
        if route is not None:
            for s in route.stops:
                if s.request is None or (s.kind == "pickup" and s.request in onboard):
                    continue
                node = used[s.node]
                new_stops.append(PlannedStop(s.request, s.kind, node))
                holds.append(PlannedStop(s.request, s.kind, node, s.start_service))
        candidate = dataclasses.replace(plan, stops=tuple(new_stops), free_s=plan.departure(now))
        if schedule(candidate, new_stops, bookings, net, now, picked_up_s) is None:
            candidate = dataclasses.replace(plan, stops=tuple(holds), free_s=plan.departure(now))
            if schedule(candidate, holds, bookings, net, now, picked_up_s) is None:
                return None
        new_plans.append(candidate)
    return new_plans
