"""Running an experiment: tasks -> executor -> store, with a progress bar and resume.

Running again into the same folder (or with --resume) skips runs already finished; Ctrl-C
or a killed worker loses only the runs in flight, and the manifest says what happened.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import SimError
from sim.experiments import designs
from sim.experiments.executors import EXECUTORS
from sim.experiments.spec import dump, experiment_hash, load_experiment
from sim.experiments.store import SweepStore
from sim.runner import RunTask


@dataclass
class SweepSummary:
    out: Path
    total: int
    ok: int
    failed: int
    skipped: int
    failures: list[tuple[str, str]]
    wall_seconds: float


def _check_vary(scen: Path, tasks: list[RunTask]) -> None:
    """Apply the first and last points to the scenario now, so a bad key path is a located
    error before any run starts."""
    from sim.scenario.loader import finish, read_scenario

    raw = read_scenario(str(scen))
    for task in (tasks[0], tasks[-1]):
        finish(copy.deepcopy(raw), f"{scen} (with vary: {', '.join(task.params)})", task.overrides)


def run_sweep(
    experiment: str | Path,
    out: str | Path | None = None,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    command: str = "",
) -> SweepSummary:
    from sim.provenance import git_commit, versions
    from sim.scenario import load_scenario, scenario_hash

    exp, scen = load_experiment(experiment)
    sc = load_scenario(scen)
    sha = scenario_hash(sc)
    ehash = experiment_hash(exp)
    tasks = designs.tasks(exp, str(scen), sha)
    if not tasks:
        raise SimError(f"{experiment}: the design has no runs")
    _check_vary(scen, tasks)
    root = Path(out) if out else Path("results") / f"sweep-{exp.name}-{ehash[:8]}"
    manifest_path = root / "manifest.json"
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        if old.get("experiment_sha256") != ehash:
            raise SimError(
                f"{root}: holds a different experiment ({old.get('experiment')}); choose another --out"
            )
    elif resume and not root.exists():
        raise SimError(f"{root}: nothing to resume")
    store = SweepStore(root)
    done = store.completed()
    todo = [t for t in tasks if t.run_id not in done]
    (root / "runs.parquet").unlink(missing_ok=True)  # rewritten when this sweep completes
    (root / "experiment.resolved.yaml").write_text(dump(exp), encoding="utf-8")
    size = max(1, min(exp.chunk, math.ceil(len(todo) / max(1, 4 * workers)))) if todo else 1
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    manifest: dict[str, Any] = {
        "experiment": exp.name,
        "experiment_sha256": ehash,
        "scenario": str(scen),
        "scenario_sha256": sha,
        "design": exp.design,
        "problem": designs.problem(exp) if exp.design != "factorial" else None,
        "samples": exp.samples,
        "levels": exp.levels,
        "replications": exp.replications,
        "base_seed": exp.base_seed,
        "points": len(tasks) // exp.replications,
        "runs": len(tasks),
        "metrics": exp.metrics,
        "executor": executor,
        "workers": workers,
        "versions": versions(),
        "git_commit": git_commit(),
        "command": command,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "status": "running",
        "counts": {"done": 0, "failed": 0, "skipped": len(tasks) - len(todo)},
    }
    store.write_manifest(manifest)
    ok = failed = 0
    failures: list[tuple[str, str]] = []
    t0 = time.perf_counter()
    kwargs: dict[str, Any] = {"workers": workers} | ({"scheduler": scheduler} if executor == "dask" else {})
    from tqdm import tqdm

    bar = tqdm(
        total=len(tasks), initial=len(tasks) - len(todo), unit="run", disable=not progress, smoothing=0.1
    )
    status = "finished"
    try:
        for results in EXECUTORS[executor](chunks, **kwargs):
            store.write_chunk(results)
            for row, _ in results:
                if row["status"] == "ok":
                    ok += 1
                else:
                    failed += 1
                    failures.append((row["run_id"], row["error"]))
            bar.update(len(results))
            bar.set_postfix(failed=failed, refresh=False)
            manifest["counts"] = {"done": ok, "failed": failed, "skipped": len(tasks) - len(todo)}
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except Exception as exc:
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(exc, BrokenProcessPool):
            status = "worker died"
            raise SimError(
                f"a worker process died; {ok + failed} runs of this sweep were saved. "
                f"Run the same command again (or with --resume) to finish: {root}"
            ) from None
        raise
    finally:
        bar.close()
        wall = time.perf_counter() - t0
        manifest.update(
            status=status,
            finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            wall_seconds=round(wall, 3),
            run_seconds_total=round(store.wall, 3),
            counts={"done": ok, "failed": failed, "skipped": len(tasks) - len(todo)},
        )
        if status == "finished":
            df = store.consolidate()
            manifest["runs_ok_total"] = int((df["status"] == "ok").sum()) if len(df) else 0
        store.write_manifest(manifest)
    return SweepSummary(root, len(tasks), ok, failed, len(tasks) - len(todo), failures, wall)
