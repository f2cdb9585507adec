"""Set up and run a shuttle service day for an area: network, fleet at the depot, demand, SQLite state."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.demand import generate_demand, read_demand_csv
from dispatch.model import DispatchError
from dispatch.network import ShuttleNetwork, load_network
from dispatch.online import OnlineParams, VehiclePlan
from dispatch.service import DaySettings, ServiceStore
from planner.area_data import AreaData


@dataclass(frozen=True, slots=True)
class DayConfig:
    fleet: int = 6
    requests: int = 1000
    hours: tuple[float, float] = (7.0, 19.0)
    seed: int = 1
    seats: int | None = None  # default: the area's fleet seats
    demand_csv: Path | None = None
    params: OnlineParams = field(default_factory=OnlineParams)

    def __post_init__(self) -> None:
        problems = []
        if self.fleet < 1:
            problems.append(f"fleet must be at least 1, got {self.fleet}")
        if self.requests < 1 and self.demand_csv is None:
            problems.append(f"requests must be at least 1, got {self.requests}")
        if not 0 <= self.hours[0] < self.hours[1] <= 30:
            problems.append(f"hours must be START-END within 0-30, got {self.hours[0]:g}-{self.hours[1]:g}")
        if self.seats is not None and self.seats < 1:
            problems.append(f"seats must be at least 1, got {self.seats}")
        if problems:
            raise DispatchError("simulation settings: " + "; ".join(problems))


def shuttle_network(data: AreaData) -> ShuttleNetwork:
    service = data.area.shuttle
    if service is None:
        raise DispatchError(f"area {data.area.name} defines no [shuttle] service")
    return load_network(data.streets["drive"], service.fleet.speed_kmh, data.area.name)


def open_day(
    db_path: Path, data: AreaData, network: ShuttleNetwork, config: DayConfig, say: Callable[[str], None]
) -> ServiceStore:
    """The day in ``db_path``: resumed if it holds one, else created with fresh demand."""
    store = ServiceStore(db_path)
    if store.is_initialised():
        extra = store.meta("extra")
        say(f"{db_path} holds a service day ({extra}); resuming it (delete the file to start a new day)")
        return store
    service = data.area.shuttle
    assert service is not None
    depot = network.snap(*service.depot)
    start_s, end_s = config.hours[0] * 3600, config.hours[1] * 3600
    seats = config.seats or service.fleet.seats
    plans = [
        VehiclePlan(
            f"shuttle-{k + 1:02d}", seats, service.fleet.wheelchair_places, depot, start_s, shift_end_s=math.inf
        )
        for k in range(config.fleet)
    ]
    if config.demand_csv is not None:
        requests = read_demand_csv(config.demand_csv, network, service)
        source = str(config.demand_csv)
    else:
        requests = generate_demand(data.area, network, data.timetable, config.requests, config.seed, config.hours)
        source = f"generated, seed {config.seed}"
    settings = DaySettings(start_s, end_s, depot, config.params)
    extra = {"area": data.area.name, "fleet": config.fleet, "seats": seats, "requests": len(requests), "demand": source}
    store.initialise(settings, plans, requests, extra)
    say(f"new service day in {db_path}: {len(requests)} requests ({source}), {config.fleet} shuttles x {seats} seats")
    return store
