"""Benchmark of the sweep machinery; prints its figures.

0. BLAS threads: a generated 1,000-state world (`bench_run.generated_scenario(1000)`) run with
   OpenBLAS's default threads (one per core) and with one thread (`sim.runner.one_blas_thread`,
   what every run now uses), on an idle machine and beside a CPU-busy process; and a
   (200x20)@(20x200) product under the same conditions.
1. Throughput on a realistic world, the packaged baseline (21 states, 8 forums, 60 steps), with
   1 and 2 local workers: runs per second, runs per second per core, and the 2-worker
   efficiency, throughput(2) / (2 x throughput(1)) (goal >= 0.85), repeated to show the spread.
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

Sections 2-4 measure the machinery, on the four-state `tests/data/small.yaml` (--scenario).

    python benchmarks/bench_sweep.py [--only blas,throughput] [--repeat 3]
        [--throughput-runs 600] [--runs 10000] [--scenario tests/data/small.yaml]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import sim  # noqa: F401  (before numpy: sim pins OpenBLAS's kernels, as in every run)

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "data" / "small.yaml"
BASELINE = ROOT / "sim" / "scenarios" / "baseline.yaml"
SECTIONS = ("blas", "throughput", "overhead", "memory", "worker")
SMALL_METRICS = '{a_share: "states.influence_share[A]", align: "model.alignment_index"}'
ANY_METRICS = '{align: "model.alignment_index", hhi: "model.influence_hhi"}'  # any scenario has them


def experiment(
    path: Path, scenario: Path, runs: int, seed: int = 1, metrics: str = SMALL_METRICS, chunk: int | None = 32
) -> Path:
    """Ten levels of model.synergy, runs // 10 replications; `chunk` None: the default size."""
    reps = max(1, runs // 10)
    path.write_text(
        textwrap.dedent(
            f"""
            scenario: {scenario}
            vary: {{model.synergy: [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25]}}
            replications: {reps}
            base_seed: {seed}
            {f"chunk: {chunk}" if chunk else ""}
            metrics: {metrics}
            """
        )
    )
    return path


def busy_process() -> subprocess.Popen:
    """Another process that keeps one core busy (as another engineer's job would)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def _ms(times: list[float]) -> str:
    med, lo, hi = statistics.median(times), min(times), max(times)
    return f"median {med * 1000:9.2f} ms (min {lo * 1000:.2f}, max {hi * 1000:.2f})"


def blas(states: int, steps: int, repeat: int) -> None:
    """Runs and products with OpenBLAS's default threads and with one thread, on the machine as
    it is and beside a CPU-busy process; the two alternate, so that the machine's other load
    falls on both alike."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numpy as np
    from bench_run import generated_scenario  # another engineer's benchmark: imported, not copied
    from threadpoolctl import threadpool_info

    from sim.model import RuleMakingModel
    from sim.runner import one_blas_thread

    blas_libs = [i for i in threadpool_info() if i["user_api"] == "blas"]
    default = sorted({i["num_threads"] for i in blas_libs})
    kernels = sorted({str(i.get("architecture")) for i in blas_libs})
    print(f"BLAS threads: default {default}, kernels {kernels}, on {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}; a generated world of {states} states, 20 forums, {steps} steps, "
          f"{repeat} runs each; 2 x 3000 (200x20)@(20x200) products each")  # fmt: skip
    sc = generated_scenario(states, steps=steps)
    a, b = np.random.default_rng(1).random((200, 20)), np.random.default_rng(2).random((20, 200))

    def products(n: int = 3000) -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            a @ b
            out.append(time.perf_counter() - t0)
        return out

    def run() -> list[float]:
        t0 = time.perf_counter()
        RuleMakingModel(sc).run()
        return [time.perf_counter() - t0]

    def alternate(fn, n: int) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {"default": [], "1 thread": []}
        for i in range(n):
            for name in ("default", "1 thread") if i % 2 == 0 else ("1 thread", "default"):
                if name == "default":
                    out[name] += fn()
                else:
                    with one_blas_thread():
                        out[name] += fn()
        return out

    RuleMakingModel(generated_scenario(states, steps=2)).run()  # warm-up
    for label, busy in (("as it is", False), ("beside a busy process", True)):
        proc = busy_process() if busy else None
        try:
            time.sleep(0.5 if busy else 0)
            prods = alternate(products, 2)
            runs = alternate(run, repeat)
        finally:
            if proc is not None:
                proc.kill()
                proc.wait()
        for name in runs:
            p = sorted(prods[name])
            slow = sum(t > 1e-3 for t in p) / len(p)
            print(f"  {label:<21} {name:<8} run {_ms(runs[name])}")
            med, mean, p99 = statistics.median(p), statistics.fmean(p), p[int(0.99 * len(p))]
            print(f"  {'':<21} {'':<8} product median {med * 1000:.3f} ms, mean {mean * 1000:.3f} ms, "
                  f"99th percentile {p99 * 1000:.3f} ms, {slow:.1%} over 1 ms")  # fmt: skip
        ratio = statistics.median(runs["default"]) / statistics.median(runs["1 thread"])
        print(f"  {label:<21} default / 1 thread: run x{ratio:.2f}, product mean "
              f"x{statistics.fmean(prods['default']) / statistics.fmean(prods['1 thread']):.1f}")  # fmt: skip


DRIVER = """
import json, resource, sys, time
from sim.experiments.sweep import run_sweep
def cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime
t0, c0, w0 = time.perf_counter(), cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
s = run_sweep(sys.argv[1], out=sys.argv[2], workers=int(sys.argv[3]), progress=False)
wall = time.perf_counter() - t0
import pandas as pd
print(json.dumps({"runs": s.total, "ok": s.ok, "wall": wall,
                  "driver_cpu": cpu(resource.RUSAGE_SELF) - c0,
                  "workers_cpu": cpu(resource.RUSAGE_CHILDREN) - w0,
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


def throughput(scenario: Path, runs: int, repeat: int, tmp: Path) -> None:
    """1 and 2 local workers on the same experiment, alternating, `repeat` times each."""
    exp = experiment(tmp / "tp.yaml", scenario, runs, metrics=ANY_METRICS, chunk=None)  # default chunks
    cores, load = os.cpu_count() or 1, os.getloadavg()[0]
    name = scenario.relative_to(ROOT) if scenario.is_relative_to(ROOT) else scenario
    print(f"throughput: {name}, {runs} runs a sweep, {cores} cores, load average {load:.2f} at the start")
    effs, cpu_effs = [], []
    for i in range(repeat):
        res = {w: drive(exp, tmp / f"tp{i}-w{w}", w) for w in ((1, 2) if i % 2 == 0 else (2, 1))}
        tp1, tp2 = res[1]["runs"] / res[1]["wall"], res[2]["runs"] / res[2]["wall"]
        effs.append(tp2 / (2 * tp1))
        # CPU seconds a run costs the workers: the same with 2 workers unless they slow each other
        # (memory, caches, BLAS threads); the wall-clock efficiency also counts other processes
        per = {w: res[w]["workers_cpu"] / res[w]["runs"] * 1000 for w in (1, 2)}
        cpu_effs.append(per[1] / per[2])
        print(f"  #{i + 1}: 1 worker {tp1:6.1f} runs/s ({tp1:6.1f} per core); 2 workers "
              f"{tp2:6.1f} runs/s ({tp2 / 2:6.1f} per core); efficiency {effs[-1]:.3f}")  # fmt: skip
        print(f"      worker CPU a run {per[1]:.1f} ms (1 worker), {per[2]:.1f} ms (2 workers); driver CPU "
              f"{res[1]['driver_cpu']:.1f} s, {res[2]['driver_cpu']:.1f} s; load average now "
              f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    med = statistics.median(effs)
    verdict = "met" if med >= 0.85 else "NOT met"
    print(f"  2-worker efficiency, throughput(2) / (2 x throughput(1)): median {med:.3f} "
          f"(min {min(effs):.3f}, max {max(effs):.3f})   goal >= 0.85: {verdict}")  # fmt: skip
    lo, hi = min(cpu_effs), max(cpu_effs)
    print(f"  CPU efficiency, CPU a run (1 worker) / CPU a run (2 workers): median "
          f"{statistics.median(cpu_effs):.3f} (min {lo:.3f}, max {hi:.3f})")  # fmt: skip
    if load > 0.5 or os.getloadavg()[0] > 2.5:
        print(f"  note: the machine was not idle (load average {load:.2f} at the start, "
              f"{os.getloadavg()[0]:.2f} at the end, {cores} cores): the wall-clock figures count "
              "the other processes too")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"sections, of {','.join(SECTIONS)}")
    ap.add_argument("--runs", type=int, default=10_000, help="size of the large sweep (memory)")
    ap.add_argument("--scenario", type=Path, default=SMALL, help="world of the machinery sections")
    ap.add_argument("--throughput-scenario", type=Path, default=BASELINE)
    ap.add_argument("--throughput-runs", type=int, default=600)
    ap.add_argument("--repeat", type=int, default=3, help="throughput pairs (1 and 2 workers)")
    ap.add_argument("--blas-states", type=int, default=1000)
    ap.add_argument("--blas-steps", type=int, default=100)
    ap.add_argument("--blas-repeat", type=int, default=3)
    args = ap.parse_args()
    only = set(args.only.split(","))
    if only - set(SECTIONS):
        ap.error(f"--only: unknown sections {sorted(only - set(SECTIONS))}")
    if "blas" in only:
        blas(args.blas_states, args.blas_steps, args.blas_repeat)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if "throughput" in only:
            throughput(args.throughput_scenario.resolve(), args.throughput_runs, args.repeat, tmp)
        if "overhead" in only:
            bare, full = overhead(args.scenario)
            over = full - bare
            print(f"per run ({args.scenario.name}): model alone {bare:.2f} ms, full sweep task {full:.2f} ms")
            print(f"  overhead {over:.2f} ms   goal <= 5 ms: {'met' if over <= 5 else 'NOT met'}")
        if "memory" in only:
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
    if "worker" in only:
        w = worker_memory()
        per_run = (w["late_mb"] - w["early_mb"]) / w["runs"]
        print(f"worker RSS over {w['runs']} baseline runs after as many to warm up: "
              f"{w['early_mb']:.0f} -> {w['late_mb']:.0f} MB, "
              f"{per_run:.3f} MB a run   goal flat (< 0.05 MB a run): "
              f"{'met' if per_run < 0.05 else 'NOT met'}")  # fmt: skip
        print("worker processes: a ProcessPoolExecutor created once per sweep with --workers "
              "processes, fork start method, reused for every chunk (no process per run), one BLAS "
              "thread each")  # fmt: skip


if __name__ == "__main__":
    main()
