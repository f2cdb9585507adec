"""Cold build and cached load of an area, timed in a fresh cache directory.

    python3 benchmarks/bench_build.py [--area helsinki] [--repeat 3] [--out benchmarks/results/build.json]

Prints a table and writes JSON. Targets (Helsinki, 2 cores): cold build <= 60 s, cached load <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from maas.area import load_area
from planner.area_data import load_area_data

TARGETS = {"cold_build_s": 60.0, "cached_load_s": 2.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--area", default="helsinki")
    parser.add_argument("--data-dir")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "build.json"))
    args = parser.parse_args()
    area = load_area(args.area, args.data_dir)
    cold: list[float] = []
    warm: list[float] = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            data = load_area_data(area, cache=cache)
            cold.append(time.perf_counter() - start)
            assert not data.from_cache
            for _ in range(3):
                start = time.perf_counter()
                again = load_area_data(area, cache=cache)
                warm.append(time.perf_counter() - start)
                assert again.from_cache
        print(f"run {i + 1}/{args.repeat}: cold {cold[-1]:.2f} s, cached {min(warm[-3:]):.3f} s", flush=True)
    rows = {"cold_build_s": cold, "cached_load_s": warm}
    print(f"\n{'measure':<16}{'median':>10}{'min':>10}{'max':>10}{'target':>10}  ok")
    result = {
        "area": area.name,
        "repeat": args.repeat,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "measures": {},
    }
    for name, values in rows.items():
        med = statistics.median(values)
        ok = med <= TARGETS[name]
        verdict = "yes" if ok else "NO"
        print(f"{name:<16}{med:>10.3f}{min(values):>10.3f}{max(values):>10.3f}{TARGETS[name]:>10.1f}  {verdict}")
        result["measures"][name] = {
            "median": med,
            "min": min(values),
            "max": max(values),
            "target": TARGETS[name],
            "runs": values,
        }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
