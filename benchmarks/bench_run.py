"""Benchmark of the model's own work, and of the whole `sim run` process, against the goals of
the performance issue (2-core reference machine):

  (a) the packaged baseline (21 states, 8 forums), build + 60 steps            <= 30 ms
  (b) a generated world of 200 states x 20 forums, build + 100 steps           <= 50 ms
  (c) (b) against a straightforward per-agent Mesa model of the same world
      (benchmarks/mesa_reference.py), timed in this process: ours / reference  <= 0.25x
  (d) 1000 / 2000 states x 20 forums x 100 steps                               <= 0.6 s / <= 1.5 s
      and the growth exponent log(t2000 / t1000) / log 2                       <= 1.3
  (e) peak memory of one 2000-state run: ru_maxrss of a fresh child that builds and runs it,
      minus that of a child that only imports                                 <= 350 MB
  (e') the same, run as sweeps, comparisons, claims and calibrations run it (without the
      ledger's entries, which only the influence_sources table reads)
  (f) `sim run baseline --out DIR` as a whole process                          <= 0.6 s
      (and, beside it, how long starting Python and the imports take)

plus the time to turn the recorded arrays into tables and `sim --help` (<= 0.5 s). Times are
medians (min and max beside them); every figure is printed with its goal and "met" / "NOT
met", and a markdown table of them all at the end (for docs/performance.md). Other processes
on the machine slow every figure: the load average is printed with the environment.

    python benchmarks/bench_run.py [--repeat 15] [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# isort: off
import sim  # noqa: F401  (before numpy: sim pins OpenBLAS's kernels, as in every run)
import numpy as np

# isort: on
from sim.model import RuleMakingModel
from sim.scenario import load_scenario
from sim.scenario.loader import validate

HERE = Path(__file__).resolve().parent
NORMS = ["hardness", "data_openness", "rights", "development", "security"]


def generated_scenario(n_states: int = 200, n_forums: int = 20, steps: int = 100, seed: int = 1):
    """A synthetic world: random capacities, positions, forums of 5-60 members (at most every
    state), some links, a framework. Any n_states >= 2, n_forums >= 1 and steps >= 1; for
    n_states >= 60 and steps > 8 the scenario is the same as before forum sizes were capped
    (the same draws in the same order)."""
    if n_states < 2 or n_forums < 1:
        raise ValueError("generated_scenario needs at least 2 states and 1 forum")
    rng = np.random.default_rng(seed)
    names = [f"S{i:03d}" for i in range(n_states)]
    states = []
    for i, n in enumerate(names):
        kind = ["fixed", "learning", "best_response"][i % 3]
        policy = {"kind": kind}
        if kind == "fixed":
            policy["mix"] = {"institutional": 1, "discourse": 1, "practice": 1}
        states.append(
            {
                "name": n,
                "tier": int(rng.integers(1, 4)),
                "region": f"R{i % 8}",
                "resources": {k: float(rng.uniform(0.1, 10)) for k in ("compute", "data", "algorithms")},
                "market": float(rng.uniform(0.1, 10)),
                "capacities": {k: float(rng.uniform()) for k in ("standards", "regulatory", "discourse")},
                "position": rng.uniform(size=len(NORMS)).round(3).tolist(),
                "partners": [names[(i + 1) % n_states]],
                "policy": policy,
            }
        )
    forums = []
    for f in range(n_forums):
        size = min(int(rng.integers(5, 60)), n_states)  # the same draw; capped in small worlds
        members = sorted(rng.choice(names, size=size, replace=False).tolist())
        forums.append(
            {
                "name": f"F{f:02d}",
                "members": members,
                "weight": float(rng.uniform(0.3, 1.0)),
                "inclusiveness": float(rng.uniform()),
                "openness": float(rng.uniform(0, 0.5)),
                "links": [f"F{(f + 1) % n_forums:02d}"] if f % 2 == 0 and n_forums > 1 else [],
                "presidency": {2016 + y: members[y % len(members)] for y in range(30)},
            }
        )
    fw_date = "2018-01" if steps > 8 else "2016-01"  # a run of 8 quarters or less ends before 2018
    raw = {
        "name": "generated",
        "model": {"start_year": 2016, "steps_per_year": 4, "steps": steps, "seed": seed},
        "norms": [{"name": n} for n in NORMS],
        "states": states,
        "forums": forums,
        "frameworks": [{"name": "FW", "founder": names[0], "forum": forums[0]["name"], "date": fw_date}],
    }
    return validate(raw, "generated")


# ----------------------------------------------------------------------------- measuring
@dataclass
class Figure:
    key: str
    label: str
    now: str
    goal: str
    met: bool | None  # None: not compared (no goal, skipped, or failed)


FIGURES: list[Figure] = []


def _time(fn: Callable[[], object], repeat: int, warmup: bool = True) -> list[float]:
    if warmup:
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _spread(times: list[float]) -> str:
    if len(times) == 1:
        return "(1 run)"
    return f"(min {_fmt(min(times))}, max {_fmt(max(times))}, {len(times)} runs)"


def _met(met: bool | None) -> str:
    return "-" if met is None else ("met" if met else "NOT met")


def _figure(key: str, label: str, now: str, goal: str, met: bool | None, detail: str = "") -> None:
    FIGURES.append(Figure(key, label, now, goal, met))
    goal_text = f"   goal {goal}: {_met(met)}" if goal != "-" else ""
    print(f"{key + ' ' if key else '':<5}{label:<50} {now:>14}  {detail}{goal_text}", flush=True)


def _timed(key: str, label: str, times: list[float], goal_s: float | None) -> float:
    med = statistics.median(times)
    goal = "-" if goal_s is None else f"<= {_fmt(goal_s)}"
    _figure(key, label, _fmt(med), goal, None if goal_s is None else med <= goal_s, _spread(times))
    return med


def _detail(label: str, text: str) -> None:
    print(f"    {label:<50} {text}", flush=True)


def environment() -> str:
    import mesa
    from threadpoolctl import threadpool_info

    blas = [
        f"{i.get('internal_api')} {i.get('num_threads')} threads"
        + (f" ({i['architecture']})" if i.get("architecture") else "")
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"python {sys.version.split()[0]}, numpy {np.__version__}, mesa {mesa.__version__}, "
        f"{os.cpu_count()} CPUs ({usable} usable), BLAS {', '.join(blas) or 'none found'}; "
        f"load average {load}"
    )


# peak memory: a fresh child reports its own ru_maxrss. Linux carries the RSS of the process
# that execs into the new program's ru_maxrss, and this process is large by now, so children
# are started through a small launcher (a bare Python) whose own size is far below either figure.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"
CHILD = """
import resource, sys, time
sys.path.insert(0, {here!r})
from bench_run import generated_scenario
from sim.model import RuleMakingModel
took = 0.0
if {n}:
    model = RuleMakingModel(generated_scenario({n}), ledger_entries={entries}).run()
    if {tables}:
        t0 = time.perf_counter()
        model.tables()
        took = time.perf_counter() - t0
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, took)
"""


def child_peak(n_states: int, entries: bool = True, tables: bool = False) -> tuple[float, float]:
    """Peak resident memory (bytes) of a fresh Python that imports the model and, for
    n_states > 0, builds and runs a generated world of that many states (`entries=False`: as
    sweeps and calibrations run it, without the ledger's entries; `tables`: then builds every
    table, as `sim run` does before writing them), and how long the tables took (s)."""
    code = CHILD.format(here=str(HERE), n=n_states, entries=entries, tables=tables)
    cmd = [sys.executable, "-S", "-c", LAUNCHER, sys.executable, "-c", code]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    peak, took = out.stdout.split()[-2:]
    return int(peak) * (1 if sys.platform == "darwin" else 1024), float(took)


def _proc(cmd: list[str], repeat: int, warmup: bool = True) -> list[float]:
    return _time(lambda: subprocess.run(cmd, capture_output=True, check=True), repeat, warmup)


def import_profile(stmt: str, top: int = 7) -> str:
    """`python -X importtime -c stmt`: the total, and the packages it is spent in (each module's
    own time summed by top-level package, so the parts add up to the total)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", stmt], capture_output=True, text=True, check=True
    ).stderr
    by_package: dict[str, int] = {}
    for line in err.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "self [us]" in line:
            continue
        package = parts[2].strip().split(".")[0]
        by_package[package] = by_package.get(package, 0) + int(parts[0].split(":")[1])
    total = sum(by_package.values())
    largest = sorted(by_package.items(), key=lambda kv: -kv[1])[:top]
    return f"{total / 1000:.0f} ms (under -X importtime); by package, ms: " + ", ".join(
        f"{name} {us / 1000:.0f}" for name, us in largest
    )


def _failed(key: str, label: str, goal: str, exc: BaseException) -> None:
    msg = exc.stderr.strip().splitlines()[-1:] if isinstance(exc, subprocess.CalledProcessError) else []
    _figure(key, label, "failed", goal, None, f"({type(exc).__name__}: {(msg or [str(exc)])[0][:120]}) ")


# ----------------------------------------------------------------------------- figures
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs of the fast figures (a), (b) (default 15; 3 with --quick)",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="a smoke test: fewer runs, no 2000-state run ((e) is measured at 1000 states, not compared)",
    )
    args = ap.parse_args(argv)
    repeat = max(1, args.repeat or (3 if args.quick else 15))
    slow = 1 if args.quick else min(3, repeat)  # runs of the slow figures (c), (d), (f)

    print(environment())
    print(
        f"runs: {repeat} of (a), (b); {slow} of (c), (d), (f){'; --quick' if args.quick else ''}", flush=True
    )
    baseline = load_scenario()
    big = generated_scenario()

    # (a), (b)
    _timed("(a)", "baseline: build + 60 steps", _time(lambda: RuleMakingModel(baseline).run(), repeat), 0.030)
    t_b = _timed(
        "(b)",
        "200 states x 20 forums: build + 100 steps",
        _time(lambda: RuleMakingModel(big).run(), repeat),
        0.050,
    )
    m = RuleMakingModel(baseline).run()
    _detail("baseline: recorded arrays -> tables", f"{_fmt(statistics.median(_time(m.tables, repeat)))}")
    mb = RuleMakingModel(big).run()
    _detail("200 states: recorded arrays -> tables", f"{_fmt(statistics.median(_time(mb.tables, repeat)))}")

    # (c) ours and the reference, in turns
    from mesa_reference import ReferenceModel

    ours, ref = [], []
    for _ in range(slow):
        ours += _time(lambda: RuleMakingModel(big).run(), 1, warmup=False)
        ref += _time(lambda: ReferenceModel(big).run(), 1, warmup=False)
    t_ours, t_ref = statistics.median(ours), statistics.median(ref)
    _detail("reference Mesa model, 200 x 20 x 100", f"{_fmt(t_ref)} {_spread(ref)}")
    _detail("ours, timed in turns with it", f"{_fmt(t_ours)} {_spread(ours)} ((b): {_fmt(t_b)})")
    ratio = t_ours / t_ref
    _detail("ratio of the fastest runs (less sensitive to load)", f"{min(ours) / min(ref):.3f}x")
    _figure(
        "(c)", "ours / per-agent Mesa reference, 200 x 20 x 100", f"{ratio:.3f}x", "<= 0.25x", ratio <= 0.25
    )

    # (d) scaling
    s1000 = generated_scenario(1000)
    t1000 = _timed(
        "(d)",
        "1000 states x 20 forums x 100 steps",
        _time(lambda: RuleMakingModel(s1000).run(), slow, False),
        0.6,
    )
    if args.quick:
        _figure("(d)", "2000 states x 20 forums x 100 steps", "skipped", "<= 1.50 s", None, "(--quick) ")
        _figure("(d)", "growth exponent 1000 -> 2000 states", "skipped", "<= 1.3", None, "(--quick) ")
    else:
        s2000 = generated_scenario(2000)
        t2000 = _timed(
            "(d)",
            "2000 states x 20 forums x 100 steps",
            _time(lambda: RuleMakingModel(s2000).run(), slow, False),
            1.5,
        )
        exponent = math.log(t2000 / t1000) / math.log(2)
        _figure("(d)", "growth exponent 1000 -> 2000 states", f"{exponent:.2f}", "<= 1.3", exponent <= 1.3)
    # the same worlds as sweeps and calibrations run them: no ledger entries (the same outputs
    # but for influence_sources, which their metrics never read)
    for n_lean in (1000,) if args.quick else (1000, 2000):
        lean = generated_scenario(n_lean)
        times = _time(lambda s=lean: RuleMakingModel(s, ledger_entries=False).run(), slow, False)
        _detail(
            f"{n_lean} states as a sweep runs it (no ledger entries)",
            f"{_fmt(statistics.median(times))} {_spread(times)}",
        )

    # (e) peak memory, in fresh children
    n_mem = 1000 if args.quick else 2000
    label = f"peak memory of one {n_mem}-state run (delta)"
    errors = (subprocess.CalledProcessError, ValueError, IndexError)
    try:
        base: float | None = child_peak(0)[0]
    except errors as exc:
        base = None
        _failed("(e)", "import-only child", "-", exc)
    for key, entries, what in (
        ("(e)", True, label),
        ("(e')", False, "the same, as a sweep runs it (no ledger entries)"),
    ):
        if base is None:
            continue
        try:
            run = child_peak(n_mem, entries=entries)[0]
        except errors as exc:  # one failing (out of memory, say) leaves the other measured
            _failed(key, what, "<= 350 MB", exc)
            continue
        delta = (run - base) / 1e6
        detail = f"(child {run / 1e6:.0f} MB - import-only child {base / 1e6:.0f} MB) "
        detail += f"(--quick: {n_mem} states, not compared) " if args.quick else ""
        _figure(key, what, f"{delta:.0f} MB", "<= 350 MB", None if args.quick else delta <= 350, detail)
    if base is not None:  # and while `sim run` builds its tables (influence_sources: 49 million rows)
        what = "1000 states, run and then every table built (as `sim run` before writing)"
        try:
            run, took = child_peak(1000, tables=True)
            _detail(what, f"peak {(run - base) / 1e6:.0f} MB (delta); the tables took {_fmt(took)}")
        except errors as exc:
            _failed("", what, "-", exc)

    # (f) the whole process, and the imports
    sim_exe = Path(sys.executable).with_name("sim")
    with tempfile.TemporaryDirectory() as tmp:
        runs = iter(range(10_000))
        label = "`sim run baseline --out DIR` (whole process)"
        try:
            times = _time(
                lambda: subprocess.run(
                    [str(sim_exe), "run", "baseline", "--out", f"{tmp}/run{next(runs)}"],
                    capture_output=True,
                    check=True,
                ),
                slow,
                warmup=not args.quick,
            )
            _timed("(f)", label, times, 0.6)
        except (subprocess.CalledProcessError, OSError) as exc:
            _failed("(f)", label, "<= 600.0 ms", exc)
    py = sys.executable
    start = statistics.median(_proc([py, "-c", "pass"], slow))
    _detail("python -c pass (interpreter start)", _fmt(start))
    _detail("python -c 'import sim.cli'", _fmt(statistics.median(_proc([py, "-c", "import sim.cli"], slow))))
    stmt = "import sim.model, sim.runner"
    _timed("(f)", "python -c 'import sim.model, sim.runner'", _proc([py, "-c", stmt], slow), None)
    _detail("  of which imports", import_profile(stmt))
    if sim_exe.exists():
        _timed("", "`sim --help` (whole process)", _proc([str(sim_exe), "--help"], max(slow, 3)), 0.5)

    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| figure | now | goal | met |\n|---|---|---|---|")
    for f in FIGURES:
        print(f"| {f.key + ' ' if f.key else ''}{f.label} | {f.now} | {f.goal} | {_met(f.met)} |")


if __name__ == "__main__":
    main()
