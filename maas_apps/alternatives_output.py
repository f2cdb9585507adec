"""Where the shuttle pays: the riders' time at home gained per population cell, as a table and a map."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from dispatch.alternatives import AlternativeGain
from maas.area import Area
from maas.errors import MaasError

if TYPE_CHECKING:
    import pandas as pd

BUSY_CELL_RIDERS = 5  # cells with fewer riders are left out of the best and worst printed


def write_cells(gain: AlternativeGain, area: Area, out: Path, column: str = "population") -> list[Path]:
    """``out/alternatives-cells.csv`` and ``.png``: the gain per population cell of the riders' homes
    (nothing when the area has no population grid); the best and worst cells are printed."""
    import pandas as pd

    from planner.points import read_opportunities

    if area.population_file is None or not area.population_file.exists():
        return []
    try:
        cells = read_opportunities(area.population_file, column)
    except MaasError as exc:
        print(f"  no gain per cell: {exc}")
        return []
    table = pd.DataFrame(gain.by_cell(cells))
    if table.empty:
        return []
    path = out / "alternatives-cells.csv"
    table.to_csv(path, index=False)
    ranked = table[table["riders"] >= BUSY_CELL_RIDERS].sort_values("mean_min", ascending=False)
    for which, rows in (("gain most", ranked.head(3)), ("lose most", ranked.tail(3)[::-1])):
        if len(rows):
            say = "; ".join(f"{r.cell} {r.mean_min:+.1f} min ({r.riders})" for r in rows.itertuples())
            print(f"  cells where riders {which} ({BUSY_CELL_RIDERS}+ riders): {say}")
    return [path, _draw(table, area, out / "alternatives-cells.png")]


def _draw(table: pd.DataFrame, area: Area, path: Path) -> Path:
    """A map of the cells coloured by minutes gained (green: the shuttle beats walking and transit),
    sized by riders, over the shuttle zones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6))
    for zone in area.shuttle.zones if area.shuttle else ():
        xs, ys = zip(*[*zone.polygon, zone.polygon[0]], strict=True)
        ax.plot(xs, ys, color="#c2185b", lw=1.5)
        ax.annotate(zone.name, (sum(xs) / len(xs), max(ys)), color="#c2185b", ha="center", va="bottom")
    limit = max(3.0, float(table["mean_min"].abs().max()))
    dots = ax.scatter(
        table["lon"],
        table["lat"],
        c=table["mean_min"],
        s=20 + 8 * table["riders"],
        cmap="RdYlGn",
        vmin=-limit,
        vmax=limit,
        edgecolors="#333",
        lw=0.4,
    )
    fig.colorbar(dots, ax=ax, label="time at home gained per rider against walking and transit (min)")
    ax.set_title("Where the shuttle pays: riders' homes by population cell (size: riders)")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect(1 / math.cos(math.radians(float(table["lat"].mean()))))  # metres look square
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
