"""Forum-level dynamics: endogenous membership, supporting frameworks, weights, alignment.

- Membership (MODEL.md section 1): each step a non-member joins an active forum that is open
  to it with probability `join_rate * openness` when the forum's text is close to its own
  position (closeness = 1 - distance >= `join_threshold`).
- Frameworks (seed 000, section 2.1.2: DFFT as the supporting institution of AI principles):
  after launch, a state whose position is close to the framework's text joins with
  probability `join_rate * (baseline + founder's engagement in the host forum)`; each joiner
  credits the founder and the host forum's weight grows with the share of states that joined.
- Alignment index: 1 - distance between linked forums' texts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.pulls import cross_distance, distance

if TYPE_CHECKING:
    from sim.model import RuleMakingModel


def membership_step(model: RuleMakingModel) -> None:
    w, p = model.world, model.scenario.membership
    if p.join_rate == 0.0 or not w.forum_openness.any():
        return
    open_f = w.active & (w.forum_openness > 0)
    if not open_f.any():
        return
    close = 1.0 - w.dist_text_pos().T  # [N, F]
    cand = (~w.members) & open_f[None, :] & w.eligible.T & (close >= p.join_threshold)
    if not cand.any():
        return
    u = model.rng.random(cand.shape)
    joins = cand & (u < p.join_rate * w.forum_openness[None, :])
    if joins.any():
        w.members |= joins
        w.membership_changed(np.flatnonzero(joins.any(axis=1)))
        for i, f in zip(*np.nonzero(joins), strict=True):
            model.log.add(model, "join", w.names[i], w.forum_names[f], "endogenous")


def framework_step(model: RuleMakingModel) -> None:
    w, p = model.world, model.scenario.framework_settings
    live = np.flatnonzero(w.fw_launched)
    if live.size == 0:
        return
    close = 1.0 - cross_distance(w.fw_text[live], w.pos)  # [K, N]
    base = model.scenario.paths.institutional.baseline_engagement
    drive = base + w.engagement[w.fw_founder[live], w.fw_forum[live]]
    prob = p.join_rate * np.minimum(1.0, drive)[:, None]
    cand = ~w.fw_members[live] & (close >= p.join_threshold)
    joins = cand & (model.rng.random(cand.shape) < prob) if cand.any() else cand
    if joins.any():
        w.fw_members[live] |= joins
        size = model.target_size()
        for r, i in zip(*np.nonzero(joins), strict=True):
            k = live[r]
            founder = w.fw_founder[k]
            model.gains[founder, model.gain_col["institutional"]] += p.founder_credit * size[i]
            model.log.add(model, "framework_join", w.names[i], w.forum_names[w.fw_forum[k]], w.fw_names[k])
    shares = w.fw_members[live].mean(axis=1)
    w.weight = w.weight0.copy()
    np.add.at(w.weight, w.fw_forum[live], w.weight0[w.fw_forum[live]] * p.weight_gain * shares)


def alignment(model: RuleMakingModel) -> np.ndarray:
    """[L] alignment of each linked forum pair (NaN while either forum is inactive)."""
    w = model.world
    a = 1.0 - distance(w.text[w.link_a], w.text[w.link_b])
    return np.where(w.active[w.link_a] & w.active[w.link_b], a, np.nan)
