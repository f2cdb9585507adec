"""A fleet-sizing sweep as tables and plots an operator reads: KPIs against fleet size per demand level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from maas_apps.figures import save_figure

__all__ = ["PLOTTED", "draw_sweep", "smallest_fleet", "sweep_tables"]

# (column, title, unit) of the figures drawn, one panel each
PLOTTED: tuple[tuple[str, str, str], ...] = (
    ("served_share_pct", "riders served", "%"),
    ("wait_p95_min", "wait, 95th percentile", "min"),
    ("ride_p50_min", "ride time, median", "min"),
    ("vehicle_km", "vehicle-km", "km"),
    ("empty_share_pct", "empty driving", "% of km"),
    ("occupancy", "passenger-km per vehicle-km", ""),
    ("co2_per_rider_g", "CO2 per rider", "g"),
    ("time_saved_per_rider_min", "time gained per rider vs walking", "min"),
)


def sweep_tables(rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The days (one row each, with derived figures) and their summary per fleet and demand
    (mean, min and max over the seeds)."""
    days = pd.DataFrame(rows)
    days["served_share_pct"] = 100 * days["served_share"]
    days["empty_share_pct"] = 100 * days["empty_km"] / days["vehicle_km"].where(days["vehicle_km"] > 0)
    days["co2_per_rider_g"] = 1000 * days["co2_shuttle_kg"] / days["served"].where(days["served"] > 0)
    columns = [c for c, _, _ in PLOTTED]
    summary = days.groupby(["requests", "fleet"])[columns].agg(["mean", "min", "max"])
    summary.columns = ["_".join(pair) for pair in summary.columns.to_flat_index()]
    summary = summary.reset_index()
    summary.insert(2, "days", days.groupby(["requests", "fleet"]).size().to_numpy())
    return days, summary


def smallest_fleet(summary: pd.DataFrame, requests: int, served_pct: float = 95.0) -> int | None:
    """The smallest fleet whose mean served share at ``requests`` reaches ``served_pct`` (None if none)."""
    rows = summary[(summary["requests"] == requests) & (summary["served_share_pct_mean"] >= served_pct)]
    return int(rows["fleet"].min()) if len(rows) else None


def draw_sweep(summary: pd.DataFrame, path: Path, title: str) -> None:
    """A panel per KPI: mean over seeds against fleet size, a line per demand level, the seeds' range shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(17, 7.5), layout="constrained")
    for ax, (column, name, unit) in zip(axes.flat, PLOTTED, strict=True):
        for requests, group in summary.groupby("requests"):
            group = group.sort_values("fleet")
            line = ax.plot(group["fleet"], group[f"{column}_mean"], marker="o", label=f"{requests} requests/day")
            ax.fill_between(
                group["fleet"], group[f"{column}_min"], group[f"{column}_max"], color=line[0].get_color(), alpha=0.2
            )
        if column == "served_share_pct":
            ax.axhline(95, color="grey", linestyle="--", linewidth=1)
            ax.set_ylim(0, 102)
        ax.set_title(name)
        ax.set_xlabel("shuttles in service")
        ax.set_ylabel(unit)
        ax.set_xticks(sorted(summary["fleet"].unique()))
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)
