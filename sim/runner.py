"""Running a model: one `RunTask` -> tables (`run_one`, for `sim run`) or -> a row of
metrics (`run_task`, `run_chunk`, for sweeps, claims and the EMA adapter), and writing a
run's results.

The run functions are picklable and top-level (Mesa forces the `spawn` start method, so
process pools need them). `write_run` writes a run's folder atomically (`sim.io.atomic`):
everything is written into a hidden sibling folder first and renamed into place only when
complete, so a folder that exists is a complete run.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import json
import operator
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import SimError
from sim.io import MARKER, atomic, inside

if TYPE_CHECKING:
    from sim.model import RuleMakingModel
    from sim.scenario.schema import Scenario

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")

_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}


@dataclass(frozen=True)
class RunTask:
    """One run: the scenario, its seed and length, the values it changes and what to measure.

    Picklable, so process pools and Dask workers take it as it is. `sim run`, sweeps (one
    task per design point and replication), claims and the EMA adapter all describe their
    runs with it. `overrides` are (scenario key path, value) pairs, applied in order."""

    scenario: str | None = None  # a path or a shipped scenario's name; None: the packaged baseline
    seed: int | None = None  # None: the scenario's model.seed
    steps: int | None = None  # None: the scenario's run length
    overrides: tuple[tuple[str, Any], ...] = ()
    metrics: Mapping[str, str] = field(default_factory=dict)  # name -> metric (`sim.experiments.metrics`)
    every: int | None = None  # record the metrics' series every this many steps
    stop_when: Mapping[str, Any] | None = None  # {metric, op, value, check_every}
    run_id: str = ""
    index: int = 0
    point: int = 0
    replication: int = 0
    # the scenario's raw content (merged with what it extends): when set, the file is not read,
    # so a task runs on a worker that does not share the driver's folders
    content: Mapping[str, Any] | None = None

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.overrides)


@dataclass
class RunResult:
    scenario_name: str
    scenario_sha256: str
    scenario: Scenario
    seed: int
    steps: int
    tables: dict[str, Any]
    wall_seconds: float
    started: str
    finished: str
    extra: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def resolved_yaml(self) -> str:
        """The scenario as run, as YAML: written with the run's tables, so made only when a
        run is written (replications, the explorer and sweeps never need it)."""
        from sim.scenario import resolved_yaml

        return resolved_yaml(self.scenario)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


_BASE: dict[str, dict] = {}  # raw scenarios read by this process, by file


def scenario_of(task: RunTask) -> Scenario:
    """The validated scenario of a task. A process reads each scenario file once and keeps
    it, so that a worker running many tasks of a sweep only copies and overrides it."""
    from sim.scenario.loader import finish, read_scenario, scenario_source

    if task.content is not None:
        raw = copy.deepcopy(dict(task.content))
        return finish(raw, task.scenario or "scenario", task.overrides, task.steps, task.seed)
    source = scenario_source(task.scenario)
    if source not in _BASE:
        _BASE[source] = read_scenario(source)
    return finish(copy.deepcopy(_BASE[source]), source, task.overrides, task.steps, task.seed)


class _Blas:
    """This process's BLAS thread limit (`one_blas_thread`)."""

    lock = threading.Lock()
    depth = 0  # `one_blas_thread` blocks open in this process (any thread)
    held = False  # one thread for good: a worker process
    limiter: Any = None
    controller: Any = None
    modules = -1  # len(sys.modules) when the controller looked for libraries


def _controller() -> Any:
    """threadpoolctl's view of the BLAS and OpenMP libraries loaded in this process. Finding
    them takes ~2 ms, so it is kept, and looked for again only when modules were imported
    since (a library is loaded by an import); limiting through it takes ~0.03 ms."""
    from threadpoolctl import ThreadpoolController

    if _Blas.controller is None or len(sys.modules) != _Blas.modules:
        _Blas.controller = ThreadpoolController()
        _Blas.modules = len(sys.modules)
    return _Blas.controller


def hold_one_blas_thread() -> None:
    """One BLAS (and OpenMP) thread for the rest of this process: a worker's, which only runs
    runs. The libraries loaded now are limited through threadpoolctl (OpenBLAS reads
    OPENBLAS_NUM_THREADS only when it loads, so in a forked worker, or any process that loaded
    numpy first, the variable alone does nothing); those loaded later read the variables."""
    with _Blas.lock:
        for var in THREAD_VARS:
            os.environ[var] = "1"
        import numpy  # noqa: F401  (the BLAS runs use: loaded before it is limited)

        _controller().limit(limits=1)
        _Blas.held = True


def _in_dask_worker() -> bool:
    dist = sys.modules.get("distributed")
    if dist is None:
        return False
    try:
        dist.get_worker()
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Runs compute with one BLAS thread. Their matrix work is small, and with OpenBLAS's default
    of a thread per core, which waits on cores that another process uses, a 1,000-state run
    took 1.4-1.5 times as long beside one busy process, and some (200x20)@(20x200) products
    12 ms instead of 0.05 ms (`benchmarks/bench_sweep.py`, docs/performance.md). In a worker
    process (a local pool's, limited by its initialiser, or a Dask worker's, from its first
    task on) the limit stays for good; in any other process (`sim run`, the serial executor, a
    calibration on one core) it holds while a block is open, in any thread, and the previous
    limits come back after the last one."""
    if _Blas.held:
        yield
        return
    if _in_dask_worker():
        hold_one_blas_thread()
        yield
        return
    with _Blas.lock:
        if _Blas.depth == 0:
            import numpy  # noqa: F401

            _Blas.limiter = _controller().limit(limits=1)
        _Blas.depth += 1
    try:
        yield
    finally:
        with _Blas.lock:
            _Blas.depth -= 1
            if _Blas.depth == 0 and _Blas.limiter is not None:
                _Blas.limiter.restore_original_limits()
                _Blas.limiter = None


def _as_task(task: RunTask | Mapping[str, Any]) -> RunTask:
    return task if isinstance(task, RunTask) else RunTask(**task)


def run_one(
    task: RunTask | Mapping[str, Any], scenario: Scenario | None = None, tables: Sequence[str] | None = None
) -> RunResult:
    """Build, run and tabulate one model; raises `ScenarioError` on a bad scenario.
    `scenario`: the task's scenario when the caller has already validated it; `tables`: only
    these tables (default: all; without influence_sources the ledger keeps no entries)."""
    from sim.model import RuleMakingModel
    from sim.scenario import scenario_hash

    if tables is not None:  # checked before the run, not after it
        from sim.model.recorder import TABLES

        known = (*TABLES, "powers")
        if isinstance(tables, str) or not all(isinstance(t, str) for t in tables):
            raise TypeError(f"tables: a sequence of table names (of {', '.join(known)}), got {tables!r}")
        unknown = [t for t in tables if t not in known]
        if unknown:
            raise ValueError(f"unknown tables {', '.join(map(repr, unknown))} (tables: {', '.join(known)})")
    task = _as_task(task)
    sc = scenario if scenario is not None else scenario_of(task)
    started = _now()
    t0 = time.perf_counter()
    with one_blas_thread():
        model = RuleMakingModel(sc, ledger_entries=tables is None or "influence_sources" in tables)
        model.run()
        made = model.tables(tables)
    wall = time.perf_counter() - t0
    return RunResult(
        scenario_name=sc.name,
        scenario_sha256=scenario_hash(sc),
        scenario=sc,
        seed=model.seed_used,
        steps=model.steps,
        tables=made,
        wall_seconds=wall,
        started=started,
        finished=_now(),
    )


def _run_metrics(task: RunTask) -> tuple[RuleMakingModel, list[tuple[Any, ...]], dict[str, float]]:
    from sim.experiments.metrics import Evaluator
    from sim.model import RuleMakingModel

    model = RuleMakingModel(scenario_of(task), ledger_entries=False)  # metrics never read the ledger
    stop = task.stop_when
    if stop is None:
        model.run()
    else:
        check = _OPS[stop["op"]]
        while model.running:
            model.step()
            due = model.steps % stop["check_every"] == 0
            if due and check(Evaluator(model).final(stop["metric"]), stop["value"]):
                model.running = False
    ev = Evaluator(model)
    values: dict[str, float] = {}
    series_rows: list[tuple[Any, ...]] = []
    for name, spec in task.metrics.items():
        values[name] = ev.final(spec)
        if task.every:
            s = ev.series(spec)
            years = model.world.calendar.year_at
            series_rows += [
                (task.run_id, k, years(k), name, float(s[k])) for k in range(0, len(s), task.every)
            ]
    return model, series_rows, values


def run_task(task: RunTask | Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """One run of a sweep: its row for runs.parquet and its series rows (run_id, step, year,
    metric, value). A run that raises is a row with `status: failed` and its error."""
    task = _as_task(task)
    t0 = time.perf_counter()
    row: dict[str, Any] = {
        "run_id": task.run_id, "index": task.index, "point": task.point, "replication": task.replication,
        "seed": task.seed, "traceback": "",
    }  # fmt: skip
    row.update({f"param:{k}": v for k, v in task.overrides})
    series_rows: list[tuple[Any, ...]] = []
    try:
        with one_blas_thread():
            model, series_rows, values = _run_metrics(task)
        row.update(values)
        row.update(status="ok", error="", steps_run=int(model.steps))
    except Exception as exc:  # a failed run is data, not a crash of the sweep
        msg = str(exc).strip() or type(exc).__name__
        for name in task.metrics:  # the same column order as an ok row
            row[name] = float("nan")
        row.update(status="failed", error=f"{type(exc).__name__}: {msg}"[:2000], steps_run=0)
        row["traceback"] = traceback.format_exc(limit=5)[-4000:]
    row["wall_seconds"] = time.perf_counter() - t0
    return row, series_rows


@functools.cache
def check_blas_kernel() -> None:
    """Refuse to run where OpenBLAS uses other kernels than sim pins (`sim/__init__.py`): a
    worker that loaded numpy before sim (a `dask worker` started without
    OPENBLAS_CORETYPE=Haswell) would give results that differ in the last bits."""
    import sim

    if sim.BLAS_KERNEL is None:
        return
    from threadpoolctl import threadpool_info

    archs = {
        str(i.get("architecture", "")).lower()
        for i in threadpool_info()
        if i.get("internal_api") == "openblas"
    }
    if archs and archs != {sim.BLAS_KERNEL}:
        raise SimError(
            f"this process uses OpenBLAS's {', '.join(sorted(archs))} kernels (numpy was loaded before sim), "
            "so its results would differ in the last bits; start it with OPENBLAS_CORETYPE=Haswell"
        )


def run_chunk(tasks: list[RunTask]) -> list[tuple[dict[str, Any], list[tuple[Any, ...]]]]:
    """Run a list of tasks in this process (the unit of work handed to an executor), after
    checking that it computes as every other process does."""
    check_blas_kernel()
    with one_blas_thread():
        return [run_task(t) for t in tasks]


def run_tables_chunk(tasks: list[RunTask]) -> list[tuple[int, RunResult]]:
    """Run a list of tasks in this process with every output table (`run_one`): the unit of
    work of replicated runs (`sim run --replications`) on an executor. Each result comes
    with its task's replication."""
    check_blas_kernel()
    with one_blas_thread():
        return [(t.replication, run_one(t)) for t in tasks]


_NAME_LIMIT = 100  # characters of a run's name before its time stamp


def run_name(scenario: str, assignments: Sequence[str] = ()) -> str:
    """The name of a run's folder: the scenario's, followed by what `--set` changed, e.g.
    `baseline+states.Japan.capacities.discourse=0.9`, made safe for a folder name (characters
    other than letters, digits and `_.+=-` become `_`). Assignments that do not fit in 100
    characters are counted instead (`+2_more`); the manifest keeps the whole command."""
    name = scenario
    parts = [re.sub(r"[^A-Za-z0-9_.+=-]+", "_", a.strip()).strip("_") for a in assignments]
    parts = [p for p in parts if p]
    for k, part in enumerate(parts):
        left = len(parts) - k - 1
        room = _NAME_LIMIT - (len(f"+{left}_more") if left else 0)
        if len(name) + 1 + len(part) > room:
            return f"{name}+{len(parts) - k}_more"
        name = f"{name}+{part}"
    return name


def stamped_out(name: str, root: Path = Path("results")) -> Path:
    """`root/<name>-<time stamp>`, with a counter if that exists already."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = inside(root, f"{name}-{stamp}")
    n = 1
    while out.exists():
        n += 1
        out = inside(root, f"{name}-{stamp}-{n}")
    return out


def default_out(result: RunResult, root: Path = Path("results"), assignments: Sequence[str] = ()) -> Path:
    """Where a run goes without --out: `results/<scenario>[+<what --set changed>]-<time stamp>`."""
    return stamped_out(run_name(result.scenario_name, assignments), root)


def _write_parquet(df, path: Path, meta: dict[str, str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    merged = dict(table.schema.metadata or {})
    merged[b"sim.provenance"] = json.dumps(meta, sort_keys=True).encode()
    pq.write_table(table.replace_schema_metadata(merged), path, compression="zstd")


def write_run(result: RunResult, out: Path, command: str) -> Path:
    """Write the run's files into `out`, atomically. Refuses to overwrite."""
    from sim.provenance import git_commit, versions

    out = Path(out)
    if out.exists():
        raise SimError(f"{out}: output directory already exists; choose another --out")
    vers = versions()
    commit = git_commit()
    # Parquet metadata: only what is fixed by scenario + seed + code, so files stay identical.
    meta = {
        "scenario": result.scenario_name,
        "scenario_sha256": result.scenario_sha256,
        "seed": str(result.seed),
        "sim": vers["sim"],
        "mesa": vers["mesa"],
    }

    def write(tmp: Path) -> None:
        for name in sorted(result.tables):
            _write_parquet(result.tables[name], tmp / f"{name}.parquet", meta)
        (tmp / "scenario.resolved.yaml").write_text(result.resolved_yaml, encoding="utf-8")
        manifest = {
            "scenario": result.scenario_name,
            "scenario_sha256": result.scenario_sha256,
            "seed": result.seed,
            "steps": result.steps,
            "versions": vers,
            "git_commit": commit,
            "command": command,
            "started": result.started,
            "finished": result.finished,
            "wall_seconds": round(result.wall_seconds, 4),
            "files": sorted(p.name for p in tmp.iterdir() if p.name != MARKER),
            **result.extra,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    return atomic(out, write, replace=False, folder=True)


def summary(result: RunResult) -> str:
    """Final-step table: influence share, resource share and punching ratio per state."""
    df = result.tables["states"]
    last = df[df["step"] == df["step"].max()].sort_values("influence_share", ascending=False)
    year = float(last["year"].iloc[0])
    until = f"to the end of {int(year) - 1}" if year.is_integer() else f"to {year:.2f}"
    lines = [
        f"{result.scenario_name}: seed {result.seed}, {result.steps} steps, {until}",
        f"{'state':<16}{'influence share':>16}{'resource share':>16}{'punching ratio':>16}",
    ]
    for row in last.itertuples():
        lines.append(
            f"{row.state:<16}{row.influence_share:>16.3f}{row.resource_share:>16.3f}{row.punching_ratio:>16.2f}"
        )
    powers = result.tables.get("powers")
    if powers is not None and len(powers):
        final = powers[powers["step"] == powers["step"].max()]
        lines.append("levers at the end of the run:")
        for lever, rows in final.groupby("lever", sort=False):
            shown = ", ".join(f"{r.metric} {r.value:.3g}" for r in rows.itertuples())
            lines.append(f"  {lever}: {shown}")
    eco = result.tables.get("ecosystem")
    if eco is not None and len(eco):
        sea = eco[(eco["region"] == "Southeast Asia") & (eco["step"] == eco["step"].max())]
        if len(sea):
            top = sea.sort_values("share", ascending=False).head(4)
            shares = ", ".join(f"{r.supplier} {r.share:.2f}" for r in top.itertuples())
            lines.append(f"Southeast Asia model (technical-layer) shares: {shares}")
    m = result.tables["model"].iloc[-1]
    lines.append(
        f"forum alignment index {m['alignment_index']:.3f}; "
        f"influence concentration (HHI) {m['influence_hhi']:.3f}"
    )
    return "\n".join(lines)
