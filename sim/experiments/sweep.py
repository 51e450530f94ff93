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

from sim.errors import OutputError, Problem, ScenarioError, SimError
from sim.experiments import designs
from sim.experiments.executors import EXECUTORS
from sim.experiments.spec import Experiment, dump, experiment_hash, load_experiment
from sim.experiments.store import SweepStore
from sim.io import LOCK, MARKER, check_writable, exclusive, inside, write_text
from sim.limits import check_sweep
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


def _check_vary(experiment: str | Path, scen: Path, raw: dict, tasks: list[RunTask]) -> None:
    """Apply each varied key at the design's first and last values, so that a bad key path or
    value is an error located in the experiment file (`vary.KEY: at VALUE: ...`) before any
    run starts; then the first and last points whole."""
    from sim.scenario.loader import finish

    problems: list[Problem] = []
    for task in (tasks[0], tasks[-1]):
        for key, value in task.overrides:
            try:
                finish(copy.deepcopy(raw), str(scen), [(key, value)])
            except ScenarioError as exc:
                first = exc.problems[0]
                where = f" ({first.where})" if first.where else ""
                problems.append(
                    Problem(str(experiment), f"vary.{key}", f"at {value!r}{where}: {first.message}")
                )
        if problems:
            raise ScenarioError(problems)
        finish(copy.deepcopy(raw), f"{scen} (with vary: {', '.join(task.params)})", task.overrides)


def _check_metrics(experiment: str | Path, exp: Experiment, task: RunTask) -> None:
    """Evaluate every metric on the scenario at step 0, so that an unknown state, forum or
    lever is a located error before the first run, not a failure of every run."""
    from sim.experiments.metrics import Evaluator
    from sim.model import RuleMakingModel
    from sim.runner import scenario_of

    ev = Evaluator(RuleMakingModel(scenario_of(task)))
    named = [(f"metrics.{k}", v) for k, v in exp.metrics.items()]
    if exp.stop_when is not None:
        named.append(("stop_when.metric", exp.stop_when.metric))
    problems = []
    for where, spec in named:
        try:
            ev.final(spec)
        except (KeyError, ValueError, IndexError) as exc:
            problems.append(Problem(str(experiment), where, str(exc.args[0] if exc.args else exc)))
    if problems:
        raise ScenarioError(problems)


def _disk_error(exc: OSError) -> bool:
    """An error of the file system (full, read-only, denied), not of a connection."""
    import errno

    codes = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG}
    return exc.errno in codes and not isinstance(exc, ConnectionError)


def _open_folder(root: Path, ehash: str, resume: bool) -> dict[str, Any]:
    """Check the output folder before any run: writable, and either new, empty, or a sweep of
    this same experiment (whose manifest, with its record of parts, is returned)."""
    check_writable(root)
    if not root.exists():
        if resume:
            raise SimError(f"{root}: nothing to resume")
        return {}
    if not root.is_dir():
        raise SimError(f"{root}: exists and is not a folder; choose another --out")
    manifest_path = root / "manifest.json"
    if not manifest_path.exists():  # new, empty, or a sweep stopped before its first manifest
        started = {LOCK, MARKER, "parts", "series", "experiment.resolved.yaml"}

        def ours_at_start(name: str) -> bool:
            stem, _, pid = name.rpartition(".partial-")
            return name in started or (
                pid.isdigit() and stem.lstrip(".") in ("experiment.resolved.yaml", "manifest.json")
            )

        if any(not ours_at_start(p.name) for p in root.iterdir()) or any((root / "parts").glob("*")):
            raise SimError(f"{root}: exists, is not empty and is not a sweep folder; choose another --out")
        return {}
    try:
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        if (root / MARKER).is_file() and (root / "parts").is_dir():
            return {}  # our sweep with a damaged manifest: every part is checked again and rerun
        old = None
    if not isinstance(old, dict) or "experiment_sha256" not in old:
        raise SimError(f"{root}: its manifest.json is not a sweep's; choose another --out")
    if old.get("experiment_sha256") != ehash:
        raise SimError(
            f"{root}: holds a different experiment ({old.get('experiment')}); choose another --out"
        )
    return old


def run_sweep(
    experiment: str | Path,
    out: str | Path | None = None,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    command: str = "",
    allow_large: bool = False,
) -> SweepSummary:
    """Run (or finish) a sweep into `out`. Everything is checked before the first run: the
    experiment, the scenario at the design's first and last points, every metric, the size
    (`sim.limits`), and the output folder (writable, ours, not in use)."""
    from sim.scenario import scenario_hash
    from sim.scenario.loader import finish, read_scenario

    exp, scen = load_experiment(experiment)
    raw = read_scenario(str(scen))
    sc = finish(copy.deepcopy(raw), str(scen))
    sha = scenario_hash(sc)
    ehash = experiment_hash(exp)
    n_runs = designs.count(exp)
    if n_runs == 0:
        raise SimError(f"{experiment}: the design has no runs")
    check_sweep(n_runs, len(sc.states), exp.steps or sc.n_steps, allow_large, f"{experiment}")
    tasks = designs.tasks(exp, str(scen), sha, raw)
    _check_vary(experiment, scen, raw, tasks)
    _check_metrics(experiment, exp, tasks[0])
    root = Path(out) if out else inside(Path("results"), f"sweep-{exp.name}-{ehash[:8]}")
    _open_folder(root, ehash, resume)
    with exclusive(root, command):
        old = _open_folder(root, ehash, resume=False)  # again, now that no one else writes here
        try:
            return _run(
                exp, scen, sha, ehash, tasks, root, old, workers, executor, scheduler, progress, command
            )
        except OSError as exc:  # before the runs: the first manifest, the resolved experiment
            raise OutputError(
                f"{root}: cannot write ({exc.strerror or exc}); free space (or fix the folder) and run "
                "the same command again"
            ) from None


def _run(
    exp: Experiment,
    scen: Path,
    sha: str,
    ehash: str,
    tasks: list[RunTask],
    root: Path,
    old: dict[str, Any],
    workers: int,
    executor: str,
    scheduler: str | None,
    progress: bool,
    command: str,
) -> SweepSummary:
    from sim.provenance import git_commit, versions

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
        "parts": dict(old.get("parts") or {}),
    }
    store = SweepStore(root, manifest)
    known = {t.run_id for t in tasks}
    done = store.completed(known)
    todo = [t for t in tasks if t.run_id not in done]
    skipped = len(tasks) - len(todo)
    manifest["counts"] = {"done": 0, "failed": 0, "skipped": skipped}
    manifest["rejected_parts"] = [*(old.get("rejected_parts") or []), *store.rejected]
    (root / "runs.parquet").unlink(missing_ok=True)  # rewritten when this sweep completes
    manifest.pop("runs_sha256", None)
    write_text(root / "experiment.resolved.yaml", dump(exp))
    store.write_manifest()
    size = max(1, min(exp.chunk, math.ceil(len(todo) / max(1, 4 * workers)))) if todo else 1
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    ok = failed = 0
    failures: list[tuple[str, str]] = []
    t0 = time.perf_counter()
    kwargs: dict[str, Any] = {"workers": workers} | ({"scheduler": scheduler} if executor == "dask" else {})
    from tqdm import tqdm

    bar = tqdm(total=len(tasks), initial=skipped, unit="run", disable=not progress, smoothing=0.1)
    status = "stopped"
    error: SimError | None = None
    try:
        for results in EXECUTORS[executor](chunks, **kwargs):
            for row, _ in results:
                if row["status"] == "ok":
                    ok += 1
                else:
                    failed += 1
                    failures.append((row["run_id"], row["error"]))
            manifest["counts"] = {"done": ok, "failed": failed, "skipped": skipped}
            store.write_chunk(results)
            bar.update(len(results))
            bar.set_postfix(failed=failed, refresh=False)
        status = "checking"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except OSError as exc:
        if not _disk_error(exc):  # a lost connection (Dask's CommClosedError is an OSError)
            status = f"stopped: {type(exc).__name__}"
            error = OutputError(
                f"the executor stopped ({type(exc).__name__}: {str(exc)[:200]}); the runs saved so far "
                f"are kept. Run the same command again to finish: {root}"
            )
        else:
            status = f"stopped: {exc.strerror or type(exc).__name__}"
            error = OutputError(
                f"{root}: cannot write ({exc.strerror or exc}); the runs saved so far are kept. "
                "Free space (or fix the folder) and run the same command again to finish"
            )
    except Exception as exc:
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(exc, BrokenProcessPool):
            status = "worker died"
            error = OutputError(
                f"a worker process died; the runs saved so far are kept. "
                f"Run the same command again (or with --resume) to finish: {root}"
            )
        else:
            status = f"stopped: {type(exc).__name__}"
            error = OutputError(
                f"the executor stopped ({type(exc).__name__}: {str(exc)[:200]}); the runs saved so far "
                f"are kept. Run the same command again to finish: {root}"
            )
    finally:
        bar.close()
        wall = time.perf_counter() - t0
        manifest.update(
            finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            wall_seconds=round(wall, 3),
            run_seconds_total=round(store.wall, 3),
            counts={"done": ok, "failed": failed, "skipped": skipped},
        )
        try:
            if status == "checking":
                df = store.consolidate(known)
                present = set(df["run_id"]) if len(df) else set()
                if present == known:
                    status = "finished"
                    manifest["runs_ok_total"] = int((df["status"] == "ok").sum())
                else:
                    status = "incomplete"
                    error = OutputError(
                        f"the executor stopped with {len(present)} of {len(known)} runs done (a scheduler "
                        f"or worker lost?); run the same command again to finish: {root}"
                    )
                manifest["rejected_parts"] = [*(old.get("rejected_parts") or []), *store.rejected]
            manifest["status"] = status
            store.write_manifest()
        except OSError as exc:
            error = error or OutputError(f"{root}: cannot write ({exc.strerror or exc}); run again to finish")
    if error is not None:
        raise error
    return SweepSummary(root, len(tasks), ok, failed, skipped, failures, wall)
