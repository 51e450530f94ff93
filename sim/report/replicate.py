"""Replications: one scenario on N seeds (`sim run --replications N`), or two scenarios on the
same N seeds (`sim compare A B --replications N`), and their 95% t intervals.

Seeds are derived as the claims and sweeps derive theirs: replication r runs on
`run_seed(base, r)`, `base` being `--seed` or the (first) scenario's `model.seed`. In a
comparison, replication r of A and of B share that seed, so each mechanism draws the same
random numbers on both sides (common random numbers) and the per-replication differences
B - A are paired: their mean and t interval over the replications is the effect of going
from A to B.

The headline metrics are those of the run summary, per state and year: influence share,
resource share, punching ratio, rule alignment, followers, influence stock, compute and
market, and for the world (state "") the forum alignment index and the Herfindahl index of
influence. A comparison reads them through the sweep metrics (`sim.experiments.metrics`:
`states.<column>[<state>]`, `model.<column>`) on the executors; a replicated run and
`sim report --compare` read them from the run's tables (`states.parquet`, `model.parquet`),
which hold the same values.

This module plots nothing (it imports no matplotlib): the outputs are written by
`sim.report.compare` and `sim.report.run_report`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.errors import OutputError, ScenarioError, SimError
from sim.runner import RunTask

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

LEVEL = 0.95
HEADLINE_STATE = (
    "influence_share", "resource_share", "punching_ratio", "rule_alignment", "followers", "influence",
    "compute", "market",
)  # fmt: skip
HEADLINE_WORLD = ("alignment_index", "influence_hhi")
HEADLINE = HEADLINE_STATE + HEADLINE_WORLD
WORLD = ""  # the state of a world-level metric
LABELS = {
    "influence_share": "influence share", "resource_share": "resource share",
    "punching_ratio": "punching ratio", "rule_alignment": "rule alignment", "followers": "followers",
    "influence": "influence stock", "compute": "compute", "market": "market",
    "alignment_index": "forum alignment index", "influence_hhi": "influence concentration (HHI)",
}  # fmt: skip
YEAR_DECIMALS = 6  # years are matched to this many decimals (a month is 1/12 of a year)


# ----------------------------------------------------------------------------- statistics
def interval(x: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and two-sided t interval along axis 0 (replications), column by column, over the
    finite values: (mean, lo, hi, n). With n = 1 the interval is NaN; with n = 0 everything
    is. Column by column the same as `sim.claims.stats.effect_ci`."""
    from scipy import stats as st

    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    with np.errstate(all="ignore"):
        mean = np.where(ok, x, 0.0).sum(axis=0) / n
        dev = np.where(ok, x - mean, 0.0)
        sd = np.sqrt(np.square(dev).sum(axis=0) / (n - 1))
        half = st.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    mean = np.where(n >= 1, mean, np.nan)
    return mean, mean - half, mean + half, n


def group_interval(
    df: pd.DataFrame, keys: list[str], value: str = "value", level: float = LEVEL
) -> pd.DataFrame:
    """Per group of `keys`, the mean of `value` over its rows (one per replication) and its t
    interval: columns keys + mean, lo, hi, n (the bands of a replicated run's figures)."""
    from scipy import stats as st

    d = df[[*keys, value]].copy()
    d[value] = d[value].where(np.isfinite(d[value].astype(float)))
    g = d.groupby(keys, sort=True, dropna=False)[value].agg(["mean", "std", "count"]).reset_index()
    n = g["count"].to_numpy()
    with np.errstate(all="ignore"):
        half = st.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)) * g["std"].to_numpy() / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return g.assign(lo=g["mean"] - half, hi=g["mean"] + half, n=n)[[*keys, "mean", "lo", "hi", "n"]]


# ----------------------------------------------------------------------------- headline metrics
def headline_metrics(state_names: Sequence[str]) -> dict[str, tuple[str, str, str]]:
    """The headline metrics of a scenario's states as sweep metrics: name -> (spec, metric,
    state)."""
    out = {f"{m}[{s}]": (f"states.{m}[{s}]", m, s) for m in HEADLINE_STATE for s in state_names}
    out.update({m: (f"model.{m}", m, WORLD) for m in HEADLINE_WORLD})
    return out


def _years(y: Any) -> Any:
    return np.round(np.asarray(y, dtype=float), YEAR_DECIMALS)


def headline_tables(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The headline metrics of a run's (or a replicated run's) tables, long: [replication,]
    metric, state, year, value."""
    states, model = tables["states"], tables["model"]
    rep = ["replication"] if "replication" in states.columns else []
    s = states.melt(id_vars=[*rep, "year", "state"], value_vars=list(HEADLINE_STATE), var_name="metric")
    w = model.melt(id_vars=[*rep, "year"], value_vars=list(HEADLINE_WORLD), var_name="metric")
    w["state"] = WORLD
    out = pd.concat([s, w], ignore_index=True)
    out["year"] = _years(out["year"])
    out["value"] = out["value"].astype(float)
    return out[[*rep, "metric", "state", "year", "value"]]


# ----------------------------------------------------------------------------- scenarios and seeds
@dataclass
class Side:
    """One scenario of a comparison or a replicated run, validated before any run."""

    arg: str | None  # as the user gave it (a path or a shipped scenario's name; None: baseline)
    source: str  # the file it names
    scenario: Scenario

    @property
    def name(self) -> str:
        return str(self.scenario.name)

    @property
    def states(self) -> list[str]:
        return [s.name for s in self.scenario.states]


def load_sides(
    args: Sequence[str | None],
    steps: int | None,
    overrides: tuple[tuple[str, Any], ...],
    allow_large: bool,
    tables: bool = True,
    replications: int = 1,
) -> list[Side]:
    """Validate every scenario (all problems of all of them at once) and its size (`tables`:
    whether its runs build their tables, as replications do; comparisons do not), and the
    size of all the runs: `replications` of each side."""
    from sim.limits import check_replications, check_run, run_cost
    from sim.runner import scenario_of
    from sim.scenario.loader import scenario_source

    problems = []
    sides: list[Side] = []
    for arg in args:
        try:
            sc = scenario_of(RunTask(arg, None, steps, overrides))
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        sides.append(Side(arg, scenario_source(arg), sc))
    if problems:
        raise ScenarioError(problems)
    for side in sides:
        check_run(
            len(side.scenario.states), side.scenario.n_steps, allow_large, f"each run of {side.name}", tables
        )
    if sides:  # the costlier side stands for every side
        big = max(sides, key=lambda s: run_cost(len(s.scenario.states), s.scenario.n_steps, tables).seconds)
        what = f"sim {'run' if len(sides) == 1 else 'compare'} --replications {replications} of {big.name}"
        check_replications(
            replications * len(sides),
            len(big.scenario.states),
            big.scenario.n_steps,
            allow_large,
            what,
            tables,
        )
    return sides


def years_of(sc: Scenario) -> np.ndarray:
    """The years a run of the scenario records (the end of each step; step 0: the start)."""
    m = sc.model
    return _years(m.start_year + np.arange(sc.n_steps + 1) / m.steps_per_year)


def check_overlap(a: Side, b: Side) -> None:
    """Refuse, before any run, two scenarios that share no recorded year."""
    ya, yb = years_of(a.scenario), years_of(b.scenario)
    if not np.intersect1d(ya, yb).size:
        raise SimError(
            f"{a.arg or a.name} ({ya[0]:.2f}-{ya[-1]:.2f}) and {b.arg or b.name} ({yb[0]:.2f}-{yb[-1]:.2f}) "
            "share no year: nothing to compare (see model.start_year, steps_per_year and end_year)"
        )


def seeds(base: int, n: int) -> list[int]:
    from sim.experiments.designs import run_seed

    return [run_seed(base, r) for r in range(n)]


def check_counts(replications: int, workers: int, seed: int | None, steps: int | None) -> None:
    if replications < 1:
        raise SimError(f"--replications: expected a positive whole number, got {replications}")
    if workers < 1:
        raise SimError(f"--workers: expected a positive whole number, got {workers}")
    if seed is not None and seed < 0:
        raise SimError(f"--seed: expected a non-negative whole number, got {seed}")
    if steps is not None and steps < 1:
        raise SimError(f"--steps: expected a positive whole number, got {steps}")


def execute(
    tasks: list[RunTask], workers: int, progress: bool, desc: str, fn: Callable | None = None, size: int = 0
) -> Iterator[Any]:
    """Run tasks on local worker processes (`--workers` > 1) or in this process, through the
    sweep executors, with a progress bar on stderr; yields each task's result as it ends."""
    from tqdm import tqdm

    from sim.experiments.executors import EXECUTORS
    from sim.runner import run_chunk

    size = size or max(1, min(8, len(tasks) // max(1, 4 * workers)))
    chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    executor = EXECUTORS["local" if workers > 1 else "serial"]
    bar = tqdm(total=len(tasks), unit="run", disable=not progress, desc=desc, smoothing=0.1)
    try:
        for results in executor(chunks, workers=workers, fn=fn or run_chunk):
            yield from results
            bar.update(len(results))
    finally:
        bar.close()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def until(year: float) -> str:
    """A table's year (the end of a step) as words: 2031.0 -> 'the end of 2030'."""
    return f"the end of {int(year) - 1}" if float(year).is_integer() else f"{year:.2f}"


# ----------------------------------------------------------------------------- paired comparison
@dataclass
class Comparison:
    """Paired differences B - A of the headline metrics, aligned on the common years."""

    label_a: str
    label_b: str
    stats: pd.DataFrame  # metric, state, year, mean_a, mean_b, diff, lo, hi, n
    pairs: pd.DataFrame  # metric, state, year, replication, seed, a, b (common states and years)
    years_a: tuple[float, float, int]  # first, last, points
    years_b: tuple[float, float, int]
    common: tuple[float, float, int]
    only_a: list[str]
    only_b: list[str]
    replications: int
    seeds_a: list[int]
    seeds_b: list[int]
    level: float = LEVEL
    notes: list[str] = field(default_factory=list)

    @property
    def final_year(self) -> float:
        return self.common[1]

    @property
    def paired(self) -> bool:
        return self.seeds_a == self.seeds_b


def _span(years: np.ndarray) -> tuple[float, float, int]:
    return (
        (float(years.min()), float(years.max()), int(years.size)) if years.size else (math.nan, math.nan, 0)
    )


def paired_stats(
    a: pd.DataFrame,
    b: pd.DataFrame,
    label_a: str,
    label_b: str,
    seeds_a: list[int],
    seeds_b: list[int],
    level: float = LEVEL,
) -> Comparison:
    """Compare two long headline frames (replication, metric, state, year, value): replication
    r of A with replication r of B, over the years both have. States on one side only are
    kept with the other side empty (no difference) and listed."""
    a, b = (df.assign(year=_years(df["year"])) for df in (a, b))
    ya, yb = np.unique(a["year"]), np.unique(b["year"])
    common = np.intersect1d(ya, yb)
    if not common.size:
        raise SimError(
            f"{label_a} ({ya.min():.2f}-{ya.max():.2f}) and {label_b} ({yb.min():.2f}-{yb.max():.2f}) "
            "share no year: nothing to compare"
        )
    sa = [s for s in pd.unique(a["state"]) if s != WORLD]
    sb = [s for s in pd.unique(b["state"]) if s != WORLD]
    only_a = [s for s in sa if s not in set(sb)]
    only_b = [s for s in sb if s not in set(sa)]
    reps = sorted(set(a["replication"]) | set(b["replication"]))

    def wide(df: pd.DataFrame) -> pd.DataFrame:
        df = df[df["year"].isin(common)]
        wide = df.set_index(["metric", "state", "year", "replication"])["value"].unstack("replication")
        return wide.reindex(columns=reps)

    wa, wb = wide(a), wide(b)
    order = {m: k for k, m in enumerate(HEADLINE)}
    rank = {s: k for k, s in enumerate([WORLD, *sa, *only_b])}
    index = sorted(
        wa.index.union(wb.index),
        key=lambda k: (order.get(k[0], len(order)), k[0], rank.get(k[1], len(rank)), k[2]),
    )
    va = wa.reindex(index).to_numpy(dtype=float).T  # [replication, key]
    vb = wb.reindex(index).to_numpy(dtype=float).T
    mean_a = interval(va, level)[0]
    mean_b = interval(vb, level)[0]
    diff, lo, hi, n = interval(vb - va, level)
    keys = pd.DataFrame(index, columns=["metric", "state", "year"])
    stats = keys.assign(mean_a=mean_a, mean_b=mean_b, diff=diff, lo=lo, hi=hi, n=n.astype(int))
    both = ~keys["state"].isin(only_a + only_b).to_numpy()
    pairs = pd.DataFrame(
        {
            "metric": np.repeat(keys["metric"].to_numpy()[both], len(reps)),
            "state": np.repeat(keys["state"].to_numpy()[both], len(reps)),
            "year": np.repeat(keys["year"].to_numpy()[both], len(reps)),
            "replication": np.tile(np.asarray(reps, dtype=np.int64), int(both.sum())),
            "a": va[:, both].T.ravel(),
            "b": vb[:, both].T.ravel(),
        }
    )
    seed_of = dict(enumerate(seeds_a)) if seeds_a == seeds_b else {}
    pairs["seed"] = pairs["replication"].map(seed_of).astype("Int64")
    pairs = pairs[["metric", "state", "year", "replication", "seed", "a", "b"]]
    cmp = Comparison(label_a, label_b, stats, pairs, _span(ya), _span(yb), _span(common), only_a, only_b,
                     len(reps), list(seeds_a), list(seeds_b), level)  # fmt: skip
    cmp.notes = _notes(cmp)
    return cmp


def _notes(c: Comparison) -> list[str]:
    notes = []
    if c.years_a[:2] != c.years_b[:2] or c.years_a[2] != c.years_b[2]:
        notes.append(
            f"The runs differ in length: {c.label_a} covers {c.years_a[0]:.2f}-{c.years_a[1]:.2f} "
            f"({c.years_a[2]} points), {c.label_b} {c.years_b[0]:.2f}-{c.years_b[1]:.2f} ({c.years_b[2]} points); "
            f"they are compared over the years both have, {c.common[0]:.2f}-{c.common[1]:.2f} ({c.common[2]} points)."
        )
    if c.only_a:
        notes.append(f"States only in {c.label_a} (no difference computed): {', '.join(c.only_a)}.")
    if c.only_b:
        notes.append(f"States only in {c.label_b} (no difference computed): {', '.join(c.only_b)}.")
    if not (~c.stats["state"].isin([WORLD, *c.only_a, *c.only_b])).any():
        notes.append("No state is on both sides: only the world metrics are compared.")
    if c.replications == 1:
        notes.append("One replication: differences have no interval (use --replications N, N >= 2).")
    if not c.paired:
        notes.append(
            f"The runs have different seeds ({c.label_a}: {', '.join(map(str, c.seeds_a))}; {c.label_b}: "
            f"{', '.join(map(str, c.seeds_b))}): the differences include the noise of the seeds."
        )
    return notes


@dataclass
class CompareRun:
    """What `sim compare` ran: the comparison and its provenance."""

    comparison: Comparison
    sides: list[Side]
    base_seed: int
    seeds: list[int]
    steps: int | None
    overrides: tuple[tuple[str, Any], ...]
    workers: int
    started: str
    finished: str
    wall_seconds: float
    run_seconds: float


def compare_runs(
    sides: list[Side],
    replications: int,
    base_seed: int | None,
    steps: int | None,
    overrides: tuple[tuple[str, Any], ...],
    workers: int,
    progress: bool,
) -> CompareRun:
    """Run A and B on the same `replications` seeds and compare their headline metrics."""
    side_a, side_b = sides
    base = int(side_a.scenario.model.seed) if base_seed is None else base_seed
    rseeds = seeds(base, replications)
    heads = [headline_metrics(s.states) for s in sides]
    specs = [{name: spec for name, (spec, _, _) in h.items()} for h in heads]
    tasks = [
        RunTask(side.source, rseeds[r], steps, overrides, specs[k], every=1, run_id=f"{'AB'[k]}{r:05d}",
                index=2 * r + k, replication=r)
        for r in range(replications) for k, side in enumerate(sides)
    ]  # fmt: skip
    started = _now()
    t0 = time.perf_counter()
    rows: list[list[tuple]] = [[], []]
    failed: list[str] = []
    run_seconds = 0.0
    for row, series in execute(tasks, workers, progress, "compare"):
        k = row["index"] % 2
        run_seconds += row["wall_seconds"]
        if row["status"] != "ok":
            failed.append(f"{sides[k].name}, seed {row['seed']}: {row['error']}")
            continue
        look, rep = heads[k], row["replication"]
        rows[k].extend((rep, *look[name][1:], year, value) for _, _, year, name, value in series)
    if failed:
        raise OutputError(
            f"{len(failed)} of {len(tasks)} runs failed, nothing was written; the first: {failed[0]}"
        )
    cols = ["replication", "metric", "state", "year", "value"]
    a, b = (pd.DataFrame(r, columns=cols) for r in rows)
    la, lb = (side_a.name, side_b.name) if side_a.name != side_b.name else ("A", "B")
    cmp = paired_stats(a, b, la, lb, rseeds, rseeds)
    return CompareRun(cmp, sides, base, rseeds, steps, overrides, workers, started, _now(),
                      time.perf_counter() - t0, run_seconds)  # fmt: skip


# ----------------------------------------------------------------------------- replicated runs
def summary_stats(tables: dict[str, pd.DataFrame], level: float = LEVEL) -> pd.DataFrame:
    """Final-year headline metrics of a replicated run: metric, state, year, mean, lo, hi, n
    (mean and t interval over the seeds)."""
    h = headline_tables(tables)
    last = h["year"].max()
    g = group_interval(h[h["year"] == last], ["metric", "state", "year"], "value", level)
    rank = {s: k for k, s in enumerate([WORLD, *pd.unique(tables["states"]["state"])])}
    key = [HEADLINE.index(m) * len(rank) + rank[s] for m, s in zip(g["metric"], g["state"], strict=True)]
    return g.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)


def rows_by(stats: pd.DataFrame) -> dict[tuple[str, str], Any]:
    """The rows of a statistics table (one year) by (metric, state)."""
    return {(str(r.metric), str(r.state)): r for r in stats.itertuples(index=False)}


def _fmt(x: float, digits: str = ".3f") -> str:
    return "" if not np.isfinite(x) else format(x, digits)


def _ci(row: Any, digits: str = ".3f") -> str:
    if not np.isfinite(row.lo):
        return _fmt(row.mean, digits)
    return f"{_fmt(row.mean, digits)} [{_fmt(row.lo, digits)}, {_fmt(row.hi, digits)}]"


def summary_text(stats: pd.DataFrame, name: str, replications: int, base_seed: int, steps: int) -> str:
    """The summary table of a replicated run (markdown): per state the final-year influence
    share, resource share and punching ratio, mean and 95% t interval over the seeds."""
    year = float(stats["year"].iloc[0])
    n = int(stats["n"].max())
    how = (
        f"mean and {LEVEL:.0%} t interval over the seeds (n = {n})"
        if n >= 2
        else "one replication: no interval (use --replications N, N >= 2)"
    )
    lines = [
        f"{name}: {replications} replications (seeds derived from {base_seed}), {steps} steps, to {until(year)}",
        f"final-year values, {how}",
        "",
        "| state | influence share | resource share | punching ratio |",
        "|---|---|---|---|",
    ]
    by = rows_by(stats)
    states = stats[(stats.metric == "influence_share") & (stats.state != WORLD)]
    for s in states.sort_values("mean", ascending=False)["state"]:
        cells = [_ci(by[(m, s)], ".2f" if m == "punching_ratio" else ".3f") for m in HEADLINE_STATE[:3]]
        lines.append(f"| {s} | {' | '.join(cells)} |")
    world = [f"{LABELS[m]} {_ci(by[(m, WORLD)])}" for m in HEADLINE_WORLD if (m, WORLD) in by]
    lines += ["", "; ".join(world)]
    return "\n".join(lines) + "\n"


def write_parts_chunk(parts: str, tasks: list[RunTask]) -> list[tuple[int, Any]]:
    """Run tasks (`run_tables_chunk`) and write each run's tables, with `replication` and `seed`
    columns, as `<table>-<replication>.parquet` into the folder `parts`, in the worker: only
    the results' descriptions (each table's row count in place of the table) travel back."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sim.runner import run_tables_chunk

    out = []
    for r, result in run_tables_chunk(tasks):
        counts = {}
        for name, df in result.tables.items():
            df = df.copy()
            df.insert(0, "seed", np.int64(result.seed))
            df.insert(0, "replication", np.int64(r))
            pq.write_table(
                pa.Table.from_pandas(df, preserve_index=False), Path(parts) / f"{name}-{r:06d}.parquet"
            )
            counts[name] = len(df)
        result.tables = counts
        out.append((r, result))
    return out


def _meta(result: Any, replications: int, base_seed: int) -> dict[str, str]:
    from sim.provenance import versions

    vers = versions()
    return {
        "scenario": result.scenario_name,
        "scenario_sha256": result.scenario_sha256,
        "replications": str(replications),
        "base_seed": str(base_seed),
        "sim": vers["sim"],
        "mesa": vers["mesa"],
    }


def _combine(parts: Path, name: str, reps: int, dest: Path, meta: dict[str, str]) -> None:
    """One table of every replication, in replication order, into one Parquet file (a row group
    per replication); the parts are read one at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = [parts / f"{name}-{r:06d}.parquet" for r in range(reps)]
    schemas = [pq.read_schema(f) for f in files]
    schema = pa.unify_schemas([s.remove_metadata() for s in schemas])  # an empty part's null columns
    merged = dict(schemas[0].metadata or {})
    merged[b"sim.provenance"] = json.dumps(meta, sort_keys=True).encode()
    schema = schema.with_metadata(merged)
    with pq.ParquetWriter(dest, schema, compression="zstd") as writer:
        for f in files:
            writer.write_table(pq.read_table(f).cast(schema))
            f.unlink()


@dataclass
class Replicated:
    out: Path
    summary: pd.DataFrame
    text: str
    wall_seconds: float


def run_replicated(
    side: Side,
    replications: int,
    base_seed: int | None,
    steps: int | None,
    overrides: tuple[tuple[str, Any], ...],
    workers: int,
    progress: bool,
    out: Path,
    command: str,
) -> Replicated:
    """`sim run --replications N`: N seeds of one scenario, every table of every seed in one
    Parquet file per table (columns `replication` and `seed` first), written atomically."""
    from sim.io import MARKER, atomic
    from sim.provenance import git_commit, versions
    from sim.runner import scenario_of
    from sim.scenario import resolved_yaml

    base = int(side.scenario.model.seed) if base_seed is None else base_seed
    rseeds = seeds(base, replications)
    tasks = [
        RunTask(side.source, rseeds[r], steps, overrides, run_id=f"r{r:05d}", index=r, replication=r)
        for r in range(replications)
    ]
    started = _now()
    t0 = time.perf_counter()
    done: dict[str, Any] = {}

    def write(tmp: Path) -> None:
        parts = tmp / ".parts"
        parts.mkdir()
        names: set[str] = set()
        run_seconds = 0.0
        first = None
        job = functools.partial(write_parts_chunk, str(parts))
        for r, result in execute(tasks, workers, progress, "runs", fn=job, size=1):
            first = result if r == 0 else first
            run_seconds += result.wall_seconds
            names.update(result.tables)
        assert first is not None
        meta = _meta(first, replications, base)
        for name in sorted(names):
            _combine(parts, name, replications, tmp / f"{name}.parquet", meta)
        shutil.rmtree(parts)
        tables = {n: pd.read_parquet(tmp / f"{n}.parquet") for n in ("states", "model")}
        stats = summary_stats(tables)
        text = summary_text(stats, first.scenario_name, replications, base, first.steps)
        stats.to_csv(tmp / "summary.csv", index=False)
        (tmp / "summary.md").write_text(text, encoding="utf-8")
        resolved = scenario_of(RunTask(side.source, base, steps, overrides))  # with the base seed
        (tmp / "scenario.resolved.yaml").write_text(resolved_yaml(resolved), encoding="utf-8")
        wall = time.perf_counter() - t0
        manifest = {
            "scenario": first.scenario_name,
            "scenario_file": side.source,
            "scenario_sha256": first.scenario_sha256,
            "replications": replications,
            "base_seed": base,
            "seeds": rseeds,
            "seed_rule": "replication r runs on sim.experiments.designs.run_seed(base_seed, r)",
            "steps": first.steps,
            "overrides": {k: v for k, v in overrides},
            "workers": workers,
            "versions": versions(),
            "git_commit": git_commit(),
            "command": command,
            "started": started,
            "finished": _now(),
            "wall_seconds": round(wall, 4),
            "run_seconds_total": round(run_seconds, 4),
            "files": sorted([*(p.name for p in tmp.iterdir() if p.name != MARKER), "manifest.json"]),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        done.update(stats=stats, text=text, wall=wall)

    atomic(out, write, replace=False, folder=True)
    return Replicated(out, done["stats"], done["text"], done["wall"])
