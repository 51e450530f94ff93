"""`experiments/claims.yaml`: every pattern of MODEL.md s.8 as a claim.

kind `contrast`: effect = metric(scenario) - metric(counterfactual) per replication; with
several counterfactuals, the best of them (`combine: max`) or the worst (`min`).
kind `threshold`: effect = metric(scenario) - `reference`.
kind `trend`: effect = metric@`late` - metric@`early`, within the scenario.
kind `from_peak`: effect = metric@`late` - its largest value from `early` to `late` (negative:
it has come down from its peak).
Every claim also names one parameter to `scan` (a scenario key path and its values): the
claim is measured again at each value, on both sides, to show where it holds and breaks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from sim.errors import Problem, ScenarioError
from sim.experiments.metrics import check_metric
from sim.fields import Strict
from sim.scenario.loader import find_scenario, model_from
from sim.yamlfile import read_yaml_located


class Scan(Strict):
    key: str
    values: list[float] = Field(min_length=2)
    side: Literal["both", "scenario"] = "both"  # `scenario`: a key only the scenario has (its lever)


class Claim(Strict):
    id: str
    pattern: int | None = Field(None, ge=1, le=8)  # MODEL.md s.8 (none: a baseline fact)
    statement: str
    source: str = ""  # the seed passage a baseline fact reads
    kind: Literal["contrast", "threshold", "trend", "from_peak"] = "contrast"
    scenario: str
    counterfactual: str | list[str] | None = None
    combine: Literal["max", "min"] = "max"
    set: dict[str, float | int | str | bool] = Field(default_factory=dict)
    counterfactual_set: dict[str, float | int | str | bool] = Field(default_factory=dict)
    metric: str
    reference: float | None = None
    early: float | None = None
    late: float | None = None
    expect: Literal["positive", "negative", "not_positive", "never_positive"]
    scan: Scan
    note: str = ""

    @model_validator(mode="after")
    def _kind(self) -> Claim:
        if self.kind == "contrast" and not self.counterfactual and not self.counterfactual_set:
            raise ValueError("a contrast needs a counterfactual (scenario or counterfactual_set)")
        if self.kind == "threshold" and self.reference is None:
            raise ValueError("a threshold claim needs a reference")
        if self.kind in ("trend", "from_peak") and (self.early is None or self.late is None):
            raise ValueError(f"a {self.kind} claim needs early and late years")
        return self

    @property
    def counterfactuals(self) -> list[str]:
        if self.counterfactual is None:
            return [self.scenario]
        return [self.counterfactual] if isinstance(self.counterfactual, str) else list(self.counterfactual)


class ClaimSuite(Strict):
    replications: int = Field(30, ge=2)
    scan_replications: int = Field(10, ge=2)
    base_seed: int = Field(0, ge=0)
    level: float = Field(0.95, gt=0.5, lt=1.0)
    claims: list[Claim] = Field(min_length=1)
    include: list[str] = Field(default_factory=list)  # more claims files beside this one (their claims only)


def resolve_scenario(name: str, base: Path) -> Path:
    found = find_scenario(name, base)
    if found is None:
        raise FileNotFoundError(name)
    return found


def load_claims(path: str | Path) -> ClaimSuite:
    """A claims file, with the claims of the files it includes (which must sit beside it: their
    scenario paths are read from the same folder)."""
    path = Path(path)
    raw, where = read_yaml_located(path, str(path))
    suite = model_from(ClaimSuite, raw, str(path), where)
    for name in suite.include:
        other = path.parent / name
        if other.parent.resolve() != path.parent.resolve() or not other.is_file():
            raise ScenarioError(
                [Problem(str(path), "include", f"expected a claims file beside this one, got {name!r}")]
            )
        suite.claims.extend(load_claims(other).claims)
    problems = []
    for i, c in enumerate(suite.claims):
        loc = f"claims[{i}] ({c.id})"
        for name in [c.scenario, *c.counterfactuals]:
            try:
                resolve_scenario(name, path.parent)
            except FileNotFoundError:
                problems.append(Problem(str(path), loc, f"scenario not found: {name}"))
        base_metric = c.metric.split("@")[0]
        if err := check_metric(base_metric):
            problems.append(Problem(str(path), f"{loc}.metric", err))
    if len({c.id for c in suite.claims}) != len(suite.claims):
        problems.append(Problem(str(path), "claims", "claim ids must be unique"))
    if problems:
        raise ScenarioError(problems)
    return suite
