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
  steps_per_year, realised over `growth_settings.efficiency_lag` years (`sim.growth`): a
  level gain of efficiency * integral of s, arriving after the cut, so the gap widens first
  and narrows later;
- the controller forgoes revenue, coercion_cost = s * dependence * target market *
  revenue_share per year, taken from its market.
Several controls stack multiplicatively (a second tightening adds to the first). Chosen as
an action, the control is imposed or renewed at full severity.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import AfterValidator, Field

from sim.engine.types import Array
from sim.fields import Name, Unit
from sim.powers.lever import Lever, LeverSpec, LeverType, PowerContext
from sim.powers.stack import StackInputs

LAYERS = ("compute", "models", "investment")


def _layers(v: list[str]) -> list[str]:
    bad = [x for x in v if x not in LAYERS]
    if bad:
        raise ValueError(f"expected layers among {', '.join(LAYERS)}, got {bad[0]!r}")
    return v


class ExportControlsSpec(LeverSpec):
    type: Literal["export_controls"]
    controller: Name
    targets: list[Name] = Field(min_length=1)
    layers: Annotated[list[str], AfterValidator(_layers)] = Field(default_factory=lambda: ["compute"])
    severity: Unit = 0.5
    leakage: Unit = 0.1
    efficiency: Unit = 0.1
    revenue_share: Unit = 0.2
    note: str = ""

    role: ClassVar[str] = "controller"
    state_lists: ClassVar[tuple[str, ...]] = ("targets",)


class ExportControls(Lever[ExportControlsSpec]):
    def setup(self, ctx: PowerContext) -> None:
        w = ctx.world
        self.c = w.index[self.spec.controller]
        self.t = np.array([w.index[x] for x in self.spec.targets])
        self.cost = 0.0
        self.cost_step = 0.0
        self.shadow = w.res[self.t, 0].copy()  # targets' compute without any control

    def severity(self, ctx: PowerContext) -> float:
        if self.start is None:
            return 0.0
        years = (ctx.step - self.start) / ctx.steps_per_year
        return self.spec.severity * float(np.exp(-(self.spec.leakage + self.spec.efficiency) * years))

    def on_growth(self, ctx: PowerContext, gf: Array) -> None:
        w = ctx.world
        spy = ctx.steps_per_year
        self.shadow *= w.growth[self.t, 0]
        s = self.severity(ctx)
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

    def on_stack(self, ctx: PowerContext, inputs: StackInputs) -> None:
        s = self.severity(ctx)
        if s > 0.0:
            inputs.access[0, self.t, self.c] *= 1.0 - s
            if "models" in self.spec.layers:
                inputs.access[1, self.t, self.c] *= 1.0 - s

    def outputs(self, ctx: PowerContext) -> dict[str, float]:
        w = ctx.world
        comp = w.res[:, 0]
        return {
            "severity": self.severity(ctx),
            "coercion_cost": self.cost_step,
            "coercion_cost_total": self.cost,
            "compute_gap": float(1.0 - comp[self.t].mean() / comp[self.c]),
            "target_growth_gap": float(1.0 - comp[self.t].sum() / self.shadow.sum()),
            "target_dependence_on_controller": float(w.dependence[0, self.t, self.c].mean()),
        }


LEVER = LeverType(ExportControlsSpec, ExportControls)
