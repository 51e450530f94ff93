"""Structural technology power: government-industry alliances (seed 002, section 4.3).

An alliance (Frontier Model Forum, AI Alliance, PGIAI) offers partners compute and API
access: in the stack the hub gains `offer` in the partners' base (compute) and technical
(api) utility, and partners' switching away from the hub is slowed by `lock_in`, so their
dependence on the hub rises and, through the dependence pull, their governance positions
drift toward the hub's (the centre-periphery structure). With `open_call`, any state may
join each step with probability join_rate * legitimacy, legitimacy = the hub's discourse
capacity * closeness to the hub: an alliance with little discourse behind it attracts
fewer partners (seed 002: the partnership's inclusive, rights-respecting rhetoric is what
legitimises it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.powers.base import LeverRuntime
from sim.pulls import distance

if TYPE_CHECKING:
    from sim.model import RuleMakingModel


class Alliance(LeverRuntime):
    def setup(self, model: RuleMakingModel) -> None:
        w = model.world
        self.hub = w.index[self.spec.hub]
        self.members = np.zeros(w.N, dtype=bool)
        self.listed = np.array([w.index[p] for p in self.spec.partners], dtype=np.int64)

    def activate(self, model: RuleMakingModel) -> None:
        self.members[self.listed] = True
        n = int(self.members.sum())
        model.log.add(model, "alliance", self.spec.hub, "", f"{self.label}: {n} partners")

    def _recruit(self, model: RuleMakingModel, boost: float = 1.0) -> None:
        w = model.world
        legit = w.cap[self.hub, 2] * (1.0 - distance(w.pos, w.pos[self.hub][None, :]))
        cand = ~self.members
        cand[self.hub] = False
        joins = cand & (model.rng.random(w.N) < self.spec.join_rate * boost * legit)
        for i in np.flatnonzero(joins):
            self.members[i] = True
            model.log.add(model, "alliance_join", w.names[i], "", self.label)

    def effects(self, model: RuleMakingModel) -> None:
        if self.spec.open_call and self.active:
            self._recruit(model)

    def stack_offer(self, model: RuleMakingModel, offer: np.ndarray, lock: np.ndarray) -> None:
        if not self.active:
            return
        p = np.flatnonzero(self.members)
        weight = model.stack.s.offer  # utility of a full offer, in logit units
        offer[0, p, self.hub] += weight * self.spec.offer.get("compute", 0.0)
        offer[1, p, self.hub] += weight * self.spec.offer.get("api", 0.0)
        lock[:, p, self.hub] += self.spec.lock_in

    def act(self, model: RuleMakingModel) -> None:
        if self.active:
            self._recruit(model, boost=2.0)
        else:
            self.start_now(model)

    def metrics(self, model: RuleMakingModel) -> dict[str, float]:
        w = model.world
        p = np.flatnonzero(self.members)
        out = {"partners": float(p.size)}
        for li, layer in enumerate(("base", "technical", "application")):
            dep = w.dependence[li, p, self.hub]
            out[f"partner_dependence_{layer}"] = float(dep.mean()) if p.size else np.nan
        if p.size:
            out["partner_closeness_to_hub"] = float(1.0 - distance(w.pos[p], w.pos[self.hub][None, :]).mean())
        return out
