"""Sampling designs: the points of a sweep, and the runs (points x replications) with seeds.

`factorial` is the full product of the listed values; `lhs` (Latin hypercube), `sobol`
(Saltelli's scheme without second-order terms: N(D+2) points) and `morris` (N trajectories
of D+1 points on `levels` levels) come from SALib, seeded by `base_seed`. Each run's seed is
drawn from numpy's SeedSequence(base_seed, spawn_key=(run index,)), so it depends only on
the base seed and the run's position in the sweep. With `common_seeds: true` the key is the
replication number instead: every point sees the same random numbers (common random
numbers), which removes run-to-run noise from comparisons and sensitivity indices.

A categorical factor (`{levels: ...}`) is crossed by `factorial`; in `lhs` it is one more
dimension of the hypercube on [0, number of levels), cut into its levels, so that each level
gets the same number of samples (give or take one). The runs table records a level by name
(`name_levels` turns a run's row back from the level's value to its name).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import numpy as np

from sim.experiments.spec import Bounds, Experiment, Levels, Range
from sim.runner import RunTask


def problem(exp: Experiment) -> dict:
    """The SALib problem of a sampled design (names and bounds); a categorical factor is the
    range [0, number of levels), its level names under `levels`."""
    names = list(exp.vary)
    bounds = [exp.vary[k] for k in names]
    out: dict[str, Any] = {
        "num_vars": len(names),
        "names": names,
        "bounds": [
            [b.low, b.high] if isinstance(b, Bounds) else [0.0, float(len(b.labels()))]
            for b in bounds
            if isinstance(b, (Bounds, Levels))
        ],
    }
    levels = {k: v.labels() for k, v in exp.vary.items() if isinstance(v, Levels)}
    if levels:  # only then: the problem of a design without categorical factors is as before
        out["levels"] = levels
    return out


def _factorial_values(v: object) -> list[Any]:
    if isinstance(v, Range):
        return list(v.values())
    if isinstance(v, Levels):
        return v.value_list()
    assert isinstance(v, list)
    return list(v)


def level_names(exp: Experiment) -> dict[str, Levels]:
    """The categorical factors of the design, by key path."""
    return {k: v for k, v in exp.vary.items() if isinstance(v, Levels)}


def name_levels(levels: dict[str, Levels], row: dict[str, Any]) -> None:
    """Replace, in a run's row (in place), the value of each categorical factor (`param:KEY`,
    say a whole policy mapping) by its level's name, so that the runs table holds one string
    column per factor."""
    for key, lv in levels.items():
        col = f"param:{key}"
        if col in row:
            name = lv.label_of(row[col])
            row[col] = name if name is not None else str(row[col])


def points(exp: Experiment) -> list[dict[str, object]]:
    keys = list(exp.vary)
    if exp.design == "factorial":
        lists = [_factorial_values(v) for v in exp.vary.values()]
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*lists)]
    assert all(isinstance(v, (Bounds, Levels)) for v in exp.vary.values())
    prob = problem(exp)
    prob.pop("levels", None)
    if exp.design == "lhs":
        from SALib.sample import latin

        x = latin.sample(prob, exp.samples, seed=exp.base_seed)
    elif exp.design == "sobol":
        from SALib.sample import sobol

        x = sobol.sample(prob, exp.samples, calc_second_order=False, seed=exp.base_seed)
    else:
        from SALib.sample import morris

        x = morris.sample(prob, exp.samples, num_levels=exp.levels, seed=exp.base_seed)
    return [{k: _level(exp.vary[k], float(u)) for k, u in zip(keys, row, strict=True)} for row in x]


def _level(v: object, u: float) -> Any:
    """A sampled coordinate: the number itself, or for a categorical factor the value of the
    level whose stratum [i, i + 1) of [0, number of levels) holds it."""
    if not isinstance(v, Levels):
        return u
    values = v.value_list()
    return values[min(len(values) - 1, max(0, int(np.floor(u))))]


def run_seed(base_seed: int, index: int) -> int:
    ss = np.random.SeedSequence(entropy=base_seed, spawn_key=(index,))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def run_id(scenario_sha: str, params: dict, seed: int, steps: int | None, index: int) -> str:
    """Identity of a run: its resolved parameters, seed and place in the design (designs
    such as Morris may repeat a point; with common seeds those are still separate runs)."""
    canon = json.dumps(
        {"s": scenario_sha, "p": params, "seed": seed, "steps": steps, "i": index}, sort_keys=True
    )
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def count(exp: Experiment) -> int:
    """The number of runs of the design, computed without listing them."""
    d = len(exp.vary)
    if exp.design == "factorial":
        n = 1
        for v in exp.vary.values():
            if isinstance(v, Range):
                est = round((v.stop - v.start) / v.step) + 1
                n *= len(v.values()) if est <= 1_000_000 else est
            elif isinstance(v, list):
                n *= len(v)
            elif isinstance(v, Levels):
                n *= len(v.labels())
    elif exp.design == "lhs":
        n = exp.samples
    elif exp.design == "sobol":
        n = exp.samples * (d + 2)
    else:
        n = exp.samples * (d + 1)
    return n * exp.replications


def tasks(
    exp: Experiment, scenario_path: str, scenario_sha: str, content: dict | None = None
) -> list[RunTask]:
    """Every run of the sweep, in a fixed order; `content` is the scenario each task carries."""
    out = []
    stop = exp.stop_when.model_dump() if exp.stop_when else None
    for p, point in enumerate(points(exp)):
        for rep in range(exp.replications):
            index = p * exp.replications + rep
            seed = run_seed(exp.base_seed, rep if exp.common_seeds else index)
            out.append(
                RunTask(
                    scenario=scenario_path, seed=seed, steps=exp.steps, overrides=tuple(point.items()),
                    content=content, metrics=exp.metrics, every=exp.every, stop_when=stop,
                    run_id=run_id(scenario_sha, point, seed, exp.steps, index), index=index, point=p,
                    replication=rep,
                )
            )  # fmt: skip
    return out
