"""The unit of work of a sweep: `run_chunk(tasks) -> rows`, top-level and picklable.

A worker keeps the base scenario it has read (per path) for the whole sweep, so each run
only copies it, applies its parameters (as `--set` would), validates and runs. A run that
raises is returned as a row with `status: failed` and its error; the sweep goes on.
"""

from __future__ import annotations

import copy
import json
import operator
import time
import traceback

_BASE: dict[str, dict] = {}
_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}


def _base(path: str) -> dict:
    if path not in _BASE:
        from sim.scenario.loader import read_raw

        raw = read_raw(path)
        raw.setdefault("name", path.rsplit("/", 1)[-1].removesuffix(".yaml"))
        _BASE[path] = raw
    return _BASE[path]


def run_task(task: dict) -> tuple[dict, list[tuple]]:
    """One run: its row for runs.parquet and its series rows (run_id, step, year, metric, value)."""
    from sim.experiments.metrics import Evaluator
    from sim.model import RuleMakingModel
    from sim.scenario.loader import apply_set, validate

    t0 = time.perf_counter()
    row = {k: task[k] for k in ("run_id", "index", "point", "replication", "seed")}
    row["traceback"] = ""
    row.update({f"param:{k}": v for k, v in task["params"].items()})
    series_rows: list[tuple] = []
    try:
        raw = copy.deepcopy(_base(task["scenario"]))
        for key, value in task["params"].items():
            apply_set(raw, f"{key}={json.dumps(value)}")
        sc = validate(raw, task["scenario"])
        model = RuleMakingModel(sc, seed=task["seed"], steps=task["steps"])
        stop = task["stop_when"]
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
        for name, spec in task["metrics"].items():
            row[name] = ev.final(spec)
            if task["every"]:
                s = ev.series(spec)
                years = model.world.calendar.year_at
                series_rows += [
                    (task["run_id"], k, years(k), name, float(s[k])) for k in range(0, len(s), task["every"])
                ]
        row.update(status="ok", error="", steps_run=int(model.steps))
    except Exception as exc:  # a failed run is data, not a crash of the sweep
        msg = str(exc).strip() or type(exc).__name__
        row.update(status="failed", error=f"{type(exc).__name__}: {msg}"[:2000], steps_run=0)
        row["traceback"] = traceback.format_exc(limit=5)[-4000:]
        for name in task["metrics"]:
            row[name] = float("nan")
    row["wall_seconds"] = time.perf_counter() - t0
    return row, series_rows


def run_chunk(tasks: list[dict]) -> list[tuple[dict, list[tuple]]]:
    return [run_task(t) for t in tasks]


def init_worker() -> None:
    """One thread per worker for numeric libraries (set before they start their pools)."""
    import os

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = "1"
