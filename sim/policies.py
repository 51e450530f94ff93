"""How states choose an action each step (MODEL.md section 5).

- `fixed`: a given probability mix over the state's allowed actions.
- `learning`: Roth-Erev reinforcement (Roth & Erev 1995; Erev & Roth 1998). Propensities
  q_a lose `forgetting` of themselves per year; the reward R is what taking the action added
  (the gain credited to its channel this step minus what that channel earns the state in
  steps it does not take it: standing flows such as dependence credit or a regulation in
  force are no reward), divided by the state's typical total gain per step (a running mean,
  weight `policy_settings.scale_memory` per year), so a year of learning is the same whatever
  the step and whatever the state's size. With `choice: proportional` (the default, Roth-Erev)
  the chosen action's q grows by `learning_rate / steps_per_year * max(R, 0) * (1 - e)` and
  each other available action's by the same times e / (k - 1) (`experimentation` e, k actions
  available), and p_a = q_a / sum q: an action that pays is chosen more in proportion, one
  that adds nothing fades to what experimentation gives it. With `choice: softmax` the chosen
  q grows by `learning_rate / steps_per_year * R` and p = softmax(q / `temperature`).
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
from pydantic import Field, model_validator

from sim.engine.types import Array, BoolArray, IntArray
from sim.fields import NoBool, NonNeg, Positive, Strict, Unit, YearRate, YearShare, about, per_step, shown


class FixedPolicy(Strict):
    """`kind: fixed`: the state draws its action from a given mix (Japan's deliberate use of all
    three paths, s000 3.1)."""

    kind: Literal["fixed"] = Field(description="`fixed`: a given mix over the state's allowed actions.")
    mix: dict[str, Annotated[float, NoBool, Field(ge=0, le=1e6), shown()]] = Field(
        description="Weights of the state's actions (action name: weight); relative, their scale is free. "
        "Actions not named are never chosen.",
        json_schema_extra=about("relative weight (0 to 10^6)", "MODEL.md s.5"),
    )  # relative weights (their scale is free)


class LearningPolicy(Strict):
    """`kind: learning`: Roth-Erev reinforcement of the actions that paid (Roth & Erev 1995;
    Erev & Roth 1998)."""

    kind: Literal["learning"] = Field(description="`learning`: Roth-Erev reinforcement learning.")
    choice: Literal["proportional", "softmax"] = Field(
        "proportional",
        description="How propensities become probabilities: `proportional` (Roth-Erev, p = q / sum q) or "
        "`softmax` (p = softmax(q / temperature), kept for comparison).",
        json_schema_extra=about(source="MODEL.md s.5; Roth & Erev (1995)"),
    )
    experimentation: Unit = Field(
        0.2,
        description="Share of each reinforcement spread over the other available actions (proportional "
        "choice): an action that adds nothing fades towards what experimentation gives it.",
        json_schema_extra=about("share 0-1", "Erev & Roth (1998), their estimate"),
    )
    temperature: Positive | None = Field(
        None,
        description="Softmax temperature (`choice: softmax` only; default 1.0 there).",
        json_schema_extra=about("propensity units", "assumption"),
    )  # softmax only (default 1.0 there)
    learning_rate: YearRate = Field(
        0.4,
        description="Reinforcement of the chosen action per unit of normalised gain (what taking it "
        "added, divided by the state's typical gain).",
        json_schema_extra=about("per year", "assumption"),
    )
    forgetting: YearShare = Field(
        0.344,
        description="Share of all propensities forgotten per year.",
        json_schema_extra=about("share per year", "assumption"),
    )
    initial: dict[str, NonNeg] | None = Field(
        None,
        description="Initial propensities (action name: propensity); default 1 for each action.",
        json_schema_extra=about("propensity (relative)", "assumption"),
    )

    @model_validator(mode="after")
    def _temperature_needs_softmax(self) -> LearningPolicy:
        if self.temperature is not None and self.choice != "softmax":
            raise ValueError("temperature applies to choice: softmax only (the default is proportional)")
        return self


class BestResponsePolicy(Strict):
    """`kind: best_response`: myopic; each step the action with the largest expected gain now,
    with noise."""

    kind: Literal["best_response"] = Field(
        description="`best_response`: the action with the largest expected gain (plus noise)."
    )
    noise: NonNeg = Field(
        0.1,
        description="Scale of the Gumbel noise added to each action's expected gain, itself divided by "
        "the best action's.",
        json_schema_extra=about("share of the best expected gain", "assumption"),
    )


Policy = Annotated[FixedPolicy | LearningPolicy | BestResponsePolicy, Field(discriminator="kind")]


class PolicySettings(Strict):
    """`policy_settings`: what every policy shares (weights of running means, per year)."""

    gain_memory: YearShare = Field(
        0.59,
        description="Weight per year of new gains in the running means of each action's channel gain, "
        "in steps the action was taken and in steps it was not (their difference is what the action "
        "adds: the learning reward and a technology power's expected gain).",
        json_schema_extra=about("share per year", "assumption"),
    )  # each action's realised gain
    scale_memory: YearShare = Field(
        0.344,
        description="Weight per year of new gains in the running mean of a state's total gain (the scale "
        "that makes learning rewards comparable for large and small states).",
        json_schema_extra=about("share per year", "assumption"),
    )  # a state's total gain (the learning reward's scale)


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
        self.actions = actions
        self.steps_per_year = steps_per_year
        self.allowed = allowed
        self.available = (
            allowed.copy()
        )  # allowed and possible this step (a power before its lever's date is not)
        self.settings = per_step(settings, steps_per_year)
        self.kind = np.array([s.kind for s in specs], dtype=object)
        self.fixed_p = np.zeros((n, a))
        self.q = np.zeros((n, a))
        self.temperature = np.ones(n)
        self.softmax = np.zeros(n, dtype=bool)  # learning by softmax (else proportional)
        self.experimentation = np.zeros(n)
        self.learning_rate = np.zeros(n)
        self.forgetting = np.zeros(n)
        self.noise = np.zeros(n)
        for i, pol in enumerate(specs):
            self._row(i, pol)
        self._kinds()
        self.gain_scale = np.zeros(n)
        self.n_scale = 0  # steps seen (the first weigh 1/n, so the scale starts at the first gains)
        # running means of what each action's channel earns a state when it takes the action
        # and when it does not (standing flows: dependence credit, a regulation in force,
        # framework joiners); their difference is what taking it adds
        self.taken = np.zeros((n, a))
        self.passive = np.zeros((n, a))
        self.n_taken = np.zeros((n, a))  # observations so far: the first ones weigh 1/n, so a
        self.n_passive = np.zeros((n, a))  # mean starts at what was seen, not at zero

    def _row(self, i: int, pol: FixedPolicy | LearningPolicy | BestResponsePolicy) -> None:
        """State i's parameters from its policy (the other kinds' entries zeroed)."""
        self.kind[i] = pol.kind
        self.fixed_p[i] = 0.0
        self.q[i] = 0.0
        self.softmax[i], self.temperature[i] = False, 1.0
        self.experimentation[i] = self.learning_rate[i] = self.forgetting[i] = self.noise[i] = 0.0
        if isinstance(pol, FixedPolicy):
            for name, v in pol.mix.items():
                self.fixed_p[i, self.actions.index(name)] = v
            self.fixed_p[i] *= self.allowed[i]
        elif isinstance(pol, LearningPolicy):
            pol = per_step(pol, self.steps_per_year)
            self.softmax[i] = pol.choice == "softmax"
            self.temperature[i] = pol.temperature or 1.0
            self.experimentation[i] = pol.experimentation
            self.learning_rate[i] = pol.learning_rate
            self.forgetting[i] = pol.forgetting
            init = pol.initial or {}
            for k, name in enumerate(self.actions):
                self.q[i, k] = init.get(name, 1.0)
        else:
            self.noise[i] = pol.noise

    def _kinds(self) -> None:
        self.is_learning = self.kind == "learning"
        self.is_softmax = self.is_learning & self.softmax
        self.is_proportional = self.is_learning & ~self.softmax
        self.any_learning = bool(self.is_learning.any())
        self.is_br = np.flatnonzero(self.kind == "best_response")

    def change(self, i: int, pol: FixedPolicy | LearningPolicy | BestResponsePolicy) -> None:
        """State i follows `pol` from now on (a `policy` event), as if it had from the start;
        the running means of what each action earns are the state's record and are kept."""
        self._row(i, pol)
        self._kinds()

    @property
    def expected(self) -> Array:
        """[N, A] the expected gain of taking each action: what it has added, on average."""
        out: Array = np.maximum(self.taken - self.passive, 0.0)
        return out

    def probabilities(self) -> Array:
        """[N, A] choice probabilities of fixed and learning states (best response: 0)."""
        p = self.fixed_p * self.available  # zero outside fixed rows
        if self.is_softmax.any():
            z = self.q[self.is_softmax] / self.temperature[self.is_softmax, None]
            z = np.where(self.available[self.is_softmax], z, -np.inf)
            z -= z.max(axis=1, keepdims=True)
            p[self.is_softmax] = np.exp(z)
        if self.is_proportional.any():
            avail = self.available[self.is_proportional]
            q = np.where(avail, self.q[self.is_proportional], 0.0)
            # propensities of zero everywhere (nothing ever paid, all forgotten): uniform
            p[self.is_proportional] = np.where(q.sum(axis=1, keepdims=True) > 0, q, avail * 1.0)
        total = p.sum(axis=1, keepdims=True)
        return np.divide(p, total, out=np.zeros_like(p), where=total > 0)

    def choose(
        self, rng: np.random.Generator, activity: Array, potential: Callable[[IntArray], Array]
    ) -> IntArray:
        """One action index per state (-1: inactive this step). `potential(idx)` gives the
        [len(idx), A] expected gains for the best-responding states."""
        n, a = self.q.shape
        u = rng.random((n, a + 1))
        # Gumbel-max: argmax(log p_a + G_a), one Gumbel per state and action, draws p exactly;
        # each action keeps its own draw, so paired runs whose action sets or probabilities
        # differ a little still make the same choice in most steps (common random numbers)
        p = self.probabilities()
        gumbel = -np.log(-np.log(u[:, :a].clip(1e-12, 1 - 1e-12)))
        with np.errstate(divide="ignore"):
            score = np.where(p > 0, np.log(p) + gumbel, -np.inf)
        choice = np.where(p.sum(axis=1) > 0, score.argmax(axis=1), -1)  # nothing available: none
        if self.is_br.size:
            pot = potential(self.is_br)
            scale = np.maximum(pot.max(axis=1, keepdims=True), 1e-12)
            gumbel = -np.log(-np.log(rng.random(pot.shape).clip(1e-12, 1 - 1e-12)))
            score = pot / scale + self.noise[self.is_br, None] * gumbel
            score = np.where(self.available[self.is_br], score, -np.inf)
            choice[self.is_br] = np.where(np.isfinite(score).any(axis=1), score.argmax(axis=1), -1)
        return np.where(u[:, a] < activity, choice, -1)

    def learn(self, action: IntArray, gains: Array, total_gain: Array) -> None:
        """Reinforce learning states' chosen actions by the gain taking them added (the
        channel's gain this step minus what it earns the state when it is not taken), and update
        the running means of what each action's channel earns, taken and not taken."""
        self.n_scale += 1
        w = max(self.settings.scale_memory, 1.0 / self.n_scale)
        self.gain_scale += w * (np.abs(total_gain) - self.gain_scale)
        acted = np.flatnonzero(action >= 0)
        chosen = np.zeros(gains.shape, dtype=bool)
        chosen[acted, action[acted]] = True
        rows = np.flatnonzero(self.is_learning & (action >= 0))
        self.q[self.is_learning] *= (1.0 - self.forgetting[self.is_learning])[:, None]
        if rows.size:
            a = action[rows]
            added = gains[rows, a] - self.passive[rows, a]
            reward = self.learning_rate[rows] * added / np.maximum(self.gain_scale[rows], 1e-9)
            soft = self.softmax[rows]
            self.q[rows[soft], a[soft]] += reward[soft]
            prop, ap = rows[~soft], a[~soft]
            if prop.size:
                r = np.maximum(reward[~soft], 0.0)  # Roth-Erev propensities stay non-negative
                e = self.experimentation[prop]
                others = self.available[prop].copy()
                others[np.arange(prop.size), ap] = False
                k = others.sum(axis=1)
                spill = np.where(k > 0, r * e / np.maximum(k, 1), 0.0)
                self.q[prop] += others * spill[:, None]
                self.q[prop, ap] += np.where(k > 0, r * (1.0 - e), r)
        m = self.settings.gain_memory
        self.n_taken += chosen
        self.n_passive += ~chosen
        w_taken = np.maximum(m, 1.0 / np.maximum(self.n_taken, 1.0))
        w_passive = np.maximum(m, 1.0 / np.maximum(self.n_passive, 1.0))
        self.taken += np.where(chosen, w_taken * (gains - self.taken), 0.0)
        self.passive += np.where(chosen, 0.0, w_passive * (gains - self.passive))
