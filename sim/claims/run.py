"""Running a claim suite through the sweep machinery (`run_chunk`, the executors).

Every replication r has one seed, shared by a claim's scenario and its counterfactuals, so
differences are paired. Identical runs (same scenario, parameters and seed) that several
claims need are run once, with all their metrics.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.claims.spec import Claim, ClaimSuite, load_claims, resolve_scenario
from sim.claims.stats import effect_ci, verdict
from sim.errors import SimError
from sim.experiments.designs import run_seed
from sim.experiments.executors import EXECUTORS
from sim.io import MARKER, check_writable, inside
from sim.runner import RunTask


@dataclass
class ClaimResult:
    claim: Claim
    effects: np.ndarray
    effect: float
    ci_low: float
    ci_high: float
    n: int
    verdict: str
    scan: pd.DataFrame = field(default_factory=pd.DataFrame)


class _Plan:
    """Runs, merged across claims (identical scenario, parameters and seed: one run with all
    the metrics the claims need of it), and where each claim's values come from."""

    def __init__(self) -> None:
        self.runs: list[tuple[Path, dict, int, dict[str, str]]] = []
        self.index: dict[tuple, int] = {}

    def need(self, scenario: Path, params: dict, seed: int, name: str, spec: str) -> tuple[int, str]:
        key = (str(scenario), json.dumps(params, sort_keys=True), seed)
        if key not in self.index:
            self.index[key] = len(self.runs)
            self.runs.append((scenario, dict(params), seed, {}))
        i = self.index[key]
        self.runs[i][3][name] = spec
        return i, name

    @property
    def tasks(self) -> list[RunTask]:
        return [
            RunTask(str(scen), seed, None, tuple(params.items()), metrics, run_id=f"c{i:06d}", index=i)
            for i, (scen, params, seed, metrics) in enumerate(self.runs)
        ]


def _sides(c: Claim, base: Path) -> tuple[Path, list[Path]]:
    return resolve_scenario(c.scenario, base), [resolve_scenario(s, base) for s in c.counterfactuals]


def _plan(
    suite: ClaimSuite,
    base: Path,
    reps: int,
    scan_reps: int,
    scan_values: dict[str, list[float]],
    common: dict[str, Any] | None = None,
):
    plan = _Plan()
    wiring: dict[tuple[str, float | None, int], dict] = {}
    for c in suite.claims:
        scen, cfs = _sides(c, base)
        settings = [(None, reps)] + [(v, scan_reps) for v in scan_values[c.id]]
        for value, n in settings:
            extra = {} if value is None else {c.scan.key: value}
            for r in range(n):
                seed = run_seed(suite.base_seed, r)
                p_sc = {**(common or {}), **c.set, **extra}
                w: dict = {}
                if c.kind == "trend":
                    w["early"] = plan.need(scen, p_sc, seed, f"{c.id}:early", f"{c.metric}@{c.early:g}")
                    w["late"] = plan.need(scen, p_sc, seed, f"{c.id}:late", f"{c.metric}@{c.late:g}")
                elif c.kind == "from_peak":
                    peak = f"{c.metric}@max:{c.early:g}..{c.late:g}"
                    w["early"] = plan.need(scen, p_sc, seed, f"{c.id}:peak", peak)
                    w["late"] = plan.need(scen, p_sc, seed, f"{c.id}:late", f"{c.metric}@{c.late:g}")
                else:
                    w["sc"] = plan.need(scen, p_sc, seed, f"{c.id}:m", c.metric)
                if c.kind == "contrast":
                    cf_extra = extra if c.scan.side == "both" else {}
                    p_cf = {**(common or {}), **c.set, **c.counterfactual_set, **cf_extra}
                    w["cf"] = [plan.need(cf, p_cf, seed, f"{c.id}:m", c.metric) for cf in cfs]
                wiring[(c.id, value, r)] = w
    return plan, wiring


def _effect(c: Claim, w: dict, rows: dict[int, dict]) -> float:
    def val(ref: tuple[int, str]) -> float:
        row = rows.get(ref[0])
        return float(row.get(ref[1], np.nan)) if row and row["status"] == "ok" else np.nan

    if c.kind in ("trend", "from_peak"):
        return val(w["late"]) - val(w["early"])
    if c.kind == "threshold":
        return val(w["sc"]) - float(c.reference or 0.0)  # a threshold claim has a reference (spec)
    cf = [val(x) for x in w["cf"]]
    best = max(cf) if c.combine == "max" else min(cf)
    return val(w["sc"]) - best


def _preflight(plan: _Plan, suite: ClaimSuite, path: Path) -> None:
    """Build every distinct scenario the plan runs (file + parameters) before the first run,
    so that a claim whose scenario or counterfactual is invalid stops the suite with located
    errors instead of turning into silent `inconclusive, n = 0` verdicts."""
    from sim.errors import Problem, ScenarioError
    from sim.scenario.loader import load_scenario

    users: dict[tuple[str, str], list[str]] = {}
    for scen, params, _seed, metrics in plan.runs:
        key = (str(scen), json.dumps(params, sort_keys=True))
        users.setdefault(key, []).extend(m.split(":")[0] for m in metrics)
    problems: list[Problem] = []
    seen: set[str] = set()
    for (file, given), claims in users.items():
        try:
            load_scenario(file, json.loads(given))
        except ScenarioError as exc:
            new = [p for p in exc.problems if str(p) not in seen]  # once per problem, not per scan value
            if not new:
                continue
            seen.update(str(p) for p in new)
            ids = ", ".join(sorted(set(claims)))
            shown = f" with {given}" if given != "{}" else ""
            problems.append(Problem(str(path), f"claims {ids}", f"scenario {file}{shown} is invalid:"))
            problems.extend(new)
    if problems:
        raise ScenarioError(problems)


def prepare(
    path: str | Path,
    replications: int | None = None,
    quick: bool = False,
    overrides: dict[str, Any] | None = None,
) -> tuple[ClaimSuite, int, int, dict[str, list], _Plan, dict]:
    """Read a claims file and plan its runs, with every check made before the first run
    (every claim's scenario, counterfactuals, scan values and metric): the suite, the
    replications and scan replications, the scan values per claim, the plan and its wiring."""
    path = Path(path)
    suite = load_claims(path)
    reps = replications or (4 if quick else suite.replications)
    scan_reps = 3 if quick else suite.scan_replications
    scan_values = {
        c.id: (c.scan.values[:: max(1, len(c.scan.values) // 2)][:3] if quick else c.scan.values)
        for c in suite.claims
    }
    plan, wiring = _plan(suite, path.parent, reps, scan_reps, scan_values, overrides)
    _preflight(plan, suite, path)
    return suite, reps, scan_reps, scan_values, plan, wiring


def run_claims(
    path: str | Path,
    out: str | Path | None = None,
    replications: int | None = None,
    workers: int = 1,
    quick: bool = False,
    progress: bool = True,
    command: str = "",
    overrides: dict[str, Any] | None = None,
) -> tuple[list[ClaimResult], Path]:
    """Run a claims file; `overrides` (scenario key path -> value) apply to every run of every
    claim, on both sides (say `model.steps_per_year: 12`), before each claim's own settings."""
    from tqdm import tqdm

    from sim.provenance import git_commit, versions

    path = Path(path)
    suite, reps, scan_reps, scan_values, plan, wiring = prepare(path, replications, quick, overrides)
    out_dir = Path(out) if out else inside(Path("results"), f"claims-{dt.datetime.now():%Y%m%d-%H%M%S}")
    check_writable(out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / "claims.csv").is_file():
        raise SimError(f"{out_dir}: exists, is not empty and holds no claims results; choose another --out")
    t0 = time.perf_counter()
    tasks = plan.tasks
    size = max(1, min(8, len(tasks) // max(1, 4 * workers)))
    chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    executor = EXECUTORS["local" if workers > 1 else "serial"]
    rows: dict[int, dict] = {}
    bar = tqdm(total=len(tasks), unit="run", disable=not progress, desc="claims")
    for chunk in executor(chunks, workers=workers):
        for row, _ in chunk:
            rows[row["index"]] = row
        bar.update(len(chunk))
    bar.close()
    wall = time.perf_counter() - t0

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).touch()
    claim_results: list[ClaimResult] = []
    for c in suite.claims:
        eff = np.array([_effect(c, wiring[(c.id, None, r)], rows) for r in range(reps)])
        mean, lo, hi, n = effect_ci(eff, suite.level)
        scan_rows = []
        for v in scan_values[c.id]:
            e = np.array([_effect(c, wiring[(c.id, v, r)], rows) for r in range(scan_reps)])
            m2, l2, h2, n2 = effect_ci(e, suite.level)
            scan_rows.append({"value": v, "effect": m2, "ci_low": l2, "ci_high": h2, "n": n2,
                              "verdict": verdict(c.expect, l2, h2, e)})  # fmt: skip
        claim_results.append(
            ClaimResult(c, eff, mean, lo, hi, n, verdict(c.expect, lo, hi, eff), pd.DataFrame(scan_rows))
        )
    failed = [r for r in rows.values() if r["status"] != "ok"]
    failed_runs = len(failed)
    manifest = {
        "claims_file": str(path),
        "replications": reps,
        "scan_replications": scan_reps,
        "quick": quick,
        "overrides": overrides or {},
        "level": suite.level,
        "base_seed": suite.base_seed,
        "runs": len(tasks),
        "failed_runs": failed_runs,
        "first_error": failed[0]["error"] if failed else "",
        "wall_seconds": round(wall, 2),
        "workers": workers,
        "versions": versions(),
        "git_commit": git_commit(),
        "command": command,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    from sim.claims.report import write_outputs

    write_outputs(claim_results, out_dir, manifest, pd.DataFrame(list(rows.values())))
    return claim_results, out_dir
