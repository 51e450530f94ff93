"""The declaration of the model's uncertain parameters (`sim/parameters.yaml`).

One list, read by calibration (priors), sweeps (`vary: {key: declared}`) and the explorer.
Each entry names a scenario key path, a prior (uniform or loguniform on [low, high]), a unit,
a meaning and its source. `check_declared` verifies that every key can be set on a scenario
and that its prior's range is accepted by the schema at both ends.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from sim.errors import Problem, ScenarioError
from sim.fields import Bounds, Strict, repeated

DECLARATION = Path(__file__).resolve().parent.parent / "parameters.yaml"


class Prior(Bounds):
    distribution: Literal["uniform", "loguniform"] = "uniform"

    @model_validator(mode="after")
    def _log(self) -> Prior:
        if self.distribution == "loguniform" and self.low <= 0:
            raise ValueError(f"a loguniform prior needs low > 0, got {self.low:g}")
        return self

    def ppf(self, u: np.ndarray | float) -> np.ndarray:
        """The value at quantile u (for samplers and sliders)."""
        u = np.asarray(u, dtype=float)
        if self.distribution == "loguniform":
            out: np.ndarray = np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
            return out
        return self.low + u * (self.high - self.low)

    def logpdf(self, x: float) -> float:
        if not self.low <= x <= self.high:
            return -math.inf
        if self.distribution == "loguniform":
            return -math.log(x) - math.log(math.log(self.high / self.low))
        return -math.log(self.high - self.low)


class Uncertain(Strict):
    key: str = Field(min_length=1)
    prior: Prior
    unit: str
    meaning: str
    source: str


class Declaration(Strict):
    parameters: list[Uncertain] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Declaration:
        dup = repeated([p.key for p in self.parameters])
        if dup:
            raise ValueError(f"each key once; repeated: {', '.join(dup)}")
        return self

    def get(self, key: str, where: str = "") -> Uncertain:
        for p in self.parameters:
            if p.key == key:
                return p
        import difflib

        hint = difflib.get_close_matches(key, [p.key for p in self.parameters], n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ScenarioError(
            [Problem(where or str(DECLARATION), key, f"not a declared uncertain parameter{extra}")]
        )


def read_declaration(path: str | Path = DECLARATION) -> Declaration:
    from sim.scenario.loader import model_from
    from sim.yamlfile import read_yaml_located

    raw, where = read_yaml_located(Path(path), str(path))
    return model_from(Declaration, raw, str(path), where)


@lru_cache(maxsize=1)
def declaration() -> Declaration:
    """The packaged declaration (read once per process)."""
    return read_declaration()


def check_declared(decl: Declaration, scenario: str | Path, source: str = "") -> None:
    """Every key must be settable on `scenario`, with both ends of its range valid."""
    from sim.scenario.loader import load_scenario

    problems: list[Problem] = []
    for p in decl.parameters:
        for end in (p.prior.low, p.prior.high):
            try:
                load_scenario(scenario, [(p.key, end)])
            except ScenarioError as exc:
                first = exc.problems[0]
                problems.append(Problem(source or str(DECLARATION), p.key, f"at {end:g}: {first.message}"))
                break
    if problems:
        raise ScenarioError(problems)
