"""Size limits: estimate what a run or a sweep will cost before starting it, and refuse work
above the limits unless `--allow-large` is given (docs/reliability.md).

The estimates come from the scaling measured on the 2-core reference machine (issue 15's
table: 200 / 1000 / 2000 states x 20 forums x 100 steps took 0.17 / 1.7 / 10 s): time per
step grows as N^1.43 up to 1000 states and N^2.56 beyond. Memory is about 120 bytes per pair
of states for the world's arrays; a run whose tables are written (`sim run`, replications)
adds about 24 bytes per pair and step: the credit ledger keeps who moved whom in every step,
and its `influence_sources` table is built from it (3 December 2026: a 1000-state run of 100
steps peaked at 0.7 GB after its steps and 2.2 GB with its tables). Sweeps, comparisons,
claims and calibrations keep no ledger entries (a 2000-state run: about 0.3 GB). The
estimates are rough (within a factor of about 2) and serve only to stop work that cannot
finish, not to predict run times.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.errors import SimError

MAX_STEPS = 10_000  # steps in one run (the baseline has 60)
MAX_STATES = 2_500  # states in one scenario (the baseline has 21)
MAX_RUN_SECONDS = 1_800.0  # estimated time of one run
MAX_RUN_BYTES = 4e9  # estimated peak memory of one run
MAX_RUNS = 200_000  # runs in one sweep
MAX_SWEEP_CPU_HOURS = 48.0  # estimated total run time of a sweep, on one core
MAX_OUTPUT_BYTES = 20e9  # estimated files of `sim run --replications` (every run's tables)
FLAG = "--allow-large"


@dataclass(frozen=True)
class Cost:
    states: int
    steps: int
    seconds: float  # one run, one core
    bytes: float  # peak memory of one run

    def __str__(self) -> str:
        return (
            f"{self.states:,} states x {self.steps:,} steps: about {_duration(self.seconds)} "
            f"and {self.bytes / 1e6:,.0f} MB per run"
        )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.2g} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:,.1f} h"


def run_cost(states: int, steps: int, tables: bool = True) -> Cost:
    """Estimated time and peak memory of one run; `tables=False`: a run that computes metrics
    only, without the ledger's entries (sweeps, comparisons, claims, calibrations)."""
    n = max(states, 1)
    per_step = 7e-4 + 1.71e-3 * (n / 200) ** 1.43
    if n > 1000:
        per_step *= (n / 1000) ** 1.13  # 1.43 + 1.13 = 2.56 beyond 1000 states
    ledger = 24.0 * n * n * steps if tables else 0.0
    return Cost(n, steps, per_step * steps, 100e6 + 120.0 * n * n + ledger)


def check_run(
    states: int, steps: int, allow: bool = False, what: str = "this run", tables: bool = True
) -> Cost:
    """Refuse a run above the limits (unless `allow`), saying the estimate and the flag."""
    cost = run_cost(states, steps, tables)
    over = []
    if steps > MAX_STEPS:
        over.append(f"more than {MAX_STEPS:,} steps")
    if states > MAX_STATES:
        over.append(f"more than {MAX_STATES:,} states")
    if cost.seconds > MAX_RUN_SECONDS:
        over.append(f"over {_duration(MAX_RUN_SECONDS)} per run")
    if cost.bytes > MAX_RUN_BYTES:
        over.append(f"over {MAX_RUN_BYTES / 1e9:.0f} GB per run")
    if over and not allow:
        raise SimError(f"{what} is too large ({'; '.join(over)}): {cost}. Use {FLAG} to run it anyway")
    return cost


def output_bytes(states: int, steps: int) -> float:
    """Estimated Parquet files of one run's tables: about 1 kB per state and step (measured
    3 December 2026: the baseline, 21 states x 60 steps, 1.3 MB; generated worlds of 100 and
    200 states x 60 steps, 3.8 and 11.9 MB)."""
    return 1_000.0 * max(states, 1) * steps


def check_replications(
    runs: int, states: int, steps: int, allow: bool = False, what: str = "these runs", written: bool = True
) -> None:
    """Refuse replications or a comparison above the sweep limits (unless `allow`): `runs` in
    all; `written`: every run's tables are kept (`sim run --replications`), so their files
    count too."""
    check_sweep(runs, states, steps, allow, what)
    disk = runs * output_bytes(states, steps) if written else 0.0
    if disk > MAX_OUTPUT_BYTES and not allow:
        raise SimError(
            f"{what} would write too much (over {MAX_OUTPUT_BYTES / 1e9:.0f} GB of tables): {runs:,} runs "
            f"of about {output_bytes(states, steps) / 1e6:,.1f} MB each, about {disk / 1e9:,.0f} GB. "
            f"Use {FLAG} to run it anyway"
        )


def check_sweep(runs: int, states: int, steps: int, allow: bool = False, what: str = "this sweep") -> Cost:
    """Refuse a sweep above the limits (unless `allow`); the limits of one run apply too."""
    cost = check_run(states, steps, allow, f"each run of {what}", tables=False)
    hours = runs * cost.seconds / 3600
    over = []
    if runs > MAX_RUNS:
        over.append(f"more than {MAX_RUNS:,} runs")
    if hours > MAX_SWEEP_CPU_HOURS:
        over.append(f"over {MAX_SWEEP_CPU_HOURS:g} CPU hours")
    if over and not allow:
        raise SimError(
            f"{what} is too large ({'; '.join(over)}): {runs:,} runs, about {hours:,.1f} CPU hours "
            f"({cost}). Use {FLAG} to run it anyway"
        )
    return cost
