"""Productive technology power: declarations and initiatives (seed 002, 4.5).

A declaration (the Global AI Governance Initiative 2023, the Shanghai Declaration 2024)
pulls every other state's position a little toward its content for `duration` steps:

    coef_j = strength * reach * acceptance_j,
    acceptance_j = exp(-sum_d framing_penalty[d] * |content_d - pos_jd|)   (discourse's penalties),

and developing states feel a second pull, development_bonus * coef_j, on the `development`
dimension alone, so that on it they move about (1 + development_bonus) times as far:
broad reach, weak per-state effect, strongest among developing states on development.
Securitised framing far from a state's own lowers its acceptance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.powers.base import LeverRuntime
from sim.pulls import distance

if TYPE_CHECKING:
    from sim.model import RuleMakingModel


class Declaration(LeverRuntime):
    def setup(self, model: RuleMakingModel) -> None:
        w = model.world
        self.issuer = w.index[self.spec.issuer]
        c = self.spec.content
        if c is None:
            self.content = None
        elif isinstance(c, dict):
            self.content = np.array([c[n] for n in w.norms], dtype=float)
        else:
            self.content = np.array(c, dtype=float)
        self.moved = np.zeros(w.N)
        self.before = None

    def effects(self, model: RuleMakingModel) -> None:
        w = model.world
        if not self.active or model.steps - self.start >= self.spec.duration:
            self.before = None
            return
        content = self.content if self.content is not None else w.pos[self.issuer]
        penalty = np.zeros(w.N)
        for dim, weight in model.scenario.paths.discourse.framing_penalty.items():
            d = w.norms.index(dim)
            penalty += weight * np.abs(content[d] - w.pos[:, d])
        coef = self.spec.strength * self.spec.reach * np.exp(-penalty)
        coef[self.issuer] = 0.0
        model.pulls.add_target(coef, np.broadcast_to(content, w.pos.shape), self.issuer, "declaration")
        if "development" in w.norms and self.spec.development_bonus > 0:
            # an extra pull on the development dimension only, for developing states
            d = w.norms.index("development")
            target = w.pos.copy()
            target[:, d] = content[d]
            extra = coef * self.spec.development_bonus * w.developing
            model.pulls.add_target(extra, target, self.issuer, "declaration")
        self.before = w.pos.copy()

    def after_move(self, model: RuleMakingModel) -> None:
        if self.before is not None:
            self.moved += distance(self.before, model.world.pos)

    def act(self, model: RuleMakingModel) -> None:
        self.start = None
        self.start_now(model)  # a new declaration: its pull runs for `duration` steps again

    def activate(self, model: RuleMakingModel) -> None:
        model.log.add(model, "declaration", self.spec.issuer, "", self.label)

    def metrics(self, model: RuleMakingModel) -> dict[str, float]:
        others = np.arange(model.world.N) != self.issuer
        return {
            "reach": float((self.moved[others] > 1e-3).sum()),
            "mean_shift": float(self.moved[others].mean()),
        }
