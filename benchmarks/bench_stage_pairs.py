"""The solver's LNS stage from fixed starts, a setting against the default in side-by-side pairs.

Where vehicles count first, the stage ``shorten_from_new_starts`` (probes, route-exchange children,
a last run) decides most of the distance gap, and its outcome from one start swings by points from
run to run and seed to seed. A setting is judged here by pairs: the same start and seed, the default
and the setting in two processes at once (so both share the two cores alike), many pairs.

``starts`` runs one solver worker as ``maas dispatch-bench`` does (59.5 s, the worker's own settings)
up to that stage and keeps what the stage would be given: the plan, the first plan, the pool's other
runs and the stage's seconds. ``pairs`` runs the stage from every kept start at the best-known fleet,
for each seed, with the default and with ``--setting`` (``NAME=VALUE;...``: an upper-case name is a
constant of ``dispatch.stages``, a lower-case one a ``[solver.lns]`` field):

    python benchmarks/bench_stage_pairs.py starts --instances lrc1_2_7:0,lr1_2_8:1
    python benchmarks/bench_stage_pairs.py pairs --setting "PROBE_SHARE=0.7;probes=9" --seeds 2,3,4 \
        --csv benchmarks/results/stage-pairs-probes.csv

Gaps are the stage's, before OR-Tools' polish and the last ruin and recreate of the solver.
"""

from __future__ import annotations

import argparse
import csv
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_lns_starts import _data_dir, _problem, _setting  # this folder: the script's own

ROOT = Path(__file__).resolve().parent
STARTS = ROOT / "results" / "stage-starts"  # pickled stage inputs: a folder, so not committed
COLUMNS = ("start", "setting", "seed", "unserved", "vehicles", "distance", "gap_pct", "seconds")
TIME_LIMIT = 59.5  # what a worker of a 60 s ``maas dispatch-bench`` run has


class _StageReached(Exception):
    """Raised by the hook when the solver reaches the LNS stage (its inputs are kept)."""


def _worker_params(worker: int, seed: int) -> Any:
    """One worker's settings in a two-worker run with ``seed``, as the solver gives them."""
    import dispatch.solver as solver

    single, _ = solver._worker_settings(solver.SolverParams(time_limit_s=TIME_LIMIT, seed=seed), worker)
    return single.with_changes(workers=1)


def make_starts(items: list[str]) -> None:
    """For each ``instance:worker``, the LNS stage's inputs in the solver's own run (seed 0)."""
    import dispatch.solver as solver

    STARTS.mkdir(parents=True, exist_ok=True)
    original = solver._run
    for item in items:
        name, worker = item.split(":")
        problem = _problem(name)
        kept: dict[str, Any] = {"worker": int(worker)}

        def hook(
            stage: Any, problem: Any, plan: Any, meter: Any, params: Any, share: float, kept: dict[str, Any] = kept
        ) -> Any:
            if getattr(getattr(stage, "func", stage), "__name__", "") == "shorten_from_new_starts":
                seconds = meter.left().share(share).seconds
                kept.update(plan=plan, first=stage.keywords["first"], starts=stage.keywords["starts"], seconds=seconds)
                raise _StageReached
            return original(stage, problem, plan, meter, params, share)

        solver._run = hook
        _, variant = solver._worker_settings(solver.SolverParams(), int(worker))
        try:
            solver._solve_one(problem, _worker_params(int(worker), 0), None, variant)
            print(f"{name}:{worker}: the LNS stage was not reached", flush=True)
            continue
        except _StageReached:
            path = STARTS / f"{name}_w{worker}.pkl"
            path.write_bytes(pickle.dumps(kept))
            others = [s.rank(problem)[:2] for s in kept["starts"]]
            print(
                f"{path.name}: {kept['plan'].rank(problem)}, other runs {others}, {kept['seconds']:.1f} s", flush=True
            )
        finally:
            solver._run = original


def _apply(setting: str) -> dict[str, float | int | bool]:
    """Patch the upper-case names of ``setting`` into ``dispatch.stages``; the ``[solver.lns]`` changes."""
    import dispatch.stages as stages

    changes: dict[str, float | int | bool] = {}
    for item in filter(None, setting.split(";")):
        name, text = item.split("=")
        value = _setting(text)
        if name.isupper():
            if not hasattr(stages, name):
                raise SystemExit(f"dispatch.stages has no constant {name}")
            setattr(stages, name, value)
        else:
            changes[name] = value
    return changes


def run_one(path: Path, setting: str, seed: int, out: Path) -> None:
    """The stage from one kept start with ``setting`` ("" for the default) and ``seed``; one CSV row."""
    from dispatch.bench import best_known
    from dispatch.budget import Budget
    from dispatch.stages import shorten_from_new_starts

    lns = _apply(setting)
    kept = pickle.loads(path.read_bytes())
    name = path.stem.rsplit("_w", 1)[0]
    problem = _problem(name)
    params = _worker_params(kept["worker"], seed).with_changes(lns=lns)
    began = time.perf_counter()
    budget = Budget(seconds=kept["seconds"])
    plan = shorten_from_new_starts(problem, kept["plan"], budget, params, kept["first"], kept["starts"])
    rank = plan.rank(problem)
    gap = 100 * (rank[2] / best_known(_data_dir())[name][0] - 1)
    row = [path.stem, setting or "default", seed, rank[0], rank[1], f"{rank[2]:.2f}", f"{gap:.2f}"]
    with out.open("a", newline="") as handle:
        csv.writer(handle).writerow([*row, f"{time.perf_counter() - began:.1f}"])


def run_pairs(setting: str, seeds: list[int], out: Path) -> None:
    """Every kept start at the best-known fleet, each seed: the default and ``setting`` side by side."""
    from dispatch.bench import best_known

    known = best_known(_data_dir())
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        csv.writer(handle).writerow(COLUMNS)
    paths = []
    for path in sorted(STARTS.glob("*.pkl")):
        name = path.stem.rsplit("_w", 1)[0]
        if pickle.loads(path.read_bytes())["plan"].rank(_problem(name))[1] == known[name][1]:
            paths.append(path)
    for seed in seeds:
        for path in paths:
            procs = [
                subprocess.Popen([sys.executable, __file__, "one", str(path), text, str(seed), str(out)])
                for text in ("", setting)
            ]
            for proc in procs:
                proc.wait()
            print(f"{path.stem} seed {seed} done", flush=True)
    summarize(out)


def summarize(out: Path) -> None:
    """Both settings' mean and worst gap over the pairs, and the paired difference with its standard error."""
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_pair: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for row in rows:
        key = "default" if row["setting"] == "default" else "setting"
        by_pair.setdefault((row["start"], row["seed"]), {})[key] = row
    pairs = [p for p in by_pair.values() if len(p) == 2 and p["default"]["vehicles"] == p["setting"]["vehicles"]]
    if len(pairs) < 2:
        print("fewer than two pairs at the same fleet")
        return
    print(f"{len(pairs)} pairs at the same fleet (of {len(by_pair)})")
    print(f"{'':10s}{'mean gap %':>12s}{'worst %':>10s}{'over 3 %':>10s}")
    for key in ("default", "setting"):
        gaps = [float(p[key]["gap_pct"]) for p in pairs]
        print(f"{key:10s}{statistics.mean(gaps):12.2f}{max(gaps):10.2f}{sum(g > 3 for g in gaps):10d}")
    diff = [float(p["setting"]["gap_pct"]) - float(p["default"]["gap_pct"]) for p in pairs]
    error = statistics.stdev(diff) / len(diff) ** 0.5
    better, worse = sum(d < -0.01 for d in diff), sum(d > 0.01 for d in diff)
    print(f"setting - default: {statistics.mean(diff):+.2f} points (standard error {error:.2f}); "
          f"better in {better} pairs, worse in {worse}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("starts")
    s.add_argument("--instances", required=True, help="instance:worker,...")
    p = sub.add_parser("pairs")
    p.add_argument("--setting", required=True, help="NAME=VALUE;... (see the module docstring)")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--csv", type=Path, default=ROOT / "results" / "stage-pairs.csv")
    o = sub.add_parser("one")  # one run, in its own process
    for name in ("path", "setting", "seed", "out"):
        o.add_argument(name)
    args = parser.parse_args()
    if args.command == "starts":
        make_starts(args.instances.split(","))
    elif args.command == "pairs":
        run_pairs(args.setting, [int(x) for x in args.seeds.split(",")], args.csv)
    else:
        run_one(Path(args.path), args.setting, int(args.seed), Path(args.out))


if __name__ == "__main__":
    main()
