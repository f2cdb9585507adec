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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

from dispatch.model import DispatchError
from dispatch.online import Booking, Matrices, PlannedStop, VehiclePlan
from dispatch.service_day import (
    DaySettings,
    DayState,
    Decision,
    Event,
    Step,
    accepted_decision,
    advance,
    check_time,
    decide,
    finish,
    offer,
    reoptimise_day,
    to_json,
)


class BookingStatus(StrEnum):
    """Where a booking is in its day: announced and waiting to be decided, then accepted (with a promise)
    or rejected (with a reason), or declined by the rider (their own alternative was better); an accepted
    rider goes on board, then is done."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DECLINED = "declined"
    ONBOARD = "onboard"
    DONE = "done"


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bookings (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', 'declined', 'onboard', 'done')),
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


def booking_to_json(b: Booking) -> str:
    """A booking as the JSON stored in the database."""
    return to_json(dataclasses.asdict(b))


def booking_from_json(text: str) -> Booking:
    """A booking read back from its stored JSON."""
    return Booking(**json.loads(text))


def plan_to_json(p: VehiclePlan) -> str:
    """A vehicle plan as the JSON stored in the database."""
    return to_json(dataclasses.asdict(p))


def plan_from_json(text: str) -> VehiclePlan:
    """A vehicle plan read back from its stored JSON."""
    raw = json.loads(text)
    raw["stops"] = tuple(PlannedStop(**s) for s in raw["stops"])
    raw["onboard"] = tuple(raw["onboard"])
    return VehiclePlan(**raw)


class ServiceStore:
    """One connection to a service-day database. Use one per thread or process."""

    def __init__(self, path: str | Path, timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)  # a new day's folder is made, as for reports
            self.db = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
        except (OSError, sqlite3.OperationalError) as exc:
            raise DispatchError(f"cannot open the service-day database {self.path}: {exc}") from exc
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
            db.execute("INSERT INTO meta VALUES ('clock_s', ?)", (to_json(settings.start_s),))
            db.execute(
                "INSERT INTO meta VALUES ('next_reoptimise_s', ?)",
                (to_json(settings.start_s + settings.params.reoptimise_every_s),),
            )
            db.execute("INSERT INTO meta VALUES ('finished', 'false')")
            db.execute("INSERT INTO meta VALUES ('extra', ?)", (to_json(extra),))
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
        self.db.execute("UPDATE meta SET value = ? WHERE key = ?", (to_json(value), key))

    def _event(self, t: float, kind: str, booking: str | None, vehicle: str | None, **data: Any) -> None:
        self.db.execute(
            "INSERT INTO events (t, kind, booking, vehicle, data) VALUES (?, ?, ?, ?, ?)",
            (t, kind, booking, vehicle, to_json(data)),
        )

    # -- state -------------------------------------------------------------------------------
    def load_state(self) -> DayState:
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
        return DayState(float(self.meta("clock_s")), tuple(plans), bookings, picked)

    def _save_plans(self, plans: Sequence[VehiclePlan]) -> None:
        self.db.executemany("UPDATE vehicles SET plan = ? WHERE id = ?", [(plan_to_json(p), p.vehicle) for p in plans])

    # -- persisting a step (inside a transaction) ------------------------------------------------
    def _persist(self, before: DayState, step: Step) -> DayState:
        """Write what ``step`` did: its events, the bookings they change, the changed plans, the clock."""
        for event in step.events:
            self._event(event.t, event.kind, event.booking, event.vehicle, **event.data)
            self._booking_change(event, step)
        if step.changed_plans:
            changed = set(step.changed_plans)
            self._save_plans([p for p in step.state.plans if p.vehicle in changed])
        if step.state.clock_s != before.clock_s:
            self._set("clock_s", step.state.clock_s)
        if step.finished:
            self._set("finished", True)
        return step.state

    def _booking_change(self, event: Event, step: Step) -> None:
        """The booking row an event changes: status and times, promise, vehicle."""
        db = self.db
        if event.kind == "pickup":
            db.execute("UPDATE bookings SET status = 'onboard', pickup_s = ? WHERE id = ?", (event.t, event.booking))
        elif event.kind == "dropoff":
            db.execute("UPDATE bookings SET status = 'done', dropoff_s = ? WHERE id = ?", (event.t, event.booking))
        elif event.kind in ("reject", "decline") and step.decision is not None:
            db.execute(
                "UPDATE bookings SET status = ?, reason = ?, decision_ms = ? WHERE id = ?",
                (
                    BookingStatus.REJECTED if event.kind == "reject" else BookingStatus.DECLINED,
                    step.decision.reason,
                    step.decision.decision_ms,
                    event.booking,
                ),
            )
        elif event.kind == "accept" and step.decision is not None and event.booking is not None:
            promised = step.state.bookings[event.booking]
            db.execute(
                "UPDATE bookings SET status = 'accepted', data = ?, vehicle = ?, promised_earliest_s = ?, "
                "promised_latest_s = ?, planned_pickup_s = ?, decision_ms = ?, reason = NULL WHERE id = ?",
                (
                    booking_to_json(promised),
                    event.vehicle,
                    promised.promised_earliest_s,
                    promised.promised_latest_s,
                    step.decision.planned_pickup_s,
                    step.decision.decision_ms,
                    event.booking,
                ),
            )
        elif event.kind == "reoptimise" and event.data.get("adopted"):
            for plan in step.state.plans:  # the vehicle serving each promised rider may have changed
                for stop in plan.stops:
                    if stop.kind == "pickup":
                        db.execute("UPDATE bookings SET vehicle = ? WHERE id = ?", (plan.vehicle, stop.booking))

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
                state = self._persist(
                    state, advance(state, net, max(request.announced_s, state.clock_s), settings.battery)
                )
                decided = decide(state, net, request, settings)
                self._persist(state, decided)
                assert decided.decision is not None
                return decided.events[-1].kind  # accept, reject or decline
            if request is not None or (settings.params.reoptimise and next_reopt < settings.end_s):
                state = self._persist(state, advance(state, net, next_reopt, settings.battery))
                self._persist(state, reoptimise_day(state, net, settings))
                self._set("next_reoptimise_s", next_reopt + settings.params.reoptimise_every_s)
                return "reoptimise"
            self._persist(state, finish(state, net, settings))
            return "finish"

    def book(self, net: Matrices, booking: Booking, at_s: float | None = None) -> Decision:
        """Decide one booking now (or at ``at_s`` of the day's clock) against the current plan."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM bookings WHERE id = ?", (booking.id,)).fetchone():
                raise DispatchError(f"booking id {booking.id!r} already exists in {self.path}")
            settings = self.settings()
            state = self.load_state()
            check_time(at_s, state.clock_s, settings)
            state = self._persist(
                state,
                advance(state, net, max(at_s if at_s is not None else state.clock_s, state.clock_s), settings.battery),
            )
            db.execute(
                "INSERT INTO bookings (id, status, announced_s, data) VALUES (?, 'pending', ?, ?)",
                (booking.id, state.clock_s, booking_to_json(booking)),
            )
            decided = decide(state, net, booking, settings)
            self._persist(state, decided)
            assert decided.decision is not None
            return decided.decision

    def quote(self, net: Matrices, booking: Booking, at_s: float | None = None) -> Decision:
        """What :meth:`book` would answer, without booking (read only: the transaction is rolled back)."""
        self.db.execute("BEGIN")
        try:
            settings = self.settings()
            state = self.load_state()
            check_time(at_s, state.clock_s, settings)
            state = dataclasses.replace(state, clock_s=max(at_s if at_s is not None else state.clock_s, state.clock_s))
            insertion, promised, reason = offer(state, net, booking, settings)
            if insertion is None or promised is None:
                return Decision(booking.id, False, None, None, None, None, None, reason, 0.0)
            return accepted_decision(insertion, promised, "available", 0.0)
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
            self._persist(state, advance(state, net, max(until_s, state.clock_s), self.settings().battery))

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
                declined = counts.get(BookingStatus.DECLINED, 0)  # only where riders choose
                progress(
                    f"{hour:02d}:00  accepted {accepted}  rejected {counts.get(BookingStatus.REJECTED, 0)}"
                    + (f"  declined {declined}" if declined else "")
                    + f"  pending {counts.get(BookingStatus.PENDING, 0)}"
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
