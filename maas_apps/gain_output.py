"""The shuttle's accessibility gain as a table, a map and a headline."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from dispatch.access_gain import AccessGain
from maas.area import ShuttleService
from maas.errors import MaasError
from maas_apps.figures import save_figure

__all__ = ["draw_gain_map", "gain_headline", "write_gain_csv"]


def gain_headline(gain: AccessGain) -> str:
    """The figures in a few sentences, with the assumptions they rest on."""
    s = gain.settings
    lines = [
        f"{gain.residents:,.0f} residents in {len(gain.cells)} cells of the shuttle zones gain "
        f"{gain.minutes_per_trip:.1f} min per trip to or from the hub (population-weighted), "
        f"{gain.hours_per_resident_per_year:.1f} hours per resident per year "
        f"at {s.trips_per_day:g} such trip(s) a day, {s.days_per_year} days a year.",
        f"Shuttle service level from {gain.level.source}: pickup {gain.level.wait_min:.1f} min after the "
        "promised window opens (median), "
        f"ride {gain.level.detour_factor:.2f}x the direct time, "
        f"{100 * gain.level.served_share:.1f} % of riders served.",
    ]
    if gain.opportunity:
        added = ", ".join(f"+{gain.extra_opportunities(k):,.0f} within {c:g} min" for k, c in enumerate(s.cutoffs_min))
        lines.append(f"{gain.opportunity} reachable per resident (population-weighted): {added}.")
    return "\n".join(lines)


def write_gain_csv(gain: AccessGain, path: Path) -> None:
    """One row per cell: times to the hub, the gain, and opportunities within each cutoff without and with."""
    import pandas as pd

    rows = []
    for c in gain.cells:
        row = {
            "id": c.id,
            "zone": c.zone,
            "lat": round(c.lat, 6),
            "lon": round(c.lon, 6),
            "population": c.population,
            "walk_transit_to_hub_min": round(c.walk_transit_min, 2),
            "shuttle_to_hub_min": round(c.shuttle_min, 2),
            "gain_min": round(c.gain_min, 2),
        }
        for k, cutoff in enumerate(gain.settings.cutoffs_min if gain.opportunity else ()):
            row[f"{gain.opportunity}_c{cutoff:g}_without"] = c.opportunities_without[k]
            row[f"{gain.opportunity}_c{cutoff:g}_with"] = c.opportunities_with[k]
        rows.append(row)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(path, index=False)
    except OSError as exc:
        raise MaasError(f"cannot write {path}: {exc.strerror or exc}") from exc


def draw_gain_map(gain: AccessGain, service: ShuttleService, hubs: list[tuple[float, float]], path: Path) -> None:
    """Cells coloured by minutes gained per trip, the zones outlined, the hubs starred, the headline above."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lon = np.array([c.lon for c in gain.cells])
    lat = np.array([c.lat for c in gain.cells])
    minutes = np.array([c.gain_min for c in gain.cells])
    people = np.array([c.population for c in gain.cells])
    panels = 2 if gain.opportunity else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels + 0.5, 6.2), squeeze=False, layout="constrained")
    aspect = 1 / math.cos(math.radians(float(lat.mean())))
    size = 40 + 260 * people / max(float(people.max()), 1.0)
    values = [("minutes gained per trip to the hub", minutes, "viridis")]
    if gain.opportunity:
        k = len(gain.settings.cutoffs_min) - 1
        extra = np.array([c.opportunities_with[k] - c.opportunities_without[k] for c in gain.cells])
        values.append((f"{gain.opportunity} added within {gain.settings.cutoffs_min[k]:g} min", extra, "magma"))
    for ax, (title, value, cmap) in zip(axes[0], values, strict=True):
        for zone in service.zones:
            ring = np.array([*zone.polygon, zone.polygon[0]])
            ax.plot(ring[:, 0], ring[:, 1], color="#c2185b", linewidth=1.5)
            ax.annotate(zone.name, ring[:-1].mean(axis=0), color="#c2185b", fontsize=9, ha="center")
        picture = ax.scatter(lon, lat, c=value, s=size, cmap=cmap, edgecolors="grey", linewidths=0.4, marker="s")
        hub = np.array(hubs)
        ax.scatter(hub[:, 0], hub[:, 1], marker="*", s=260, color="black", label="hub station")
        ax.set_aspect(aspect)
        ax.set_title(title)
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
        ax.legend(loc="lower left", fontsize=8)
        ax.tick_params(labelsize=7)
        fig.colorbar(picture, ax=ax, shrink=0.8)
    fig.suptitle(
        f"Shuttle to the metro: {gain.hours_per_resident_per_year:.1f} hours per resident per year "
        f"({gain.minutes_per_trip:.1f} min per trip, {gain.settings.trips_per_day:g} trip(s) a day); "
        "marker size: residents",
        fontsize=11,
    )
    save_figure(fig, path, dpi=100)
