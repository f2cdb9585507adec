"""The long bad-input profile: thousands of mutated inputs per reader, with a table of what happened.

Runs ``tests/test_bad_input.py`` under Hypothesis's ``long`` profile (derandomised, so the same inputs
every run) and summarises, per reader, how many inputs were tried and how each was answered:
read with the same meaning, refused with the file and line named, or ("CRASH", "SILENT") a failure.

    python3 benchmarks/fuzz_inputs.py [--examples 2000] [--only gtfs]

Writes ``benchmarks/results/fuzz_inputs.json`` (per reader and mutation) and ``fuzz_inputs.csv`` (per reader).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="inputs per reader (per test)")
    parser.add_argument("--only", help="pytest -k expression to run some readers only")
    parser.add_argument("--report-only", action="store_true", help="summarise the last run's JSON again")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    raw = RESULTS / "fuzz_inputs.json"
    if args.report_only:
        return summarise(raw, None, 0)
    env = dict(os.environ, HYPOTHESIS_PROFILE="long", MAAS_FUZZ_EXAMPLES=str(args.examples), MAAS_FUZZ_REPORT=str(raw))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:warnings", "-p", "no:cacheprovider"]
    command += [str(ROOT / "tests" / "test_bad_input.py")] + (["-k", args.only] if args.only else [])
    started = time.perf_counter()
    status = subprocess.call(command, cwd=ROOT, env=env)
    return summarise(raw, time.perf_counter() - started, status)


def summarise(raw: Path, seconds: float | None, status: int) -> int:
    if not raw.exists():
        print("no report written (did the tests start?)", file=sys.stderr)
        return 1
    report = json.loads(raw.read_text())
    rows = []
    for reader, entries in sorted(report.items()):
        if reader == "self-test":  # the checker's own test of itself, failing on purpose
            continue
        total: dict[str, int] = defaultdict(int)
        for entry in entries:
            total[entry["outcome"]] += entry["n"]
        rows.append(
            {
                "reader": reader,
                "inputs": sum(total.values()),
                "accepted": total["accepted"] + total["no"],
                "refused_with_named_problem": total["rejected"],
                "crashes": total["CRASH"],
                "silent_wrong": total["SILENT"] + total["WRONG-rejected"],
            }
        )
    header = f"{'reader':<22}{'inputs':>8}{'read':>8}{'refused':>9}{'crashes':>9}{'silent':>8}"
    print(header)
    for r in rows:
        print(
            f"{r['reader']:<22}{r['inputs']:>8}{r['accepted']:>8}{r['refused_with_named_problem']:>9}"
            f"{r['crashes']:>9}{r['silent_wrong']:>8}"
        )
    if seconds is not None:
        print(f"{seconds:.0f} s, pytest exit status {status}")
    with (RESULTS / "fuzz_inputs.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
