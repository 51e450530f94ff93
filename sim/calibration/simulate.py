"""The model as pyabc sees it: a function from parameters to summary statistics.

`Simulator(params)` runs the scenario with the parameters set and returns, for each target,
the same [n_states, n_years] 0/1 matrix the record gives (`observed.py`): membership of a
forum, or de jure adoption of a regulation, by the end of each calendar year. The run's seed
is derived from the parameter values and the calibration's seed, so a particle always gives
the same output (reproducible; with one worker the whole calibration is). It is a top-level
class so that worker processes and Dask can pickle it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.calibration.spec import Target

_RAW: dict[str, dict] = {}  # per process: each scenario file read once


def particle_seed(base: int, params: dict[str, float], salt: int = 0) -> int:
    text = json.dumps({k: round(float(v), 12) for k, v in sorted(params.items())}) + f"|{base}|{salt}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:7], "big")


@dataclass
class Simulator:
    scenario: str
    keys: list[str]  # scenario key path of each parameter, in the order of `names`
    names: list[str]  # pyabc's names for them (p0, p1, ...)
    targets: list[Target]
    years: list[int]
    seed: int = 0
    replicates: int = 1  # runs averaged per call (each with its own seed)
    fixed: dict[str, Any] = field(default_factory=dict)  # overrides every run gets

    def overrides(self, params: dict[str, float]) -> list[tuple[str, Any]]:
        return [
            *self.fixed.items(),
            *((k, float(params[n])) for k, n in zip(self.keys, self.names, strict=True)),
        ]

    def run(self, params: dict[str, float], salt: int = 0) -> dict[str, np.ndarray]:
        """Summary statistics of one run (the seed from the parameters and `salt`)."""
        from sim.model import RuleMakingModel
        from sim.scenario.loader import finish, read_scenario, scenario_source

        source = scenario_source(self.scenario)
        if source not in _RAW:
            _RAW[source] = read_scenario(source)
        seed = particle_seed(self.seed, {n: params[n] for n in self.names}, salt)
        sc = finish(copy.deepcopy(_RAW[source]), source, self.overrides(params), seed=seed)
        model = RuleMakingModel(sc, ledger_entries=False)  # the statistics never read the ledger
        model.run()
        return statistics(model, self.targets, self.years)

    def __call__(self, params: dict[str, float]) -> dict[str, np.ndarray]:
        """What ABC compares: the mean of `replicates` runs (the share of runs with the event)."""
        runs = [self.run(params, salt=r) for r in range(self.replicates)]
        return {k: np.mean([r[k] for r in runs], axis=0) for k in runs[0]}


def statistics(model: Any, targets: list[Target], years: list[int]) -> dict[str, np.ndarray]:
    """Each target's [n_states, n_years] 0/1 matrix from a finished run."""
    w = model.world
    rec = model.recorder
    cal = w.calendar
    last = rec.membership.shape[0] - 1
    steps = [min(round((y + 1 - cal.start_year) * cal.steps_per_year), last) for y in years]
    out: dict[str, np.ndarray] = {}
    for t in targets:
        if t.observe == "membership":
            f = w.forum_names.index(t.forum)
            out[t.name] = rec.membership[steps, :, f].T.astype(float)
        else:
            when = np.full(w.N, np.inf)
            for _step, year, kind, state, _forum, detail in model.log.rows:
                if kind == "adopt" and detail.split(" (regulator")[0] == t.lever:
                    i = w.index[state]
                    when[i] = min(when[i], year)
            out[t.name] = (when[:, None] < np.array(years, dtype=float)[None, :] + 1.0).astype(float)
    return out
