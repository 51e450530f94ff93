"""Institutional participation (seed 000, section 2.1 制度参与).

A participating state raises its engagement in one forum it belongs to, preferring forums
where it holds the presidency and whose texts matter more (weight x members' size).
Engagement is a stock in [0, 1] that decays when neglected; it is the state's agenda
weight in the forum's consensus, scaled by its clout: every step each forum's text drifts
toward its members' positions weighted by (baseline_engagement + engagement) * clout. That
drift is the forum's own process and is credited to nobody: participation without content
makes a free rider (seed 000, section 3.1). Participation earns influence through what it
builds (brokerage, frameworks, the reputation of an active actor) and, through synergy, by
amplifying the state's drafting and practice sharing.
A state engaged in two linked forums is a broker (Japan between the G7, G20 and OECD):
the linked texts are pulled toward each other ("alignment") and the broker is credited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.pulls import distance

if TYPE_CHECKING:
    from sim.model import RuleMakingModel

NAME = "institutional"
COL = 0  # column in the synergy multipliers


def _targets(model: RuleMakingModel, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The forum each state would engage in now, and whether it has one (once a step)."""

    def compute():
        w, p = model.world, model.scenario.paths.institutional
        pres = w.president[:, model.steps][None, :] == np.arange(w.N)[:, None]
        score = (
            (w.members & w.active[None, :])
            * model.forum_value
            * (1.0 + p.presidency_preference * pres)
            * (1.0 - w.engagement + 1e-3)
        )
        best = score.argmax(axis=1)
        return best, score[np.arange(w.N), best] > 0

    best, ok = model.memo("institutional_targets", compute)
    return best[idx], ok[idx]


def apply(model: RuleMakingModel, idx: np.ndarray) -> None:
    w, p = model.world, model.scenario.paths.institutional
    f, ok = _targets(model, idx)
    i, f = idx[ok], f[ok]
    rate = np.minimum(1.0, p.engagement_rate * model.syn[i, COL])
    w.engagement[i, f] += rate * (1.0 - w.engagement[i, f])
    _brokerage(model, idx)


def _broker_strength(model: RuleMakingModel, idx: np.ndarray) -> np.ndarray:
    """[n_actors, n_links]: min engagement on both sides of each active link."""
    w = model.world
    la, lb = w.link_a, w.link_b
    both = w.members[idx][:, la] & w.members[idx][:, lb] & (w.active[la] & w.active[lb])[None, :]
    return np.minimum(w.engagement[idx][:, la], w.engagement[idx][:, lb]) * both


def _brokerage(model: RuleMakingModel, idx: np.ndarray) -> None:
    w, p = model.world, model.scenario.paths.institutional
    if w.link_a.size == 0 or p.brokerage_rate == 0.0:
        return
    contrib = _broker_strength(model, idx) * model.syn[idx, COL][:, None]
    model.pulls.link += p.brokerage_rate * contrib.sum(axis=0)
    model.pulls.link_brokers[:, idx] += contrib.T


def consensus(model: RuleMakingModel) -> None:
    """Every forum's text drifts toward its members, weighted by their agenda weight."""
    w, p = model.world, model.scenario.paths.institutional
    if p.consensus_rate == 0.0:
        return
    agenda = (w.members & w.active[None, :]) * (p.baseline_engagement + w.engagement) * model.clout[:, None]
    total = agenda.sum(axis=0)
    share = np.divide(agenda, total, out=np.zeros_like(agenda), where=total > 0)
    model.pulls.text_matrix("consensus")[:] += p.consensus_rate * share.T


def potential(model: RuleMakingModel, idx: np.ndarray) -> np.ndarray:
    """Expected gain of participating now: the reputation the raised engagement buys over
    its lifetime (1 / engagement_decay steps) plus the brokerage it enables this step."""
    w, p = model.world, model.scenario.paths.institutional
    f, ok = _targets(model, idx)
    rate = np.minimum(1.0, p.engagement_rate * model.syn[idx, COL])
    d_eng = rate * (1.0 - w.engagement[idx, f])
    wm = (w.members[idx] & w.active[None, :]) * w.weight
    share = w.weight[f] / np.maximum(wm.sum(axis=1), 1e-12)  # the forum's part in reputation
    lifetime = 1.0 / max(p.engagement_decay, 1e-3)
    gain = model.scenario.influence.reputation_weight * d_eng * share * lifetime
    value = model.forum_value
    if w.link_a.size and p.brokerage_rate > 0:
        d_link = distance(w.text[w.link_a], w.text[w.link_b])
        wl = (value[w.link_a] + value[w.link_b]) * p.broker_credit
        gain = gain + p.brokerage_rate * (_broker_strength(model, idx) @ (d_link * wl)) * model.syn[idx, COL]
    return np.where(ok, gain, 0.0)
