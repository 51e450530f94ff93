"""The four technology powers of seed 002 (coercive, structural, institutional, productive)
and Japan's co-creation (seed 001), as scenario levers and as actions.

`Powers` builds one runtime object per lever of the scenario, fires scheduled levers at
their dates, and calls their hooks at fixed points of the step. Each lever type is also
registered as an action: a state whose `actions:` names it may choose it, and choosing it
applies the state's own lever of that type (`LeverRuntime.act`).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.actions import Action, register
from sim.powers.base import LeverRuntime
from sim.powers.cocreation import Cocreation
from sim.powers.coercive import ExportControls
from sim.powers.productive import Declaration
from sim.powers.regulation import Regulation
from sim.powers.structural import Alliance
from sim.scenario.checks import ROLE

if TYPE_CHECKING:
    from sim.model import RuleMakingModel

CLASSES: dict[str, type[LeverRuntime]] = {
    "export_controls": ExportControls,
    "alliance": Alliance,
    "regulation": Regulation,
    "declaration": Declaration,
    "cocreation": Cocreation,
}


class Powers:
    def __init__(self, model: RuleMakingModel) -> None:
        self.levers: list[LeverRuntime] = []
        self.by_step: dict[int, list[LeverRuntime]] = defaultdict(list)
        self.templates: dict[tuple[str, int], LeverRuntime] = {}
        used: dict[str, int] = defaultdict(int)
        for k, spec in enumerate(model.scenario.levers):
            actor = getattr(spec, ROLE[spec.type])
            base = spec.name or f"{spec.type}:{actor}"
            used[base] += 1
            label = base if used[base] == 1 else f"{base}#{used[base]}"
            lever = CLASSES[spec.type](model, spec, k, label)
            self.levers.append(lever)
            if lever.scheduled is not None:
                self.by_step[lever.scheduled].append(lever)
            key = (spec.type, model.world.index[actor])
            # an undated lever is the action template; otherwise the latest scheduled one
            if spec.date is None or key not in self.templates or self.templates[key].spec.date is not None:
                self.templates[key] = lever
        self.rows: list[tuple] = []

    def template(self, kind: str, state: int) -> LeverRuntime | None:
        return self.templates.get((kind, state))

    # ------------------------------------------------------------------ hooks
    def fire(self, model: RuleMakingModel) -> None:
        for lever in self.by_step.get(model.steps, ()):
            lever.start = None if lever.spec.type == "declaration" else lever.start
            lever.start_now(model)
            model.log.add(model, "lever", getattr(lever.spec, ROLE[lever.spec.type]), "", lever.label)

    def growth(self, model: RuleMakingModel, gf: np.ndarray) -> None:
        for lever in self.levers:
            lever.growth(model, gf)

    def effects(self, model: RuleMakingModel) -> None:
        for lever in self.levers:
            lever.effects(model)

    def after_move(self, model: RuleMakingModel) -> None:
        for lever in self.levers:
            if isinstance(lever, Declaration):
                lever.after_move(model)

    def stack_inputs(self, model: RuleMakingModel) -> None:
        st = model.stack
        st.access.fill(1.0)
        st.offer.fill(0.0)
        st.lock.fill(0.0)
        st.local.fill(0.0)
        for lever in self.levers:
            if isinstance(lever, ExportControls):
                lever.stack_access(model, st.access)
            elif isinstance(lever, Alliance):
                lever.stack_offer(model, st.offer, st.lock)
            elif isinstance(lever, Cocreation):
                lever.stack_local(model, st.local)

    def record(self, model: RuleMakingModel) -> None:
        k = model.steps
        year = model.world.calendar.year_at(k)
        for lever in self.levers:
            if not lever.active:  # a lever's indicators are recorded from its start on
                continue
            actor = getattr(lever.spec, ROLE[lever.spec.type])
            for metric, value in lever.metrics(model).items():
                self.rows.append((k, year, lever.label, lever.spec.type, actor, metric, float(value)))

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            self.rows, columns=["step", "year", "lever", "type", "actor", "metric", "value"]
        ).astype({"step": "int64", "year": "float64", "value": "float64"})


# ---------------------------------------------------------------------- actions
def _make_action(kind: str) -> Action:
    def apply(model: RuleMakingModel, idx: np.ndarray) -> None:
        for i in idx:
            lever = model.powers.template(kind, int(i))
            if lever is not None:
                lever.act(model)

    def potential(model: RuleMakingModel, idx: np.ndarray) -> np.ndarray:
        """Expected gain: what this power has recently earned the state (running mean)."""
        return model.recent_gain[idx, model.gain_col[kind]]

    doc = sys.modules[CLASSES[kind].__module__].__doc__ or ""
    return Action(kind, apply, potential, doc.strip())


for _kind in CLASSES:
    register(_make_action(_kind))
