"""Running an experiment: tasks -> executor -> store, with a progress bar and resume.

Running again into the same folder (or with --resume) skips runs already finished; Ctrl-C
or a killed worker loses only the runs in flight, and the manifest says what happened.

Shards (`--shard I/N`, for job arrays): shard I of N (counted from 1) runs the runs whose
index k has k % N == I - 1, with the seeds and run ids of the whole sweep, into a sweep folder
of its own whose manifest records the shard. `merge_shards` checks finished shards of one
sweep (same experiment, scenario and code; every run exactly once; every part's checksum) and
copies their parts into one sweep folder, whose runs.parquet is then that of the whole sweep.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from sim.errors import OutputError, Problem, ScenarioError, SimError
from sim.experiments import designs
from sim.experiments.executors import EXECUTORS
from sim.experiments.spec import Experiment, dump, experiment_hash, load_experiment
from sim.experiments.store import SweepStore, check_parts, sha256_file
from sim.io import LOCK, MARKER, check_writable, exclusive, inside, write_text
from sim.limits import FLAG, MAX_RUNS, check_sweep
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
    shard: str | None = None  # "I/N" when this was one shard of the sweep


@dataclass
class MergeSummary:
    out: Path
    shards: int
    total: int
    ok: int
    failed: int
    copied: int  # parts copied (those already in the output folder are not copied again)
    failures: list[tuple[str, str]]
    wall_seconds: float


# ----------------------------------------------------------------------------- shards
def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` -> (I, N): shard I of N, counted from 1; refused unless 1 <= I <= N."""
    m = re.fullmatch(r"\s*(\d{1,9})\s*/\s*(\d{1,9})\s*", text)
    if not m:
        hint = " (is the job array's task id variable empty?)" if text.strip().startswith("/") else ""
        raise SimError(
            f"--shard: expected I/N, shard I of N counted from 1 (for example 1/4), got {text!r}{hint}"
        )
    i, n = int(m[1]), int(m[2])
    if n < 1:
        raise SimError(f"--shard {i}/{n}: the number of shards N must be at least 1")
    if not 1 <= i <= n:
        raise SimError(
            f"--shard {i}/{n}: out of range: shards are numbered from 1 to {n}; "
            f"for a job array numbered from 0, give $((TASK_ID + 1))/{n}"
        )
    return i, n


def shard_indices(i: int, n: int, total: int) -> range:
    """The run indices of shard `i` of `n` (from 1) of a sweep of `total` runs."""
    return range(i - 1, total, n)


def _shard_record(i: int, n: int, total: int) -> dict[str, Any]:
    """What a shard's manifest says about it: which shard, of how many runs, holding which."""
    held = shard_indices(i, n, total)
    return {
        "index": i,
        "count": n,
        "runs_total": total,
        "runs": len(held),
        "indices": {"start": held.start, "stop": held.stop, "step": held.step},
        "rule": f"the runs whose index k (0 to {total - 1}) has k % {n} == {i - 1}",
    }


def _shard_label(record: object) -> str | None:
    if isinstance(record, dict) and "index" in record and "count" in record:
        return f"{record['index']}/{record['count']}"
    return None


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


def _open_folder(root: Path, ehash: str, resume: bool, shard: str | None = None) -> dict[str, Any]:
    """Check the output folder before any run: writable, and either new, empty, or a sweep of
    this same experiment and the same shard (`I/N`, or None: the whole sweep), whose manifest,
    with its record of parts, is returned."""
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
    held = _shard_label(old.get("shard"))
    if held != shard:
        what = f"shard {held}" if held else "the whole sweep"
        want = f"shard {shard}" if shard else "the whole sweep"
        hint = " (to combine shards into one sweep folder, use --merge)" if held and not shard else ""
        raise SimError(f"{root}: holds {what} of this experiment, not {want}; choose another --out{hint}")
    return old


def _check_design(
    experiment: str | Path, exp: Experiment, scen: Path, raw: dict, tasks: list[RunTask]
) -> None:
    """The varied keys at the design's ends and every metric, their problems together, each
    with the line of the experiment that names it."""
    problems: list[Problem] = []
    for check in (
        lambda: _check_vary(experiment, scen, raw, tasks),
        lambda: _check_metrics(experiment, exp, tasks[0]),
    ):
        try:
            check()
        except ScenarioError as exc:  # both checks' problems at once
            problems += exc.problems
    if problems:
        raise ScenarioError([_with_line(experiment, p) for p in problems])


def check_experiment(experiment: str | Path) -> tuple[Experiment, Path, int]:
    """Every check a sweep makes before its first run, without running it (`sim validate`):
    the experiment, its scenario, every varied key at the design's first and last values,
    every metric on the scenario; returns the experiment, its scenario and the number of runs."""
    from sim.scenario import scenario_hash
    from sim.scenario.loader import finish, read_scenario

    exp, scen = load_experiment(experiment)
    raw = read_scenario(str(scen))
    sha = scenario_hash(finish(copy.deepcopy(raw), str(scen)))
    if designs.count(exp) == 0:
        raise SimError(f"{experiment}: the design has no runs")
    tasks = designs.tasks(exp, str(scen), sha, raw)
    _check_design(experiment, exp, scen, raw, tasks)
    return exp, scen, len(tasks)


def _with_line(experiment: str | Path, p: Problem) -> Problem:
    """A problem of a varied key or a metric, with the line of the experiment that names it."""
    from sim.yamlfile import read_yaml_located

    if p.source != str(experiment):
        return p
    section, _, key = p.where.partition(".")
    try:
        top = read_yaml_located(experiment, str(experiment))[1].kid(section)
    except ScenarioError:
        return p
    w = top.kid(key) if top is not None else None
    return Problem(w.shown, p.where, p.message) if w is not None else p


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
    shard: str | tuple[int, int] | None = None,
) -> SweepSummary:
    """Run (or finish) a sweep into `out`, or only its shard `I/N` (counted from 1: the runs
    whose index k has k % N == I - 1, with the whole sweep's seeds and run ids). Everything is
    checked before the first run: the experiment, the scenario at the design's first and last
    points, every metric, the size (`sim.limits`; a shard's CPU time is its own), and the
    output folder (writable, ours, the same experiment and shard, not in use)."""
    from sim.scenario import scenario_hash
    from sim.scenario.loader import finish, read_scenario

    part = parse_shard(shard) if isinstance(shard, str) else shard
    if part is not None:
        parse_shard(f"{part[0]}/{part[1]}")  # the same range check for a tuple
    exp, scen = load_experiment(experiment)
    raw = read_scenario(str(scen))
    sc = finish(copy.deepcopy(raw), str(scen))
    sha = scenario_hash(sc)
    ehash = experiment_hash(exp)
    n_runs = designs.count(exp)
    if n_runs == 0:
        raise SimError(f"{experiment}: the design has no runs")
    steps = exp.steps or sc.n_steps
    label = record = None
    if part is None:
        check_sweep(n_runs, len(sc.states), steps, allow_large, f"{experiment}")
    else:
        i, n = part
        label = f"{i}/{n}"
        if n > n_runs:
            raise SimError(
                f"--shard {label}: the sweep has {n_runs} runs, too few for {n} shards; use at most {n_runs}"
            )
        if n_runs > MAX_RUNS and not allow_large:  # every shard lists the whole design
            raise SimError(
                f"{experiment} is too large (more than {MAX_RUNS:,} runs): {n_runs:,} runs in the whole "
                f"sweep, which every shard lists. Use {FLAG} to run it anyway"
            )
        record = _shard_record(i, n, n_runs)
        check_sweep(record["runs"], len(sc.states), steps, allow_large, f"{experiment} (shard {label})")
    tasks = designs.tasks(exp, str(scen), sha, raw)
    _check_design(experiment, exp, scen, raw, tasks)
    points = len(tasks) // exp.replications
    if part is not None:
        tasks = [tasks[k] for k in shard_indices(*part, len(tasks))]
    name = f"sweep-{exp.name}-{ehash[:8]}" + (f"-shard-{part[0]}-of-{part[1]}" if part else "")
    root = Path(out) if out else inside(Path("results"), name)
    _open_folder(root, ehash, resume, label)
    with exclusive(root, command):
        old = _open_folder(root, ehash, False, label)  # again, now that no one else writes here
        try:
            return _run(
                exp, scen, sha, ehash, tasks, root, old, workers, executor, scheduler, progress, command,
                points, record,
            )  # fmt: skip
        except OSError as exc:  # before the runs: the first manifest, the resolved experiment
            raise OutputError(
                f"{root}: cannot write ({exc.strerror or exc}); free space (or fix the folder) and run "
                "the same command again"
            ) from None


def _design_record(exp: Experiment, ehash: str, scen: Path, sha: str) -> dict[str, Any]:
    """What a sweep's manifest says of its experiment, scenario and design (whole or merged)."""
    return {
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
    }


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
    points: int,
    shard: dict[str, Any] | None = None,
) -> SweepSummary:
    from sim.provenance import git_commit, versions

    if _finished(root, old, {t.run_id for t in tasks}):
        # finished before, every run ok: nothing to run, and the folder (its manifest included)
        # stays as it was, whatever code asks
        return SweepSummary(root, len(tasks), 0, 0, len(tasks), [], 0.0, _shard_label(shard))
    now = {"versions": versions(), "git_commit": git_commit()}
    if old.get("parts"):  # before any part is checked (and perhaps set aside)
        _same_code(root, old, now)
    manifest: dict[str, Any] = {
        **_design_record(exp, ehash, scen, sha),
        "points": points,  # of the whole design, also in a shard
        "runs": len(tasks),  # in this folder: a shard's own
        **({"shard": shard} if shard else {}),
        "metrics": exp.metrics,
        "executor": executor,
        "workers": workers,
        **now,
        "command": command,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "status": "running",
        # the earlier commands that ran into this folder (resumed: interrupted, stopped)
        "sessions": _sessions(old),
        "parts": dict(old.get("parts") or {}),
        **({"merged_from": old["merged_from"]} if old.get("merged_from") else {}),
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
        levels = designs.level_names(exp)  # categorical factors: recorded by their level's name
        for results in EXECUTORS[executor](chunks, **kwargs):
            for row, _ in results:
                designs.name_levels(levels, row)
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
    return SweepSummary(root, len(tasks), ok, failed, skipped, failures, wall, _shard_label(shard))


# ----------------------------------------------------------------------------- merging shards
CODE = ("git_commit", "sim", "mesa", "numpy")  # what shards must share (where recorded)
MAX_PROBLEMS = 25


@dataclass
class _Shard:
    folder: Path
    manifest: dict[str, Any]
    manifest_sha256: str
    label: str
    count: int
    run_ids: list[str]  # of its runs.parquet
    parts: list[Path]  # verified


def _few(indices: list[int], n: int = 5) -> str:
    shown = ", ".join(str(k) for k in sorted(indices)[:n])
    return shown + (f", ... ({len(indices)} in all)" if len(indices) > n else "")


def _finished(root: Path, old: dict[str, Any], known: set[str]) -> bool:
    """A finished sweep whose runs.parquet is the one its manifest records (else it is rebuilt)
    and holds exactly these runs, all ok (failed runs are tried again), and whose parts and
    series parts match their records (else they are set aside and their runs run again)."""
    import pyarrow.parquet as pq

    runs = root / "runs.parquet"
    if not (
        old.get("status") == "finished" and runs.is_file() and sha256_file(runs) == old.get("runs_sha256")
    ):
        return False
    table = pq.read_table(runs, columns=["run_id", "status"]).to_pydict()
    ids, status = table["run_id"], table["status"]
    if not (set(ids) == known and len(ids) == len(known) and set(status) <= {"ok"}):
        return False
    # its parts as recorded, checked without moving anything, and no leftover of a killed writer
    entries = old.get("parts")
    parts = root / "parts"
    if (
        not isinstance(entries, dict)
        or not parts.is_dir()
        or any(p.name.startswith(".") for p in parts.iterdir())
    ):
        return False
    good, bad = check_parts(root, old, known)
    rows = sum(int(e.get("rows", 0)) for e in entries.values() if isinstance(e, dict))
    return not bad and {p.name for p in good} == set(entries) and rows == len(known)


def _same_code(root: Path, old: dict[str, Any], now: dict[str, Any]) -> None:
    """A sweep resumed in a folder whose runs came from other code is refused: its runs would
    mix two versions under one manifest."""
    for key in CODE:
        a, b = _code(old, key), _code(now, key)
        if a is not None and b is not None and a != b:
            what = "git commit" if key == "git_commit" else f"{key} version"
            raise SimError(
                f"{root}: its runs were computed with {what} {a}, and this is {b}; the runs of one sweep "
                "must come from the same code: choose another --out (or run it with that version)"
            )


_SESSION = (
    "command",
    "git_commit",
    "started",
    "finished",
    "wall_seconds",
    "run_seconds_total",
    "counts",
    "status",
)


def _sessions(old: dict[str, Any]) -> list[dict[str, Any]]:
    """The earlier sessions of a resumed sweep, oldest first, the last one's from its manifest."""
    earlier = [s for s in old.get("sessions") or [] if isinstance(s, dict)]
    last = {k: old[k] for k in _SESSION if k in old}
    return [*earlier, last] if "started" in last else earlier


def _code(manifest: dict[str, Any], key: str) -> object:
    versions = manifest.get("versions")
    if key == "git_commit":
        return manifest.get("git_commit")
    return versions.get(key) if isinstance(versions, dict) else None


def _read_shard(
    folder: Path, experiment: str | Path, ehash: str, sha: str, ids: list[str]
) -> tuple[_Shard | None, list[str]]:
    """One shard folder, checked without writing anything: a finished shard of this same
    experiment and scenario, whose runs.parquet and parts match their checksums and hold
    exactly the runs of its shard. Returns it, or None and its located problems."""
    path = folder / "manifest.json"
    if not folder.is_dir():
        return None, [f"{folder}: not a folder"]
    try:
        raw = path.read_bytes()
        manifest = json.loads(raw)
    except FileNotFoundError:
        return None, [f"{folder}: not a sweep folder (no manifest.json)"]
    except (OSError, ValueError) as exc:
        return None, [f"{path}: unreadable ({type(exc).__name__})"]
    if not isinstance(manifest, dict) or "experiment_sha256" not in manifest:
        return None, [f"{path}: not a sweep's manifest"]
    if manifest["experiment_sha256"] != ehash:
        return None, [
            f"{folder}: a sweep of another experiment ({manifest.get('experiment')}, experiment sha256 "
            f"{str(manifest['experiment_sha256'])[:8]}...) than {experiment} ({ehash[:8]}...)"
        ]
    if manifest.get("scenario_sha256") != sha:
        return None, [
            f"{folder}: ran on another version of the scenario (scenario sha256 "
            f"{str(manifest.get('scenario_sha256'))[:8]}..., now {sha[:8]}...)"
        ]
    record = manifest.get("shard")
    label = _shard_label(record)
    if label is None or not isinstance(record, dict):
        return None, [f"{folder}: the whole sweep, not a shard (shards are made with --shard I/N)"]
    i, n = record["index"], record["count"]
    if not (isinstance(i, int) and isinstance(n, int) and 1 <= i <= n <= len(ids)):
        return None, [f"{path}: shard {label} is not a shard of this sweep's {len(ids)} runs"]
    status = manifest.get("status")
    runs = folder / "runs.parquet"
    if status != "finished" or not runs.is_file():
        return None, [
            f"{folder}: shard {label} is not finished (status {status!r}); run its command again to "
            f"finish it: {manifest.get('command') or 'sim sweep EXPERIMENT --shard ' + label}"
        ]
    if sha256_file(runs) != manifest.get("runs_sha256"):
        return None, [
            f"{runs}: does not match its checksum in the manifest (corrupted); "
            f"run shard {label}'s command again"
        ]
    try:
        run_ids = pq.read_table(runs, columns=["run_id"]).column("run_id").to_pylist()
    except Exception as exc:
        return None, [f"{runs}: unreadable ({type(exc).__name__})"]
    mine = {ids[k] for k in shard_indices(i, n, len(ids))}
    problems = []
    if set(run_ids) != mine or len(run_ids) != len(mine):
        problems.append(
            f"{runs}: does not hold exactly the {len(mine)} runs of shard {label} "
            f"({len(set(run_ids) - mine)} others, {len(mine - set(run_ids))} missing)"
        )
    good, bad = check_parts(folder, manifest, mine)
    problems += [f"{why}; run shard {label}'s command again to repair it" for why in bad]
    in_parts: set[str] = set()
    for p in good:
        in_parts.update(pq.read_table(p, columns=["run_id"]).column("run_id").to_pylist())
    if not problems and not mine <= in_parts:
        problems.append(
            f"{folder / 'parts'}: lacks {len(mine - in_parts)} runs of its runs.parquet; "
            f"run shard {label}'s command again to repair it"
        )
    if problems:
        return None, problems
    sha_manifest = hashlib.sha256(raw).hexdigest()
    return _Shard(folder, manifest, sha_manifest, label, n, run_ids, good), []


def _refuse(problems: list[str]) -> SimError:
    shown = problems[:MAX_PROBLEMS]
    more = len(problems) - len(shown)
    return SimError("\n".join(shown + ([f"... and {more} more problems"] if more else [])))


def merge_shards(
    experiment: str | Path,
    folders: list[str] | list[Path],
    out: str | Path | None = None,
    command: str = "",
    allow_large: bool = False,
) -> MergeSummary:
    """Combine the finished shards of a sweep (`folders`, made by `--shard I/N`) into one sweep
    folder `out` (default: the whole sweep's, results/sweep-<name>-<hash>), whose runs.parquet
    is that of the whole sweep run in one go. Everything is checked before anything is
    written: the output folder (new, empty, or a sweep of this experiment; not a shard), and
    every shard (finished; the same experiment, scenario, split and code; its runs.parquet
    and parts matching their checksums), and that every run of the sweep is in exactly one
    shard. The parts are then copied in, each checked against its checksum again; running the
    same command after an interruption copies only what is missing."""
    from sim.scenario import scenario_hash
    from sim.scenario.loader import finish, read_scenario

    t0 = time.perf_counter()
    if not folders:
        raise SimError("--merge: give the folders of the shards to merge")
    exp, scen = load_experiment(experiment)
    sc = finish(read_scenario(str(scen)), str(scen))
    sha = scenario_hash(sc)
    ehash = experiment_hash(exp)
    n_runs = designs.count(exp)
    if n_runs == 0:
        raise SimError(f"{experiment}: the design has no runs")
    if n_runs > MAX_RUNS and not allow_large:
        raise SimError(
            f"{experiment} is too large (more than {MAX_RUNS:,} runs): {n_runs:,} runs. "
            f"Use {FLAG} to merge it anyway"
        )
    tasks = designs.tasks(exp, str(scen), sha)  # the run ids only: no scenario content
    ids = [t.run_id for t in tasks]
    root = Path(out) if out else inside(Path("results"), f"sweep-{exp.name}-{ehash[:8]}")

    # the output folder first (cheap); then the shards; nothing is written before both pass
    dirs = [Path(f) for f in folders]
    problems: list[str] = []
    here = root.resolve()
    for d in dirs:
        there = d.resolve()
        if here == there or here.is_relative_to(there) or there.is_relative_to(here):
            problems.append(f"{root}: the output folder overlaps the shard folder {d}; choose another --out")
    if problems:
        raise _refuse(problems)
    check_writable(root)
    _open_folder(root, ehash, resume=False)
    shards: list[_Shard] = []
    given: dict[Path, Path] = {}
    twice_given: list[str] = []
    for d in dirs:
        if d.resolve() in given:
            twice_given.append(f"{d}: given twice (as {given[d.resolve()]}); give each shard once")
            continue
        given[d.resolve()] = d
        shard, why = _read_shard(d, experiment, ehash, sha, ids)
        problems += why
        if shard is not None:
            shards.append(shard)
    if problems:
        raise _refuse(problems + twice_given)
    problems = twice_given
    first = shards[0]
    for sh in shards[1:]:
        if sh.count != first.count:
            problems.append(
                f"{sh.folder}: shard {sh.label}, but {first.folder} is shard {first.label}: "
                "shards of different splits of the sweep cannot be merged"
            )
        for key in CODE:
            a, b = _code(first.manifest, key), _code(sh.manifest, key)
            if a is not None and b is not None and a != b:
                what = "git commit" if key == "git_commit" else f"{key} version"
                problems.append(
                    f"{sh.folder}: computed with {what} {b}, but {first.folder} with {a}; "
                    "the shards of a sweep must come from the same code: run them again with one version"
                )
    if problems:
        raise _refuse(problems)
    # every run of the sweep exactly once
    where: dict[str, list[_Shard]] = {}
    for sh in shards:
        for rid in sh.run_ids:
            where.setdefault(rid, []).append(sh)
    index = {rid: k for k, rid in enumerate(ids)}
    twice: dict[tuple[str, ...], list[int]] = {}
    for rid, held in where.items():
        if len(held) > 1:
            twice.setdefault(tuple(f"{h.folder} (shard {h.label})" for h in held), []).append(index[rid])
    for folders_, indices in twice.items():
        problems.append(
            f"{len(indices)} runs (index {_few(indices)}) are in more than one folder: "
            f"{' and '.join(folders_)}; give each shard once"
        )
    missing: dict[int, list[int]] = {}
    for k, rid in enumerate(ids):
        if rid not in where:
            missing.setdefault(k % first.count + 1, []).append(k)
    for i, indices in sorted(missing.items()):
        problems.append(
            f"{len(indices)} runs (index {_few(indices)}) are in none of the folders given: "
            f"shard {i}/{first.count} is missing (sim sweep {experiment} --shard {i}/{first.count})"
        )
    if problems:
        raise _refuse(problems)

    with exclusive(root, command):
        old = _open_folder(root, ehash, resume=False)  # again, now that no one else writes here
        try:
            return _merge(exp, scen, sha, ehash, ids, shards, root, old, command, t0)
        except OSError as exc:
            raise OutputError(
                f"{root}: cannot write ({exc.strerror or exc}); free space (or fix the folder) and run "
                "the same command again"
            ) from None


def _merge(
    exp: Experiment,
    scen: Path,
    sha: str,
    ehash: str,
    ids: list[str],
    shards: list[_Shard],
    root: Path,
    old: dict[str, Any],
    command: str,
    t0: float,
) -> MergeSummary:
    first = shards[0].manifest
    if old.get("parts"):  # runs already in the folder must come from the shards' code
        _same_code(root, old, first)
    sources = [
        {
            "folder": str(sh.folder.resolve()),
            "shard": sh.label,
            "manifest_sha256": sh.manifest_sha256,
            "runs": len(sh.run_ids),
            "runs_sha256": sh.manifest.get("runs_sha256"),
            **{k: sh.manifest.get(k) for k in ("command", "executor", "workers", "started", "finished")},
            "git_commit": sh.manifest.get("git_commit"),
            "versions": sh.manifest.get("versions"),
        }
        for sh in shards
    ]
    earlier = [s for s in old.get("merged_from") or [] if isinstance(s, dict)]
    fresh = {(s["folder"], s["manifest_sha256"]) for s in sources}
    kept = [s for s in earlier if (s.get("folder"), s.get("manifest_sha256")) not in fresh]
    manifest: dict[str, Any] = {
        **_design_record(exp, ehash, scen, sha),
        "points": len(ids) // exp.replications,
        "runs": len(ids),
        "metrics": exp.metrics,
        "executor": "merge",
        "workers": 1,
        "versions": first.get("versions"),  # of the code that ran the shards (all the same)
        "git_commit": first.get("git_commit"),
        "command": command,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "status": "merging",
        "sessions": _sessions(old),
        "parts": dict(old.get("parts") or {}),
        "merged_from": [*kept, *sources],
    }
    store = SweepStore(root, manifest)
    known = set(ids)
    have = {manifest["parts"][p.name].get("sha256") for p in store.verified_parts(known)}
    manifest["counts"] = {"done": 0, "failed": 0, "skipped": 0}
    manifest["rejected_parts"] = [*(old.get("rejected_parts") or []), *store.rejected]
    (root / "runs.parquet").unlink(missing_ok=True)  # rewritten when the merge completes
    manifest.pop("runs_sha256", None)
    write_text(root / "experiment.resolved.yaml", dump(exp))
    store.write_manifest()
    copied = 0
    status = "stopped"
    error: SimError | None = None
    failures: list[tuple[str, str]] = []
    ok = failed = 0
    try:
        for sh in shards:
            for part in sh.parts:
                entry = sh.manifest["parts"][part.name]
                if entry["sha256"] in have:  # copied by an earlier merge into this folder
                    continue
                store.copy_part(part, entry, str(part.resolve()))
                have.add(entry["sha256"])
                copied += 1
            store.write_manifest()
        status = "checking"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except OSError as exc:
        status = f"stopped: {exc.strerror or type(exc).__name__}"
        error = OutputError(
            f"{root}: cannot write ({exc.strerror or exc}); the parts copied so far are kept. "
            "Free space (or fix the folder) and run the same command again to finish"
        )
    except SimError as exc:  # a shard changed while it was copied
        status = "stopped: a shard changed"
        error = exc
    finally:
        try:
            if status == "checking":
                df = store.consolidate(known)
                present = set(df["run_id"]) if len(df) else set()
                if present == known:
                    status = "finished"
                    ok = int((df["status"] == "ok").sum())
                    failed = len(df) - ok
                    failures = list(df.loc[df["status"] != "ok", ["run_id", "error"]].itertuples(index=False))
                    manifest["runs_ok_total"] = ok
                else:
                    status = "incomplete"
                    error = OutputError(
                        f"{root}: the copied parts hold {len(present)} of {len(known)} runs (a shard "
                        "changed during the merge?); run the same command again"
                    )
                manifest["rejected_parts"] = [*(old.get("rejected_parts") or []), *store.rejected]
            wall = time.perf_counter() - t0
            manifest.update(
                finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                wall_seconds=round(wall, 3),
                run_seconds_total=round(
                    sum(float(sh.manifest.get("run_seconds_total") or 0.0) for sh in shards), 3
                ),
                counts={"done": ok, "failed": failed, "skipped": 0},
                status=status,
            )
            store.write_manifest()
        except OSError as exc:
            error = error or OutputError(f"{root}: cannot write ({exc.strerror or exc}); run again to finish")
    if error is not None:
        raise error
    return MergeSummary(
        root, len(shards), len(ids), ok, failed, copied, [(str(a), str(b)) for a, b in failures], wall
    )
