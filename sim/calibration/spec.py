"""`calibration.yaml`: what to fit, to which record, on which years, and how hard to try.

- `parameters`: keys of the declaration of uncertain parameters (`sim/parameters.yaml`); a
  `prior` here narrows or replaces the declared one for this calibration only.
- `targets`: each compares a model output with one data file of `data/`, state by state and
  year by year (status at the end of each calendar year):
  * `observe: membership` (`forum`): is the state a member of the forum;
  * `observe: adoption` (`lever`): has the state adopted the regulation lever's rules de jure.
  `rows` selects the data rows that count as the event (column: value or list of values);
  `weight` scales its part of the distance; `exclude` drops states (say, the regulator).
- `split`: `train` and `test` year spans. The fit sees only training years; held-out years
  are used for scoring only. A year in both is refused.
- `abc`: population size, generations, the epsilon schedule (median of the last
  generation's distances), the minimum acceptance rate at which to stop (ABC also stops when
  epsilon no longer falls), the runs per particle (`replicates`, averaged: with 0/1 outcomes
  one run gives a coarse distance that ties many particles) and the posterior predictive
  draws, and `max_minutes` (a time limit for the fit; the generations done are kept); `quick:`
  holds the small settings of `--quick`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from sim.errors import Problem, ScenarioError
from sim.fields import FolderName, Strict, folder_name, repeated
from sim.scenario.uncertain import Prior


class Target(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_]+$")
    data: str
    observe: Literal["membership", "adoption"]
    forum: str | None = None
    lever: str | None = None
    rows: dict[str, str | list[str]] = Field(default_factory=dict)
    exclude: list[str] = Field(default_factory=list)
    weight: float = Field(1.0, gt=0)
    note: str = ""

    @model_validator(mode="after")
    def _what(self) -> Target:
        if self.observe == "membership" and not self.forum:
            raise ValueError("observe: membership needs a forum")
        if self.observe == "adoption" and not self.lever:
            raise ValueError("observe: adoption needs a lever (a regulation)")
        return self


class Split(Strict):
    train: tuple[int, int]
    test: tuple[int, int]

    @model_validator(mode="after")
    def _disjoint(self) -> Split:
        for name, (a, b) in (("train", self.train), ("test", self.test)):
            if b < a:
                raise ValueError(f"{name}: the span must run forward, got [{a}, {b}]")
        both = sorted(set(self.train_years) & set(self.test_years))
        if both:
            raise ValueError(f"years in both train and test: {', '.join(map(str, both))}")
        if self.test[0] <= self.train[1]:
            raise ValueError(
                f"test years must come after the training years (a forecast), got train "
                f"[{self.train[0]}, {self.train[1]}] and test [{self.test[0]}, {self.test[1]}]"
            )
        return self

    @property
    def train_years(self) -> list[int]:
        return list(range(self.train[0], self.train[1] + 1))

    @property
    def test_years(self) -> list[int]:
        return list(range(self.test[0], self.test[1] + 1))

    @property
    def years(self) -> list[int]:
        return sorted(set(self.train_years) | set(self.test_years))


class ABCSettings(Strict):
    population: int = Field(100, ge=4, le=100_000)
    generations: int = Field(6, ge=1, le=100)
    min_acceptance: float = Field(0.02, ge=0.0, le=1.0)
    epsilon_quantile: float = Field(0.5, gt=0.0, lt=1.0)
    predictive_draws: int = Field(100, ge=4, le=100_000)
    replicates: int = Field(1, ge=1, le=100)  # runs per particle, averaged (a smoother distance)
    max_minutes: float | None = Field(None, gt=0)  # stop ABC after this long (the last generation is kept)


class Calibration(Strict):
    name: FolderName = ""
    description: str = ""
    scenario: str
    parameters: list[str] = Field(min_length=1)
    priors: dict[str, Prior] = Field(default_factory=dict)
    targets: list[Target] = Field(min_length=1)
    split: Split
    seed: int = Field(0, ge=0)
    abc: ABCSettings = Field(default_factory=ABCSettings)
    quick: ABCSettings = Field(
        default_factory=lambda: ABCSettings(population=16, generations=2, predictive_draws=16)
    )

    @model_validator(mode="after")
    def _names(self) -> Calibration:
        dup = repeated([t.name for t in self.targets])
        if dup:
            raise ValueError(f"target names must be unique; repeated: {', '.join(dup)}")
        twice = repeated(list(self.parameters))
        if twice:
            raise ValueError(f"parameters must be listed once; repeated: {', '.join(twice)}")
        extra = sorted(set(self.priors) - set(self.parameters))
        if extra:
            raise ValueError(f"priors for parameters not calibrated: {', '.join(extra)}")
        return self


def resolve(path: Path, name: str) -> Path:
    p = Path(name)
    return p if p.is_absolute() else path.parent / p


def load_calibration(path: str | Path) -> tuple[Calibration, dict[str, Prior]]:
    """Read and check a calibration file: the scenario, every parameter (declared and
    settable at both ends of its prior) and every data file; returns the spec and the prior of
    each parameter. Every problem is reported at once, located."""
    from sim.scenario.loader import find_scenario, load_scenario, model_from
    from sim.scenario.uncertain import declaration
    from sim.yamlfile import read_yaml_located

    path = Path(path)
    raw, where = read_yaml_located(path, str(path))
    spec = model_from(Calibration, raw, str(path), where)
    if not spec.name:
        spec.name = folder_name(path.stem)
    problems: list[Problem] = []
    found = find_scenario(spec.scenario, path.parent)
    if found is None:
        raise ScenarioError([Problem(str(path), "scenario", f"file not found: {spec.scenario}")])
    scen = found
    sc = load_scenario(scen)
    priors: dict[str, Prior] = {}
    for i, key in enumerate(spec.parameters):
        try:
            prior = spec.priors.get(key) or declaration().get(key, str(path)).prior
        except ScenarioError:
            problems.append(
                Problem(str(path), f"parameters[{i}]", f"{key!r} is not declared in sim/parameters.yaml")
            )
            continue
        for end in (prior.low, prior.high):
            try:
                load_scenario(scen, [(key, end)])
            except ScenarioError as exc:
                problems.append(
                    Problem(str(path), f"parameters[{i}] ({key})", f"at {end:g}: {exc.problems[0].message}")
                )
                break
        priors[key] = prior
    states = {s.name for s in sc.states}
    forums = {f.name for f in sc.forums}
    levers = {lv.name: lv.type for lv in sc.levers}
    for i, t in enumerate(spec.targets):
        loc = f"targets[{i}] ({t.name})"
        if not resolve(path, t.data).is_file():
            problems.append(Problem(str(path), f"{loc}.data", f"file not found: {t.data}"))
        if t.forum and t.forum not in forums:
            problems.append(Problem(str(path), f"{loc}.forum", f"unknown forum {t.forum!r}"))
        if t.lever and levers.get(t.lever) != "regulation":
            problems.append(
                Problem(str(path), f"{loc}.lever", f"expected a regulation lever, got {t.lever!r}")
            )
        for j, s in enumerate(t.exclude):
            if s not in states:
                problems.append(Problem(str(path), f"{loc}.exclude[{j}]", f"unknown state {s!r}"))
    m = sc.model
    steps = m.steps or (int(m.end_year or m.start_year) - m.start_year + 1) * m.steps_per_year
    last = m.start_year + steps // m.steps_per_year - 1  # the last full calendar year run
    for name, (a, b) in (("train", spec.split.train), ("test", spec.split.test)):
        if a < m.start_year or b > last:
            problems.append(
                Problem(
                    str(path), f"split.{name}", f"[{a}, {b}] is outside the years run, {m.start_year}-{last}"
                )
            )
    if problems:
        raise ScenarioError(problems)
    return spec, priors
