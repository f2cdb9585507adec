"""GTFS-Realtime TripUpdates applied to a compiled timetable, without a rebuild.

Read (``read_trip_updates``) with the official bindings (``gtfs-realtime-bindings``); what cannot be
read is a :class:`~maas.errors.RealtimeFeedError` naming the source, so the caller can keep the static
timetable. Applied (``apply_trip_updates``) as the GTFS-Realtime reference says:

* a trip is found by ``trip_id`` (in a merged feed also as ``<feed>:<trip_id>``) and ``start_date``
  (the service day's own run, or the previous evening's or next morning's run the day also holds);
  a frequency-based run also by ``start_time``;
* ``CANCELED`` removes the run; an ``ADDED`` trip (its ``route_id`` and every stop with a time)
  becomes a run of its own;
* a stop-time update is matched by ``stop_id``, in order along the trip; its ``time`` (POSIX) or
  ``delay`` sets the stop's arrival and departure, and its delay carries on to the following stops
  until the next update; stops before the first update keep the schedule; ``NO_DATA`` keeps the
  schedule and ends the carried delay; ``SKIPPED`` means the run neither picks up nor drops off
  there (it passes at the carried delay);
* times are made non-decreasing along the run (a departure never before its arrival).

Runs whose new times overtake another run of their pattern, or that skip stops, move to new
patterns (RAPTOR's FIFO order; a pattern's boarding and alighting flags), so the search stays exact.
Stop, route and trip numbers of the untouched runs keep their
meaning; :class:`RealtimeReport` says what was applied, ignored and why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from maas.errors import InputProblem, RealtimeFeedError
from planner.service_time import ServiceClock
from planner.timetable import Timetable, fifo_chains

STALE_AFTER_S = 3600  # a feed older than this (against the time planned for) is reported as stale


@dataclass(frozen=True, slots=True)
class StopUpdate:
    stop_id: str
    arrival_delay: int | None = None
    departure_delay: int | None = None
    arrival_time: int | None = None  # POSIX seconds
    departure_time: int | None = None
    skipped: bool = False
    no_data: bool = False


@dataclass(frozen=True, slots=True)
class TripUpdate:
    trip_id: str
    start_date: dt.date | None = None
    start_time: str = ""  # HH:MM:SS, for frequency-based runs
    canceled: bool = False
    added: bool = False
    stops: tuple[StopUpdate, ...] = ()
    route_id: str = ""


@dataclass(frozen=True, slots=True)
class Alert:
    """A ServiceAlert: what riders read, what it concerns, and when (POSIX seconds; None: open)."""

    header: str
    description: str = ""
    routes: frozenset[str] = frozenset()
    stops: frozenset[str] = frozenset()
    trips: frozenset[str] = frozenset()
    periods: tuple[tuple[int | None, int | None], ...] = ()  # empty: always

    def active(self, posix: float) -> bool:
        """Whether the alert is in force at ``posix`` (any of its periods, or always without one)."""
        return not self.periods or any(
            (start is None or start <= posix) and (end is None or posix <= end) for start, end in self.periods
        )

    def concerns(self, route_id: str, trip_id: str, stop_ids: Sequence[str]) -> bool:
        """Whether the alert names the ride's route, its trip or one of its stops (ids as in the feed or
        prefixed by a merged feed's name)."""

        def named(ids: frozenset[str], value: str) -> bool:
            return value in ids or value.partition(":")[2] in ids

        return named(self.routes, route_id) or named(self.trips, trip_id) or any(named(self.stops, s) for s in stop_ids)


@dataclass(frozen=True, slots=True)
class RealtimeFeed:
    source: str
    timestamp: int | None  # POSIX seconds of the feed header
    updates: tuple[TripUpdate, ...]
    alerts: tuple[Alert, ...] = ()


@dataclass(frozen=True, slots=True)
class RealtimeReport:
    """What applying a feed did."""

    source: str
    trips_updated: int
    trips_canceled: int
    stops_skipped: int
    unknown_trips: tuple[str, ...]  # trip ids the timetable does not have
    ignored: tuple[str, ...]  # updates not applied, each with its reason
    patterns_split: int
    stale: str  # "" or why the feed is old
    seconds: float
    updated_runs: frozenset[str] = frozenset()  # compiled trip ids whose times the feed set

    def lines(self) -> list[str]:
        """The report as lines a user reads."""
        out = [
            f"real time from {self.source}: {self.trips_updated} trip(s) updated, {self.trips_canceled} canceled, "
            f"{self.stops_skipped} stop(s) skipped, applied in {self.seconds:.2f} s"
        ]
        if self.unknown_trips:
            shown = ", ".join(self.unknown_trips[:5])
            out.append(f"  {len(self.unknown_trips)} update(s) for trips not in the timetable (ignored): {shown}")
        out += [f"  ignored: {reason}" for reason in self.ignored[:10]]
        if len(self.ignored) > 10:
            out.append(f"  ... and {len(self.ignored) - 10} more ignored")
        if self.stale:
            out.append(f"  warning: {self.stale}")
        return out


def read_trip_updates(data: bytes, source: str) -> RealtimeFeed:
    """The TripUpdates of a GTFS-Realtime ``FeedMessage``; :class:`RealtimeFeedError` when it cannot be read."""
    from google.protobuf.message import DecodeError
    from google.transit import gtfs_realtime_pb2

    message = gtfs_realtime_pb2.FeedMessage()
    try:
        message.ParseFromString(data)
    except (DecodeError, ValueError) as error:
        raise _error(source, None, f"not a GTFS-Realtime message ({error})") from error
    if not message.HasField("header") or not message.header.gtfs_realtime_version:
        raise _error(source, "header", "no header with gtfs_realtime_version")
    relationship = gtfs_realtime_pb2.TripDescriptor
    stop_relationship = gtfs_realtime_pb2.TripUpdate.StopTimeUpdate
    updates = []
    alerts: list[Alert] = []
    problems: list[InputProblem] = []
    for n, entity in enumerate(message.entity, 1):
        if entity.HasField("alert"):
            alerts.append(_alert(entity.alert))
        if not entity.HasField("trip_update"):
            continue
        update = entity.trip_update
        trip = update.trip
        if not trip.trip_id:
            problems.append(InputProblem(source, f"entity {n} ({entity.id})", "trip_update without a trip_id"))
            continue
        start_date = None
        if trip.start_date:
            try:
                start_date = dt.datetime.strptime(trip.start_date, "%Y%m%d").date()
            except ValueError:
                problems.append(InputProblem(source, f"entity {n} ({entity.id})", f"start_date {trip.start_date!r}"))
                continue
        stops = []
        for stu in update.stop_time_update:
            arrival_delay, arrival_time = _event(stu, "arrival")
            departure_delay, departure_time = _event(stu, "departure")
            stops.append(
                StopUpdate(
                    stop_id=stu.stop_id,
                    arrival_delay=arrival_delay,
                    departure_delay=departure_delay,
                    arrival_time=arrival_time,
                    departure_time=departure_time,
                    skipped=stu.schedule_relationship == stop_relationship.SKIPPED,
                    no_data=stu.schedule_relationship == stop_relationship.NO_DATA,
                )
            )
        updates.append(
            TripUpdate(
                trip_id=trip.trip_id,
                start_date=start_date,
                start_time=trip.start_time,
                canceled=trip.schedule_relationship == relationship.CANCELED,
                added=trip.schedule_relationship == relationship.ADDED,
                stops=tuple(stops),
                route_id=trip.route_id,
            )
        )
    if problems:
        raise RealtimeFeedError(source, problems)
    stamp = int(message.header.timestamp) if message.header.HasField("timestamp") else None
    return RealtimeFeed(source, stamp, tuple(updates), tuple(alerts))


def _text(translated: Any) -> str:
    """A TranslatedString's text: English if there is one, else the first."""
    texts = [(t.language, t.text) for t in translated.translation]
    return next((text for language, text in texts if language in ("en", "")), texts[0][1] if texts else "")


def _alert(alert: Any) -> Alert:
    informed = list(alert.informed_entity)
    return Alert(
        header=_text(alert.header_text) or _text(alert.description_text) or "service alert",
        description=_text(alert.description_text),
        routes=frozenset(e.route_id for e in informed if e.route_id),
        stops=frozenset(e.stop_id for e in informed if e.stop_id),
        trips=frozenset(e.trip.trip_id for e in informed if e.HasField("trip") and e.trip.trip_id),
        periods=tuple(
            (p.start if p.HasField("start") else None, p.end if p.HasField("end") else None)
            for p in alert.active_period
        ),
    )


def _error(source: str, field: str | None, message: str) -> RealtimeFeedError:
    return RealtimeFeedError(source, [InputProblem(Path(source).name or source, field, message)])


def _event(update: Any, side: str) -> tuple[int | None, int | None]:
    """(delay, POSIX time) of a StopTimeUpdate's arrival or departure, None where not given."""
    if not update.HasField(side):
        return None, None
    event = getattr(update, side)
    return (
        int(event.delay) if event.HasField("delay") else None,
        int(event.time) if event.HasField("time") else None,
    )


def load_trip_updates(location: str | Path, timeout_s: float = 10.0) -> RealtimeFeed:
    """Read a TripUpdates feed from a file or an ``http(s)://`` URL."""
    text = str(location)
    if text.startswith(("http://", "https://")):
        import urllib.request

        try:
            with urllib.request.urlopen(text, timeout=timeout_s) as response:
                data = response.read()
        except OSError as error:
            raise _error(text, None, f"cannot be fetched ({error})") from error
    else:
        path = Path(text)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise _error(text, None, f"cannot be read ({error.strerror})") from error
    return read_trip_updates(data, text)


def apply_trip_updates(
    timetable: Timetable, feed: RealtimeFeed, clock: ServiceClock, now: dt.datetime | None = None
) -> tuple[Timetable, RealtimeReport]:
    """``timetable`` with ``feed`` applied (see the module docstring), and what was done."""
    started = time.perf_counter()
    tt = timetable
    date = tt.service_date
    runs = _runs_by_trip(tt)
    n_stops = np.diff(tt.pattern_stop_start).astype(np.int64)
    trip_pattern = np.repeat(np.arange(tt.n_patterns), np.diff(tt.pattern_trip_start))
    arrivals, departures = tt.arrivals.copy(), tt.departures.copy()
    keep = np.ones(tt.n_trips, dtype=bool)
    skips: dict[int, np.ndarray] = {}  # run -> stop positions it skips
    updated_runs: set[str] = set()
    added: list[_AddedRun] = []
    touched: set[int] = set()
    unknown: list[str] = []
    ignored: list[str] = []
    updated = canceled = skipped = 0
    for update in feed.updates:
        if update.added:
            if update.start_date in (None, date):
                run, reason = _added_run(tt, update, clock)
                if run is None:
                    ignored.append(f"added trip {update.trip_id}: {reason}")
                else:
                    added.append(run)
            continue
        matching, reason = _matching_runs(update, runs, date)
        if reason == "unknown":
            unknown.append(update.trip_id)
        elif reason:
            ignored.append(f"trip {update.trip_id}: {reason}")
        for g in matching:
            p = int(trip_pattern[g])
            touched.add(p)
            if update.canceled:
                keep[g] = False
                canceled += 1
                continue
            k = g - int(tt.pattern_trip_start[p])
            start = int(tt.pattern_time_start[p]) + k * int(n_stops[p])
            window = slice(start, start + int(n_stops[p]))
            stops = tt.stop_ids[tt.pattern_stops[tt.pattern_stop_start[p] : tt.pattern_stop_start[p + 1]]]
            problems, skipped_at = _apply_to_run(arrivals[window], departures[window], stops, update.stops, clock, date)
            if skipped_at.any():
                skips[g] = skipped_at
            skipped += int(skipped_at.sum())
            ignored += [f"trip {update.trip_id}: {problem}" for problem in problems]
            updated += 1
            updated_runs.add(str(tt.trip_ids[g]))
    result, split = _rebuild(tt, arrivals, departures, keep, skips, sorted(touched))
    result = _append_runs(result, added)
    updated_runs.update(run.label for run in added)
    stale = _staleness(feed, clock, date, now)
    seconds = time.perf_counter() - started
    report = RealtimeReport(
        feed.source,
        updated + len(added),
        canceled,
        skipped,
        tuple(unknown),
        tuple(ignored),
        split,
        stale,
        seconds,
        frozenset(updated_runs),
    )
    return result, report


def _matching_runs(
    update: TripUpdate, runs: dict[str, list[tuple[int, int, str]]], date: dt.date
) -> tuple[list[int], str]:
    """The runs an update is for, or why none: "unknown" (no such trip) or a reason to report; another
    day's run (not in this timetable) is neither."""
    offset = 0 if update.start_date is None else (update.start_date - date).days
    if offset not in (-1, 0, 1):
        return [], ""
    candidates = runs.get(update.trip_id) or runs.get(_suffix_match(runs, update.trip_id), [])
    if not candidates:
        return [], "unknown"
    if not update.start_time and any(start for _, _, start in candidates):
        return [], "runs by frequency, so an update needs its start_time"
    wanted = update.start_time
    matching = [g for g, day, start in candidates if day == offset and (not wanted or start in ("", wanted))]
    if not matching:
        return [], f"no run on {update.start_date or date} {wanted}".rstrip()
    return matching, ""


def _staleness(feed: RealtimeFeed, clock: ServiceClock, date: dt.date, now: dt.datetime | None) -> str:
    """Why the feed is too old for ``now`` (a naive ``now`` is the area's wall clock), or ""."""
    if feed.timestamp is None or now is None:
        return ""
    planned_for = clock.moment(date, clock.seconds(date, now)).timestamp()
    if planned_for - feed.timestamp <= STALE_AFTER_S:
        return ""
    return f"the feed is {round((planned_for - feed.timestamp) / 60)} min older than the time planned for"


@dataclass(frozen=True, slots=True)
class _AddedRun:
    trip_id: str
    route: int
    stops: np.ndarray
    arrivals: np.ndarray
    departures: np.ndarray

    @property
    def label(self) -> str:
        return f"{self.trip_id}@added"


def _added_run(tt: Timetable, update: TripUpdate, clock: ServiceClock) -> tuple[_AddedRun | None, str]:
    """An ADDED trip as a run: its route, and its stops with absolute times; or why it cannot be."""
    routes = np.flatnonzero(tt.route_ids == update.route_id) if update.route_id else np.zeros(0, np.int64)
    if not len(routes):
        return None, f"route_id {update.route_id or '(none)'} is not in the timetable"
    origin = clock.origin(tt.service_date).timestamp()
    index = {str(s): i for i, s in enumerate(tt.stop_ids.tolist())}
    stops, arrival, departure = [], [], []
    for u in update.stops:
        if u.stop_id not in index:
            return None, f"stop {u.stop_id or '(no stop_id)'} is not in the timetable"
        arr = u.arrival_time if u.arrival_time else u.departure_time
        dep = u.departure_time if u.departure_time else u.arrival_time
        if not arr or not dep:
            return None, f"stop {u.stop_id} has no time (an added trip needs arrival or departure times)"
        stops.append(index[u.stop_id])
        arrival.append(round(arr - origin))
        departure.append(round(dep - origin))
    times = np.array([t for pair in zip(arrival, departure, strict=True) for t in pair])
    if len(stops) < 2 or (np.diff(times) < 0).any():
        return None, "needs two or more stops with times that do not go back"
    return _AddedRun(update.trip_id, int(routes[0]), np.array(stops), np.array(arrival), np.array(departure)), ""


def _append_runs(tt: Timetable, runs: Sequence[_AddedRun]) -> Timetable:
    """``tt`` with each added run as a pattern of its own (one run is always in FIFO order)."""
    if not runs:
        return tt
    sizes = np.array([len(r.stops) for r in runs], dtype=np.int64)
    pattern_stops = np.concatenate([tt.pattern_stops, *(r.stops for r in runs)]).astype(tt.pattern_stops.dtype)
    n_patterns = tt.n_patterns + len(runs)
    stop_start = np.r_[tt.pattern_stop_start, tt.pattern_stop_start[-1] + np.cumsum(sizes)]
    stop_pattern = np.repeat(np.arange(n_patterns), np.diff(stop_start))
    pairs = np.unique(np.column_stack([pattern_stops, stop_pattern]), axis=0)
    new_trip = {
        "trip_ids": [r.label for r in runs],
        "trip_source_ids": [r.trip_id for r in runs],
        "trip_shape_ids": [""] * len(runs),
        "trip_headsigns": [""] * len(runs),
        "trip_from_frequency": [False] * len(runs),
        "trip_wheelchair": [0] * len(runs),
        "trip_bikes": [0] * len(runs),
    }
    trip_fields: dict[str, Any] = {}
    for name, values in new_trip.items():
        old = getattr(tt, name)
        added = np.array(values) if old.dtype.kind == "U" else np.array(values, dtype=old.dtype)
        trip_fields[name] = np.concatenate([old, added])
    return dataclasses.replace(
        tt,
        pattern_route=np.r_[tt.pattern_route, [r.route for r in runs]].astype(tt.pattern_route.dtype),
        pattern_stop_start=stop_start.astype(tt.pattern_stop_start.dtype),
        pattern_stops=pattern_stops,
        pattern_can_board=np.r_[tt.pattern_can_board, np.ones(int(sizes.sum()), bool)],
        pattern_can_alight=np.r_[tt.pattern_can_alight, np.ones(int(sizes.sum()), bool)],
        pattern_trip_start=np.r_[tt.pattern_trip_start, tt.pattern_trip_start[-1] + np.arange(1, len(runs) + 1)].astype(
            tt.pattern_trip_start.dtype
        ),
        pattern_time_start=np.r_[tt.pattern_time_start, len(tt.arrivals) + np.r_[0, np.cumsum(sizes)[:-1]]].astype(
            tt.pattern_time_start.dtype
        ),
        arrivals=np.concatenate([tt.arrivals, *(r.arrivals for r in runs)]).astype(tt.arrivals.dtype),
        departures=np.concatenate([tt.departures, *(r.departures for r in runs)]).astype(tt.departures.dtype),
        stop_pattern_start=np.searchsorted(pairs[:, 0], np.arange(tt.n_stops + 1)).astype(tt.stop_pattern_start.dtype),
        stop_patterns=pairs[:, 1].astype(tt.stop_patterns.dtype),
        **trip_fields,
    )


def _suffix_match(runs: dict[str, list[tuple[int, int, str]]], trip_id: str) -> str:
    """A merged feed prefixes ids with the feed's name; a realtime feed does not."""
    for key in runs:
        if key.endswith(":" + trip_id):
            return key
    return ""


def _runs_by_trip(tt: Timetable) -> dict[str, list[tuple[int, int, str]]]:
    """Each feed trip_id's compiled runs: (global trip index, day offset -1/0/1, start time or "")."""
    out: dict[str, list[tuple[int, int, str]]] = {}
    for g, (source, label) in enumerate(zip(tt.trip_source_ids.tolist(), tt.trip_ids.tolist(), strict=True)):
        day = -1 if label.endswith("@prev-day") else 1 if label.endswith("@next-day") else 0
        rest = label[len(source) :]
        start = rest[1:9] if rest.startswith("@") and rest[1:3].isdigit() else ""
        out.setdefault(source, []).append((g, day, start))
    return out


def _apply_to_run(
    arrival: np.ndarray,
    departure: np.ndarray,
    stops: np.ndarray,
    updates: Sequence[StopUpdate],
    clock: ServiceClock,
    date: dt.date,
) -> tuple[list[str], np.ndarray]:
    """Update one run's times in place; returns the problems and the stop positions it skips."""
    problems: list[str] = []
    position: dict[int, StopUpdate] = {}
    cursor = 0
    for u in updates:
        hits = np.flatnonzero(stops[cursor:] == u.stop_id)
        if not u.stop_id or not len(hits):
            problems.append(f"stop {u.stop_id or '(no stop_id)'} is not on the trip after the previous update")
            continue
        cursor += int(hits[0])
        position[cursor] = u
        cursor += 1
    origin = clock.origin(date).timestamp()
    scheduled_arrival, scheduled_departure = arrival.copy(), departure.copy()
    delay: int | None = None
    skipped = np.zeros(len(stops), dtype=bool)
    for j in range(len(stops)):
        at = position.get(j)
        if at is not None and at.skipped:
            skipped[j] = True
            if delay is not None:
                arrival[j] = scheduled_arrival[j] + delay
                departure[j] = scheduled_departure[j] + delay
            continue
        if at is not None and at.no_data:
            delay = None
            continue
        if at is not None:
            arr = _time_of(at.arrival_time, at.arrival_delay, int(scheduled_arrival[j]), origin)
            dep = _time_of(at.departure_time, at.departure_delay, int(scheduled_departure[j]), origin)
            if arr is not None or dep is not None:
                # one side given: the other moves with it
                arr = arr if arr is not None else int(scheduled_arrival[j]) + (dep or 0) - int(scheduled_departure[j])
                dep = dep if dep is not None else int(scheduled_departure[j]) + arr - int(scheduled_arrival[j])
                arrival[j], departure[j] = arr, dep
                delay = dep - int(scheduled_departure[j])
                continue
        if delay is not None:
            arrival[j] = scheduled_arrival[j] + delay
            departure[j] = scheduled_departure[j] + delay
    # non-decreasing along the run
    last = -(2**31)
    for j in range(len(stops)):
        if arrival[j] < last:
            arrival[j] = last
        if departure[j] < arrival[j]:
            departure[j] = arrival[j]
        last = int(departure[j])
    return problems, skipped


def _time_of(posix: int | None, delay: int | None, scheduled: int, origin: float) -> int | None:
    if posix is not None and posix > 0:
        return round(posix - origin)
    if delay is not None:
        return int(scheduled) + delay
    return None


def _rebuild(
    tt: Timetable,
    arrivals: np.ndarray,
    departures: np.ndarray,
    keep: np.ndarray,
    skips: dict[int, np.ndarray],
    touched: list[int],
) -> tuple[Timetable, int]:
    """The timetable with the runs of ``touched`` patterns grouped by the stops they skip, re-sorted and
    split where they overtake."""
    if not touched:
        return tt, 0
    touched_set = set(touched)
    source_pattern: list[int] = []
    pattern_trips: list[np.ndarray] = []  # global trip indices of each new pattern, in FIFO order
    pattern_skips: list[np.ndarray | None] = []  # stop positions the pattern's runs skip (None: untouched)
    split = 0
    for p in range(tt.n_patterns):
        trips = np.arange(tt.pattern_trip_start[p], tt.pattern_trip_start[p + 1])
        if p not in touched_set:
            source_pattern.append(p)
            pattern_trips.append(trips)
            pattern_skips.append(None)
            continue
        pieces = _regroup(tt, p, trips[keep[trips]], arrivals, departures, skips)
        split += len(pieces) - 1
        for members, skipped in pieces:
            source_pattern.append(p)
            pattern_trips.append(members)
            pattern_skips.append(skipped)
    return _flatten(tt, arrivals, departures, source_pattern, pattern_trips, pattern_skips), split


def _regroup(
    tt: Timetable,
    p: int,
    trips: np.ndarray,
    arrivals: np.ndarray,
    departures: np.ndarray,
    skips: dict[int, np.ndarray],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pattern ``p``'s remaining runs as (runs in FIFO order, stops they skip) pieces: one per set of
    skipped stops and chain of runs that never overtake; one empty piece when every run is canceled."""
    n = int(tt.pattern_stop_start[p + 1] - tt.pattern_stop_start[p])
    base = int(tt.pattern_time_start[p]) - int(tt.pattern_trip_start[p]) * n
    no_skip = np.zeros(n, dtype=bool)
    groups: dict[bytes, list[int]] = {}
    for g in trips.tolist():
        groups.setdefault(skips.get(g, no_skip).tobytes(), []).append(g)
    pieces = []
    for mask_bytes, members in sorted(groups.items(), key=lambda item: item[0]):
        group = np.array(members, dtype=np.int64)
        rows = base + group[:, None] * n + np.arange(n)[None, :]
        arr, dep = arrivals[rows], departures[rows]
        chains = fifo_chains(arr, dep, np.lexsort((group, dep[:, 0])))
        pieces += [(group[chain], np.frombuffer(mask_bytes, dtype=bool)) for chain in chains]
    return pieces or [(trips[:0], no_skip)]


def _flatten(
    tt: Timetable,
    arrivals: np.ndarray,
    departures: np.ndarray,
    source_pattern: list[int],
    pattern_trips: list[np.ndarray],
    pattern_skips: list[np.ndarray | None],
) -> Timetable:
    """The new patterns (each a copy of ``source_pattern``'s stops with its own runs and skipped stops)
    as the timetable's flat arrays."""
    n_stops = np.diff(tt.pattern_stop_start).astype(np.int64)
    # flat arrays in the new order
    old_rows = []
    trip_order = []
    for p, trips in zip(source_pattern, pattern_trips, strict=True):
        n = int(n_stops[p])
        base = int(tt.pattern_time_start[p]) - int(tt.pattern_trip_start[p]) * n
        old_rows.append((base + trips[:, None] * n + np.arange(n)[None, :]).ravel())
        trip_order.append(trips)
    rows = np.concatenate(old_rows) if old_rows else np.zeros(0, np.int64)
    order = np.concatenate(trip_order).astype(np.int64) if trip_order else np.zeros(0, np.int64)
    src = np.array(source_pattern, dtype=np.int64)
    counts = np.array([len(t) for t in pattern_trips], dtype=np.int64)
    stops_of = [tt.pattern_stops[tt.pattern_stop_start[p] : tt.pattern_stop_start[p + 1]] for p in src]
    board_of, alight_of = [], []
    for p, skipped in zip(src.tolist(), pattern_skips, strict=True):
        a, b = tt.pattern_stop_start[p], tt.pattern_stop_start[p + 1]
        open_stop = True if skipped is None else ~skipped
        board_of.append(tt.pattern_can_board[a:b] & open_stop)
        alight_of.append(tt.pattern_can_alight[a:b] & open_stop)
    pattern_stops = np.concatenate(stops_of).astype(tt.pattern_stops.dtype)
    sizes = n_stops[src]
    stop_pattern = np.repeat(np.arange(len(src)), sizes)
    by_stop = np.lexsort((stop_pattern, pattern_stops))
    pairs = np.unique(np.column_stack([pattern_stops[by_stop], stop_pattern[by_stop]]), axis=0)
    stop_pattern_start = np.searchsorted(pairs[:, 0], np.arange(tt.n_stops + 1)).astype(tt.stop_pattern_start.dtype)
    trip_fields = {f.name: getattr(tt, f.name)[order] for f in dataclasses.fields(tt) if f.name.startswith("trip_")}
    rebuilt = dataclasses.replace(
        tt,
        pattern_route=tt.pattern_route[src],
        pattern_stop_start=np.r_[0, np.cumsum(sizes)].astype(tt.pattern_stop_start.dtype),
        pattern_stops=pattern_stops,
        pattern_can_board=np.concatenate(board_of),
        pattern_can_alight=np.concatenate(alight_of),
        pattern_trip_start=np.r_[0, np.cumsum(counts)].astype(tt.pattern_trip_start.dtype),
        pattern_time_start=np.r_[0, np.cumsum(counts * sizes)[:-1]].astype(tt.pattern_time_start.dtype),
        arrivals=arrivals[rows].astype(tt.arrivals.dtype),
        departures=departures[rows].astype(tt.departures.dtype),
        stop_pattern_start=stop_pattern_start,
        stop_patterns=pairs[:, 1].astype(tt.stop_patterns.dtype),
        **trip_fields,
    )
    return rebuilt
