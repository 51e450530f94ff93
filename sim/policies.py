"""How states choose an action each step (MODEL.md section 5).

- `fixed`: a given probability mix over the state's allowed actions.
- `learning`: Roth-Erev style reinforcement. Propensities q_a decay by `forgetting` and
  the chosen action's q grows by `learning_rate * reward`, where the reward is the gain
  credited to that action's channel this step divided by the state's typical total gain
  (a running mean), so temperatures are comparable across states. Choice: softmax(q / T).
- `best_response`: myopic; each action's expected gain (`Action.potential`), scaled by the
  best one, plus Gumbel noise of scale `noise`; the largest wins.

All draws come from the model's generator, one vectorised draw per step, so a run is
reproducible from its seed.
"""

from __future__ import annotations

import numpy as np

from sim.actions import ACTIONS
from sim.scenario.schema import Scenario


class Policies:
    def __init__(self, sc: Scenario, actions: tuple[str, ...], allowed: np.ndarray) -> None:
        n, a = allowed.shape
        self.allowed = allowed
        self.kind = np.array([s.policy.kind for s in sc.states])
        self.fixed_p = np.zeros((n, a))
        self.q = np.zeros((n, a))
        self.temperature = np.ones(n)
        self.learning_rate = np.zeros(n)
        self.forgetting = np.zeros(n)
        self.noise = np.zeros(n)
        for i, s in enumerate(sc.states):
            pol = s.policy
            if pol.kind == "fixed":
                for name, v in pol.mix.items():
                    self.fixed_p[i, actions.index(name)] = v
            elif pol.kind == "learning":
                self.temperature[i] = pol.temperature
                self.learning_rate[i] = pol.learning_rate
                self.forgetting[i] = pol.forgetting
                init = pol.initial or {}
                for k, name in enumerate(actions):
                    self.q[i, k] = init.get(name, 1.0)
            else:
                self.noise[i] = pol.noise
        self.fixed_p *= allowed
        self.is_fixed = self.kind == "fixed"
        self.is_learning = self.kind == "learning"
        self.any_learning = bool(self.is_learning.any())
        self.is_br = np.flatnonzero(self.kind == "best_response")
        self.gain_scale = np.full(n, 1e-3)
        self.actions = actions

    def probabilities(self) -> np.ndarray:
        """[N, A] choice probabilities of fixed and learning states (best response: 0)."""
        p = self.fixed_p.copy()  # zero outside fixed rows
        if self.any_learning:
            z = self.q[self.is_learning] / self.temperature[self.is_learning, None]
            z = np.where(self.allowed[self.is_learning], z, -np.inf)
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            p[self.is_learning] = e
        total = p.sum(axis=1, keepdims=True)
        return np.divide(p, total, out=np.zeros_like(p), where=total > 0)

    def choose(self, model) -> np.ndarray:
        """One action index per state (-1: inactive this step)."""
        rng = model.rng
        n, a = self.q.shape
        u = rng.random((n, 2))
        cum = np.cumsum(self.probabilities(), axis=1)
        choice = np.minimum((cum < u[:, :1] * cum[:, -1:]).sum(axis=1), a - 1)
        if self.is_br.size:
            pot = np.column_stack([ACTIONS[name].potential(model, self.is_br) for name in self.actions])
            scale = np.maximum(pot.max(axis=1, keepdims=True), 1e-12)
            gumbel = -np.log(-np.log(rng.random(pot.shape).clip(1e-12, 1 - 1e-12)))
            score = pot / scale + self.noise[self.is_br, None] * gumbel
            score = np.where(self.allowed[self.is_br], score, -np.inf)
            choice[self.is_br] = score.argmax(axis=1)
        return np.where(u[:, 1] < model.world.activity, choice, -1)

    def learn(self, action: np.ndarray, gains: np.ndarray, total_gain: np.ndarray) -> None:
        """Reinforce learning states' chosen actions by the gain they realised."""
        self.gain_scale += 0.1 * (np.abs(total_gain) - self.gain_scale)
        rows = np.flatnonzero(self.is_learning & (action >= 0))
        self.q[self.is_learning] *= (1.0 - self.forgetting[self.is_learning])[:, None]
        if rows.size:
            a = action[rows]
            reward = gains[rows, a] / np.maximum(self.gain_scale[rows], 1e-9)
            self.q[rows, a] += self.learning_rate[rows] * reward
