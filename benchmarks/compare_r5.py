"""Agreement with R5 on the shared Helsinki data: transit, walk and bike matrices, 361 pairs each.

    python3 benchmarks/compare_r5.py [--data-dir ../shared/data]

Prints the table (median |difference|, bias, share within 3 and 5 minutes, worst pairs) and writes
benchmarks/results/r5_agreement.json plus one CSV per mode with both travel times side by side.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from maas.area import load_area, resolve_data_dir
from planner.area_data import load_area_data
from planner.r5_compare import compare, r5_params
from planner.router import Planner

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir")
    parser.add_argument("--out-dir", default=str(HERE / "results"))
    args = parser.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    planner = Planner(load_area_data(load_area("helsinki", data_dir)), r5_params())
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = {}
    print(f"{'mode':<9}{'pairs':>6}{'median |d|':>11}{'mean d':>8}{'<=3 min':>9}{'<=5 min':>9}{'median rel':>11}")
    for mode in ("transit", "walk", "bike"):
        agreement, table = compare(planner, data_dir, mode)
        table.to_csv(out / f"r5_{mode}.csv", index=False)
        rows[mode] = agreement.as_dict()
        a = agreement
        print(
            f"{mode:<9}{a.compared:>6}{a.median_abs_diff:>11.1f}{a.mean_diff:>+8.2f}{a.within_3:>9.1%}"
            f"{a.within_5:>9.1%}{a.median_rel_diff:>11.1%}"
        )
    for mode, row in rows.items():
        worst = ", ".join(f"{f}->{t}: {o:.0f} vs {r:.0f}" for f, t, o, r in row["worst"][:5])
        print(f"worst {mode} (ours vs R5, minutes): {worst}")
    (out / "r5_agreement.json").write_text(json.dumps(rows, indent=2))
    print(f"written {out / 'r5_agreement.json'}")


if __name__ == "__main__":
    main()
