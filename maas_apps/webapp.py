"""What the Streamlit app (``app.py``) shows, built from the packages: resources, cards, maps, fleet days.

Nothing here imports Streamlit, so the page logic can be tested without a browser; ``app.py``
only lays these out.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import re
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # for annotations only: pydeck is imported where a map is drawn
    import pydeck as pdk

    from dispatch.access_gain import AccessGain

from dispatch.battery import BatteryModel
from dispatch.day import DayConfig, open_day, shuttle_network
from dispatch.fleet_view import FleetSnapshot, ShuttleState
from dispatch.network import ShuttleNetwork
from dispatch.online import OnlineParams, VehiclePlan, objective_settings
from dispatch.quotes import ShuttleDispatcher
from dispatch.service import ServiceStore
from dispatch.service_day import DaySettings
from maas.area import Area, load_area
from maas.cache import cache_dir, write_bytes
from maas.errors import MaasError
from planner.area_data import AreaData, load_area_data
from planner.itinerary import Itinerary, ShuttleLeg, TransitLeg
from planner.places import PlaceIndex
from planner.router import Planner

MODE_COLOURS = {
    "walk": "#6c757d",
    "bike": "#2a9d8f",
    "car": "#264653",
    "shuttle": "#c2185b",  # magenta: never mistaken for the metro's orange
    "bus": "#007ac9",
    "tram": "#00985f",
    "subway": "#ff6319",
    "rail": "#8c4799",
    "ferry": "#00b9e4",
    "other": "#333333",
}
# the map's ground: water and the shore blue, parks green, buildings a grey a shade darker than the page
BACKGROUND_COLOURS = {
    "water": [166, 206, 227, 255],
    "park": [204, 235, 197, 255],
    "building": [222, 222, 222, 255],
    "street": [165, 165, 165, 255],
}
APP_DIR_ENV = "MAAS_APP_DIR"
LIVE_DB_ENV = "MAAS_APP_LIVE_DB"  # `maas app --db FILE`: the live day is that file (e.g. from `maas simulate --until`)


@dataclass
class AppResources:
    area: Area
    data: AreaData
    planner: Planner
    network: ShuttleNetwork
    places: PlaceIndex
    app_dir: Path
    background: str | None = None  # water, parks, buildings and coastline as one PNG data URL
    pick_points: list[dict[str, float]] | None = None


def app_dir(area: Area) -> Path:
    """Where the app keeps its service days: ``$MAAS_APP_DIR`` or the cache directory."""
    root = Path(os.environ[APP_DIR_ENV]) if os.environ.get(APP_DIR_ENV) else cache_dir() / area.name / "app"
    root.mkdir(parents=True, exist_ok=True)
    return root


def load_resources(area_name: str = "helsinki", data_dir: str | None = None) -> AppResources:
    """Everything the app shares between sessions: area data, a planner, the shuttle network, the place index."""
    area = load_area(area_name, data_dir)
    data = load_area_data(area)
    planner = Planner(data)
    planner.warm_up()  # the first rider's plan then does not wait for the searches' code to load
    return AppResources(area, data, planner, shuttle_network(data), PlaceIndex.for_area(data), app_dir(area))


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}"


def live_store(res: AppResources) -> ServiceStore:
    """The day the planner's shuttle bookings go to: ``maas app --db FILE``'s day, else a day of the app's own
    (the fleet at the depot, no other riders yet)."""
    store = ServiceStore(live_day_path(res))
    if not store.is_initialised():
        service = res.area.shuttle
        assert service is not None
        depot = res.network.snap(*service.depot)
        start, end = service.hours_s
        battery = BatteryModel.for_fleet(service.fleet)
        plans = [
            VehiclePlan(
                f"shuttle-{k + 1:02d}",
                service.fleet.seats,
                service.fleet.wheelchair_places,
                depot,
                start,
                battery_s=battery.usable_s if battery else math.inf,
                home=depot if battery else -1,
            )
            for k in range(service.fleet.size)
        ]
        settings = DaySettings(start, end, depot, OnlineParams(**objective_settings(service.objective)), battery)
        store.initialise(settings, plans, [], {"area": res.area.name, "demand": "bookings from the app"})
    return store


def live_day_path(res: AppResources) -> Path:
    """The live service day's database: ``$MAAS_APP_LIVE_DB`` (``maas app --db``), else the app's own."""
    return Path(os.environ[LIVE_DB_ENV]) if os.environ.get(LIVE_DB_ENV) else res.app_dir / "live-day.sqlite"


def _day_clock(store: ServiceStore) -> float | None:
    """The day's clock in seconds (inf once it has run to its end); None when the file holds no day."""
    try:
        return float(store.meta("clock_s"))
    except (MaasError, ValueError):
        return None


def day_label(res: AppResources, path: Path) -> str:
    """A day's name as a person reads it."""
    if path == live_day_path(res):
        store = ServiceStore(path)
        try:
            clock = _day_clock(store)
        finally:
            store.close()
        if clock is None:
            return "Live day (the planner's bookings)"
        at = "over" if not math.isfinite(clock) else f"clock at {_clock(clock)}"
        return f"Live day (the planner's bookings; {at})"
    match = re.fullmatch(r"day-seed(\d+)-req(\d+)-fleet(\d+)\.sqlite", path.name)
    if match:
        return f"Simulated day: seed {match[1]}, {match[2]} requests, {match[3]} shuttles"
    return path.stem


def default_view_time(store: ServiceStore, start: float, end: float) -> dt.time:
    """Where the fleet page opens a day: a live day at its clock, a finished one at 08:00 (within the hours)."""
    clock = _day_clock(store)
    live = clock is not None and math.isfinite(clock) and start <= clock < end
    seconds = clock if live and clock is not None else max(start, min(8 * 3600.0, end - 300))
    seconds = int(seconds) // 300 * 300
    return dt.time(seconds // 3600, seconds // 60 % 60)


@dataclass(frozen=True, slots=True)
class TripRequest:
    origin: tuple[float, float]  # (lat, lon)
    destination: tuple[float, float]
    when: dt.datetime
    arrive_by: bool = False
    modes: tuple[str, ...] = ("walk", "transit")
    max_walk_m: float | None = None
    max_transfers: int | None = None
    wheelchair: bool = False


@dataclass(frozen=True, slots=True)
class TripAnswer:
    itineraries: tuple[Itinerary, ...]
    message: str  # a plain sentence for the rider when there is nothing (or something to know)
    seconds: float


def plan_trip(res: AppResources, request: TripRequest) -> TripAnswer:
    """Plan as the app does: errors become messages, never tracebacks."""
    import time

    started = time.perf_counter()
    modes = tuple(request.modes)
    shuttle = None
    if "shuttle" in modes:
        if res.area.shuttle is None:
            modes = tuple(m for m in modes if m != "shuttle")
        else:
            shuttle = ShuttleDispatcher(
                live_store(res),
                res.network,
                res.area.shuttle,
                wheelchairs=1 if request.wheelchair else 0,
                service_date=res.area.service_date,
            )
    if "shuttle" in modes and "transit" not in modes:
        modes = (*modes, "transit")  # the shuttle feeds the metro
    kwargs: dict[str, Any] = {"arrive_by" if request.arrive_by else "depart_at": request.when}
    planner, realtime_note = realtime_planner(res)
    try:
        result = planner.plan(
            request.origin,
            request.destination,
            modes=modes,
            max_walk_m=request.max_walk_m,
            max_transfers=request.max_transfers,
            shuttle=shuttle,
            wheelchair=request.wheelchair,
            **kwargs,
        )
    except MaasError as error:
        return TripAnswer((), str(error), time.perf_counter() - started)
    message = "" if len(result) else f"No journey found: {result.reason}."
    if realtime_note:
        message = f"{message} {realtime_note}".strip()
    return TripAnswer(tuple(result), message, time.perf_counter() - started)


REALTIME_ENV = "MAAS_APP_REALTIME"  # `maas app --realtime FILE|URL`: TripUpdates applied to every plan
REALTIME_REFRESH_ENV = "MAAS_APP_REALTIME_REFRESH_S"  # `maas app --realtime-refresh`: seconds between URL reads
_realtime_lock = threading.Lock()
_realtime_cache: dict[str, tuple[float, float, Planner, str]] = {}  # location -> (read at, mtime, planner, note)


def realtime_planner(res: AppResources) -> tuple[Planner, str]:
    """The planner with ``maas app --realtime``'s feed applied (re-read when the file changes, or a URL
    every ``--realtime-refresh`` seconds, default 60), and a note for the rider when the feed cannot be
    used; the static planner without one."""
    import time

    location = os.environ.get(REALTIME_ENV, "")
    if not location:
        return res.planner, ""
    from maas.errors import RealtimeFeedError
    from planner.realtime import load_trip_updates

    is_url = location.startswith(("http://", "https://"))
    with _realtime_lock:
        now = time.monotonic()
        mtime = 0.0 if is_url else (Path(location).stat().st_mtime if Path(location).exists() else -1.0)
        cached = _realtime_cache.get(location)
        refresh_s = float(os.environ.get(REALTIME_REFRESH_ENV, "60"))
        fresh = cached is not None and (now - cached[0] < refresh_s if is_url else cached[1] == mtime)
        if not fresh:
            try:
                planner, report = res.planner.with_realtime(load_trip_updates(location))
                note = f"Real-time information may be out of date ({report.stale})." if report.stale else ""
            except RealtimeFeedError as error:
                reason = error.problems[0].message
                planner, note = res.planner, f"Real-time information is unavailable ({reason}); times as timetabled."
            _realtime_cache[location] = (now, mtime, planner, note)
        _, _, planner, note = _realtime_cache[location]
        return planner, note


def date_range(res: AppResources) -> tuple[dt.date, dt.date] | None:
    """The dates a rider may pick: the feeds' service dates and the morning after the last (night trips)."""
    dates = res.data.service_dates
    return (dates[0], dates[-1] + dt.timedelta(days=1)) if dates else None


def date_note(res: AppResources, day: dt.date) -> str:
    """A sentence for a date the feeds have no service of their own on ("" on a service date)."""
    dates = res.data.service_dates
    if not dates or res.data.has_service(day):
        return ""
    from planner.gtfs_feed import describe_dates

    night = (
        " Trips just after midnight still ride the night before's service."
        if res.data.has_service(day - dt.timedelta(days=1))
        else ""
    )
    served = describe_dates(list(dates))
    return f"No transit runs on {day:%A} {day.isoformat()}: the timetable has service on {served}.{night}"


def card(it: Itinerary) -> dict[str, str]:
    """The facts of an itinerary's card."""
    shuttle = [leg for leg in it.legs if isinstance(leg, ShuttleLeg)]
    facts = {
        "depart": it.clock(it.depart),
        "arrive": it.clock(it.arrive),
        "duration": f"{math.ceil(it.duration_s / 60)} min",
        "transfers": str(it.transfers),
        "walking": f"{it.walking_m:.0f} m",
        "CO2": f"{it.co2_g:.0f} g",
        "fare": it.fare_text,
        "step-free": it.step_free_text,
        "via": " → ".join(_leg_label(leg) for leg in it.legs),
    }
    if shuttle:
        leg = shuttle[0]
        facts["shuttle pickup"] = f"{it.clock(leg.pickup_earliest)}–{it.clock(leg.pickup_latest)}"
    return facts


def timeline_markdown(it: Itinerary) -> str:
    """The itinerary leg by leg as a Markdown list a card can show in full: times, what, from and to,
    distance, and a ride's intermediate stops (collapsed to their count beyond three)."""
    lines = []
    for row, leg in zip(timeline(it), it.legs, strict=True):
        text = f"- **{row['from']}–{row['to']}** {row['leg']}: {row['start']} → {row['end']} ({row['distance']})"
        if isinstance(leg, TransitLeg) and leg.delay_text:
            text += f" · **{leg.delay_text}**"
        if isinstance(leg, TransitLeg):
            text += "".join(f"  \n  ⚠ {alert}" for alert in leg.alerts)
        if isinstance(leg, TransitLeg) and leg.intermediate_stops:
            names = [stop.name for stop in leg.intermediate_stops]
            shown = ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:2])} and {len(names) - 2} more"
            text += f"  \n  via {shown}"
        lines.append(text)
    return "\n".join(lines)


def mode_strip_html(it: Itinerary) -> str:
    """A bar of the itinerary's legs, each as wide as its share of the trip and in its mode's colour,
    labelled with the line (e.g. M1) where there is room; HTML for ``st.markdown``."""
    total = max(it.duration_s, 1.0)
    parts = []
    for leg in it.legs:
        share = max(100 * (leg.end - leg.start) / total, 2.0)
        colour = MODE_COLOURS.get(str(leg.mode), MODE_COLOURS["other"])
        label = leg.route_short_name if isinstance(leg, TransitLeg) else str(leg.mode)
        text = html.escape(label) if share >= 12 else ""
        parts.append(
            f'<span title="{html.escape(_leg_label(leg))}" style="display:inline-block;width:{share:.1f}%;'
            f"background:{colour};color:white;font-size:0.7rem;text-align:center;overflow:hidden;"
            f'white-space:nowrap;height:16px;line-height:16px">{text}</span>'
        )
    return f'<div style="display:flex;gap:2px;border-radius:4px;overflow:hidden">{"".join(parts)}</div>'


def _leg_label(leg: Any) -> str:
    if isinstance(leg, TransitLeg):
        return f"{leg.mode} {leg.route_short_name}"
    return str(leg.mode)


def timeline(it: Itinerary) -> list[dict[str, str]]:
    """The itinerary leg by leg as table rows: local times, mode and line, from, to, distance."""
    rows = []
    for leg in it.legs:
        what = _leg_label(leg)
        if isinstance(leg, TransitLeg):
            what += f" towards {leg.headsign}"
        if isinstance(leg, ShuttleLeg):
            what += f" ({leg.vehicle}, pickup {it.clock(leg.pickup_earliest)}–{it.clock(leg.pickup_latest)})"
        rows.append(
            {
                "from": it.clock(leg.start),
                "to": it.clock(leg.end),
                "leg": what,
                "start": leg.origin.name,
                "end": leg.destination.name,
                "distance": f"{leg.distance_m:.0f} m",
            }
        )
    return rows


def book_shuttle(res: AppResources, it: Itinerary, wheelchair: bool = False) -> str:
    """Book the itinerary's shuttle leg; the answer as a sentence."""
    legs = [leg for leg in it.legs if isinstance(leg, ShuttleLeg)]
    if not legs or res.area.shuttle is None:
        return "This itinerary has no shuttle leg."
    dispatcher = ShuttleDispatcher(live_store(res), res.network, res.area.shuttle, 1 if wheelchair else 0)
    decision = dispatcher.book(legs[0])
    if not decision.accepted:
        return f"Sorry, the shuttle can no longer take this ride: {decision.reason}."
    assert decision.promised_earliest_s is not None and decision.promised_latest_s is not None
    place = " with a wheelchair place" if wheelchair else ""
    return (
        f"Booked {decision.booking} on {decision.vehicle}{place}: pickup between "
        f"{_clock(decision.promised_earliest_s)} and {_clock(decision.promised_latest_s)}."
    )


def _rgb(hex_colour: str, alpha: int = 255) -> list[int]:
    value = hex_colour.lstrip("#")
    return [int(value[k : k + 2], 16) for k in (0, 2, 4)] + [alpha]


GROUND_WIDTH_PX = 1600
# an inline base style with no sources: without one, Streamlit's map falls back to Carto's hosted
# style, and a browser with no internet then waits seconds for that request to fail
_LAND = {"id": "land", "type": "background", "paint": {"background-color": "#f4f3ef"}}
OFFLINE_MAP_STYLE = "data:application/json," + urllib.parse.quote(
    json.dumps({"version": 8, "sources": {}, "layers": [_LAND]}, separators=(",", ":"))
)


def ground_image_path(area: Area, cache: str | Path | None = None) -> Path:
    """Where the map's ground image of ``area`` is kept (keyed by the extract's content and the colours)."""
    from maas.cache import cache_key

    assert area.osm_file is not None
    zones = _zone_polygons(area)
    drawn = {"width": GROUND_WIDTH_PX, "colours": BACKGROUND_COLOURS, "zone_colour": MODE_COLOURS["shuttle"]}
    key = cache_key("map-ground", 4, [area.osm_file], {**drawn, "zones": zones})
    return cache_dir(cache) / area.name / f"map-ground-{key}.png"


def _zone_polygons(area: Area) -> list[tuple[tuple[float, float], ...]]:
    """The corners (lon, lat) of each of the area's shuttle zones."""
    return [z.polygon for z in area.shuttle.zones] if area.shuttle else []


def ground_image(area: Area, cache: str | Path | None = None) -> bytes:
    """The extract's water, parks, buildings and coastline as one PNG over the area's box, drawn once
    per extract and kept in the cache (one image is far lighter for a browser than thousands of
    polygons); empty when the area has no extract."""
    if area.osm_file is None:
        return b""
    path = ground_image_path(area, cache)
    if not path.is_file():
        png = _draw_ground(area.osm_file, area.bbox, GROUND_WIDTH_PX, _zone_polygons(area))
        write_bytes(path, png)
    return path.read_bytes()


def _background_image(res: AppResources) -> str:
    """The ground image as a data URL, read once per process."""
    if res.background is None:
        import base64

        res.background = "data:image/png;base64," + base64.b64encode(ground_image(res.area)).decode()
    return res.background


def _draw_ground(
    osm_file: Path,
    bbox: tuple[float, float, float, float],
    width_px: int,
    zones: Sequence[Sequence[tuple[float, float]]],
) -> bytes:
    """Water, parks, buildings, streets, the coastline and names of ``osm_file``, and the shuttle ``zones``
    (lon, lat corners), as a transparent 32-colour PNG of ``bbox``. Static, so drawn once: each vector
    layer a browser draws instead costs it a shader program and a redraw on every update."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection
    from PIL import Image

    from planner.map_features import read_map_features

    west, south, east, north = bbox
    height_px = int(width_px * (north - south) / ((east - west) * math.cos(math.radians((south + north) / 2))))
    fig = plt.figure(figsize=(width_px / 100, height_px / 100), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.axis("off")
    features = read_map_features(osm_file)
    for kind, key in (("water", "water"), ("parks", "park"), ("buildings", "building")):
        colour = [c / 255 for c in BACKGROUND_COLOURS[key]]
        ax.add_collection(PolyCollection(getattr(features, kind), facecolors=[colour], edgecolors="none"))
    water = [c / 255 for c in BACKGROUND_COLOURS["water"]]
    ax.add_collection(LineCollection(features.coastline, colors=[water], linewidths=1.5))
    street = [c / 255 for c in BACKGROUND_COLOURS["street"]]
    ax.add_collection(LineCollection(features.streets, colors=[street], linewidths=0.6))
    ax.add_collection(LineCollection(features.main_streets, colors=[street], linewidths=1.3))
    zone = [c / 255 for c in _rgb(MODE_COLOURS["shuttle"])]
    ax.add_collection(
        PolyCollection(
            [list(z) for z in zones], facecolors=[(*zone[:3], 0.12)], edgecolors=[(*zone[:3], 0.8)], linewidths=2.0
        )
    )
    _draw_labels(ax, features.labels, bbox)
    drawn = io.BytesIO()
    fig.savefig(drawn, format="png", transparent=True)
    plt.close(fig)
    # a handful of flat colours: a 32-colour palette makes the PNG a third of the size, and the
    # browser decodes it that much sooner
    image = Image.open(io.BytesIO(drawn.getvalue())).convert("RGBA")
    small = io.BytesIO()
    image.quantize(colors=32, method=Image.Quantize.FASTOCTREE).save(small, format="PNG", optimize=True)
    return small.getvalue()


LABEL_STYLES: dict[str, dict[str, Any]] = {  # how each kind of map name is printed
    "street": {"fontsize": 6.5, "color": "#505050", "ha": "center", "fontstyle": "italic"},
    "district": {"fontsize": 8, "color": "#707070", "ha": "center", "fontweight": "bold"},
    "station": {"fontsize": 8.5, "color": "#202020", "ha": "left", "fontweight": "bold"},
}


def _draw_labels(ax: Any, labels: Any, bbox: tuple[float, float, float, float]) -> None:
    """District names (large, grey) and stations (a dot and the name) inside ``bbox``, drawn into the
    ground image with a white halo: deck.gl's text layer draws empty boxes in some browsers, an
    image never does."""
    from matplotlib import patheffects

    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    west, south, east, north = bbox
    for label in labels:
        if not (west <= label.lon <= east and south <= label.lat <= north):
            continue
        text = label.text.upper() if label.kind == "district" else label.text
        if label.kind == "station":
            ax.plot([label.lon], [label.lat], marker="o", markersize=4, color="#202020", path_effects=halo)
            text = f"  {text}"
        style = LABEL_STYLES[label.kind]
        rotation = {"rotation": label.angle_deg, "rotation_mode": "anchor"} if label.kind == "street" else {}
        ax.text(label.lon, label.lat, text, va="center", path_effects=halo, **style, **rotation)


def _street_layers(res: AppResources) -> list[Any]:
    """Offline context for the map (no tile server needed): water, parks, buildings, streets, names and
    the shuttle zones, all in one image."""
    import pydeck as pdk

    # (a plain string would be read as an accessor expression by deck.gl's JSON converter)
    image = pdk.types.String(_background_image(res))
    return [pdk.Layer("BitmapLayer", None, id="ground", image=image, bounds=list(res.area.bbox))]


def click_points(res: AppResources) -> list[dict[str, float]]:
    """Points on the walkable streets a map click can pick (pydeck picks objects, not coordinates):
    walk-graph nodes thinned to one per ~30 m cell."""
    if res.pick_points is None:
        walk = res.data.streets["walk"]
        cells = np.column_stack([np.round(walk.node_lon / 0.00055), np.round(walk.node_lat / 0.00027)])
        _, first = np.unique(cells, axis=0, return_index=True)
        res.pick_points = [
            {"lon": round(float(walk.node_lon[i]), 5), "lat": round(float(walk.node_lat[i]), 5)} for i in sorted(first)
        ]
    return res.pick_points


def trip_map(
    res: AppResources, it: Itinerary | None, origin: Any, destination: Any, clickable: bool = True
) -> pdk.Deck:
    """A pydeck map of the chosen itinerary, legs coloured by mode, over the streets and shuttle zones."""
    import pydeck as pdk

    layers = _street_layers(res)
    if clickable:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                click_points(res),
                id="pick",
                get_position=["lon", "lat"],
                get_radius=15,  # neighbouring points (~30 m apart) touch: a click on a street hits one
                radius_min_pixels=5,
                get_fill_color=[0, 0, 0, 0],
                pickable=True,
                auto_highlight=True,
                highlight_color=[231, 111, 81, 200],
            )
        )
    if it is not None:
        layers.append(dots_layer("legs", leg_dots(it), min_pixels=2))
        layers += _stop_marker_layers(it)
    ends = [
        {"lon": p[1], "lat": p[0], "colour": colour}
        for p, colour in ((origin, [42, 157, 143, 255]), (destination, [200, 30, 30, 255]))
        if p is not None
    ]
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            ends,
            id="ends",
            get_position=["lon", "lat"],
            get_fill_color="colour",
            get_radius=40,
            radius_min_pixels=7,
        )
    )
    # zoom to the trip, else to the two places chosen, else to the whole area
    coords = [c for leg in it.legs for c in leg.geometry] if it is not None else []
    coords += [(p[1], p[0]) for p in (origin, destination) if p is not None]
    view = _view_over(coords, res.area.bbox)
    return pdk.Deck(layers=layers, initial_view_state=view, map_style=OFFLINE_MAP_STYLE, tooltip=False)


def _view_over(points: Sequence[Sequence[float]], otherwise: tuple[float, float, float, float]) -> pdk.ViewState:
    """A view over the (lon, lat) ``points`` (else over the box ``otherwise``, west, south, east, north),
    zoomed so that they fill the map panel (between city and street level)."""
    import pydeck as pdk

    west, south, east, north = otherwise
    if len(points):
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        west, south, east, north = min(lons), min(lats), max(lons), max(lats)
    span = max(east - west, (north - south) * 2, 0.005)
    zoom = max(11.0, min(16.0, math.log2(360 / span) - 0.5))
    return pdk.ViewState(longitude=(west + east) / 2, latitude=(south + north) / 2, zoom=zoom)


LEG_DOTS = {"walk": (4.0, 10.0)}  # mode -> (dot radius, spacing) in metres; walking is dotted
RIDE_DOTS = (8.0, 6.0)  # rides: dots that overlap into a line 16 m wide


def leg_dots(it: Itinerary) -> list[dict[str, Any]]:
    """Each leg's line as dots along its geometry in the leg's colour: drawn by the same deck.gl program
    as the map's other points, so showing a trip costs a browser without a GPU no new shader (a path
    layer's took it seconds)."""
    dots: list[dict[str, Any]] = []
    for leg in it.legs:
        radius, spacing = LEG_DOTS.get(leg.mode, RIDE_DOTS)
        dots += dots_along(leg.geometry, radius, spacing, _rgb(MODE_COLOURS.get(leg.mode, "#333333")))
    return dots


def dots_along(
    line: Sequence[Sequence[float]], radius: float, spacing: float, colour: list[int]
) -> list[dict[str, Any]]:
    """Points every ``spacing`` metres along ``line`` ((lon, lat) points), from its first point to its last."""
    from planner.street_graph import haversine_m

    if len(line) == 0:
        return []
    points = np.asarray(line, dtype=float)
    steps = haversine_m(points[:-1, 0], points[:-1, 1], points[1:, 0], points[1:, 1])
    along = np.concatenate([[0.0], np.cumsum(steps)])
    at = np.append(np.arange(0.0, along[-1], spacing), along[-1])
    lons, lats = np.interp(at, along, points[:, 0]), np.interp(at, along, points[:, 1])
    return [
        {"lon": round(float(x), 6), "lat": round(float(y), 6), "colour": colour, "radius": radius}
        for x, y in zip(lons, lats, strict=True)
    ]


def dots_layer(layer_id: str, dots: list[dict[str, Any]], min_pixels: float) -> Any:
    """A point layer of ``dots`` (``dots_along``'s records: position, colour, radius in metres), each at
    least ``min_pixels`` across whatever the zoom."""
    import pydeck as pdk

    return pdk.Layer(
        "ScatterplotLayer",
        dots,
        id=layer_id,
        get_position=["lon", "lat"],
        get_fill_color="colour",
        get_radius="radius",
        radius_min_pixels=min_pixels,
    )


def stop_markers(it: Itinerary) -> list[dict[str, Any]]:
    """Where the rider boards and alights a vehicle (transit and shuttle legs): position, label, colour."""
    out: list[dict[str, Any]] = []
    for leg in it.legs:
        if leg.mode == "walk" or not leg.geometry:
            continue
        colour = _rgb(MODE_COLOURS.get(leg.mode, "#333333"))
        if isinstance(leg, TransitLeg):
            ends = (
                (leg.origin.lon, leg.origin.lat, leg.origin.name),
                (leg.destination.lon, leg.destination.lat, leg.destination.name),
            )
        else:
            first, last = leg.geometry[0], leg.geometry[-1]
            ends = ((first[0], first[1], f"{leg.mode} pickup"), (last[0], last[1], f"{leg.mode} drop-off"))
        for (lon, lat, name), verb in zip(ends, ("board", "alight"), strict=True):
            at = it.clock(leg.start if verb == "board" else leg.end)
            out.append({"lon": lon, "lat": lat, "colour": colour, "label": f"{at} {verb}: {name}"})
    return out


def _stop_marker_layers(it: Itinerary) -> list[Any]:
    """White dots ringed in the leg's colour at each boarding and alighting (the timeline names them:
    deck.gl's text labels drew as empty boxes in Chromium)."""
    import pydeck as pdk

    markers = stop_markers(it)
    return [
        pdk.Layer(
            "ScatterplotLayer",
            markers,
            id="stops",
            get_position=["lon", "lat"],
            get_fill_color=[255, 255, 255, 255],
            get_line_color="colour",
            stroked=True,
            line_width_min_pixels=3,
            get_radius=15,
            radius_min_pixels=6,
        ),
    ]


def trip_legend(it: Itinerary | None) -> list[tuple[str, str]]:
    """(label, colour) of what the trip map shows: the chosen trip's modes, its stops, the ends, the zones."""
    entries: list[tuple[str, str]] = []
    if it is not None:
        for leg in it.legs:
            entry = (_leg_label(leg), MODE_COLOURS.get(leg.mode, "#333333"))
            if entry not in entries:
                entries.append(entry)
    entries += [("from", "#2a9d8f"), ("to", "#c81e1e"), ("shuttle zone", MODE_COLOURS["shuttle"] + "55")]
    entries += [("water", _hex(BACKGROUND_COLOURS["water"])), ("park", _hex(BACKGROUND_COLOURS["park"]))]
    return entries


def shuttle_row(shuttle: ShuttleState) -> dict[str, object]:
    """A shuttle as a row of the fleet page's table: what it is doing and who is on board."""
    doing = "charging" if shuttle.charging else ("driving" if shuttle.moving else "waiting")
    return {"shuttle": shuttle.vehicle, "doing": doing, "on board": shuttle.load}


CHARGING_COLOUR = "#f4a100"  # amber: a shuttle out of service while it charges


def fleet_legend() -> list[tuple[str, str]]:
    """(label, colour) of what the fleet map shows."""
    return [
        ("shuttle driving (size: riders on board)", MODE_COLOURS["shuttle"]),
        ("shuttle waiting", "#6c757d"),
        ("shuttle charging at the depot", CHARGING_COLOUR),
        ("rider waiting for pickup", "#007ac9"),
        ("route ahead", "#264653"),
    ]


def legend_html(entries: list[tuple[str, str]]) -> str:
    """A one-line legend of coloured chips, as HTML for ``st.markdown``."""
    chips = "".join(
        f'<span style="display:inline-block;margin-right:14px;white-space:nowrap">'
        f'<span style="display:inline-block;width:22px;height:8px;border-radius:4px;background:{colour};'
        f'margin-right:5px;vertical-align:middle"></span>{html.escape(label)}</span>'
        for label, colour in entries
    )
    return f'<div style="font-size:0.85rem;line-height:1.9">{chips}</div>'


def fleet_map(res: AppResources, snapshot: FleetSnapshot) -> pdk.Deck:
    """The fleet page's map: streets, each shuttle's route ahead, shuttles by load, waiting riders."""
    import pydeck as pdk

    layers = _street_layers(res)
    route_colour = [38, 70, 83, 150]
    routes = [dot for s in snapshot.shuttles for dot in dots_along(s.route_ahead, 5.0, 5.0, route_colour)]
    layers.append(dots_layer("routes", routes, min_pixels=1.5))
    riders = [
        {
            "lon": r.lon,
            "lat": r.lat,
            "text": f"{r.booking} waits: pickup {_clock(r.promised_earliest_s)}–{_clock(r.promised_latest_s)}",
        }
        for r in snapshot.waiting
    ]
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            riders,
            id="waiting",
            get_position=["lon", "lat"],
            get_fill_color=[0, 122, 201, 220],
            get_radius=12,
            radius_min_pixels=4,
            pickable=True,
        )
    )
    shuttles = [
        {
            "lon": s.lon,
            "lat": s.lat,
            "radius": 20 + 6 * s.load,
            "colour": _rgb(MODE_COLOURS["shuttle"])
            if s.moving
            else (_rgb(CHARGING_COLOUR) if s.charging else [108, 117, 125, 255]),
            "text": f"{s.vehicle}: "
            + ("charging at the depot" if s.charging else f"{s.load} on board{'' if s.moving else ', waiting'}"),
        }
        for s in snapshot.shuttles
    ]
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            shuttles,
            id="shuttles",
            get_position=["lon", "lat"],
            get_fill_color="colour",
            get_radius="radius",
            radius_min_pixels=6,
            pickable=True,
        )
    )
    # the shuttle zones, where the fleet works (else the whole area)
    view = _view_over([c for zone in _zone_polygons(res.area) for c in zone], res.area.bbox)
    return pdk.Deck(layers=layers, initial_view_state=view, map_style=OFFLINE_MAP_STYLE, tooltip={"text": "{text}"})


def day_path(res: AppResources, config: DayConfig) -> Path:
    """The database of a seeded day run from the fleet page."""
    return res.app_dir / f"day-seed{config.seed}-req{config.requests}-fleet{config.fleet}.sqlite"


def simulated_days(res: AppResources) -> list[Path]:
    """The live day (when it exists) first, then the seeded days run from the fleet page."""
    live = live_day_path(res)
    return ([live] if live.is_file() else []) + sorted(res.app_dir.glob("day-*.sqlite"))


def run_day(res: AppResources, config: DayConfig, progress: Callable[[str], None]) -> Path:
    """Run a seeded day into its own database (or return the finished one already there)."""
    path = day_path(res, config)
    store = open_day(path, res.data, res.network, config, progress)
    store.run(res.network, progress)
    store.close()
    return path


def kpi_rows(store: ServiceStore, res: AppResources) -> list[tuple[str, str]]:
    """The day's KPIs as (measure, value) rows."""
    from dispatch.kpi import compute_kpis

    return compute_kpis(store, res.network).rows()


def hourly_table(store: ServiceStore) -> list[dict[str, float]]:
    """Requests, accepted, rejected, declined and vehicle-km hour by hour."""
    from dispatch.kpi import hourly

    return hourly(store)


def service_hours(res: AppResources) -> tuple[float, float]:
    """The shuttle's operating hours in seconds (07:00-19:00 for an area without a shuttle)."""
    service = res.area.shuttle
    if service is None:
        return 7 * 3600.0, 19 * 3600.0
    return service.hours_s


def match_note(query: str, matches: Sequence[Any]) -> str:
    """What the place picker says when no place has exactly the name typed ("" when one has)."""
    from planner.places import is_exact

    if not matches or matches[0].kind == "coordinates" or is_exact(query, matches[0].name):
        return ""
    shown = ", ".join(f"{m.name} ({m.kind})" for m in matches[:3])
    return f"No place in this area is called “{query.strip()}”; names that contain it: {shown}. Check the choice above."


def names(places: Sequence[Any]) -> list[str]:
    """Search matches as the place picker lists them: "name (kind)"."""
    return [f"{p.name} ({p.kind})" for p in places]


def access_gain(res: AppResources, store: ServiceStore, label: str) -> AccessGain | None:
    """The shuttle's accessibility gain for the residents of its zones, at the service level of the day
    in ``store`` (None when the area has no population cells or the day has no finished ride yet)."""
    from dispatch.access_gain import GainSettings, ServiceLevel, shuttle_gain
    from dispatch.model import DispatchError
    from planner.points import read_opportunities

    service = res.area.shuttle
    if service is None or res.area.population_file is None:
        return None
    try:
        level = ServiceLevel.of_day(store, res.network, label)
    except DispatchError:
        return None
    cells = read_opportunities(res.area.population_file, "population")
    depart = dt.datetime.combine(res.data.timetable.service_date, dt.time(8, 0))
    return shuttle_gain(res.planner, res.network, service, cells, level, GainSettings(depart))


def gain_legend() -> list[tuple[str, str]]:
    """(label, colour) of what the gain map shows."""
    return [
        ("no gain: walking and transit are as fast", _hex(_gain_colour(0.0))),
        ("2 min per trip", _hex(_gain_colour(2.0))),
        ("5+ min per trip", _hex(_gain_colour(5.0))),
        ("shuttle zone", MODE_COLOURS["shuttle"]),
    ]


def _gain_colour(minutes: float) -> list[int]:
    """Grey for no gain, through teal to deep green at five minutes or more."""
    t = min(max(minutes, 0.0) / 5.0, 1.0)
    low, high = np.array([189, 189, 189]), np.array([0, 109, 44])
    return [*(low + t * (high - low)).astype(int).tolist(), 210]


def _hex(rgba: list[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgba[:3])


def gain_map(res: AppResources, gain: AccessGain) -> pdk.Deck:
    """The residents' cells coloured by minutes gained per trip to the hub, over the zones and streets."""
    import pydeck as pdk

    assert res.area.shuttle is not None
    layers = _street_layers(res)
    zones = [{"polygon": [list(p) for p in z.polygon], "text": z.name} for z in res.area.shuttle.zones]
    layers.append(
        pdk.Layer(
            "PolygonLayer",
            zones,
            id="zones",
            get_polygon="polygon",
            filled=False,
            stroked=True,
            get_line_color=_rgb(MODE_COLOURS["shuttle"]),
            line_width_min_pixels=2,
        )
    )
    cells = [
        {
            "lon": c.lon,
            "lat": c.lat,
            "colour": _gain_colour(c.gain_min if math.isfinite(c.gain_min) else 0.0),
            "text": f"{c.population:.0f} residents: hub {c.walk_transit_min:.0f} min on foot and transit, "
            f"{c.shuttle_min:.0f} min by shuttle; gain {c.gain_min:.1f} min per trip",
        }
        for c in gain.cells
    ]
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            cells,
            id="cells",
            get_position=["lon", "lat"],
            get_fill_color="colour",
            get_radius=70,
            pickable=True,
        )
    )
    view = pdk.ViewState(
        longitude=float(np.mean([c.lon for c in gain.cells])),
        latitude=float(np.mean([c.lat for c in gain.cells])),
        zoom=14.0,
    )
    return pdk.Deck(layers=layers, initial_view_state=view, map_style=OFFLINE_MAP_STYLE, tooltip={"text": "{text}"})
