"""Accessibility results as files people open: a CSV table, a GeoPackage layer and a PNG map."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from maas.errors import MaasError
from maas_apps.figures import save_figure
from planner.accessibility import AccessibilitySettings
from planner.points import Point

__all__ = ["draw_accessibility_map", "write_accessibility"]


def write_accessibility(
    path: Path,
    origins: Sequence[Point],
    values: np.ndarray,
    percentiles: tuple[float, ...],
    cutoffs: tuple[float, ...],
    column: str,
) -> None:
    """``.csv``: r5py's long table (id, opportunity, percentile, cutoff, accessibility); ``.gpkg``: one
    point per origin with a column per percentile and cutoff (``jobs_p50_c30``)."""
    import pandas as pd

    n = len(origins)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".gpkg":
            import geopandas as gpd

            columns = {"id": [p.id for p in origins]}
            for k, percentile in enumerate(percentiles):
                for c, cutoff in enumerate(cutoffs):
                    columns[f"{column}_p{percentile:g}_c{cutoff:g}"] = np.round(values[:, k, c], 3).tolist()
            frame = gpd.GeoDataFrame(
                columns, geometry=gpd.points_from_xy([p.lon for p in origins], [p.lat for p in origins]), crs=4326
            )
            frame.to_file(path, layer="accessibility", driver="GPKG")
            return
        table = pd.DataFrame(
            {
                "id": np.repeat([p.id for p in origins], len(percentiles) * len(cutoffs)),
                "opportunity": column,
                "percentile": np.tile(np.repeat(_whole(percentiles), len(cutoffs)), n),
                "cutoff": np.tile(_whole(cutoffs), n * len(percentiles)),
                "accessibility": np.round(values.reshape(-1), 3),
            }
        )
        table.to_csv(path, index=False)
    except OSError as exc:
        raise MaasError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _whole(values: tuple[float, ...]) -> np.ndarray:
    """Whole numbers as integers (50, not 50.0), as r5py writes percentiles and cutoffs."""
    array = np.asarray(values, dtype=float)
    return array.astype(int) if np.all(array == np.round(array)) else array


def draw_accessibility_map(
    path: Path,
    origins: Sequence[Point],
    values: np.ndarray,
    percentiles: tuple[float, ...],
    settings: AccessibilitySettings,
    column: str,
    total: float,
) -> None:
    """One panel per cutoff at the first percentile: each origin coloured by the share of all
    ``column`` it reaches, on a common scale so the panels compare."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lon = np.array([p.lon for p in origins])
    lat = np.array([p.lat for p in origins])
    cutoffs = settings.cutoffs_min
    share = 100 * values[:, 0, :] / total if total > 0 else values[:, 0, :] * 0
    fig, axes = plt.subplots(
        1, len(cutoffs), figsize=(4.2 * len(cutoffs) + 1.2, 4.8), squeeze=False, layout="constrained"
    )
    aspect = 1 / np.cos(np.radians(lat.mean())) if len(lat) else 1.0
    size = max(4.0, min(200.0, 60000 / max(len(origins), 1)))  # about fills the panel
    picture = None
    for c, ax in enumerate(axes[0]):
        picture = ax.scatter(
            lon, lat, c=share[:, c], s=size, cmap="viridis", vmin=0, vmax=100, marker="h", linewidths=0
        )
        ax.set_title(f"within {cutoffs[c]:g} min")
        ax.set_aspect(aspect)
        ax.set_xlabel("longitude")
        if c == 0:
            ax.set_ylabel("latitude")
        ax.tick_params(labelsize=7)
    decay = settings.decay if settings.decay == "step" else f"{settings.decay} decay"
    fig.suptitle(f"Share of all {column} reachable ({decay}, p{percentiles[0]:g} travel time)")
    if picture is not None:
        bar = fig.colorbar(picture, ax=axes[0].tolist(), shrink=0.85)
        bar.set_label(f"% of {total:,.0f} {column}")
    save_figure(fig, path, dpi=110)
