"""Discourse power (话语权) as a stock, and the indicators derived from it (MODEL.md s.6).

influence_i(t) = (1 - decay) * influence_i(t-1) + gains_i(t) + reputation_weight * reputation_i(t)

gains_i: the movement state i's own actions caused this step in forum texts (weighted by
forum weight) and in other states' positions (weighted by the target's market size), plus
framework joiners. reputation_i: a running mean of the state's forum-weighted engagement in
its forums, the "active actor" image that keeps it from being seen as a free rider
(seed 000, section 3.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model import RuleMakingModel


def update(model: RuleMakingModel) -> np.ndarray:
    """Credit, decay and reputation; returns each state's total gain this step."""
    w, p = model.world, model.scenario.influence
    m = w.members & w.active[None, :]
    wm = m * w.weight
    denom = wm.sum(axis=1)
    activity = np.divide((wm * w.engagement).sum(axis=1), denom, out=np.zeros(w.N), where=denom > 0)
    w.reputation += p.reputation_memory * (activity - w.reputation)
    total = model.gains.sum(axis=1) + p.reputation_weight * w.reputation
    w.influence *= 1.0 - p.decay
    w.influence += total
    return total


def followers(model: RuleMakingModel) -> np.ndarray:
    """How many states emulate each state: a state follows the sharer whose practice has
    moved its position most, once that cumulative pull exceeds `follow_threshold`."""
    w = model.world
    top = w.received.argmax(axis=1)
    has = w.received[np.arange(w.N), top] > model.scenario.influence.follow_threshold
    return np.bincount(top[has], minlength=w.N)


def rule_alignment(model: RuleMakingModel) -> np.ndarray:
    """Forum-weight-averaged similarity of each state's position to the active forums' texts."""
    w = model.world
    if not w.active.any():
        return np.full(w.N, np.nan)
    wt = w.weight * w.active
    sim = 1.0 - w.dist_text_pos().T
    return sim @ wt / wt.sum()


def herfindahl(shares: np.ndarray) -> float:
    return float(np.square(shares).sum())
