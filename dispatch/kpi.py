"""Key figures of a service day, computed from its database (bookings and the event log).

CO2 factors (documented, per kilometre): a petrol/diesel car as driven in Finland, 150 g/km
(VTT LIPASTO's passenger-car average is about 140-160 g/km); an EZ10-class electric shuttle using
0.25 kWh/km on the Finnish grid at about 70 g/kWh, 17.5 g/km. Car trips are counted as one car
per rider party along the shuttle network's direct path. The walking alternative walks the same
direct path at 1.28 m/s (HSL's walking speed); time saved is time at home gained: for a ride to
a departure, how much later than a walker the rider leaves home (pickup against the latest
drop-off minus the walk); for a ride from an arrival, how much sooner the rider is home than a
walker leaving the train at the same time.

When riders choose (``OnlineParams.choice_margin_s``), a rider whose offer does not beat their own
walk-and-transit option declines it; ``served_share`` is then of the riders who booked, and
``chose_shuttle_share`` says how many of all requests that was.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dispatch.online import Matrices
from dispatch.service import BookingStatus, ServiceStore, booking_from_json

CAR_G_PER_KM = 150.0
SHUTTLE_G_PER_KM = 17.5
WALK_MPS = 1.28


@dataclass(frozen=True, slots=True)
class DayKpis:
    requests: int
    served: int
    rejected: int
    served_share: float
    wait_p50_min: float
    wait_p95_min: float
    promises_kept_share: float
    ride_p50_min: float
    ride_p95_min: float
    detour_factor_mean: float
    vehicle_km: float
    empty_km: float
    occupancy: float  # passenger-km per vehicle-km
    pooled_share: float
    co2_shuttle_kg: float
    co2_car_kg: float
    time_saved_vs_walk_h: float
    time_saved_per_rider_min: float
    decision_p50_ms: float
    decision_p95_ms: float
    reoptimisations_adopted: int
    energy_kwh: float = 0.0  # vehicle-km at the fleet's consumption (0: batteries not modelled)
    charges: int = 0
    charging_h: float = 0.0
    battery_low_share: float = 1.0  # the lowest any battery fell, as a share of its usable charge (< 0: ran flat)
    # with riders choosing: those who took their own alternative; served_share counts the others
    declined: int = 0
    chose_shuttle_share: float = 1.0

    def rows(self) -> list[tuple[str, str]]:
        """The KPIs as (measure, value, unit) rows for a table."""
        return [
            (name, f"{value:.3f}" if isinstance(value, float) else str(value)) for name, value in asdict(self).items()
        ]


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def compute_kpis(store: ServiceStore, net: Matrices) -> DayKpis:
    """The day's KPIs (served share, waits, ride times, vehicle-km, occupancy, CO2...) from the event log
    and the bookings in ``store``.

    Parameters
    ----------
    store
        The service day.
    net
        The shuttle network (direct times and distances for detours and the car comparison).

    Returns
    -------
    DayKpis
        Every KPI of the module docstring, from what happened (events), not from the plans.
    """
    bookings = store.bookings()
    events = store.events()
    served = [b for b in bookings if b["status"] == BookingStatus.DONE]
    rejected = [b for b in bookings if b["status"] == BookingStatus.REJECTED]
    declined = sum(b["status"] == BookingStatus.DECLINED for b in bookings)
    booked = len(bookings) - declined  # riders who wanted the shuttle's offer (all, unless riders choose)
    waits, rides, detours, saved, kept = [], [], [], [], 0
    car_km = 0.0
    for row in served:
        b = booking_from_json(row["data"])
        direct_s = float(net.time_s[b.pickup, b.dropoff])
        direct_m = float(net.dist_m[b.pickup, b.dropoff])
        wait = row["pickup_s"] - b.earliest_pickup_s
        ride = row["dropoff_s"] - (row["pickup_s"] + b.service_s)
        waits.append(wait / 60)
        rides.append(ride / 60)
        detours.append(ride / direct_s if direct_s > 0 else 1.0)
        walk_s = direct_m / WALK_MPS
        if b.to_departure:  # a walker leaves home earlier
            saved.append(row["pickup_s"] - (b.latest_dropoff_s - walk_s))
        else:  # from an arrival: a walker gets home later
            saved.append(b.earliest_pickup_s + walk_s - row["dropoff_s"])
        car_km += direct_m / 1000
        if row["promised_earliest_s"] - 1e-6 <= row["pickup_s"] <= row["promised_latest_s"] + 1e-6:
            kept += 1
    vehicle_km = empty_km = passenger_km = 0.0
    for e in events:
        if e["kind"] == "drive":
            km = e["dist_m"] / 1000
            vehicle_km += km
            passenger_km += km * e["load"]
            if e["load"] == 0:
                empty_km += km
    pooled = _pooled(events, {b["id"]: booking_from_json(b["data"]).seats for b in served})
    decisions = [b["decision_ms"] for b in bookings if b["decision_ms"] is not None]
    return DayKpis(
        requests=len(bookings),
        served=len(served),
        rejected=len(rejected),
        served_share=len(served) / booked if booked else 0.0,
        wait_p50_min=_pct(waits, 50),
        wait_p95_min=_pct(waits, 95),
        promises_kept_share=kept / len(served) if served else 1.0,
        ride_p50_min=_pct(rides, 50),
        ride_p95_min=_pct(rides, 95),
        detour_factor_mean=float(np.mean(detours)) if detours else 0.0,
        vehicle_km=vehicle_km,
        empty_km=empty_km,
        occupancy=passenger_km / vehicle_km if vehicle_km else 0.0,
        pooled_share=len(pooled) / len(served) if served else 0.0,
        co2_shuttle_kg=vehicle_km * SHUTTLE_G_PER_KM / 1000,
        co2_car_kg=car_km * CAR_G_PER_KM / 1000,
        time_saved_vs_walk_h=sum(saved) / 3600,
        time_saved_per_rider_min=float(np.mean(saved)) / 60 if saved else 0.0,
        decision_p50_ms=_pct(decisions, 50),
        decision_p95_ms=_pct(decisions, 95),
        reoptimisations_adopted=sum(1 for e in events if e["kind"] == "reoptimise" and e["adopted"]),
        **_energy(store, events, vehicle_km, net),
        declined=declined,
        chose_shuttle_share=booked / len(bookings) if bookings else 1.0,
    )


def _energy(store: ServiceStore, events: list[dict[str, Any]], vehicle_km: float, net: Matrices) -> dict[str, Any]:
    """Energy used (kWh), charging stops, hours at the charger and the lowest battery level reached (replayed
    from the drives and charges of the log, apart from the dispatcher's own check), when the day models
    batteries."""
    battery = store.settings().battery
    if battery is None:
        return {}
    charges = [e for e in events if e["kind"] == "charge"]
    left: dict[str, float] = {}
    lowest = battery.usable_s
    for e in events:
        if e["kind"] == "drive":
            level = left.get(e["vehicle"], battery.usable_s) - float(net.time_s[e["origin"], e["destination"]])
            left[e["vehicle"]] = level
            lowest = min(lowest, level)
        elif e["kind"] == "charge":
            left[e["vehicle"]] = battery.usable_s
    return {
        "energy_kwh": vehicle_km * battery.kwh_per_km,
        "charges": len(charges),
        "charging_h": sum(e["until"] - e["t"] for e in charges) / 3600,
        "battery_low_share": lowest / battery.usable_s,
    }


def _pooled(events: list[dict[str, Any]], seats: dict[str, int]) -> set[str]:
    """Riders who shared their vehicle with another party at some point of their ride."""
    onboard: dict[str, set[str]] = defaultdict(set)
    pooled: set[str] = set()
    for e in events:
        if e["kind"] == "pickup":
            riders = onboard[e["vehicle"]]
            riders.add(e["booking"])
            if len(riders) > 1:
                pooled |= riders
        elif e["kind"] == "dropoff":
            onboard[e["vehicle"]].discard(e["booking"])
    return pooled & set(seats)


def hourly(store: ServiceStore) -> list[dict[str, float]]:
    """Per hour of the day: requests, accepted, rejected, pickups, vehicle-km and mean load."""
    table: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for e in store.events():
        hour = int(e["t"] // 3600)
        row = table[hour]
        if e["kind"] in ("request", "accept", "reject", "decline", "pickup"):
            row[e["kind"]] += 1
        elif e["kind"] == "drive":
            row["vehicle_km"] += e["dist_m"] / 1000
            row["passenger_km"] += e["dist_m"] / 1000 * e["load"]
    out = []
    for hour in sorted(table):
        row = table[hour]
        out.append(
            {
                "hour": hour,
                "requests": row["request"],
                "accepted": row["accept"],
                "rejected": row["reject"],
                "declined": row["decline"],
                "pickups": row["pickup"],
                "vehicle_km": row["vehicle_km"],
                "occupancy": row["passenger_km"] / row["vehicle_km"] if row["vehicle_km"] else 0.0,
            }
        )
    return out


def write_reports(store: ServiceStore, kpis: DayKpis, out_dir: Path) -> list[Path]:
    """kpis.json, kpis.csv, hourly.csv and kpis.png (requests and occupancy over the day)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "kpis.json", out_dir / "kpis.csv", out_dir / "hourly.csv", out_dir / "kpis.png"]
    paths[0].write_text(json.dumps(asdict(kpis), indent=2))
    with paths[1].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kpi", "value"])
        writer.writerows(kpis.rows())
    series = hourly(store)
    with paths[2].open("w", newline="") as handle:
        table = csv.DictWriter(handle, fieldnames=list(series[0]) if series else ["hour"])
        table.writeheader()
        table.writerows(series)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    hours = [r["hour"] for r in series]
    top.bar(hours, [r["accepted"] for r in series], label="accepted", color="#2a9d8f")
    top.bar(
        hours,
        [r["rejected"] for r in series],
        bottom=[r["accepted"] for r in series],
        label="rejected",
        color="#e76f51",
    )
    if kpis.declined:
        top.bar(
            hours,
            [r["declined"] for r in series],
            bottom=[r["accepted"] + r["rejected"] for r in series],
            label="declined (walking and transit were better)",
            color="#9a9a9a",
        )
    top.set_ylabel("requests per hour")
    top.legend()
    bottom.plot(hours, [r["occupancy"] for r in series], marker="o", label="mean load (passenger-km / vehicle-km)")
    bottom.plot(hours, [r["vehicle_km"] / 10 for r in series], marker="s", label="vehicle-km / 10")
    bottom.set_xlabel("hour of the service day")
    bottom.legend()
    fig.suptitle("Shuttle service day")
    fig.tight_layout()
    fig.savefig(paths[3], dpi=100)
    plt.close(fig)
    return paths
