"""How states choose an action each step (MODEL.md section 5).

- `fixed`: a given probability mix over the state's allowed actions.
- `learning`: Roth-Erev style reinforcement. Propensities q_a lose `forgetting` of
  themselves per year and the chosen action's q grows by `learning_rate / steps_per_year *
  reward`, where the reward is what taking the action added: the gain credited to its channel
  this step minus what that channel earns the state in steps it does not take it (standing
  flows such as dependence credit or a regulation in force), divided by the state's typical
  total gain per step (a running mean, weight `policy_settings.scale_memory` per year), so
  temperatures are comparable across states and a year of learning is the same whatever the
  step. Choice: softmax(q / T).
- `best_response`: myopic; each action's expected gain (the path modules' `potential`; for
  a technology power, what taking it has added: the running mean of its channel's gains in
  steps it was taken minus in steps it was not, weight `policy_settings.gain_memory` per
  year), scaled by the best one, plus Gumbel noise of
  scale `noise`; the largest wins.

All draws come from one generator handed in by the model, one vectorised draw per step, so
a run is reproducible from its seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from sim.engine.types import Array, BoolArray, IntArray
from sim.fields import NonNeg, Positive, Strict, YearRate, YearShare, per_step


class FixedPolicy(Strict):
    kind: Literal["fixed"]
    mix: dict[str, NonNeg]


class LearningPolicy(Strict):
    kind: Literal["learning"]
    temperature: Positive = 1.0
    learning_rate: YearRate = 0.4
    forgetting: YearShare = 0.344
    initial: dict[str, NonNeg] | None = None


class BestResponsePolicy(Strict):
    kind: Literal["best_response"]
    noise: NonNeg = 0.1


Policy = Annotated[FixedPolicy | LearningPolicy | BestResponsePolicy, Field(discriminator="kind")]


class PolicySettings(Strict):
    """`policy_settings`: what every policy shares (weights of running means, per year)."""

    gain_memory: YearShare = 0.59  # each action's realised gain
    scale_memory: YearShare = 0.344  # a state's total gain (the learning reward's scale)


class Policies:
    def __init__(
        self,
        specs: Sequence[FixedPolicy | LearningPolicy | BestResponsePolicy],
        actions: tuple[str, ...],
        allowed: BoolArray,
        settings: PolicySettings,
        steps_per_year: int,
    ) -> None:
        n, a = allowed.shape
        self.allowed = allowed
        self.available = (
            allowed.copy()
        )  # allowed and possible this step (a power before its lever's date is not)
        self.settings = per_step(settings, steps_per_year)
        self.kind = np.array([s.kind for s in specs])
        self.fixed_p = np.zeros((n, a))
        self.q = np.zeros((n, a))
        self.temperature = np.ones(n)
        self.learning_rate = np.zeros(n)
        self.forgetting = np.zeros(n)
        self.noise = np.zeros(n)
        for i, pol in enumerate(specs):
            if isinstance(pol, FixedPolicy):
                for name, v in pol.mix.items():
                    self.fixed_p[i, actions.index(name)] = v
            elif isinstance(pol, LearningPolicy):
                pol = per_step(pol, steps_per_year)
                self.temperature[i] = pol.temperature
                self.learning_rate[i] = pol.learning_rate
                self.forgetting[i] = pol.forgetting
                init = pol.initial or {}
                for k, name in enumerate(actions):
                    self.q[i, k] = init.get(name, 1.0)
            else:
                self.noise[i] = pol.noise
        self.fixed_p *= allowed
        self.is_learning = self.kind == "learning"
        self.any_learning = bool(self.is_learning.any())
        self.is_br = np.flatnonzero(self.kind == "best_response")
        self.gain_scale = np.full(n, 1e-3)
        # running means of what each action's channel earns a state when it takes the action
        # and when it does not (standing flows: dependence credit, a regulation in force,
        # framework joiners); their difference is what taking it adds
        self.taken = np.zeros((n, a))
        self.passive = np.zeros((n, a))

    @property
    def expected(self) -> Array:
        """[N, A] the expected gain of taking each action: what it has added, on average."""
        out: Array = np.maximum(self.taken - self.passive, 0.0)
        return out

    def probabilities(self) -> Array:
        """[N, A] choice probabilities of fixed and learning states (best response: 0)."""
        p = self.fixed_p * self.available  # zero outside fixed rows
        if self.any_learning:
            z = self.q[self.is_learning] / self.temperature[self.is_learning, None]
            z = np.where(self.available[self.is_learning], z, -np.inf)
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            p[self.is_learning] = e
        total = p.sum(axis=1, keepdims=True)
        return np.divide(p, total, out=np.zeros_like(p), where=total > 0)

    def choose(
        self, rng: np.random.Generator, activity: Array, potential: Callable[[IntArray], Array]
    ) -> IntArray:
        """One action index per state (-1: inactive this step). `potential(idx)` gives the
        [len(idx), A] expected gains for the best-responding states."""
        n, a = self.q.shape
        u = rng.random((n, 2))
        cum = np.cumsum(self.probabilities(), axis=1)
        choice = np.minimum((cum < u[:, :1] * cum[:, -1:]).sum(axis=1), a - 1)
        choice = np.where(cum[:, -1] > 0, choice, -1)  # nothing available: no action
        if self.is_br.size:
            pot = potential(self.is_br)
            scale = np.maximum(pot.max(axis=1, keepdims=True), 1e-12)
            gumbel = -np.log(-np.log(rng.random(pot.shape).clip(1e-12, 1 - 1e-12)))
            score = pot / scale + self.noise[self.is_br, None] * gumbel
            score = np.where(self.available[self.is_br], score, -np.inf)
            choice[self.is_br] = np.where(np.isfinite(score).any(axis=1), score.argmax(axis=1), -1)
        return np.where(u[:, 1] < activity, choice, -1)

    def learn(self, action: IntArray, gains: Array, total_gain: Array) -> None:
        """Reinforce learning states' chosen actions by the gain taking them added (the
        channel's gain this step minus what it earns the state when it is not taken), and update
        the running means of what each action's channel earns, taken and not taken."""
        self.gain_scale += self.settings.scale_memory * (np.abs(total_gain) - self.gain_scale)
        acted = np.flatnonzero(action >= 0)
        chosen = np.zeros(gains.shape, dtype=bool)
        chosen[acted, action[acted]] = True
        rows = np.flatnonzero(self.is_learning & (action >= 0))
        self.q[self.is_learning] *= (1.0 - self.forgetting[self.is_learning])[:, None]
        if rows.size:
            a = action[rows]
            added = gains[rows, a] - self.passive[rows, a]
            reward = added / np.maximum(self.gain_scale[rows], 1e-9)
            self.q[rows, a] += self.learning_rate[rows] * reward
        m = self.settings.gain_memory
        self.taken += np.where(chosen, m * (gains - self.taken), 0.0)
        self.passive += np.where(chosen, 0.0, m * (gains - self.passive))
