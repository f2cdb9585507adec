"""What a service day looked like at a moment: shuttle positions, loads, routes ahead, waiting riders.

Read from the day's event log, so it shows what happened (or, for a day still running, what is
planned up to its clock): a shuttle between two stops is placed along its street path in
proportion to the time driven.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dispatch.network import ShuttleNetwork
from dispatch.service import TAKEN, BookingStatus, ServiceStore, booking_from_json


@dataclass(frozen=True, slots=True)
class ShuttleState:
    vehicle: str
    lon: float
    lat: float
    load: int
    moving: bool
    route_ahead: tuple[tuple[float, float], ...]  # (lon, lat) of the drives still to come within the horizon
    charging: bool = False  # plugged in at the depot


@dataclass(frozen=True, slots=True)
class WaitingRider:
    booking: str
    lon: float
    lat: float
    promised_earliest_s: float
    promised_latest_s: float
    vehicle: str | None


@dataclass(frozen=True, slots=True)
class FleetSnapshot:
    time_s: float
    shuttles: tuple[ShuttleState, ...]
    waiting: tuple[WaitingRider, ...]


def _point_along(coords: np.ndarray, fraction: float) -> tuple[float, float]:
    if len(coords) == 1:
        return float(coords[0, 0]), float(coords[0, 1])
    seg = np.hypot(np.diff(coords[:, 0]) * np.cos(np.radians(coords[:, 1].mean())), np.diff(coords[:, 1]))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    target = min(max(fraction, 0.0), 1.0) * cum[-1]
    k = int(min(np.searchsorted(cum, target, side="right") - 1, len(seg) - 1))
    f = 0.0 if seg[k] == 0 else (target - cum[k]) / seg[k]
    point = coords[k] + f * (coords[k + 1] - coords[k])
    return float(point[0]), float(point[1])


def fleet_snapshot(
    store: ServiceStore, network: ShuttleNetwork, time_s: float, horizon_s: float = 1800.0
) -> FleetSnapshot:
    """Where every shuttle is, what it carries and who waits, at ``time_s`` of the day in ``store``."""
    events = store.events()
    depot = store.settings().depot
    vehicles = [row[0] for row in store.db.execute("SELECT id FROM vehicles ORDER BY id")]
    by_vehicle: dict[str, list[dict[str, Any]]] = {v: [] for v in vehicles}
    for e in events:
        if e["vehicle"] in by_vehicle and e["kind"] in ("drive", "pickup", "dropoff", "charge"):
            by_vehicle[e["vehicle"]].append(e)
    shuttles = []
    for vehicle in vehicles:
        node, load, moving, charging = depot, 0, False, False
        position: tuple[float, float] | None = None
        ahead: list[tuple[float, float]] = []
        for e in by_vehicle[vehicle]:
            if e["kind"] == "drive":
                if e["t"] <= time_s < e["arrive"]:
                    path = network.path_coords(e["origin"], e["destination"])
                    fraction = (time_s - e["t"]) / max(e["arrive"] - e["t"], 1e-9)
                    position = _point_along(path, fraction)
                    moving = True
                    ahead += [tuple(map(float, c)) for c in path]  # type: ignore[misc]
                elif time_s < e["t"] <= time_s + horizon_s:
                    ahead += [tuple(map(float, c)) for c in network.path_coords(e["origin"], e["destination"])]  # type: ignore[misc]
                elif e["arrive"] <= time_s:
                    node = e["destination"]
            elif e["kind"] == "charge":
                charging = charging or e["t"] <= time_s < e["until"]
            elif e["t"] <= time_s:
                load = e["load"]
        if position is None:
            position = network.lonlat(node)
        shuttles.append(ShuttleState(vehicle, position[0], position[1], load, moving, tuple(ahead), charging))
    waiting = []
    for row in store.bookings():
        if row["status"] not in TAKEN:
            continue
        if row["announced_s"] > time_s:
            continue
        if row["pickup_s"] is not None and row["pickup_s"] <= time_s and row["status"] != BookingStatus.ACCEPTED:
            continue
        b = booking_from_json(row["data"])
        lon, lat = network.lonlat(b.pickup)
        waiting.append(
            WaitingRider(b.id, lon, lat, row["promised_earliest_s"], row["promised_latest_s"], row["vehicle"])
        )
    return FleetSnapshot(time_s, tuple(shuttles), tuple(waiting))
