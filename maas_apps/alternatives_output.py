"""Where the shuttle pays: the riders' time at home gained per population cell, as a table and a map."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from dispatch.alternatives import AlternativeGain
from maas.area import Area
from maas.errors import MaasError


def write_cells(gain: AlternativeGain, area: Area, out: Path, column: str = "population") -> list[Path]:
    """``out/alternatives-cells.csv`` and ``.png``: the gain per population cell of the riders' homes
    (nothing when the area has no population grid); the best and worst cells are printed."""
    from planner.points import read_opportunities

    if area.population_file is None or not area.population_file.exists():
        return []
    try:
        cells = read_opportunities(area.population_file, column)
    except MaasError as exc:
        print(f"  no gain per cell: {exc}")
        return []
    table = gain.by_cell(cells)
    if not table:
        return []
    path = out / "alternatives-cells.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    busy = [row for row in table if int(row["riders"]) >= 5]  # type: ignore[call-overload]
    if busy:
        ranked = sorted(busy, key=lambda row: float(row["mean_min"]))  # type: ignore[arg-type]
        say = "; ".join(f"{r['cell']} {float(r['mean_min']):+.1f} min ({r['riders']})" for r in ranked[-3:][::-1])  # type: ignore[arg-type]
        print(f"  cells where riders gain most (5+ riders): {say}")
        say = "; ".join(f"{r['cell']} {float(r['mean_min']):+.1f} min ({r['riders']})" for r in ranked[:3])  # type: ignore[arg-type]
        print(f"  cells where riders lose most (5+ riders): {say}")
    return [path, _draw(table, area, out / "alternatives-cells.png")]


def _draw(table: list[dict[str, object]], area: Area, path: Path) -> Path:
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
    lon = [float(r["lon"]) for r in table]  # type: ignore[arg-type]
    lat = [float(r["lat"]) for r in table]  # type: ignore[arg-type]
    gained = [float(r["mean_min"]) for r in table]  # type: ignore[arg-type]
    size = [20 + 8 * int(r["riders"]) for r in table]  # type: ignore[call-overload]
    limit = max(3.0, max(abs(g) for g in gained))
    dots = ax.scatter(lon, lat, c=gained, s=size, cmap="RdYlGn", vmin=-limit, vmax=limit, edgecolors="#333", lw=0.4)
    fig.colorbar(dots, ax=ax, label="time at home gained per rider against walking and transit (min)")
    ax.set_title("Where the shuttle pays: riders' homes by population cell (size: riders)")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect(1 / math.cos(math.radians(sum(lat) / len(lat))))  # metres look square
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
