"""Coercive technology power: export controls (seed 002, section 4.2).

From its start, a control by `controller` on each target has an effective severity

    s(t) = severity * exp(-(leakage + efficiency) * years since start),

eroding through leakage and the target's efficiency innovation (DeepSeek-v3 on 2,048
H800s; Hunyuan at about a tenth of Llama 3.1's compute). While it bites:
- the target's growth of each covered layer falls in proportion to s and to its dependence
  on the controller: compute (base layer), algorithms (`models`: technical layer), market
  (`investment`);
- the controller's offer to the target is cut (access 1 - s in the stack), so the target
  substitutes away from it;
- pressure builds the target's pending efficiency innovation, E += efficiency * s /
  steps_per_year, realised over about a year (each step E / steps_per_year of it raises
  effective compute): a level gain of efficiency * integral of s, arriving after the cut, so
  the gap widens first and narrows later;
- the controller forgoes revenue, coercion_cost = s * dependence * target market *
  revenue_share per year, taken from its market.
Several controls stack multiplicatively (a second tightening adds to the first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.powers.base import LeverRuntime

if TYPE_CHECKING:
    from sim.model import RuleMakingModel


class ExportControls(LeverRuntime):
    def setup(self, model: RuleMakingModel) -> None:
        w = model.world
        self.c = w.index[self.spec.controller]
        self.t = np.array([w.index[x] for x in self.spec.targets])
        self.cost = 0.0
        self.cost_step = 0.0
        self.shadow = w.res[self.t, 0].copy()  # targets' compute without any control
        self.shadow_c = float(w.res[self.c, 0])

    def severity(self, model: RuleMakingModel) -> float:
        if not self.active:
            return 0.0
        years = (model.steps - self.start) / model.world.calendar.steps_per_year
        return self.spec.severity * float(np.exp(-(self.spec.leakage + self.spec.efficiency) * years))

    def growth(self, model: RuleMakingModel, gf: np.ndarray) -> None:
        w = model.world
        spy = w.calendar.steps_per_year
        self.shadow *= w.growth[self.t, 0]
        self.shadow_c *= w.growth[self.c, 0]
        s = self.severity(model)
        self.cost_step = 0.0
        if s == 0.0:
            return
        layers = self.spec.layers
        dep = w.dependence
        for col, layer, on in ((0, 0, "compute"), (2, 1, "models"), (3, 2, "investment")):
            if on in layers:
                cut = s * dep[layer, self.t, self.c]
                gf[self.t, col] = 1.0 + (gf[self.t, col] - 1.0) * (1.0 - cut)
        w.efficiency[self.t] += self.spec.efficiency * s / spy
        lost = s * dep[0, self.t, self.c] * w.market[self.t] * self.spec.revenue_share / spy
        self.cost_step = float(lost.sum())
        self.cost += self.cost_step
        w.market[self.c] = max(w.market[self.c] - self.cost_step, 1e-9)

    def stack_access(self, model: RuleMakingModel, access: np.ndarray) -> None:
        s = self.severity(model)
        if s > 0.0:
            access[0, self.t, self.c] *= 1.0 - s
            if "models" in self.spec.layers:
                access[1, self.t, self.c] *= 1.0 - s

    def metrics(self, model: RuleMakingModel) -> dict[str, float]:
        w = model.world
        comp = w.res[:, 0]
        return {
            "severity": self.severity(model),
            "coercion_cost": self.cost_step,
            "coercion_cost_total": self.cost,
            "compute_gap": float(1.0 - comp[self.t].mean() / comp[self.c]),
            "target_growth_gap": float(1.0 - comp[self.t].sum() / self.shadow.sum()),
            "target_dependence_on_controller": float(w.dependence[0, self.t, self.c].mean()),
        }

    def act(self, model: RuleMakingModel) -> None:
        """As an action: impose or renew the control at full severity."""
        self.start_now(model)
