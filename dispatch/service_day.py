"""The shuttle service day as a pure step function: (state, input) -> (state, events).

Each step (carry out the plan up to a time, decide a booking, re-optimise, finish the day) takes a
``DayState`` and returns a ``Step``: the new state, the events that happened (the day's log) and the
vehicles whose plans changed. Nothing here reads or writes a database; ``dispatch.service.ServiceStore``
loads the state, runs a step and persists what it returns, in one transaction.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dispatch.battery import BatteryModel
from dispatch.model import DispatchError
from dispatch.online import (
    Booking,
    Insertion,
    Matrices,
    OnlineParams,
    VehiclePlan,
    best_insertion,
    leave_later,
    promise,
    rejection_reason,
    reoptimise,
    schedule,
)
from maas.tabular import format_clock


def to_json(value: Any) -> str:
    """Compact JSON (NaN and infinity allowed), as the service-day database stores values."""
    return json.dumps(value, allow_nan=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class DaySettings:
    """What a service day needs besides the network: stored in ``meta`` so a resume uses the same."""

    start_s: float
    end_s: float
    depot: int
    params: OnlineParams
    battery: BatteryModel | None = None  # None: batteries not modelled

    def to_json(self) -> str:
        """The settings as stored JSON."""
        return to_json(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> DaySettings:
        """Settings read back from stored JSON (a day stored before batteries has none)."""
        raw = json.loads(text)
        battery = BatteryModel(**raw["battery"]) if raw.get("battery") else None
        return cls(raw["start_s"], raw["end_s"], raw["depot"], OnlineParams(**raw["params"]), battery)


@dataclass(frozen=True, slots=True)
class Decision:
    booking: str
    accepted: bool
    vehicle: str | None
    promised_earliest_s: float | None
    promised_latest_s: float | None
    planned_pickup_s: float | None
    planned_dropoff_s: float | None
    reason: str
    decision_ms: float


@dataclass(frozen=True, slots=True)
class DayState:
    """The part of the day a step needs: the clock, every vehicle's plan, the active bookings."""

    clock_s: float
    plans: tuple[VehiclePlan, ...]
    bookings: Mapping[str, Booking]  # accepted and on board
    picked_up_s: Mapping[str, float]  # on board: when their pickup service ended


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the day's log: what happened, when, to which booking and vehicle."""

    t: float
    kind: str  # request, accept, reject, decline, drive, pickup, dropoff, reoptimise
    booking: str | None
    vehicle: str | None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Step:
    """What a step returns: the new state, the events in order, the vehicles whose plans changed,
    and for a booking its decision."""

    state: DayState
    events: tuple[Event, ...]
    changed_plans: tuple[str, ...]
    decision: Decision | None = None
    finished: bool = False


def advance(state: DayState, net: Matrices, until_s: float, battery: BatteryModel | None = None) -> Step:
    """Carry out every planned stop that starts by ``until_s``: drives, pickups and drop-offs; a shuttle
    left idle with its battery below the model's threshold drives to its charger and charges to full.

    Parameters
    ----------
    state
        The day before.
    net
        The shuttle network's travel times and distances.
    until_s
        The clock to move to (never backwards).
    battery
        The fleet's batteries (None: not modelled).

    Returns
    -------
    Step
        The state with the clock at ``until_s`` (or where it was, if later), each vehicle moved past
        the stops it served; a ``drive`` event before each move, a ``pickup`` or ``dropoff`` event
        at each stop, and a ``charge`` event when a shuttle plugs in. A ``DispatchError`` if a plan no
        longer replays (a bug; nothing is changed).
    """
    plans = list(state.plans)
    picked_up_s = dict(state.picked_up_s)
    events: list[Event] = []
    changed: list[str] = []
    for k, plan in enumerate(plans):
        moved = _carry_out(plan, state.bookings, net, until_s, picked_up_s, events)
        if battery is not None and not moved.stops and battery.needs_charge(moved.battery_s):
            leave = max(moved.free_s, state.clock_s)
            if leave <= until_s:
                moved = _charge(moved, leave, battery, net, events)
        if moved is not plan:
            plans[k] = moved
            changed.append(plan.vehicle)
    clock = max(state.clock_s, until_s)
    return Step(DayState(clock, tuple(plans), state.bookings, picked_up_s), tuple(events), tuple(changed))


def _carry_out(
    plan: VehiclePlan,
    bookings: Mapping[str, Booking],
    net: Matrices,
    until_s: float,
    picked_up_s: dict[str, float],
    events: list[Event],
) -> VehiclePlan:
    """``plan`` after serving its stops that start by ``until_s`` (the same plan if none does)."""
    if not plan.stops:
        return plan
    timed = schedule(plan, plan.stops, bookings, net, plan.free_s, picked_up_s)
    if timed is None:
        raise DispatchError(f"vehicle {plan.vehicle}: its plan no longer replays (a bug; state kept)")
    done = 0
    node, free, onboard, battery_s = plan.node, plan.free_s, list(plan.onboard), plan.battery_s
    for item in timed:
        if item.start_s > until_s:
            break
        stop = item.stop
        booking = bookings[stop.booking]
        if stop.node != node:
            load_before = sum(bookings[b].seats for b in onboard)
            events.append(_drive(free, plan.vehicle, node, stop.node, item.arrival_s, net, load_before))
            battery_s -= float(net.time_s[node, stop.node])
        if stop.kind == "pickup":
            onboard.append(booking.id)
            picked_up_s[booking.id] = item.departure_s
        else:
            onboard.remove(booking.id)
            picked_up_s.pop(booking.id, None)
        events.append(Event(item.start_s, stop.kind, booking.id, plan.vehicle, {"node": stop.node, "load": item.load}))
        node, free = stop.node, item.departure_s
        done += 1
    if not done:
        return plan
    return dataclasses.replace(
        plan, node=node, free_s=free, onboard=tuple(onboard), stops=plan.stops[done:], battery_s=battery_s
    )


def _drive_empty(plan: VehiclePlan, node: int, leave_s: float, net: Matrices, events: list[Event]) -> VehiclePlan:
    """``plan``'s idle shuttle driven empty to ``node`` at ``leave_s`` (a ``drive`` event, if it is elsewhere);
    it is next free on arrival, its battery spent by the drive."""
    if plan.node == node:
        return dataclasses.replace(plan, free_s=leave_s)
    driving = float(net.time_s[plan.node, node])
    events.append(_drive(leave_s, plan.vehicle, plan.node, node, leave_s + driving, net, 0))
    return dataclasses.replace(plan, node=node, free_s=leave_s + driving, battery_s=plan.battery_s - driving)


def _charge(
    plan: VehiclePlan, leave_s: float, battery: BatteryModel, net: Matrices, events: list[Event]
) -> VehiclePlan:
    """``plan``'s idle shuttle driven from where it is to its charger at ``leave_s`` and charged to full:
    a ``drive`` (if it is elsewhere) and a ``charge`` event; it is next free when full."""
    there = _drive_empty(plan, plan.home, leave_s, net, events)
    full = there.free_s + battery.charging_s(there.battery_s)
    data = {"node": plan.home, "until": full, "kwh": battery.kwh(battery.usable_s - there.battery_s)}
    events.append(Event(there.free_s, "charge", None, plan.vehicle, data))
    return dataclasses.replace(there, free_s=full, battery_s=battery.usable_s)


def _drive(t: float, vehicle: str, origin: int, destination: int, arrive: float, net: Matrices, load: int) -> Event:
    """A ``drive`` event: leaving ``origin`` at ``t`` for ``destination`` with ``load`` riders."""
    data = {
        "origin": origin,
        "destination": destination,
        "arrive": arrive,
        "dist_m": float(net.dist_m[origin, destination]),
        "load": load,
    }
    return Event(t, "drive", None, vehicle, data)


def decide(state: DayState, net: Matrices, booking: Booking, settings: DaySettings) -> Step:
    """Decide ``booking`` at the state's clock: accept it into one vehicle's plan with a promise, or
    reject it with a reason; where riders choose (``settings.params.choice_margin_s``), the rider may
    decline an offer that does not beat their own alternative.

    Parameters
    ----------
    state
        The day, its clock at the booking's time.
    net
        The shuttle network's travel times and distances.
    booking
        The request being decided.
    settings
        The day's hours and service parameters.

    Returns
    -------
    Step
        A ``request`` event, then ``accept`` (the promised booking among the state's bookings, the
        chosen vehicle's plan changed), ``reject`` or ``decline``; the decision with how long it took.
    """
    started = time.perf_counter()
    now = state.clock_s
    request = Event(now, "request", booking.id, None)
    insertion, promised, reason = offer(state, net, booking, settings)
    declined = "" if insertion is None else choice_reason(booking, insertion, settings.params.choice_margin_s)
    if insertion is None or promised is None or declined:
        ms = (time.perf_counter() - started) * 1000
        kind, why = ("decline", declined) if declined else ("reject", reason)
        decision = Decision(booking.id, False, None, None, None, None, None, why, ms)
        return Step(state, (request, Event(now, kind, booking.id, None, {"reason": why})), (), decision)
    plans = tuple(insertion.plan if p.vehicle == insertion.vehicle else p for p in state.plans)
    bookings = {**state.bookings, booking.id: promised}
    ms = (time.perf_counter() - started) * 1000
    accept = {
        "promised_earliest_s": promised.promised_earliest_s,
        "promised_latest_s": promised.promised_latest_s,
        "planned_pickup_s": insertion.pickup_s,
        "planned_dropoff_s": insertion.dropoff_s,
    }
    return Step(
        DayState(now, plans, bookings, state.picked_up_s),
        (request, Event(now, "accept", booking.id, insertion.vehicle, accept)),
        (insertion.vehicle,),
        accepted_decision(insertion, promised, "accepted", ms),
    )


def reoptimise_day(state: DayState, net: Matrices, settings: DaySettings) -> Step:
    """Re-plan every unlocked stop (``dispatch.online.reoptimise``); adopted only if it drives less.

    Returns
    -------
    Step
        A ``reoptimise`` event saying whether the new plans were adopted and why; when they were,
        every vehicle's plan counts as changed.
    """
    result = reoptimise(
        list(state.plans), state.bookings, net, state.clock_s, state.picked_up_s, settings.params, settings.depot
    )
    event = Event(
        state.clock_s,
        "reoptimise",
        None,
        None,
        {
            "adopted": result.adopted,
            "before_m": result.distance_before_m,
            "after_m": result.distance_after_m,
            "reason": result.reason,
        },
    )
    if not result.adopted:
        return Step(state, (event,), ())
    new_state = dataclasses.replace(state, plans=tuple(result.plans))
    return Step(new_state, (event,), tuple(p.vehicle for p in result.plans))


def finish(state: DayState, net: Matrices, settings: DaySettings) -> Step:
    """Serve everyone still planned, then drive every vehicle back to the depot; the day is then over."""
    served = advance(state, net, math.inf)
    events = list(served.events)
    plans = list(served.state.plans)
    for k, plan in enumerate(plans):
        if plan.node != settings.depot:
            plans[k] = _drive_empty(plan, settings.depot, plan.free_s, net, events)
    final = dataclasses.replace(served.state, plans=tuple(plans))
    return Step(final, tuple(events), tuple(p.vehicle for p in plans), finished=True)


def offer(
    state: DayState, net: Matrices, booking: Booking, settings: DaySettings
) -> tuple[Insertion | None, Booking | None, str]:
    """What the plan can offer ``booking`` at the state's clock: the insertion and the promised
    booking, or a rejection reason. Shared by a booking decision and a quote, so both answer alike."""
    now = state.clock_s
    outside = outside_hours_reason(booking, settings)
    if outside:
        return None, None, outside
    insertion = (
        best_insertion(
            state.plans,
            booking,
            state.bookings,
            net,
            now,
            state.picked_up_s,
            rider_time_weight=settings.params.rider_time_weight,
            early_pickup_weight=settings.params.early_pickup_weight,
            rider_time_candidates=settings.params.rider_time_candidates,
        )
        if booking.latest_pickup_s >= now
        else None
    )
    if insertion is None:
        return None, None, rejection_reason(booking, state.plans, net, now)
    if settings.params.leave_later:
        insertion = leave_later(insertion, booking, state.bookings, net, now, state.picked_up_s)
    return insertion, promise(booking, insertion.pickup_s, settings.params.promise_window_s), ""


def offered_gain_s(booking: Booking, insertion: Insertion) -> float | None:
    """Time at home the offer gains the rider over their own alternative (``booking.alternative_s``):
    leaving home at the planned pickup instead (to a departure), or home at the planned drop-off
    (from an arrival); None when the alternative is not known."""
    if booking.alternative_s is None:
        return None
    if booking.to_departure:
        return insertion.pickup_s - booking.alternative_s
    return booking.alternative_s - insertion.dropoff_s


def choice_reason(booking: Booking, insertion: Insertion, margin_s: float | None) -> str:
    """Why the rider takes their alternative instead of the offer ("" when they book the shuttle): with
    riders choosing (``margin_s`` not None), an offer must gain them at least ``margin_s`` at home."""
    gain = offered_gain_s(booking, insertion) if margin_s is not None else None
    if gain is None or margin_s is None or gain >= margin_s:
        return ""
    assert booking.alternative_s is not None
    if booking.to_departure:
        options = (
            f"walking and transit let the rider leave home at {_hhmm(booking.alternative_s)}, "
            f"the shuttle would pick them up at {_hhmm(insertion.pickup_s)}"
        )
    else:
        options = (
            f"walking and transit bring the rider home at {_hhmm(booking.alternative_s)}, "
            f"the shuttle at {_hhmm(insertion.dropoff_s)}"
        )
    return f"took walking and transit: {options} ({gain / 60:+.1f} min at home, {margin_s / 60:g} min asked)"


def _hhmm(seconds: float) -> str:
    return format_clock(seconds) if math.isfinite(seconds) else "the end of the day"


def outside_hours_reason(booking: Booking, settings: DaySettings) -> str:
    """Why a booking falls outside the service's hours ("" when it does not).

    A pickup window that closes before the service opens, or opens after it has closed, cannot be served;
    the answer says when the shuttle runs instead of calling the window closed.
    """
    if booking.latest_pickup_s < settings.start_s or booking.earliest_pickup_s >= settings.end_s:
        return (
            f"the shuttle runs from {_hhmm(settings.start_s)} to {_hhmm(settings.end_s)}; "
            f"a pickup at {_hhmm(booking.earliest_pickup_s)} is outside its hours"
        )
    return ""


def check_time(at_s: float | None, clock_s: float, settings: DaySettings) -> None:
    """A booking or quote time must be on the day and not before its clock (a typo must not move the clock)."""
    if not math.isfinite(clock_s) or clock_s >= settings.end_s:
        raise DispatchError(
            f"this service day is over (it ran to {_hhmm(settings.end_s)}); start a new day to book or quote"
        )
    if at_s is None:
        return
    if not math.isfinite(at_s) or at_s > settings.end_s:
        raise DispatchError(
            f"{_hhmm(at_s) if math.isfinite(at_s) else at_s} is after the service day's end ({_hhmm(settings.end_s)})"
        )
    if at_s < clock_s - 0.5:
        raise DispatchError(
            f"the day's clock is already at {_hhmm(clock_s)}; a booking cannot be made at {_hhmm(at_s)}, in the past"
        )


def accepted_decision(insertion: Insertion, promised: Booking, reason: str, ms: float) -> Decision:
    """The decision that accepts ``promised`` (a booking with its promise) into ``insertion``'s vehicle."""
    assert promised.promised_earliest_s is not None and promised.promised_latest_s is not None
    return Decision(
        promised.id,
        True,
        insertion.vehicle,
        promised.promised_earliest_s,
        promised.promised_latest_s,
        insertion.pickup_s,
        insertion.dropoff_s,
        reason,
        ms,
    )
