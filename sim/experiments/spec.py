"""Experiment files: what to vary, how to sample it, how often to replicate, what to measure.

Close to NetLogo's BehaviorSpace: `vary` maps scenario key paths (as in `sim run --set`)
to a list of values, `{start, step, stop}` (inclusive) or, for sampled designs,
`{low, high}`, or `declared` (the range of that key in the declaration of uncertain parameters,
`sim/parameters.yaml`); `design` is `factorial`, `lhs`, `sobol` or `morris`.

A categorical factor is `{levels: [name, ...]}` (each name is the value set) or
`{levels: {name: value, ...}}` (each level a name for any value, a whole policy mapping say):
factorial designs cross its levels, `lhs` spreads its samples evenly over them; `sobol` and
`morris` refuse it (their indices need numeric ranges). The runs table records the level's name.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Discriminator, Field, Tag, model_validator

from sim.errors import Problem, ScenarioError
from sim.fields import Bounds, FolderName, Strict, folder_name
from sim.scenario.loader import find_scenario, model_from
from sim.yamlfile import read_yaml_located


class Range(Strict):
    start: float
    step: float = Field(gt=0)
    stop: float

    @model_validator(mode="after")
    def _order(self) -> Range:
        if self.stop < self.start:
            raise ValueError(f"stop ({self.stop:g}) must not be below start ({self.start:g})")
        return self

    def values(self) -> list[float]:
        n = round((self.stop - self.start) / self.step) + 1
        vals = [round(self.start + k * self.step, 12) for k in range(n)]
        return [v for v in vals if v <= self.stop + 1e-9]


class Levels(Strict):
    """A categorical factor: its levels by name; a list names values that are their own names."""

    levels: list[str] | dict[str, Any] = Field(min_length=1)

    @model_validator(mode="after")
    def _names(self) -> Levels:
        for name in self.labels():
            if not name.strip() or len(name) > 100 or "\n" in name:
                raise ValueError(f"levels: {name!r} is not a usable level name (1-100 characters, one line)")
        if isinstance(self.levels, list) and len(set(self.levels)) < len(self.levels):
            raise ValueError(f"levels: a level is named twice ({_twice(self.levels)!r})")
        values = [_canonical(v) for v in self.value_list()]
        if len(set(values)) < len(values):
            first = next(n for n, v in zip(self.labels(), values, strict=True) if values.count(v) > 1)
            raise ValueError(f"levels: {first!r} has the same value as another level; give each level once")
        return self

    def labels(self) -> list[str]:
        return list(self.levels)

    def value_list(self) -> list[Any]:
        return list(self.levels.values()) if isinstance(self.levels, dict) else list(self.levels)

    def label_of(self, value: Any) -> str | None:
        """The name of the level whose value this is (a run's parameter read back), or None."""
        wanted = _canonical(value)  # as the uniqueness check compares: 1, 1.0 and true differ
        for name, v in zip(self.labels(), self.value_list(), strict=True):
            if _canonical(v) == wanted:
                return name
        return None


def _canonical(value: Any) -> str:
    """A level's value as text, so that levels compare by type as well as value."""
    return json.dumps(value, sort_keys=True, default=str)


def _twice(names: list[str]) -> str:
    return next(n for n in names if names.count(n) > 1)


def _shape(v: Any) -> str:
    """A mapping with `levels` is a categorical factor (and its errors are only those of one);
    anything else is one of the other forms, as before categorical factors existed."""
    if isinstance(v, Levels) or (isinstance(v, dict) and "levels" in v):
        return "categorical[levels]"
    return "other[values]"


Values = Annotated[
    Annotated[Levels, Tag("categorical[levels]")]
    | Annotated[list[float | int | str | bool] | Range | Bounds | Literal["declared"], Tag("other[values]")],
    Discriminator(_shape),
]


class StopWhen(Strict):
    metric: str
    op: Literal[">", ">=", "<", "<=", "=="]
    value: float
    check_every: int = Field(1, ge=1)


class Experiment(Strict):
    name: FolderName = ""
    description: str = ""
    scenario: str
    design: Literal["factorial", "lhs", "sobol", "morris"] = "factorial"
    vary: dict[str, Values] = Field(min_length=1)
    samples: int = Field(16, ge=1, le=1_000_000)
    levels: int = Field(4, ge=2, le=64)
    replications: int = Field(1, ge=1, le=100_000)
    base_seed: int = Field(0, ge=0)
    common_seeds: bool = False  # True: replication r uses the same seed at every point
    steps: int | None = Field(None, ge=1)
    metrics: dict[str, str] = Field(min_length=1)
    every: int | None = Field(None, ge=1)
    stop_when: StopWhen | None = None
    chunk: Annotated[int, Field(ge=1, le=10_000)] = 16

    @model_validator(mode="after")
    def _metric_names(self) -> Experiment:
        for name in self.metrics:
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name) or name.startswith("."):
                raise ValueError(
                    f"metrics: {name!r} is not a usable metric name (letters, digits, '.', '_', '-'; "
                    "it names output files)"
                )
        return self

    @model_validator(mode="after")
    def _design_values(self) -> Experiment:
        for key, v in self.vary.items():
            if self.design == "factorial" and isinstance(v, Bounds):
                raise ValueError(
                    f"vary.{key}: a factorial design needs a list or {{start, step, stop}}, not bounds"
                )
            if self.design == "factorial" and v == "declared":
                raise ValueError(f"vary.{key}: a factorial design needs a list or {{start, step, stop}}")
            if self.design in ("sobol", "morris") and isinstance(v, Levels):
                raise ValueError(
                    f"vary.{key}: a {self.design} design cannot vary a categorical factor (levels): its "
                    "indices need numeric ranges; use design: factorial or lhs, or one sweep per level"
                )
            if self.design == "lhs" and not (isinstance(v, (Bounds, Levels)) or v == "declared"):
                raise ValueError(
                    f"vary.{key}: a lhs design needs {{low, high}} bounds, declared, or {{levels: [...]}}"
                )
            if self.design != "factorial" and not (isinstance(v, (Bounds, Levels)) or v == "declared"):
                raise ValueError(f"vary.{key}: a {self.design} design needs {{low, high}} bounds or declared")
        return self


def experiment_hash(exp: Experiment) -> str:
    canon = json.dumps(exp.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def load_experiment(path: str | Path) -> tuple[Experiment, Path]:
    """Read and validate an experiment; returns it and the scenario path it names."""
    from sim.experiments.metrics import check_metric

    p = Path(path)
    raw, where = read_yaml_located(p, str(path))
    exp = model_from(Experiment, raw, str(path), where)
    if not exp.name:
        exp.name = folder_name(p.stem)
    found = find_scenario(exp.scenario, p.parent)
    if found is None:
        at = (where.kid("scenario") or where).shown
        raise ScenarioError([Problem(at, "scenario", f"file not found: {exp.scenario}")])
    scen = found
    problems: list[Problem] = []
    for key, v in exp.vary.items():
        if v == "declared":
            from sim.scenario.uncertain import declaration

            try:
                prior = declaration().get(key, str(path)).prior
            except ScenarioError as exc:
                problems.extend(Problem(str(path), f"vary.{key}", p.message) for p in exc.problems)
                continue
            exp.vary[key] = Bounds(low=prior.low, high=prior.high)
    problems += [
        Problem(str(path), f"metrics.{name}", err)
        for name, spec in exp.metrics.items()
        if (err := check_metric(spec))
    ]
    if exp.stop_when is not None and (err := check_metric(exp.stop_when.metric)):
        problems.append(Problem(str(path), "stop_when.metric", err))
    if problems:
        raise ScenarioError(problems)
    return exp, scen


def dump(exp: Experiment) -> str:
    return yaml.safe_dump(exp.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
