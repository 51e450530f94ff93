"""Institutional technology power: regulation and the Brussels effect (seed 002, 4.4).

From its start a regulation by `regulator` (stringency sigma, `scope`: the regulated norm
dimensions):
- de facto: a supplier j whose share of sales in the regulator's market is at least
  compliance_cost * sigma complies everywhere rather than keep two standards; its position
  on the scope dimensions is pulled toward the regulator's (defacto_pull * sales share per
  year), credited to the regulator as `regulation` gain;
- de jure: each other state adopts similar rules at a rate per year of
  emulation_rate * world market share of the regulator * own regulatory capacity
  * exposure * (1 + peer_effect * share of states that adopted) (the probability in a step is
  1 - exp(-rate / steps_per_year)), where exposure =
  max(base_exposure, the state's sales share in the regulator's market). Adopters move
  their home position `adoption_shift` of the way to the regulator's on the scope dimensions
  (seed 002: the EU lobbied at least ten Asian states to follow the AI Act); the move,
  weighted by the adopter's size, is credited to the regulator;
- the innovation tension: the regulator's compute and algorithm growth is multiplied by
  1 - innovation_drag * sigma (seed 002, conclusion).
Chosen as an action, it starts the regulation, or once in force, lobbies: an extra round of
emulation at `lobby_boost` times the adoption probability.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.engine.geometry import distance
from sim.engine.types import Array
from sim.errors import unknown
from sim.fields import Name, NonNeg, Unit, YearRate, about, share
from sim.powers.lever import Lever, LeverSpec, LeverType, Loc, Names, PowerContext

NAME = "regulation"


class RegulationSpec(LeverSpec):
    """Institutional power (`type: regulation`): the Brussels effect. Suppliers that sell enough
    in the regulator's market comply everywhere (de facto); other states adopt similar rules
    (de jure); strict rules slow the regulator's own growth."""

    type: Literal["regulation"] = Field(description="`regulation`: institutional technology power.")
    regulator: Name = Field(description="The state whose regulation it is (its wielder).")
    stringency: Unit = Field(
        0.7,
        description="Strictness of the regulation.",
        json_schema_extra=about("index 0-1", "s002 4.4; size assumption"),
    )
    compliance_cost: Unit = Field(
        0.1,
        description="Share of its sales in the regulator's market, per unit of stringency, above which a "
        "supplier complies everywhere (de facto).",
        json_schema_extra=about(
            "sales share per unit of stringency", "s002 4.4 (Brussels effect); size assumption"
        ),
    )
    scope: list[Name] = Field(
        default_factory=lambda: ["hardness", "rights"],
        description="The norm dimensions the regulation governs: the dimensions compliers and adopters "
        "move on.",
        json_schema_extra=about(source="s002 4.4"),
    )
    emulation_rate: YearRate = Field(
        0.4,
        description="Base hazard of de jure adoption, times the regulator's world market share, the "
        "adopter's regulatory capacity, its exposure and (1 + peer_effect x share of adopters).",
        json_schema_extra=about("per year", "s002 4.4 (lobbying ≥ 10 Asian states); size assumption"),
    )
    peer_effect: NonNeg = Field(
        1.0,
        description="Extra adoption per share of states that have already adopted.",
        json_schema_extra=about("multiplier", "s002 s.5 (reach depends on emulators); size assumption"),
    )
    base_exposure: Unit = Field(
        0.2,
        description="Minimum exposure of every state to the regulator's market (before its own sales there).",
        json_schema_extra=about("share 0-1", "assumption"),
    )
    innovation_drag: Unit = Field(
        0.3,
        description="Share of the regulator's compute and algorithm growth lost per unit of stringency.",
        json_schema_extra=about(
            "share of growth per unit of stringency",
            "s002 s.5 (strict regulation and innovation); size assumption",
        ),
    )
    defacto_pull: YearRate = Field(
        0.4,
        description="Pull of the regulator's position on a complying supplier's, on the scope dimensions, "
        "per unit of its sales share in the regulator's market.",
        json_schema_extra=about("per year (per unit of sales share)", "assumption"),
    )
    adoption_shift: Unit = Field(
        0.5,
        description="Share of the distance to the regulator's position an adopter's home position closes "
        "on the scope dimensions.",
        json_schema_extra=about("share of the distance 0-1", "assumption"),
    )
    lobby_boost: NonNeg = Field(
        2.0,
        description="Adoption-probability multiplier of a lobbying round (the regulator chooses the "
        "regulation as its action).",
        json_schema_extra=about("multiplier", "s002 4.4 (the EU lobbied ≥ 10 Asian states); size assumption"),
    )
    note: str = Field("", description="Free text: what the regulation is and its source.")

    role: ClassVar[str] = "regulator"

    def check(self, names: Names) -> Iterator[tuple[Loc, str]]:
        yield from super().check(names)
        for j, dim in enumerate(self.scope):
            if dim not in names.norms:
                yield ("scope", j), unknown("norm dimension", dim, names.norms)


class Regulation(Lever[RegulationSpec]):
    draws = 2  # de jure adoption; a lobbying round

    def setup(self, ctx: PowerContext) -> None:
        w = ctx.world
        self.r = w.index[self.spec.regulator]
        self.dims = np.array([w.norms.index(d) for d in self.spec.scope], dtype=np.int64)
        self.adopted = np.zeros(w.N, dtype=bool)
        self.complying = np.zeros(w.N, dtype=bool)
        self.sales_share = np.zeros(w.N)

    def on_growth(self, ctx: PowerContext, gf: Array) -> None:
        if self.active:
            drag = 1.0 - self.spec.innovation_drag * self.spec.stringency
            for col in (0, 2):
                gf[self.r, col] = 1.0 + (gf[self.r, col] - 1.0) * drag

    def _sales_share(self, ctx: PowerContext) -> Array:
        w = ctx.world
        lw = ctx.stack.layer_weight if ctx.stack is not None else np.full(3, 1 / 3)
        bought = np.einsum("l,lij->ij", lw, w.dependence) * w.market[:, None]  # [buyer, supplier]
        total = bought.sum(axis=0)
        return np.divide(bought[self.r], total, out=np.zeros(w.N), where=total > 0)

    def _regulator_target(self, ctx: PowerContext, of: Array) -> Array:
        tgt = of.copy()
        tgt[:, self.dims] = ctx.world.pos[self.r, self.dims]
        return tgt

    def on_effects(self, ctx: PowerContext) -> None:
        self._round(ctx, self.u[0])

    def _round(self, ctx: PowerContext, u: Array, lobby: float = 1.0) -> None:
        if not self.active:
            return
        w, sp = ctx.world, self.spec
        sales = self._sales_share(ctx)
        sales[self.r] = 0.0
        self.sales_share = sales
        self.complying = sales >= sp.compliance_cost * sp.stringency
        self.complying[self.r] = False
        coef = np.where(self.complying, self.per_step.defacto_pull * sales, 0.0)
        if coef.any():
            ctx.pulls.add_target(coef, self._regulator_target(ctx, w.pos), self.r, ctx.credit[NAME], NAME)
        # de jure emulation
        mshare = w.market[self.r] / w.market.sum()
        exposure = np.maximum(sp.base_exposure, sales)
        peer = 1.0 + sp.peer_effect * self.adopted.mean()
        p = share(lobby * self.per_step.emulation_rate * mshare * w.cap[:, 1] * exposure * peer)
        cand = ~self.adopted
        cand[self.r] = False
        new = cand & (u < p)
        if new.any():
            for i in np.flatnonzero(new):
                before = w.home[i].copy()
                w.home[i, self.dims] += sp.adoption_shift * (w.pos[self.r, self.dims] - w.home[i, self.dims])
                moved = float(distance(before, w.home[i]))
                ctx.ledger.add(ctx.credit[NAME], NAME, np.array([self.r]), np.array([ctx.size[i] * moved]),
                               "state", np.array([i]))  # fmt: skip
                ctx.log.add(ctx.step, "adopt", w.names[i], "", f"{self.label} (regulator {sp.regulator})")
            self.adopted |= new

    def act(self, ctx: PowerContext) -> None:
        if self.active:
            self._round(ctx, self.u[1], lobby=self.spec.lobby_boost)  # lobbying: an extra, stronger round
        else:
            self.start_now(ctx)

    def outputs(self, ctx: PowerContext) -> dict[str, float]:
        w = ctx.world
        sellers = self.sales_share > 0.01
        return {
            "adopters": float(self.adopted.sum()),
            "compliance_share": float(self.complying[sellers].mean()) if sellers.any() else 0.0,
            "regulator_market_share": float(w.market[self.r] / w.market.sum()),
        }


LEVER = LeverType(RegulationSpec, Regulation)
