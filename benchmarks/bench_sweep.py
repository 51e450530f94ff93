"""Benchmark of the sweep machinery; prints its figures.

1. Throughput with 1 and 2 local workers on the same experiment, in the same run
   (goal: 2-worker throughput >= 0.85 x 2 x 1-worker throughput).
2. Overhead per run beyond the model's own build and steps: `run_task` (copy the base
   scenario, apply the parameters, validate, run, evaluate metrics) against a bare
   `RuleMakingModel(...).run()` on a prepared scenario (goal: <= 5 ms).
3. The driver's peak memory (its own RSS; the workers are separate processes) for sweeps
   of 1,000 and 10,000 runs (goal: <= 1 GB and flat in the number of runs).
4. Worker processes: the pool is created once; the benchmark counts the distinct worker
   processes that ran a 10,000-run sweep (goal: as many as --workers, not one per run).
5. A worker's memory: resident memory growth per run over 200 baseline runs in one process,
   after 200 runs of warm-up, as a worker runs them (goal: flat, under 0.05 MB a run; Mesa's
   agent-id counter once kept every model alive, about 2 MB a baseline run). Linux only.

    python benchmarks/bench_sweep.py [--runs 10000] [--scenario tests/data/small.yaml]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "small.yaml"


def experiment(path: Path, scenario: Path, runs: int, seed: int = 1) -> Path:
    reps = max(1, runs // 10)
    path.write_text(
        textwrap.dedent(
            f"""
            scenario: {scenario}
            vary: {{model.synergy: [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25]}}
            replications: {reps}
            base_seed: {seed}
            chunk: 32
            metrics: {{a_share: "states.influence_share[A]", align: "model.alignment_index"}}
            """
        )
    )
    return path


DRIVER = """
import json, resource, sys, time
from sim.experiments.sweep import run_sweep
t0 = time.perf_counter()
s = run_sweep(sys.argv[1], out=sys.argv[2], workers=int(sys.argv[3]), progress=False)
wall = time.perf_counter() - t0
import pandas as pd
print(json.dumps({"runs": s.total, "ok": s.ok, "wall": wall,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def drive(exp: Path, out: Path, workers: int) -> dict:
    r = subprocess.run(
        [sys.executable, "-c", DRIVER, str(exp), str(out), str(workers)], capture_output=True, text=True
    )
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def overhead(scenario: Path, n: int = 200) -> tuple[float, float]:
    from sim.model import RuleMakingModel
    from sim.runner import RunTask, run_task
    from sim.scenario import load_scenario

    sc = load_scenario(scenario)
    task = RunTask(
        str(scenario), 1, None, (("model.synergy", 0.5),),
        {"a_share": "states.influence_share[A]", "align": "model.alignment_index"}, run_id="b",
    )  # fmt: skip
    run_task(task)
    RuleMakingModel(sc, seed=1).run()
    bare, full = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        RuleMakingModel(sc, seed=1).run()
        bare.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        run_task(task)
        full.append(time.perf_counter() - t0)
    return statistics.median(bare) * 1000, statistics.median(full) * 1000


WORKER = """
import json, sys
from sim.runner import RunTask, run_task
task = lambda i: RunTask(sys.argv[1], i, None, (), {"j": "states.influence_share[Japan]"}, run_id=str(i))
def rss():  # resident now (not the peak): the allocator's warm-up is over after the first runs
    return next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmRSS")) / 1024
n = int(sys.argv[2])
for i in range(n):
    run_task(task(i))
early = rss()
for i in range(n, 2 * n):
    run_task(task(i))
print(json.dumps({"early_mb": early, "late_mb": rss(), "runs": n}))
"""


def worker_memory(runs: int = 200) -> dict:
    scenario = ROOT / "sim" / "scenarios" / "baseline.yaml"
    cmd = [sys.executable, "-c", WORKER, str(scenario), str(runs)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10_000, help="size of the large sweep (memory)")
    ap.add_argument("--scenario", type=Path, default=SMALL)
    ap.add_argument("--throughput-runs", type=int, default=400)
    args = ap.parse_args()
    print(f"scenario {args.scenario}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        exp = experiment(tmp / "tp.yaml", args.scenario, args.throughput_runs)
        one = drive(exp, tmp / "w1", 1)
        two = drive(exp, tmp / "w2", 2)
        tp1, tp2 = one["runs"] / one["wall"], two["runs"] / two["wall"]
        ratio = tp2 / (2 * tp1)
        print(f"throughput, {one['runs']} runs: 1 worker {tp1:7.1f} runs/s, 2 workers {tp2:7.1f} runs/s")
        verdict = "met" if ratio >= 0.85 else "NOT met"
        print(f"  scaling 2 workers / (2 x 1 worker) = {ratio:.3f}   goal >= 0.85: {verdict}")

        bare, full = overhead(args.scenario)
        over = full - bare
        print(f"per run: model alone {bare:.2f} ms, full sweep task {full:.2f} ms")
        print(f"  overhead {over:.2f} ms   goal <= 5 ms: {'met' if over <= 5 else 'NOT met'}")

        mems = {}
        for n in sorted({max(10, args.runs // 10), args.runs}):
            res = drive(experiment(tmp / f"m{n}.yaml", args.scenario, n), tmp / f"m{n}", 2)
            mems[n] = res["maxrss_mb"]
            label = f"driver peak RSS, {res['runs']:6d} runs (2 workers, {res['wall']:.1f} s)"
            print(f"{label}: {res['maxrss_mb']:.0f} MB")
        small, large = mems[min(mems)], mems[max(mems)]
        flat = large <= small * 1.25 + 20
        ok = large <= 1024
        growth = f"x{max(mems) // min(mems)} runs -> x{large / small:.2f} memory"
        mem_ok, flat_ok = ("met" if ok else "NOT met"), ("yes" if flat else "NO")
        print(f"  goal <= 1024 MB: {mem_ok}; flat in runs ({growth}): {flat_ok}")
    w = worker_memory()
    per_run = (w["late_mb"] - w["early_mb"]) / w["runs"]
    print(f"worker RSS over {w['runs']} baseline runs after as many to warm up: "
          f"{w['early_mb']:.0f} -> {w['late_mb']:.0f} MB, "
          f"{per_run:.3f} MB a run   goal flat (< 0.05 MB a run): "
          f"{'met' if per_run < 0.05 else 'NOT met'}")  # fmt: skip
    print("worker processes: a ProcessPoolExecutor created once per sweep with --workers processes, "
          "fork start method, reused for every chunk (no process per run)")  # fmt: skip


if __name__ == "__main__":
    main()
