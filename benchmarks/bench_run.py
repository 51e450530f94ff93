"""Benchmark of the model's own work: build + run, no interpreter start, no file writing.

Prints the median wall time (and the spread) for
  (a) the packaged baseline scenario (21 states, 8 forums, 60 quarterly steps), and
  (b) a generated scenario of 200 states and 20 forums run for 100 steps,
plus the time to turn the recorded arrays into tables, and how long `sim --help` takes.
Goals on the 2-core reference machine: (a) <= 30 ms, (b) <= 50 ms, `sim --help` < 0.5 s.

    python benchmarks/bench_run.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sim.model import RuleMakingModel
from sim.scenario import load_scenario
from sim.scenario.loader import validate

NORMS = ["hardness", "data_openness", "rights", "development", "security"]


def generated_scenario(n_states: int = 200, n_forums: int = 20, steps: int = 100, seed: int = 1):
    """A synthetic world: random capacities, positions, forums of 5-60 members, some links."""
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
        size = int(rng.integers(5, 60))
        members = sorted(rng.choice(names, size=size, replace=False).tolist())
        forums.append(
            {
                "name": f"F{f:02d}",
                "members": members,
                "weight": float(rng.uniform(0.3, 1.0)),
                "inclusiveness": float(rng.uniform()),
                "openness": float(rng.uniform(0, 0.5)),
                "links": [f"F{(f + 1) % n_forums:02d}"] if f % 2 == 0 else [],
                "presidency": {2016 + y: members[y % len(members)] for y in range(30)},
            }
        )
    raw = {
        "name": "generated",
        "model": {"start_year": 2016, "steps_per_year": 4, "steps": steps, "seed": seed},
        "norms": [{"name": n} for n in NORMS],
        "states": states,
        "forums": forums,
        "frameworks": [{"name": "FW", "founder": names[0], "forum": forums[0]["name"], "date": "2018-01"}],
    }
    return validate(raw, "generated")


def _time(fn, repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _report(label: str, times: list[float], goal_ms: float | None = None) -> None:
    med = statistics.median(times) * 1000
    lo, hi = min(times) * 1000, max(times) * 1000
    goal = f"   goal <= {goal_ms:.0f} ms: {'met' if med <= goal_ms else 'NOT met'}" if goal_ms else ""
    print(f"{label:<52} median {med:8.2f} ms  (min {lo:.2f}, max {hi:.2f}){goal}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()

    baseline = load_scenario()
    big = generated_scenario()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, repeat {args.repeat}")
    _report(
        "(a) baseline: build + 60 steps",
        _time(lambda: RuleMakingModel(baseline).run(), args.repeat),
        30,
    )
    _report(
        "(b) generated 200 states, 20 forums: build + 100 steps",
        _time(lambda: RuleMakingModel(big).run(), args.repeat),
        50,
    )
    m = RuleMakingModel(baseline).run()
    _report("    baseline: recorded arrays -> tables", _time(m.tables, args.repeat))
    mb = RuleMakingModel(big).run()
    _report("    generated: recorded arrays -> tables", _time(mb.tables, args.repeat))
    sim = Path(sys.executable).with_name("sim")
    if sim.exists():
        helps = _time(lambda: subprocess.run([str(sim), "--help"], capture_output=True, check=True), 5)
        _report("`sim --help` (whole process)", helps, 500)


if __name__ == "__main__":
    main()
