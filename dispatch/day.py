"""Set up and run a shuttle service day for an area: network, fleet at the depot, demand, SQLite state."""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.alternatives import Alternative, request_alternatives
from dispatch.battery import BatteryModel
from dispatch.demand import generate_demand, read_demand_csv
from dispatch.model import DispatchError
from dispatch.network import ShuttleNetwork, load_network
from dispatch.online import Booking, OnlineParams, VehiclePlan
from dispatch.service import ServiceStore
from dispatch.service_day import DaySettings
from planner.area_data import AreaData
from planner.street_graph import StreetGraph


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


# A drive graph up to this size is kept whole (all-pairs tables of 4,000 nodes take 64 MB each);
# a larger one (a city) is cut to the streets around the service, so memory follows the service.
WHOLE_GRAPH_MAX_NODES = 4000
SERVICE_MARGIN_M = 2000.0


def service_graph(data: AreaData) -> StreetGraph:
    """The drive streets the shuttle service needs: the whole graph of a small extract, else the
    streets within ``SERVICE_MARGIN_M`` of the box around its zones, hubs and depot (their largest
    strongly connected part, so that every pair of places has a path)."""
    service = data.area.shuttle
    drive = data.streets["drive"]
    if service is None or drive.n_nodes <= WHOLE_GRAPH_MAX_NODES:
        return drive
    tt = data.timetable
    lons = [x for zone in service.zones for x, _ in zone.polygon] + [service.depot[0]]
    lats = [y for zone in service.zones for _, y in zone.polygon] + [service.depot[1]]
    for zone in service.zones:
        for stop_id in zone.hub_stop_ids:
            k = tt.stop_index(stop_id)
            lons.append(float(tt.stop_lon[k]))
            lats.append(float(tt.stop_lat[k]))
    dlat = SERVICE_MARGIN_M / 111_320.0
    dlon = dlat / max(math.cos(math.radians(sum(lats) / len(lats))), 0.1)
    keep = (
        (drive.node_lon >= min(lons) - dlon)
        & (drive.node_lon <= max(lons) + dlon)
        & (drive.node_lat >= min(lats) - dlat)
        & (drive.node_lat <= max(lats) + dlat)
    )
    if not keep.any():
        raise DispatchError(f"area {data.area.name}: no drivable street near the shuttle's zones and hubs")
    return drive.subgraph(keep).largest_strong_component()


def shuttle_network(data: AreaData, cache: str | Path | None = None) -> ShuttleNetwork:
    """The shuttle's street network for an area: the drive graph (cut to the service's surroundings on a
    city-sized graph) with all-pairs times and distances at the shuttle's speed, cached per area (in
    ``cache``, else the default cache directory).
    """
    service = data.area.shuttle
    if service is None:
        raise DispatchError(f"area {data.area.name} defines no [shuttle] service")
    return load_network(service_graph(data), service.fleet.speed_kmh, data.area.name, cache)


def open_day(
    db_path: Path,
    data: AreaData,
    network: ShuttleNetwork,
    config: DayConfig,
    say: Callable[[str], None],
    alternatives: Mapping[str, Alternative] | None = None,
) -> ServiceStore:
    """The day in ``db_path``: resumed if it holds one, else created with fresh demand.

    Parameters
    ----------
    db_path
        The SQLite file of the day.
    data
        The area's data (hub stations and timetable for the demand).
    network
        The shuttle network's travel times and distances.
    config
        Fleet, demand, seed, hours and service parameters of a new day.
    say
        Called with a line of text (created or resumed, and how many requests).
    alternatives
        With riders choosing (``config.params.choice_margin_s``): each request's walk-and-transit option
        by booking id, when already planned (a benchmark running the same demand again); else planned here.

    Returns
    -------
    ServiceStore
        The open day, ready to run, book on or quote.
    """
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
    battery = BatteryModel.for_fleet(service.fleet)
    plans = [
        VehiclePlan(
            f"shuttle-{k + 1:02d}",
            seats,
            service.fleet.wheelchair_places,
            depot,
            start_s,
            shift_end_s=math.inf,
            battery_s=battery.usable_s if battery else math.inf,
            home=depot if battery else -1,
        )
        for k in range(config.fleet)
    ]
    if config.demand_csv is not None:
        requests = read_demand_csv(config.demand_csv, network, service)
        source = str(config.demand_csv)
    else:
        requests = generate_demand(data.area, network, data.timetable, config.requests, config.seed, config.hours)
        source = f"generated, seed {config.seed}"
    if config.params.choice_margin_s is not None:
        if alternatives is None or any(b.id not in alternatives for b in requests):
            alternatives = plan_alternatives(requests, data, network, say)
        requests = [dataclasses.replace(b, alternative_s=alternatives[b.id].moment_s) for b in requests]
    settings = DaySettings(start_s, end_s, depot, config.params, battery)
    extra = {"area": data.area.name, "fleet": config.fleet, "seats": seats, "requests": len(requests), "demand": source}
    store.initialise(settings, plans, requests, extra)
    say(f"new service day in {db_path}: {len(requests)} requests ({source}), {config.fleet} shuttles x {seats} seats")
    return store


def plan_alternatives(
    requests: Sequence[Booking], data: AreaData, network: ShuttleNetwork, say: Callable[[str], None]
) -> dict[str, Alternative]:
    """Each request's best walk-and-transit option from the area's router, by booking id."""
    from planner.router import Planner  # the router is built only for a day whose riders choose

    say(f"planning {len(requests)} riders' walk-and-transit alternatives (riders choose)")

    def progress(done: int, total: int) -> None:
        if done % 200 == 0 or done == total:
            say(f"  alternatives {done}/{total}")

    return request_alternatives(requests, network, Planner(data), data.area.service_date, progress)


@contextmanager
def temporary_day(data: AreaData, network: ShuttleNetwork, config: DayConfig) -> Iterator[ServiceStore]:
    """A day simulated to its end in a temporary database, open for reading until the block ends
    (sweeps and the accessibility gain need its figures, not the file)."""
    with tempfile.TemporaryDirectory(prefix="maas-day-") as folder:
        store = open_day(Path(folder) / "day.sqlite", data, network, config, lambda _: None)
        try:
            store.run(network)
            yield store
        finally:
            store.close()
