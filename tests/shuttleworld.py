"""A tiny street world for shuttle tests: a grid of nodes 200 m apart, driven at 18 km/h."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dispatch.online import Booking


@dataclass(frozen=True)
class GridNet:
    time_s: np.ndarray
    dist_m: np.ndarray


def grid_net(side: int = 5, spacing_m: float = 200.0, speed_kmh: float = 18.0) -> GridNet:
    xy = np.array([(i % side, i // side) for i in range(side * side)], dtype=float) * spacing_m
    dist = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)  # Manhattan streets
    return GridNet(dist / (speed_kmh / 3.6), dist)


def random_bookings(net: GridNet, n: int, seed: int, start_s: float, span_s: float) -> list[Booking]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        a, b = (int(x) for x in rng.choice(net.time_s.shape[0], 2, replace=False))
        earliest = start_s + rng.uniform(0, span_s)
        direct = float(net.time_s[a, b])
        out.append(
            Booking(
                f"r{i:03d}",
                a,
                b,
                announced_s=earliest - rng.uniform(60, 1200),
                earliest_pickup_s=earliest,
                latest_pickup_s=earliest + 900,
                max_ride_s=2 * direct + 300,
                seats=int(rng.choice([1, 1, 1, 2])),
            )
        )
    return out
