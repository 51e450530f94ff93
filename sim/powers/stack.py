"""The AI stack: who supplies whom, layer by layer, and what that dependence does.

Layers (seed 002, section 4.1): `base` (chips and compute), `technical` (models),
`application`. dependence[l, i, j] is the share of state i's layer-l supply that comes
from state j (rows sum to 1). Each step buyers move part of the way toward the shares a
logit choice gives:

    U[l,i,j] = performance * log(supply[l,j] * access[l,i,j]) - price * price[l,j]
               + trust * (1 - dist(pos_i, pos_j)) + home * [i == j]
               + installed * (1 + lock[l,i,j]) * dependence[l,i,j] + local * local[l,i,j]
               + offer * alliance_offer[l,i,j]
    dependence <- dependence + rate_i * (softmax_j U - dependence),
    rate_i = switch_rate * (1 - lock_in * max_j dependence[l,i,j]).

Performance is the supplier's capacity (the scenario's `stack.supply`, growing with its
compute, algorithms or market); price gives low-cost open models their edge (s001: Qwen,
DeepSeek); trust is closeness of governance positions; the installed base gives increasing
returns and, through the slower switching of concentrated buyers, lock-in (s002 2.2, 4.3:
network effects and dependence on one model). `access` < 1 where export controls cut a
supplier off, `offer` > 0 where an alliance offers compute or API access, `local` where
co-creation builds local-language models. Dependence pulls a buyer's governance position
toward its suppliers' (the centre-periphery structure of s002 4.3), credited to the supplier
as structural power.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.pulls import cross_distance
from sim.scenario.levers import StackSettings

if TYPE_CHECKING:
    from sim.model import RuleMakingModel

LAYER_NAMES = ("base", "technical", "application")


class Stack:
    def __init__(self, model: RuleMakingModel, settings: StackSettings) -> None:
        w, sc = model.world, model.scenario
        self.s = settings
        n = w.N
        self.supply0 = np.zeros((3, n))
        self.price = np.ones((3, n))
        defaults = (w.res[:, 0], w.res[:, 2], w.market)
        for i, st in enumerate(sc.states):
            for li, layer in enumerate(LAYER_NAMES):
                self.supply0[li, i] = st.stack.supply.get(layer, defaults[li][i])
                self.price[li, i] = st.stack.price.get(layer, 1.0)
        self.driver0 = np.stack([w.res[:, 0], w.res[:, 2], w.market]).copy()
        self.access = np.ones((3, n, n))
        self.offer = np.zeros((3, n, n))
        self.lock = np.zeros((3, n, n))
        self.local = np.zeros((3, n, n))
        self.layer_weight = np.array([settings.layer_weight.get(x, 0.0) for x in LAYER_NAMES])
        given = np.array([st.dependence is not None for st in sc.states])
        target = self.target_shares(model, with_installed=False)
        w.dependence[:, ~given, :] = target[:, ~given, :]

    def current_driver(self, model: RuleMakingModel) -> np.ndarray:
        w = model.world
        return np.stack([w.res[:, 0], w.res[:, 2], w.market])

    def supply(self, model: RuleMakingModel) -> np.ndarray:
        """[L, N] supply capacity now: the scenario's figure grown with compute (base),
        algorithms (technical) or market (application)."""
        return self.supply0 * self.current_driver(model) / self.driver0

    def target_shares(self, model: RuleMakingModel, with_installed: bool = True) -> np.ndarray:
        w, s = model.world, self.s
        sup = self.supply(model)[:, None, :] * self.access  # [L, i, j]
        with np.errstate(divide="ignore"):
            u = s.performance * np.log(sup)
        u = u - s.price * self.price[:, None, :]
        u = u + s.trust * (1.0 - cross_distance(w.pos, w.pos))[None, :, :]
        u = u + s.home * np.eye(w.N)[None, :, :]
        u = u + s.local * self.local + self.offer
        if with_installed:
            u = u + s.installed * (1.0 + self.lock) * w.dependence
        top = u.max(axis=2, keepdims=True)
        e = np.exp(u - np.where(np.isfinite(top), top, 0.0))
        total = e.sum(axis=2, keepdims=True)
        # a buyer with no available supplier at all keeps the suppliers it has
        return np.where(total > 0, e / np.where(total > 0, total, 1.0), w.dependence)

    def step(self, model: RuleMakingModel) -> None:
        """Buyers adjust their suppliers; dependence pulls positions toward suppliers."""
        w, s = model.world, self.s
        target = self.target_shares(model)
        rate = s.switch_rate * (1.0 - s.lock_in * w.dependence.max(axis=2, keepdims=True))
        w.dependence += rate * (target - w.dependence)
        w.dependence /= w.dependence.sum(axis=2, keepdims=True)

    def add_pulls(self, model: RuleMakingModel) -> None:
        if self.s.position_pull == 0.0:
            return
        w = model.world
        coef = self.s.position_pull * np.einsum("l,lij->ij", self.layer_weight, w.dependence)
        np.fill_diagonal(coef, 0.0)
        suppliers = np.flatnonzero(coef.max(axis=0) > 1e-9)
        if suppliers.size:
            model.pulls.add_pos("dependence", suppliers, coef[:, suppliers])

    def ecosystem_share(self, model: RuleMakingModel, buyers: np.ndarray, layer: int = 1) -> np.ndarray:
        """[N] mean share of each supplier in the buyers' layer (default: technical) supply."""
        return model.world.dependence[layer, buyers, :].mean(axis=0)
