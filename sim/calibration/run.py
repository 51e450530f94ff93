"""`sim calibrate`: fit, predict, score, write.

1. Read the calibration file and the record (`observed.py`); check everything first.
2. ABC-SMC on the training years (`fit.py`).
3. Posterior predictive: `predictive_draws` particles drawn by weight, each run with its own
   seed; the same number of runs of the scenario as it stands (uncalibrated), for comparison.
4. Scores on the held-out years against naive rules (`scores.py`).
5. Outputs, written atomically into one folder: `posterior.parquet` (the last population, by
   scenario key, with weights), `abc.db` (pyabc's database), `generations.csv`,
   `predictive.parquet` (per target, state and year: the model's probability, the
   uncalibrated scenario's, the record), `scores.csv` and `scores.md`, `calibrated.yaml` (the
   scenario at the posterior median, extending the calibrated one), `manifest.json` and
   `report/`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration.fit import TrainDistance, run_abc
from sim.calibration.observed import observed
from sim.calibration.scores import counts, coverage, score_table, weighted_quantile
from sim.calibration.simulate import Simulator
from sim.calibration.spec import load_calibration, resolve
from sim.errors import SimError
from sim.io import atomic, check_writable, inside
from sim.scenario.uncertain import DECLARATION


def _predict_one(args: tuple[Simulator, dict[str, float], int]) -> dict[str, np.ndarray]:
    sim, params, salt = args
    return sim.run(params, salt=salt)


def _map(fn: Callable, items: list, workers: int, scheduler: str | None) -> list:
    if scheduler:
        from dask.distributed import Client

        with Client(scheduler) as client:
            return client.gather(client.map(fn, items, pure=False))
    if workers > 1:
        from sim.experiments.executors import process_pool

        with process_pool(workers) as pool:
            return list(pool.map(fn, items, chunksize=max(1, len(items) // (4 * workers))))
    from sim.runner import one_blas_thread

    with one_blas_thread():
        return [fn(x) for x in items]


def _merge(a: dict, b: dict) -> dict:
    from sim.scenario.loader import merge

    out: dict = merge(a, b)
    return out


def calibrate(
    path: str | Path,
    out: str | Path | None = None,
    quick: bool = False,
    workers: int = 1,
    scheduler: str | None = None,
    say: Callable[[str], None] = print,
    command: str = "",
) -> Path:
    from sim.provenance import git_commit, versions
    from sim.scenario.loader import (
        find_scenario,
        load_scenario,
        patch_for,
        read_scenario,
        scenario_hash,
        scenario_source,
    )

    t0 = time.perf_counter()
    path = Path(path)
    spec, priors = load_calibration(path)
    settings = spec.quick if quick else spec.abc
    scen_path = find_scenario(spec.scenario, path.parent)
    assert scen_path is not None  # load_calibration checked it
    sc = load_scenario(scen_path)
    names = [s.name for s in sc.states]
    iso3 = [s.iso3 for s in sc.states]
    years = spec.split.years
    obs = observed(spec.targets, path, names, iso3, years)
    train_cols = [years.index(y) for y in spec.split.train_years]
    test_cols = [years.index(y) for y in spec.split.test_years]
    for t in spec.targets:
        known = np.isfinite(obs.values[t.name])
        say(f"target {t.name}: {int(known[:, train_cols].sum())} known state-years to fit, "
            f"{int(known[:, test_cols].sum())} held out ({obs.sources[t.name]})")  # fmt: skip
    pnames = [f"p{i}" for i in range(len(spec.parameters))]
    sim = Simulator(
        str(scen_path), list(spec.parameters), pnames, spec.targets, years, seed=spec.seed,
        replicates=settings.replicates, fixed=run_to(scen_path, sc, years[-1]),
    )  # fmt: skip
    out_dir = (
        Path(out)
        if out
        else inside(Path("results"), f"calibrate-{spec.name}-{dt.datetime.now():%Y%m%d-%H%M%S}")
    )
    if out_dir.exists() and any(out_dir.iterdir()):
        raise SimError(f"{out_dir}: exists and is not empty; choose another --out")
    check_writable(out_dir)

    def build(folder: Path) -> None:
        say(f"ABC-SMC: {len(pnames)} parameters, population {settings.population}, "
            f"up to {settings.generations} generations, "
            f"{'Dask' if workers > 1 or scheduler else 'one core'}")  # fmt: skip
        particles, weights, gens, nsim = run_abc(
            sim, priors, pnames, obs.values,
            TrainDistance(train_cols, {t.name: t.weight for t in spec.targets}),
            settings, folder / "abc.db", spec.seed, workers, scheduler, say,
        )  # fmt: skip
        try:
            after_fit(folder, particles, weights, gens, nsim)
        except Exception as exc:  # keep the fit: a crash after it must not cost the time it took
            failed.append(exc)
            post = particles.rename(columns=dict(zip(pnames, spec.parameters, strict=True)))
            post["weight"] = weights / weights.sum()
            _parquet(post, folder / "posterior.parquet", {})
            gens.to_csv(folder / "generations.csv", index=False, float_format="%.6g")
            (folder / "FAILED.txt").write_text(
                f"sim calibrate failed after the fit: {type(exc).__name__}: {exc}\n"
                "Kept: abc.db (pyabc's database), posterior.parquet, generations.csv.\n",
                encoding="utf-8",
            )

    def after_fit(
        folder: Path, particles: pd.DataFrame, weights: np.ndarray, gens: pd.DataFrame, nsim: int
    ) -> None:
        post = particles.rename(columns=dict(zip(pnames, spec.parameters, strict=True)))
        post["weight"] = weights / weights.sum()
        rng = np.random.default_rng(spec.seed)
        draws = rng.choice(len(particles), size=settings.predictive_draws, p=post["weight"].to_numpy())
        say(
            f"posterior predictive: {settings.predictive_draws} runs, "
            "and as many of the scenario as it stands"
        )
        jobs = [(sim, particles.iloc[d].to_dict(), 1000 + j) for j, d in enumerate(draws)]
        fixed = {n: float(_current(sc, k)) for n, k in zip(pnames, spec.parameters, strict=True)}
        base_jobs = [(sim, fixed, 1000 + j) for j in range(settings.predictive_draws)]
        results = _map(_predict_one, jobs + base_jobs, workers, scheduler)
        model_runs = {t.name: np.stack([r[t.name] for r in results[: len(jobs)]]) for t in spec.targets}
        base_runs = {t.name: np.stack([r[t.name] for r in results[len(jobs) :]]) for t in spec.targets}
        p_model = {k: v.mean(axis=0) for k, v in model_runs.items()}
        p_base = {k: v.mean(axis=0) for k, v in base_runs.items()}
        eps = 1.0 / (2 * settings.predictive_draws)
        scores = score_table(
            obs.values, {"model (calibrated)": p_model, "model (scenario as it stands)": p_base},
            years, spec.split.train_years, spec.split.test_years, eps,
        )  # fmt: skip
        cov_rows = []
        bands = []
        for t in spec.targets:
            o = obs.values[t.name]
            known = np.isfinite(o)
            oc = counts(np.nan_to_num(o), known)
            for label, runs in (
                ("model (calibrated)", model_runs),
                ("model (scenario as it stands)", base_runs),
            ):
                sc_counts = counts(runs[t.name], known[None])
                cov_rows.append({"target": t.name, "forecaster": label, **coverage(sc_counts, oc, test_cols)})
                for k, y in enumerate(years):
                    q = np.percentile(sc_counts[:, k], [5, 25, 50, 75, 95])
                    bands.append({"target": t.name, "forecaster": label, "year": y,
                                  "split": "train" if y in spec.split.train_years else "test",
                                  "observed": oc[k], "known_states": int(known[:, k].sum()),
                                  **{f"q{p}": v
                                     for p, v in zip((5, 25, 50, 75, 95), q, strict=True)}})  # fmt: skip
        scores = scores.merge(pd.DataFrame(cov_rows), on=["target", "forecaster"], how="left")
        pred_rows = []
        for t in spec.targets:
            for i, s in enumerate(names):
                for k, y in enumerate(years):
                    pred_rows.append({"target": t.name, "state": s, "year": y,
                                      "split": "train" if y in spec.split.train_years else "test",
                                      "observed": obs.values[t.name][i, k], "model": p_model[t.name][i, k],
                                      "scenario_as_it_stands": p_base[t.name][i, k]})  # fmt: skip
        medians = {
            k: weighted_quantile(post[k].to_numpy(), post["weight"].to_numpy(), 0.5) for k in spec.parameters
        }
        manifest: dict[str, Any] = {
            "calibration_file": str(path), "name": spec.name, "scenario": str(scen_path),
            "scenario_hash": scenario_hash(sc), "quick": quick, "workers": workers,
            "scheduler": scheduler or "",
            "seed": spec.seed, "settings": settings.model_dump(), "train_years": spec.split.train,
            "test_years": spec.split.test, "parameters": spec.parameters,
            "priors": {k: p.model_dump() for k, p in priors.items()}, "data": obs.sources,
            "simulations": nsim, "predictive_runs": 2 * settings.predictive_draws,
            "posterior_median": medians, "wall_seconds": round(time.perf_counter() - t0, 1),
            "versions": {**versions(), **_tool_versions()}, "git_commit": git_commit(), "command": command,
            "sha256": {str(f): _sha256(f) for f in (path, DECLARATION, *(resolve(path, t.data)
                                                                          for t in spec.targets))},
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }  # fmt: skip
        meta = {
            b"sim": json.dumps(
                {k: manifest[k] for k in ("name", "scenario_hash", "seed", "git_commit", "command")}
            ).encode()
        }
        _parquet(post, folder / "posterior.parquet", meta)
        _parquet(pd.DataFrame(pred_rows), folder / "predictive.parquet", meta)
        _parquet(pd.DataFrame(bands), folder / "bands.parquet", meta)
        gens.to_csv(folder / "generations.csv", index=False, float_format="%.6g")
        scores.to_csv(folder / "scores.csv", index=False, float_format="%.6g")
        (folder / "scores.md").write_text(scores_markdown(scores, manifest), encoding="utf-8")
        raw = read_scenario(scenario_source(str(scen_path)))
        patch: dict = {}
        for key, val in medians.items():
            patch = _merge(patch, patch_for(raw, key, round(float(val), 6)))
        import yaml

        from sim.scenario.loader import PACKAGED

        packaged = scen_path.resolve().parent == PACKAGED.resolve()
        # a packaged scenario by its name (found wherever the folder goes); another scenario is
        # copied beside it (merged with what it extends) as base.yaml: `extends` reads only
        # files in the scenario's own folder tree
        rel = scen_path.name if packaged else "base.yaml"
        if not packaged:
            (folder / "base.yaml").write_text(
                f"# Written by sim calibrate: {scen_path} as calibrated (with what it extends merged in).\n"
                + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")  # fmt: skip
        doc = {"extends": rel, "name": f"{sc.name or scen_path.stem}_calibrated",
               "description": f"{scen_path.name} at the posterior median of calibration {spec.name!r} "
                              f"({manifest['date'][:10]}, {'quick, ' if quick else ''}"
                              f"train {spec.split.train[0]}-"
                              f"{spec.split.train[1]}); see manifest.json", **patch}  # fmt: skip

        (folder / "calibrated.yaml").write_text(
            "# Written by sim calibrate: the calibrated scenario at the posterior median.\n"
            + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")  # fmt: skip
        manifest["wall_seconds"] = round(time.perf_counter() - t0, 1)
        (folder / "manifest.json").write_text(
            json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8"
        )
        from sim.calibration.report import write_report

        write_report(folder, post, priors, gens, pd.DataFrame(bands), scores, manifest)

    failed: list[Exception] = []
    atomic(out_dir, build, folder=True)
    if failed:
        raise FailedAfterFit(
            f"the calibration failed after the fit ({type(failed[0]).__name__}: {failed[0]}); "
            f"the fit is kept "
            f"in {out_dir} (abc.db, posterior.parquet, generations.csv; FAILED.txt says why)"
        ) from failed[0]
    # the calibrated scenario must load (it extends a packaged scenario or base.yaml beside it)
    load_scenario(out_dir / "calibrated.yaml")
    return out_dir


def run_to(scen_path: Path, sc: Any, last_year: int) -> dict[str, Any]:
    """Runs end with the last year a target reads, when the scenario allows it (dated items
    after that year make it refuse). Each mechanism draws from its own stream step by step,
    so the years run are the same as in the full run (tested); the baseline's runs take 42
    instead of 102 ms."""
    from sim.errors import ScenarioError
    from sim.scenario.loader import load_scenario

    end = sc.model.end_year
    if end is None or end <= last_year:
        return {}
    try:
        load_scenario(scen_path, [("model.end_year", last_year)])
    except ScenarioError:
        return {}
    return {"model.end_year": last_year}


class FailedAfterFit(SimError):
    """The fit finished and is kept, but what follows it failed (exit 1: not the input's fault)."""

    exit_code = 1


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _tool_versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("pyabc", "dask", "distributed", "scipy"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def _current(sc: Any, key: str) -> Any:
    """A key path's value in a validated scenario (named list items by name)."""
    node: Any = sc.model_dump(mode="json")
    for part in key.split("."):
        if isinstance(node, list):
            node = next(x for x in node if isinstance(x, dict) and x.get("name") == part)
        else:
            node = node[part]
    return node


def _parquet(df: pd.DataFrame, path: Path, meta: dict[bytes, bytes]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    pq.write_table(table, path)


def scores_markdown(scores: pd.DataFrame, manifest: dict) -> str:
    cols = [
        "target",
        "forecaster",
        "train_events",
        "cells",
        "events",
        "changes",
        "brier",
        "log_loss",
        "coverage_50",
        "coverage_90",
        "beats_naive",
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in scores[cols].to_dict("records"):
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float):
                cells.append("" if np.isnan(v) else f"{v:.3f}")
            elif c == "beats_naive" and v in ("no", "untestable"):
                cells.append(f"**{v}**")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "train_events: first-time events in the training years (what the fit learns from); "
        "events: held-out state-years with the event; changes: held-out state-years that differ "
        "from the last training year (what persistence gets wrong)."
    )
    lines.append("")
    lines.append(
        f"Held-out years {manifest['test_years'][0]}-{manifest['test_years'][1]}; fitted on "
        f"{manifest['train_years'][0]}-{manifest['train_years'][1]}. "
        f"{manifest['simulations']} ABC simulations and "
        f"{manifest['predictive_runs']} predictive runs in {manifest['wall_seconds']} s "
        f"({'quick settings, ' if manifest['quick'] else ''}commit {manifest['git_commit']})."
    )
    return "\n".join(lines) + "\n"
