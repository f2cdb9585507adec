"""The shuttle day published as GTFS-Realtime, so other journey planners and MaaS apps can show it.

Two feeds (``FeedMessage``, full dataset), written with the official bindings from a service day's
SQLite state at a moment (default: the day's clock):

* **VehiclePositions**: every shuttle where ``dispatch.fleet_view`` places it (along its street path
  when driving), stopped or in transit, with its trip and its load;
* **TripUpdates**: each shuttle's day as one trip (``<vehicle>:<YYYYMMDD>``) whose stop-time
  updates are its next stops in order, with the expected arrival and departure the dispatcher's
  schedule gives (``dispatch.online.schedule``, the same rules every booking decision uses). A stop
  is ``<booking>:pickup`` or ``<booking>:dropoff``: on-demand stops have no static stop_id.

``serve`` answers ``/vehicle-positions.pb`` and ``/trip-updates.pb`` (and ``.txt`` for people) over
HTTP, reading the day afresh for each request, so a day a simulation or the app advances is always
current.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from dispatch.network import ShuttleNetwork


@dataclass(frozen=True, slots=True)
class PublishedDay:
    """Where and when the day runs: the shuttle network and the clock that turns day seconds into POSIX."""

    network: ShuttleNetwork
    service_date: dt.date
    timezone: str | None

    def posix(self, seconds: float) -> int:
        """Seconds of the service day as a POSIX timestamp, in the area's time zone."""
        from planner.service_time import ServiceClock

        return int(ServiceClock(self.timezone).moment(self.service_date, seconds).timestamp())


def shuttle_feeds(db: str | Path, day: PublishedDay, at_s: float | None = None) -> tuple[bytes, bytes]:
    """(VehiclePositions, TripUpdates) of the day in ``db`` at ``at_s`` (default: the day's clock)."""
    from google.transit import gtfs_realtime_pb2 as rt

    from dispatch.fleet_view import fleet_snapshot
    from dispatch.online import schedule
    from dispatch.service import ServiceStore

    store = ServiceStore(db)
    try:
        state = store.load_state()
        now = state.clock_s if at_s is None else at_s
        snapshot = fleet_snapshot(store, day.network, now)
    finally:
        store.close()
    stamp = day.posix(now)
    trip_of = {p.vehicle: f"{p.vehicle}:{day.service_date:%Y%m%d}" for p in state.plans}

    positions = _message(rt, stamp)
    for shuttle in snapshot.shuttles:
        entity = positions.entity.add()
        entity.id = shuttle.vehicle
        vehicle = entity.vehicle
        vehicle.vehicle.id = shuttle.vehicle
        vehicle.vehicle.label = shuttle.vehicle
        vehicle.trip.trip_id = trip_of.get(shuttle.vehicle, shuttle.vehicle)
        vehicle.trip.start_date = f"{day.service_date:%Y%m%d}"
        vehicle.position.latitude = shuttle.lat
        vehicle.position.longitude = shuttle.lon
        vehicle.timestamp = stamp
        status = rt.VehiclePosition.IN_TRANSIT_TO if shuttle.moving else rt.VehiclePosition.STOPPED_AT
        vehicle.current_status = status
        vehicle.occupancy_status = (
            rt.VehiclePosition.EMPTY if shuttle.load == 0 else rt.VehiclePosition.MANY_SEATS_AVAILABLE
        )

    updates = _message(rt, stamp)
    for plan in state.plans:
        stops = schedule(plan, plan.stops, state.bookings, day.network, now, state.picked_up_s) or []
        entity = updates.entity.add()
        entity.id = trip_of[plan.vehicle]
        update = entity.trip_update
        update.trip.trip_id = trip_of[plan.vehicle]
        update.trip.start_date = f"{day.service_date:%Y%m%d}"
        update.vehicle.id = plan.vehicle
        update.timestamp = stamp
        for sequence, planned in enumerate(stops, 1):
            stu = update.stop_time_update.add()
            stu.stop_sequence = sequence
            stu.stop_id = f"{planned.stop.booking}:{planned.stop.kind}"
            stu.arrival.time = day.posix(planned.arrival_s)
            stu.departure.time = day.posix(planned.departure_s)
    return positions.SerializeToString(), updates.SerializeToString()


def _message(rt: Any, stamp: int) -> Any:
    message = rt.FeedMessage()
    message.header.gtfs_realtime_version = "2.0"
    message.header.incrementality = rt.FeedHeader.FULL_DATASET
    message.header.timestamp = stamp
    return message


def serve(db: str | Path, day: PublishedDay, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """An HTTP server (not yet serving: call ``serve_forever``) publishing the day in ``db``."""
    from google.protobuf import text_format
    from google.transit import gtfs_realtime_pb2 as rt

    lock = threading.Lock()  # one SQLite read at a time

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name, _, kind = self.path.lstrip("/").partition(".")
            if name not in ("vehicle-positions", "trip-updates") or kind not in ("pb", "txt"):
                self.send_error(404, "try /vehicle-positions.pb or /trip-updates.pb (.txt to read)")
                return
            with lock:
                positions, updates = shuttle_feeds(db, day)
            body = positions if name == "vehicle-positions" else updates
            if kind == "txt":
                message = rt.FeedMessage()
                message.ParseFromString(body)
                body = text_format.MessageToString(message).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf" if kind == "pb" else "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the command prints where it serves

    return ThreadingHTTPServer((host, port), Handler)
