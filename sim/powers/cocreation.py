"""Co-creation: Japan's "third way" in Southeast Asia (seed 001; s000 2.3.2).

From its start, a sponsor's co-creation initiative with `partners` works through four
pillars (seed 001: co-created AI solutions; institutions and governance support, through
the Hiroshima Process Friends Group; talent and capacity building; local-language models
and data):
- solutions: the partners become the sponsor's practice-sharing partners (full ties);
- institutions: each step, partners' positions are pulled toward the sponsor's with
  coefficient rate * institutions * openness; with `forum`, partners join that forum;
- talent: each step, partners' base openness rises by rate * talent * (1 - openness);
- local_models: the sponsor gains `local` utility in partners' technical and application
  layers, scaled by the strength of its own foundation models (its technical supply
  relative to the strongest supplier's): weak models limit the ecosystem share it wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.powers.base import LeverRuntime
from sim.pulls import distance

if TYPE_CHECKING:
    from sim.model import RuleMakingModel


class Cocreation(LeverRuntime):
    def setup(self, model: RuleMakingModel) -> None:
        w = model.world
        self.sponsor = w.index[self.spec.sponsor]
        self.p = np.array([w.index[x] for x in self.spec.partners], dtype=np.int64)

    def activate(self, model: RuleMakingModel) -> None:
        w = model.world
        if self.spec.pillars.solutions > 0:
            w.partners[self.sponsor, self.p] = w.partners[self.p, self.sponsor] = True
            w.static_ties = None
            w.ties_dirty = True
        if self.spec.forum is not None:
            f = w.forum_index[self.spec.forum]
            new = self.p[~w.members[self.p, f]]
            w.members[new, f] = True
            w.membership_changed(new)
            for i in new:
                model.log.add(model, "join", w.names[i], self.spec.forum, self.label)
        model.log.add(model, "cocreation", self.spec.sponsor, "", f"{self.label}: {self.p.size} partners")

    def effects(self, model: RuleMakingModel, boost: float = 1.0) -> None:
        if not self.active:
            return
        w, sp = model.world, self.spec
        pil = sp.pillars
        w.openness0[self.p] += sp.rate * pil.talent * (1.0 - w.openness0[self.p])
        coef = np.zeros(w.N)
        coef[self.p] = boost * sp.rate * pil.institutions * w.openness[self.p]
        if coef.any():
            target = np.broadcast_to(w.pos[self.sponsor], w.pos.shape)
            model.pulls.add_target(coef, target, self.sponsor, "cocreation")

    def stack_local(self, model: RuleMakingModel, local: np.ndarray) -> None:
        if not self.active or model.stack is None:
            return
        tech = model.stack.supply(model)[1]
        strength = tech[self.sponsor] / tech.max()
        local[1:, self.p, self.sponsor] += self.spec.pillars.local_models * strength

    def act(self, model: RuleMakingModel) -> None:
        if self.active:
            self.effects(model, boost=1.0)  # an extra round of governance support
        else:
            self.start_now(model)

    def metrics(self, model: RuleMakingModel) -> dict[str, float]:
        w = model.world
        gap = distance(w.pos[self.p], w.pos[self.sponsor][None, :])
        out = {
            "partner_closeness_to_sponsor": float(1.0 - gap.mean()),
            "partner_openness": float(w.openness[self.p].mean()),
        }
        if model.stack is not None:
            share = model.stack.ecosystem_share(model, self.p)
            for j in np.flatnonzero(share >= 0.02):
                out[f"ecosystem_share[{w.names[j]}]"] = float(share[j])
            out[f"ecosystem_share[{w.names[self.sponsor]}]"] = float(share[self.sponsor])
        return out
