"""Coercive technology power: export controls (seed 002, section 4.2).

From its start, a control by `controller` on each target bites with severity

    s(t) = severity * exp(-leakage * years since start),

eroding as chips and access leak through. While it bites:
- the target's growth of each covered layer falls in proportion to s and to its dependence
  on the controller in that layer, g' = 1 + (g - 1) * (1 - s * dependence): compute (base
  layer), algorithms (`models`: technical layer), market (`investment`);
- the controller's offer to the target is cut (access 1 - s in the stack), so the target
  substitutes away from it and its dependence on the controller falls;
- the controller forgoes revenue, coercion_cost = s * dependence * target market *
  revenue_share per year, taken from its market.
The ground the target loses is not lost for ever (seed 002, lines 424-446: Chinese developers
answer the controls with efficiency and lower training cost; DeepSeek-v3 came near GPT-4o
trained on 2,048 H800s, Hunyuan matched Llama 3.1 on a tenth of its compute; "catching up
fast"): each step the target regains 1 - exp(-efficiency / steps_per_year) of its remaining
shortfall, in each covered layer, from the path it would have had without this control. So
its gap to that path widens while the control bites hard and narrows as it erodes; with
`efficiency: 0` lost ground stays lost. Several controls stack (each tracks its own
shortfall). Chosen as an action, the control is imposed or renewed at full severity.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import AfterValidator, Field

from sim.engine.types import Array
from sim.fields import Name, NonNeg, Unit, YearRate, about, share
from sim.powers.lever import Lever, LeverSpec, LeverType, PowerContext
from sim.powers.stack import StackInputs

LAYERS = ("compute", "models", "investment")
# covered layer -> (column of the growth factors, AI layer whose dependence it cuts)
_COVER = {"compute": (0, 0), "models": (2, 1), "investment": (3, 2)}


def _layers(v: list[str]) -> list[str]:
    bad = [x for x in v if x not in LAYERS]
    if bad:
        raise ValueError(f"expected layers among {', '.join(LAYERS)}, got {bad[0]!r}")
    return v


class ExportControlsSpec(LeverSpec):
    """Coercive power (`type: export_controls`): a controller cuts the targets' access to its
    chips, models or investment; the bite leaks away and the targets catch up."""

    type: Literal["export_controls"] = Field(description="`export_controls`: coercive technology power.")
    controller: Name = Field(description="The state that imposes the controls (their wielder).")
    targets: list[Name] = Field(min_length=1, description="The states controlled.")
    layers: Annotated[list[str], AfterValidator(_layers)] = Field(
        default_factory=lambda: ["compute"],
        description="What is controlled, among " + ", ".join(LAYERS) + ": compute slows the target's "
        "compute growth and cuts its base-layer supply, models its algorithms and technical layer, "
        "investment its market and application layer.",
        json_schema_extra=about(source="s002 4.2"),
    )
    severity: Unit = Field(
        0.5,
        description="Share of the target's dependent supply cut when the control starts.",
        json_schema_extra=about("share 0-1", "s002 4.2; size assumption"),
    )
    leakage: NonNeg = Field(
        0.1,
        description="Rate at which the bite leaks away: severity now = severity x e^(-leakage x years "
        "since the start).",
        json_schema_extra=about(
            "per year", "s002 s.5 (controls cannot hold a lead for long); size assumption"
        ),
    )  # per year: the bite decays as exp(-leakage * years)
    efficiency: YearRate = Field(
        0.35,
        description="Catch-up: hazard of the target regaining its shortfall from the path it would have "
        "had without this control (efficiency innovation; 0: lost ground stays lost).",
        json_schema_extra=about(
            "per year", "s002 lines 424-446 (DeepSeek-v3 near GPT-4o two years on); size assumption"
        ),
    )
    revenue_share: Unit = Field(
        0.2,
        description="Share of the target's market the controller forgoes while the control bites (times "
        "severity and the target's dependence on it), taken from the controller's market.",
        json_schema_extra=about("share per year", "s002 s.5 (controls cost the controller); size assumption"),
    )  # per year
    note: str = Field("", description="Free text: what the control is and its source.")

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
        self.lost = {on: np.zeros(self.t.size) for on in self.spec.layers}  # log shortfall per layer

    def severity(self, ctx: PowerContext) -> float:
        if self.start is None:
            return 0.0
        years = (ctx.step - self.start) / ctx.steps_per_year
        return self.spec.severity * float(np.exp(-self.spec.leakage * years))

    def on_growth(self, ctx: PowerContext, gf: Array) -> None:
        w = ctx.world
        self.shadow *= w.growth[self.t, 0]
        s = self.severity(ctx)
        dep = w.dependence
        regain = float(share(self.per_step.efficiency))
        for on, lost in self.lost.items():
            col, layer = _COVER[on]
            if s > 0.0:
                before = gf[self.t, col].copy()
                cut = s * dep[layer, self.t, self.c]
                gf[self.t, col] = 1.0 + (before - 1.0) * (1.0 - cut)
                lost += np.log(before) - np.log(gf[self.t, col])
            back = lost * regain  # catching up toward the uncontrolled path
            gf[self.t, col] *= np.exp(back)
            lost -= back
        self.cost_step = 0.0
        if s > 0.0:
            forgone = s * dep[0, self.t, self.c] * w.market[self.t] * self.spec.revenue_share
            self.cost_step = float(forgone.sum()) / ctx.steps_per_year
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
