"""The numba LNS alone, from the plans the ejection pool hands it: which settings escape a poor start?

Single 60 s runs of whole Li & Lim 200 instances swing by ten points of gap and more from run to
run, mostly with the plan the ejection pool hands the LNS. This holds those plans fixed: ``starts``
runs one solver worker as ``maas dispatch-bench`` would, up to the LNS stage, and keeps the plan it
would shorten; ``run`` shortens each kept plan with each LNS setting under the same budget and seed,
so settings are compared start by start.

    python benchmarks/bench_lns_starts.py starts --instances lrc2_2_3:1,lr2_2_8:0 --seeds 0,1,2
    python benchmarks/bench_lns_starts.py run --seconds 20 --variant default \
        --variant string_share=0.3 --csv benchmarks/results/lns-starts-ab.csv

    python benchmarks/bench_lns_starts.py speed --iterations 100 --variant default \
        --variant warp_share=0.0 --csv benchmarks/results/lns-speed.csv

``speed`` times the LNS from each kept start (one process, after a warm-up run; an iteration budget,
so every run makes the same steps and, on the same code, the same plan): steps per second, to compare
kernels (run it with ``PYTHONPATH`` at another checkout for the code there).

``--instances`` names ``instance:worker`` (worker 0 goes for the smaller fleet first, worker 1 does
not); a start is compared only where it has the best-known vehicle count. Variants run one process
each, side by side (two at a time on two cores, so time budgets are shared alike); ``--iterations``
instead of ``--seconds`` gives the same plans on any machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
STARTS = ROOT / "results" / "lns-starts"  # pickled plans: a folder, so not committed


COLUMNS = ("start", "setting", "seed", "unserved", "vehicles", "distance", "gap_pct", "seconds")


class _StartReached(Exception):
    """Raised by the hook when the solver reaches the LNS stage (the plan is kept)."""


def _data_dir() -> Path:
    return Path(os.environ.get("MAAS_DATA_DIR", ROOT.parent.parent / "shared" / "data")) / "dispatch"


def _problem(name: str) -> Any:
    from dispatch.readers import read_li_lim

    return read_li_lim(_data_dir() / "lilim" / f"{name}.txt")


def make_starts(instances: list[str], seeds: list[int], time_limit: float) -> None:
    """One pickled LNS start per instance, worker and seed (the solver's own stages up to the LNS)."""
    import dispatch.solver as solver

    STARTS.mkdir(parents=True, exist_ok=True)
    original = solver._run
    for item in instances:
        name, worker = item.split(":")
        problem = _problem(name)
        for seed in seeds:
            path = STARTS / f"{name}_w{worker}_s{seed}.pkl"

            def hook(
                stage: Any, problem: Any, plan: Any, meter: Any, params: Any, share: float, path: Path = path
            ) -> Any:
                stage_name = getattr(getattr(stage, "func", stage), "__name__", "")
                if stage_name == "shorten_from_new_starts":
                    path.write_bytes(pickle.dumps(plan))
                    raise _StartReached
                return original(stage, problem, plan, meter, params, share)

            solver._run = hook  # type: ignore[assignment]
            single, variant = solver._worker_settings(
                solver.SolverParams(time_limit_s=time_limit, seed=seed), int(worker)
            )
            try:
                solver._solve_one(problem, single.with_changes(workers=1), None, variant)
                print(f"{path.name}: no LNS stage reached", flush=True)
            except _StartReached:
                plan = pickle.loads(path.read_bytes())
                print(f"{path.name}: {plan.rank(problem)}", flush=True)
            finally:
                solver._run = original


def _setting(text: str) -> float | int | bool:
    """A setting as written on the command line: true/false, a number with a point, or an integer."""
    if text in ("true", "false"):
        return text == "true"
    return float(text) if "." in text else int(text)


def run_variant(variant: str, seconds: float | None, iterations: int | None, seed: int, out: Path) -> None:
    """Every kept start with the best-known fleet shortened with the LNS setting ``variant``."""
    from dispatch.bench import best_known
    from dispatch.budget import Budget
    from dispatch.lns import shorten_routes
    from dispatch.stages import relatedness

    params = _params(variant)
    budget = Budget(seconds=seconds) if iterations is None else Budget(iterations=iterations)
    known = best_known(_data_dir())
    with out.open("a", newline="") as handle:
        writer = csv.writer(handle)
        for path in sorted(STARTS.glob("*.pkl")):
            name = path.stem.rsplit("_w", 1)[0]
            problem = _problem(name)
            plan = pickle.loads(path.read_bytes())
            distance, vehicles = known[name]
            if plan.rank(problem)[1] != vehicles:
                continue
            began = time.perf_counter()
            shorter = shorten_routes(problem, plan, budget, relatedness(problem), 100, seed, params)
            rank = (shorter or plan).rank(problem)
            gap = 100 * (rank[2] / distance - 1)
            writer.writerow(
                [
                    path.stem,
                    variant,
                    seed,
                    rank[0],
                    rank[1],
                    f"{rank[2]:.2f}",
                    f"{gap:.2f}",
                    f"{time.perf_counter() - began:.1f}",
                ]
            )
            handle.flush()


SPEED_COLUMNS = ("start", "setting", "seed", "iterations", "steps", "seconds", "steps_per_s", "distance", "code")


def measure_speed(variants: list[str], iterations: int, seed: int, out: Path) -> None:
    """Steps per second of the LNS from every kept start with each setting, best of two timed runs."""
    import dispatch
    from dispatch.budget import Budget
    from dispatch.lns import shorten_routes
    from dispatch.stages import relatedness

    code = str(Path(dispatch.__file__).resolve().parent.parent)
    new_file = not out.exists()
    with out.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new_file:
            writer.writerow(SPEED_COLUMNS)
        for path in sorted(STARTS.glob("*.pkl")):
            problem = _problem(path.stem.rsplit("_w", 1)[0])
            plan = pickle.loads(path.read_bytes())
            related = relatedness(problem)
            for variant in variants:
                params = _params(variant)
                shorten_routes(problem, plan, Budget(iterations=2), related, 100, seed, params)  # compiled, warm
                timings = []
                for _ in range(2):
                    began = time.perf_counter()
                    shorter = shorten_routes(problem, plan, Budget(iterations=iterations), related, 100, seed, params)
                    timings.append(time.perf_counter() - began)
                steps = iterations * params.steps_per_call
                distance = (shorter or plan).rank(problem)[2]
                row = [path.stem, variant, seed, iterations, steps, f"{min(timings):.3f}"]
                writer.writerow([*row, f"{steps / min(timings):.0f}", f"{distance:.2f}", code])
                handle.flush()
                print(f"{path.stem:22s} {variant:24s} {steps / min(timings):8.0f} steps/s  {distance:9.2f}", flush=True)


def _params(variant: str) -> Any:
    from dispatch.solver_params import LnsParams

    changes = {} if variant == "default" else dict(kv.split("=") for kv in variant.split(";"))
    return LnsParams(**{k: _setting(v) for k, v in changes.items()})


def summarize(out: Path) -> None:
    with out.open(newline="") as handle:
        rows = [r for r in csv.reader(handle) if r and r[0] != COLUMNS[0]]
    variants = list(dict.fromkeys(r[1] for r in rows))
    gap = {(r[0], r[1]): float(r[6]) for r in rows}
    starts = sorted({r[0] for r in rows if all((r[0], v) in gap for v in variants)})
    print(f"{'start':26s}" + "".join(f"{v[:22]:>24s}" for v in variants))
    for s in starts:
        print(f"{s:26s}" + "".join(f"{gap[(s, v)]:24.2f}" for v in variants))
    for label, f in (("mean gap %", statistics.mean), ("worst gap %", max)):
        print(f"{label:26s}" + "".join(f"{f(gap[(s, v)] for s in starts):24.2f}" for v in variants))
    print(f"{'starts over 3 %':26s}" + "".join(f"{sum(gap[(s, v)] > 3 for s in starts):24d}" for v in variants))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("starts")
    s.add_argument("--instances", required=True)
    s.add_argument("--seeds", default="0")
    s.add_argument("--time-limit", type=float, default=60.0)
    v = sub.add_parser("speed")
    v.add_argument("--iterations", type=int, default=100)
    v.add_argument("--variant", action="append", required=True, help="default, or key=value;key=value")
    v.add_argument("--seed", type=int, default=1)
    v.add_argument("--csv", type=Path, default=ROOT / "results" / "lns-speed.csv")
    r = sub.add_parser("run")
    budget = r.add_mutually_exclusive_group(required=True)
    budget.add_argument("--seconds", type=float)
    budget.add_argument("--iterations", type=int)
    r.add_argument("--variant", action="append", required=True, help="default, or key=value;key=value")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--csv", type=Path, default=ROOT / "results" / "lns-starts-ab.csv")
    r.add_argument("--one", help=argparse.SUPPRESS)  # a single variant, in its own process
    args = parser.parse_args()
    if args.command == "starts":
        make_starts(args.instances.split(","), [int(x) for x in args.seeds.split(",")], args.time_limit)
        return
    if args.command == "speed":
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        measure_speed(args.variant, args.iterations, args.seed, args.csv)
        return
    if args.one:
        run_variant(args.one, args.seconds, args.iterations, args.seed, args.csv)
        return
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="") as handle:
        csv.writer(handle).writerow(COLUMNS)
    for pair in range(0, len(args.variant), 2):
        procs = []
        for variant in args.variant[pair : pair + 2]:
            budget_args = (
                ["--seconds", str(args.seconds)] if args.iterations is None else ["--iterations", str(args.iterations)]
            )
            cmd = [
                sys.executable,
                __file__,
                "run",
                *budget_args,
                "--variant",
                variant,
                "--one",
                variant,
                "--seed",
                str(args.seed),
                "--csv",
                str(args.csv),
            ]
            procs.append(subprocess.Popen(cmd))
        for proc in procs:
            proc.wait()
    summarize(args.csv)


if __name__ == "__main__":
    main()
