"""Adapter for the EMA Workbench (optional extra `ema`): drive the model as a
`ReplicatorModel`, its uncertainties mapped to scenario key paths and its outcomes to
sweep metrics (`sim.experiments.metrics`), one replication per seed.

    from ema_workbench import perform_experiments
    from sim.experiments.ema import ema_model
    model = ema_model("scenarios/baseline.yaml",
                      uncertainties={"synergy": ("model.synergy", 0.0, 2.0)},
                      outcomes={"japan_share": "states.influence_share[Japan]"},
                      seeds=[1, 2, 3])
    experiments, outcomes = perform_experiments(model, scenarios=50)
"""

from __future__ import annotations

from pathlib import Path

from sim.runner import RunTask, run_task


class EMARun:
    """The model function EMA calls: keyword parameters in, a dict of outcomes out."""

    def __init__(self, scenario: str, paths: dict[str, str], outcomes: dict[str, str], steps: int | None):
        self.scenario, self.paths, self.outcomes, self.steps = scenario, paths, outcomes, steps

    def __call__(self, seed: int = 0, **kwargs: float) -> dict[str, float]:
        params = tuple((self.paths[k], float(v)) for k, v in kwargs.items() if k in self.paths)
        task = RunTask(self.scenario, int(seed), self.steps, params, self.outcomes, run_id="ema")
        row, _ = run_task(task)
        if row["status"] != "ok":
            raise RuntimeError(row["error"])
        return {name: row[name] for name in self.outcomes}


def ema_model(
    scenario: str | Path,
    uncertainties: dict[str, tuple[str, float, float]],
    outcomes: dict[str, str],
    seeds: list[int],
    steps: int | None = None,
    name: str = "rulemaking",
):
    """A ReplicatorModel: `uncertainties` maps EMA names to (key path, low, high)."""
    from ema_workbench import ArrayOutcome, RealParameter, ReplicatorModel

    paths = {k: v[0] for k, v in uncertainties.items()}
    model = ReplicatorModel(name, function=EMARun(str(scenario), paths, outcomes, steps))
    model.uncertainties = [RealParameter(k, lo, hi) for k, (_, lo, hi) in uncertainties.items()]
    model.outcomes = [ArrayOutcome(k) for k in outcomes]  # one value per replication
    model.replications = [{"seed": int(s)} for s in seeds]
    return model
