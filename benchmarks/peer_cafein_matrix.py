"""cafein's travel-time matrix on a points file, for bench_matrix.py (runs in benchmarks/.venv-cafein).

    benchmarks/.venv-cafein/bin/python benchmarks/peer_cafein_matrix.py --points points.csv \
        --gtfs feed.zip --osm extract.osm.pbf --depart 2022-02-22T08:30 --window 10 --out cafein.parquet

Every point to every point, transit with walking, median over the window, in whole minutes rounded
down (R5's and our convention; cafein rounds to the nearest by default, so seconds are asked for).
Prints one JSON line: build and matrix seconds, reachable pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

import geopandas as gpd
import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", required=True)
    parser.add_argument("--gtfs", action="append", required=True)
    parser.add_argument("--osm", required=True)
    parser.add_argument("--depart", required=True)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--walk-kmh", type=float, default=1.28 * 3.6)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import cafein

    table = pd.read_csv(args.points, dtype={"id": str})
    points = gpd.GeoDataFrame({"id": table["id"]}, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=4326)
    started = time.perf_counter()
    network = cafein.TransportNetwork.from_gtfs(
        args.gtfs, osm_pbf=args.osm, walking_speed_kmph=args.walk_kmh, trip_distances=False
    )
    built = time.perf_counter()
    matrix = cafein.TravelTimeMatrix(
        network,
        origins=points,
        destinations=points,
        departure=dt.datetime.fromisoformat(args.depart),
        departure_time_window=args.window,
        percentiles=[50],
        output_time_units="seconds",
        walking_speed_kmph=args.walk_kmh,
    )
    done = time.perf_counter()
    frame = pd.DataFrame(matrix)
    column = "travel_time_p50" if "travel_time_p50" in frame.columns else "travel_time"
    out = pd.DataFrame(
        {
            "from_id": frame["from_id"].astype(str),
            "to_id": frame["to_id"].astype(str),
            "travel_time": np.floor(frame[column].astype(float) / 60),
        }
    )
    out.to_parquet(args.out)
    report = {
        "build_seconds": built - started,
        "matrix_seconds": done - built,
        "reachable_pairs": int(out["travel_time"].notna().sum()),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
