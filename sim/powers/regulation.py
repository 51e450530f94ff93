"""Institutional technology power: regulation and the Brussels effect (seed 002, 4.4).

From its start a regulation by `regulator` (stringency sigma, `scope`: the regulated norm
dimensions):
- de facto: a supplier j whose share of sales in the regulator's market is at least
  compliance_cost * sigma complies everywhere rather than keep two standards; its home
  position on the scope dimensions is pulled toward the regulator's (defacto_pull * share);
- de jure: each other state adopts similar rules with probability per step
  emulation_rate * world market share of the regulator * own regulatory capacity
  * exposure * (1 + peer_effect * share of states that adopted), where exposure =
  max(base_exposure, the state's sales share in the regulator's market). Adopters move
  their home position halfway to the regulator's on the scope dimensions (seed 002: the EU
  lobbied at least ten Asian states to follow the AI Act);
- the innovation tension: the regulator's compute and algorithm growth is multiplied by
  1 - innovation_drag * sigma (seed 002, conclusion).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.powers.base import LeverRuntime
from sim.pulls import distance

if TYPE_CHECKING:
    from sim.model import RuleMakingModel

ADOPTION_SHIFT = 0.5


class Regulation(LeverRuntime):
    def setup(self, model: RuleMakingModel) -> None:
        w = model.world
        self.r = w.index[self.spec.regulator]
        self.dims = np.array([w.norms.index(d) for d in self.spec.scope], dtype=np.int64)
        self.adopted = np.zeros(w.N, dtype=bool)
        self.complying = np.zeros(w.N, dtype=bool)
        self.sales_share = np.zeros(w.N)

    def growth(self, model: RuleMakingModel, gf: np.ndarray) -> None:
        if self.active:
            drag = 1.0 - self.spec.innovation_drag * self.spec.stringency
            for col in (0, 2):
                gf[self.r, col] = 1.0 + (gf[self.r, col] - 1.0) * drag

    def _sales_share(self, model: RuleMakingModel) -> np.ndarray:
        w = model.world
        lw = model.stack.layer_weight if model.stack is not None else np.full(3, 1 / 3)
        bought = np.einsum("l,lij->ij", lw, w.dependence) * w.market[:, None]  # [buyer, supplier]
        total = bought.sum(axis=0)
        return np.divide(bought[self.r], total, out=np.zeros(w.N), where=total > 0)

    def _regulator_target(self, model: RuleMakingModel, of: np.ndarray) -> np.ndarray:
        w = model.world
        tgt = of.copy()
        tgt[:, self.dims] = w.pos[self.r, self.dims]
        return tgt

    def effects(self, model: RuleMakingModel, lobby: float = 1.0) -> None:
        if not self.active:
            return
        w, sp = model.world, self.spec
        share = self._sales_share(model)
        share[self.r] = 0.0
        self.sales_share = share
        self.complying = share >= sp.compliance_cost * sp.stringency
        self.complying[self.r] = False
        coef = np.where(self.complying, sp.defacto_pull * share, 0.0)
        if coef.any():
            model.pulls.add_target(coef, self._regulator_target(model, w.pos), self.r, "regulation")
        # de jure emulation
        mshare = w.market[self.r] / w.market.sum()
        exposure = np.maximum(sp.base_exposure, share)
        peer = 1.0 + sp.peer_effect * self.adopted.mean()
        p = lobby * sp.emulation_rate * mshare * w.cap[:, 1] * exposure * peer
        cand = ~self.adopted
        cand[self.r] = False
        new = cand & (model.rng.random(w.N) < p)
        if new.any():
            size = model.size
            for i in np.flatnonzero(new):
                before = w.home[i].copy()
                w.home[i, self.dims] += ADOPTION_SHIFT * (w.pos[self.r, self.dims] - w.home[i, self.dims])
                moved = float(distance(before, w.home[i]))
                model.gains[self.r, model.gain_col["regulation"]] += size[i] * moved
                model.log.add(model, "adopt", w.names[i], "", f"{self.label} (regulator {sp.regulator})")
            self.adopted |= new

    def act(self, model: RuleMakingModel) -> None:
        if self.active:
            self.effects(model, lobby=2.0)  # lobbying: an extra, stronger round of emulation
        else:
            self.start_now(model)

    def metrics(self, model: RuleMakingModel) -> dict[str, float]:
        sellers = self.sales_share > 0.01
        return {
            "adopters": float(self.adopted.sum()),
            "compliance_share": float(self.complying[sellers].mean()) if sellers.any() else 0.0,
            "regulator_market_share": float(model.world.market[self.r] / model.world.market.sum()),
        }
