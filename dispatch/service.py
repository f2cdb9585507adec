"""A shuttle service day whose state lives in SQLite: bookings, vehicle plans and an event log.

Every state change is one transaction (``BEGIN IMMEDIATE``: one writer at a time, WAL so readers
never block), so a confirmed booking is on disk before the rider hears "accepted", and a process
killed at any instant resumes from the last committed step. Concurrent booking attempts from
threads or processes are serialised by SQLite's write lock: the second one sees the first one's
plan and cannot take the same seat.

Tables:

* ``meta``: the day's settings and clock (JSON values);
* ``bookings``: every request, its status (pending, accepted, rejected, onboard, done), promise,
  vehicle, and actual pickup and drop-off times;
* ``vehicles``: each vehicle's current plan (JSON);
* ``events``: the append-only log (request, accept, reject, drive, pickup, dropoff, reoptimise),
  from which the KPIs are computed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from dispatch.model import DispatchError
from dispatch.online import (
    Booking,
    Insertion,
    Matrices,
    OnlineParams,
    PlannedStop,
    VehiclePlan,
    best_insertion,
    leave_later,
    promise,
    rejection_reason,
    reoptimise,
    schedule,
)
from maas.tabular import format_clock


class BookingStatus(StrEnum):
    """Where a booking is in its day: announced and waiting to be decided, then accepted (with a promise)
    or rejected (with a reason); an accepted rider goes on board, then is done."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ONBOARD = "onboard"
    DONE = "done"


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bookings (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', 'onboard', 'done')),
    announced_s REAL NOT NULL,
    data TEXT NOT NULL,
    vehicle TEXT,
    reason TEXT,
    promised_earliest_s REAL,
    promised_latest_s REAL,
    planned_pickup_s REAL,
    pickup_s REAL,
    dropoff_s REAL,
    decision_ms REAL
);
CREATE INDEX IF NOT EXISTS bookings_status ON bookings (status, announced_s);
CREATE TABLE IF NOT EXISTS vehicles (id TEXT PRIMARY KEY, plan TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    t REAL NOT NULL,
    kind TEXT NOT NULL,
    booking TEXT,
    vehicle TEXT,
    data TEXT NOT NULL
);
"""
# every booking the service took on: still to be picked up, on board, or delivered
TAKEN = (BookingStatus.ACCEPTED, BookingStatus.ONBOARD, BookingStatus.DONE)


def _json(value: Any) -> str:
    return json.dumps(value, allow_nan=True, separators=(",", ":"))


def booking_to_json(b: Booking) -> str:
    """A booking as the JSON stored in the database."""
    return _json(dataclasses.asdict(b))


def booking_from_json(text: str) -> Booking:
    """A booking read back from its stored JSON."""
    return Booking(**json.loads(text))


def plan_to_json(p: VehiclePlan) -> str:
    """A vehicle plan as the JSON stored in the database."""
    return _json(dataclasses.asdict(p))


def plan_from_json(text: str) -> VehiclePlan:
    """A vehicle plan read back from its stored JSON."""
    raw = json.loads(text)
    raw["stops"] = tuple(PlannedStop(**s) for s in raw["stops"])
    raw["onboard"] = tuple(raw["onboard"])
    return VehiclePlan(**raw)


@dataclass(frozen=True, slots=True)
class DaySettings:
    """What a service day needs besides the network: stored in ``meta`` so a resume uses the same."""

    start_s: float
    end_s: float
    depot: int
    params: OnlineParams

    def to_json(self) -> str:
        """The settings as stored JSON."""
        return _json({**dataclasses.asdict(self), "params": dataclasses.asdict(self.params)})

    @classmethod
    def from_json(cls, text: str) -> DaySettings:
        """Settings read back from stored JSON."""
        raw = json.loads(text)
        return cls(raw["start_s"], raw["end_s"], raw["depot"], OnlineParams(**raw["params"]))


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


@dataclass
class State:
    """The part of the day a decision needs, loaded inside one transaction."""

    clock_s: float
    plans: list[VehiclePlan]
    bookings: dict[str, Booking]  # active ones
    picked_up_s: dict[str, float]  # on board: when their pickup service ended


def _offer(
    state: State, net: Matrices, booking: Booking, settings: DaySettings
) -> tuple[Insertion | None, Booking | None, str]:
    """What the plan can offer ``booking`` at the state's clock: the insertion and the promised
    booking, or a rejection reason. Shared by a booking decision and a quote, so both answer alike."""
    now = state.clock_s
    outside = outside_hours_reason(booking, settings)
    if outside:
        return None, None, outside
    insertion = (
        best_insertion(state.plans, booking, state.bookings, net, now, state.picked_up_s)
        if booking.latest_pickup_s >= now
        else None
    )
    if insertion is None:
        return None, None, rejection_reason(booking, state.plans, net, now)
    if settings.params.leave_later:
        insertion = leave_later(insertion, booking, state.bookings, net, now, state.picked_up_s)
    return insertion, promise(booking, insertion.pickup_s, settings.params.promise_window_s), ""


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


def _check_time(at_s: float | None, clock_s: float, settings: DaySettings) -> None:
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


def _accepted(insertion: Insertion, promised: Booking, reason: str, ms: float) -> Decision:
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


class ServiceStore:
    """One connection to a service-day database. Use one per thread or process."""

    def __init__(self, path: str | Path, timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: committed when the block ends, rolled back if it raises."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # -- setup -------------------------------------------------------------------------------
    def is_initialised(self) -> bool:
        """Whether the database already holds a service day."""
        return self.db.execute("SELECT 1 FROM meta WHERE key = 'settings'").fetchone() is not None

    def initialise(
        self, settings: DaySettings, plans: Sequence[VehiclePlan], requests: Sequence[Booking], extra: dict[str, Any]
    ) -> None:
        """Write a new day: settings, vehicles at the depot, every request pending."""
        if self.is_initialised():
            raise DispatchError(f"{self.path} already holds a service day; use a new file or resume it")
        with self.transaction() as db:
            db.execute("INSERT INTO meta VALUES ('settings', ?)", (settings.to_json(),))
            db.execute("INSERT INTO meta VALUES ('clock_s', ?)", (_json(settings.start_s),))
            db.execute(
                "INSERT INTO meta VALUES ('next_reoptimise_s', ?)",
                (_json(settings.start_s + settings.params.reoptimise_every_s),),
            )
            db.execute("INSERT INTO meta VALUES ('finished', 'false')")
            db.execute("INSERT INTO meta VALUES ('extra', ?)", (_json(extra),))
            db.executemany("INSERT INTO vehicles VALUES (?, ?)", [(p.vehicle, plan_to_json(p)) for p in plans])
            db.executemany(
                "INSERT INTO bookings (id, status, announced_s, data) VALUES (?, 'pending', ?, ?)",
                [(b.id, b.announced_s, booking_to_json(b)) for b in requests],
            )

    def meta(self, key: str) -> Any:
        """A value of the day's ``meta`` table (the settings as :class:`DaySettings`)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise DispatchError(f"{self.path} is not a service-day database (no '{key}')")
        return json.loads(row[0]) if key != "settings" else DaySettings.from_json(row[0])

    def settings(self) -> DaySettings:
        """The day's settings."""
        value = self.meta("settings")
        assert isinstance(value, DaySettings)
        return value

    def _set(self, key: str, value: Any) -> None:
        self.db.execute("UPDATE meta SET value = ? WHERE key = ?", (_json(value), key))

    def _event(self, t: float, kind: str, booking: str | None, vehicle: str | None, **data: Any) -> None:
        self.db.execute(
            "INSERT INTO events (t, kind, booking, vehicle, data) VALUES (?, ?, ?, ?, ?)",
            (t, kind, booking, vehicle, _json(data)),
        )

    # -- state -------------------------------------------------------------------------------
    def load_state(self) -> State:
        """The clock, the vehicles' plans and the active bookings: what a decision needs."""
        plans = [plan_from_json(row[0]) for row in self.db.execute("SELECT plan FROM vehicles ORDER BY id")]
        bookings: dict[str, Booking] = {}
        picked: dict[str, float] = {}
        for data, status, pickup in self.db.execute(
            "SELECT data, status, pickup_s FROM bookings WHERE status IN ('accepted', 'onboard')"
        ):
            b = booking_from_json(data)
            bookings[b.id] = b
            if status == BookingStatus.ONBOARD:
                picked[b.id] = float(pickup) + b.service_s
        return State(float(self.meta("clock_s")), plans, bookings, picked)

    def _save_plans(self, plans: Sequence[VehiclePlan]) -> None:
        self.db.executemany("UPDATE vehicles SET plan = ? WHERE id = ?", [(plan_to_json(p), p.vehicle) for p in plans])

    # -- the day's steps (each called inside a transaction) -----------------------------------
    def _advance(self, state: State, net: Matrices, until_s: float) -> None:
        """Carry out every planned stop that starts by ``until_s``; log drives, pickups and drop-offs."""
        for k, plan in enumerate(state.plans):
            if not plan.stops:
                continue
            timed = schedule(plan, plan.stops, state.bookings, net, plan.free_s, state.picked_up_s)
            if timed is None:
                raise DispatchError(f"vehicle {plan.vehicle}: its plan no longer replays (a bug; state kept)")
            done = 0
            node, free, onboard = plan.node, plan.free_s, list(plan.onboard)
            for item in timed:
                if item.start_s > until_s:
                    break
                stop = item.stop
                booking = state.bookings[stop.booking]
                load_before = sum(state.bookings[b].seats for b in onboard)
                if stop.node != node:
                    self._event(
                        free,
                        "drive",
                        None,
                        plan.vehicle,
                        origin=node,
                        destination=stop.node,
                        arrive=item.arrival_s,
                        dist_m=float(net.dist_m[node, stop.node]),
                        load=load_before,
                    )
                if stop.kind == "pickup":
                    onboard.append(booking.id)
                    state.picked_up_s[booking.id] = item.departure_s
                    self.db.execute(
                        "UPDATE bookings SET status = 'onboard', pickup_s = ? WHERE id = ?", (item.start_s, booking.id)
                    )
                else:
                    onboard.remove(booking.id)
                    state.picked_up_s.pop(booking.id, None)
                    self.db.execute(
                        "UPDATE bookings SET status = 'done', dropoff_s = ? WHERE id = ?", (item.start_s, booking.id)
                    )
                self._event(item.start_s, stop.kind, booking.id, plan.vehicle, node=stop.node, load=item.load)
                node, free = stop.node, item.departure_s
                done += 1
            if done:
                state.plans[k] = dataclasses.replace(
                    plan, node=node, free_s=free, onboard=tuple(onboard), stops=plan.stops[done:]
                )
        state.clock_s = max(state.clock_s, until_s)
        self._set("clock_s", state.clock_s)
        self._save_plans(state.plans)

    def _decide(self, state: State, net: Matrices, booking: Booking, settings: DaySettings) -> Decision:
        started = time.perf_counter()
        now = state.clock_s
        insertion, promised, reason = _offer(state, net, booking, settings)
        if insertion is None or promised is None:
            ms = (time.perf_counter() - started) * 1000
            self.db.execute(
                "UPDATE bookings SET status = 'rejected', reason = ?, decision_ms = ? WHERE id = ?",
                (reason, ms, booking.id),
            )
            self._event(now, "reject", booking.id, None, reason=reason)
            return Decision(booking.id, False, None, None, None, None, None, reason, ms)
        state.bookings[booking.id] = promised
        state.plans = [insertion.plan if p.vehicle == insertion.vehicle else p for p in state.plans]
        ms = (time.perf_counter() - started) * 1000
        self.db.execute(
            "UPDATE bookings SET status = 'accepted', data = ?, vehicle = ?, promised_earliest_s = ?, "
            "promised_latest_s = ?, planned_pickup_s = ?, decision_ms = ?, reason = NULL WHERE id = ?",
            (
                booking_to_json(promised),
                insertion.vehicle,
                promised.promised_earliest_s,
                promised.promised_latest_s,
                insertion.pickup_s,
                ms,
                booking.id,
            ),
        )
        self._save_plans([insertion.plan])  # the one vehicle whose plan changed
        self._event(
            now,
            "accept",
            booking.id,
            insertion.vehicle,
            promised_earliest_s=promised.promised_earliest_s,
            promised_latest_s=promised.promised_latest_s,
            planned_pickup_s=insertion.pickup_s,
            planned_dropoff_s=insertion.dropoff_s,
        )
        return _accepted(insertion, promised, "accepted", ms)

    def _reoptimise(self, state: State, net: Matrices, settings: DaySettings) -> None:
        result = reoptimise(
            state.plans, state.bookings, net, state.clock_s, state.picked_up_s, settings.params, settings.depot
        )
        if result.adopted:
            state.plans = list(result.plans)
            self._save_plans(state.plans)
            for p in state.plans:  # the vehicle serving each promised rider may have changed
                for stop in p.stops:
                    if stop.kind == "pickup":
                        self.db.execute("UPDATE bookings SET vehicle = ? WHERE id = ?", (p.vehicle, stop.booking))
        self._event(
            state.clock_s,
            "reoptimise",
            None,
            None,
            adopted=result.adopted,
            before_m=result.distance_before_m,
            after_m=result.distance_after_m,
            reason=result.reason,
        )

    def _finish(self, state: State, net: Matrices, settings: DaySettings) -> None:
        """Serve everyone still planned, then drive every vehicle back to the depot."""
        self._advance(state, net, math.inf)
        for k, plan in enumerate(state.plans):
            if plan.node != settings.depot:
                arrive = plan.free_s + float(net.time_s[plan.node, settings.depot])
                self._event(
                    plan.free_s,
                    "drive",
                    None,
                    plan.vehicle,
                    origin=plan.node,
                    destination=settings.depot,
                    arrive=arrive,
                    dist_m=float(net.dist_m[plan.node, settings.depot]),
                    load=0,
                )
                state.plans[k] = dataclasses.replace(plan, node=settings.depot, free_s=arrive)
        self._save_plans(state.plans)
        self._set("finished", True)

    # -- public operations ---------------------------------------------------------------------
    def step(self, net: Matrices) -> str | None:
        """Carry out the day's next event in one transaction; None when the day is over."""
        with self.transaction() as db:
            if self.meta("finished"):
                return None
            settings = self.settings()
            state = self.load_state()
            row = db.execute(
                "SELECT data FROM bookings WHERE status = 'pending' ORDER BY announced_s, id LIMIT 1"
            ).fetchone()
            next_reopt = float(self.meta("next_reoptimise_s"))
            request = booking_from_json(row[0]) if row else None
            if request is not None and (not settings.params.reoptimise or request.announced_s < next_reopt):
                self._advance(state, net, max(request.announced_s, state.clock_s))
                self._event(state.clock_s, "request", request.id, None)
                decision = self._decide(state, net, request, settings)
                return "accept" if decision.accepted else "reject"
            if request is not None or (settings.params.reoptimise and next_reopt < settings.end_s):
                self._advance(state, net, next_reopt)
                self._reoptimise(state, net, settings)
                self._set("next_reoptimise_s", next_reopt + settings.params.reoptimise_every_s)
                return "reoptimise"
            self._finish(state, net, settings)
            return "finish"

    def book(self, net: Matrices, booking: Booking, at_s: float | None = None) -> Decision:
        """Decide one booking now (or at ``at_s`` of the day's clock) against the current plan."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM bookings WHERE id = ?", (booking.id,)).fetchone():
                raise DispatchError(f"booking id {booking.id!r} already exists in {self.path}")
            settings = self.settings()
            state = self.load_state()
            _check_time(at_s, state.clock_s, settings)
            self._advance(state, net, max(at_s if at_s is not None else state.clock_s, state.clock_s))
            db.execute(
                "INSERT INTO bookings (id, status, announced_s, data) VALUES (?, 'pending', ?, ?)",
                (booking.id, state.clock_s, booking_to_json(booking)),
            )
            self._event(state.clock_s, "request", booking.id, None)
            return self._decide(state, net, booking, settings)

    def quote(self, net: Matrices, booking: Booking, at_s: float | None = None) -> Decision:
        """What :meth:`book` would answer, without booking (read only: the transaction is rolled back)."""
        self.db.execute("BEGIN")
        try:
            settings = self.settings()
            state = self.load_state()
            _check_time(at_s, state.clock_s, settings)
            state.clock_s = max(at_s if at_s is not None else state.clock_s, state.clock_s)
            insertion, promised, reason = _offer(state, net, booking, settings)
            if insertion is None or promised is None:
                return Decision(booking.id, False, None, None, None, None, None, reason, 0.0)
            return _accepted(insertion, promised, "available", 0.0)
        finally:
            self.db.execute("ROLLBACK")

    def next_event_s(self) -> float:
        """When :meth:`step` would act next: the next pending request or re-optimisation (inf: the day's end)."""
        settings = self.settings()
        row = self.db.execute(
            "SELECT announced_s FROM bookings WHERE status = 'pending' ORDER BY announced_s, id LIMIT 1"
        ).fetchone()
        times = [float(row[0])] if row else []
        next_reopt = float(self.meta("next_reoptimise_s"))
        if settings.params.reoptimise and next_reopt < settings.end_s:
            times.append(next_reopt)
        return max(min(times), float(self.meta("clock_s"))) if times else math.inf

    def advance_to(self, net: Matrices, until_s: float) -> None:
        """Move the day's clock to ``until_s``, carrying out every planned stop on the way (never backwards)."""
        with self.transaction():
            if self.meta("finished"):
                return
            state = self.load_state()
            self._advance(state, net, max(until_s, state.clock_s))

    def run(self, net: Matrices, progress: Callable[[str], None] | None = None, until_s: float | None = None) -> None:
        """Run (or resume) the day to its end, or up to ``until_s`` of its clock, reporting each simulated hour.

        Stopped at ``until_s``, the day stays open: bookings and quotes are made against it, and a later
        ``run`` carries on from there.
        """
        hour = -1
        while True:
            if until_s is not None and self.next_event_s() >= until_s:
                self.advance_to(net, until_s)
                break
            outcome = self.step(net)
            if outcome is None or outcome == "finish":
                break
            clock = float(self.meta("clock_s"))
            if progress and int(clock // 3600) != hour:
                hour = int(clock // 3600)
                counts = dict(self.db.execute("SELECT status, COUNT(*) FROM bookings GROUP BY status").fetchall())
                accepted = sum(counts.get(status, 0) for status in TAKEN)
                progress(
                    f"{hour:02d}:00  accepted {accepted}  rejected {counts.get(BookingStatus.REJECTED, 0)}"
                    f"  pending {counts.get(BookingStatus.PENDING, 0)}"
                )

    def bookings(self) -> list[dict[str, Any]]:
        """Every booking row (id, status, times, vehicle, reason...), in announcement order."""
        cols = [
            "id",
            "status",
            "announced_s",
            "vehicle",
            "reason",
            "promised_earliest_s",
            "promised_latest_s",
            "planned_pickup_s",
            "pickup_s",
            "dropoff_s",
            "decision_ms",
            "data",
        ]
        rows = self.db.execute(f"SELECT {', '.join(cols)} FROM bookings ORDER BY announced_s, id").fetchall()
        return [dict(zip(cols, row, strict=True)) for row in rows]

    def events(self) -> list[dict[str, Any]]:
        """Every event row (time, kind, booking, vehicle, data), in order."""
        rows = self.db.execute("SELECT seq, t, kind, booking, vehicle, data FROM events ORDER BY seq").fetchall()
        return [{"seq": s, "t": t, "kind": k, "booking": b, "vehicle": v, **json.loads(d)} for s, t, k, b, v, d in rows]
