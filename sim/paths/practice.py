"""Practice sharing (seed 000, section 2.3 实践共享).

A sharing state exports its domestic governance practice (Japan's soft-law, agile
governance; its AI Safety Institute; talent training with ASEAN) to the states it is tied
to: partners (aid, talent-training), its region, and fellow members of club forums
(tie = comember_tie * min(1, sum of (1 - inclusiveness) over shared forums): universal
forums bind less, and shared clubs add up). Each target j's own
position is pulled toward the sharer i's with coefficient

    c_ij = share_rate * quality_i * fit_ij * openness_j * tie_ij * synergy_i,
    quality_i = (standards_i + regulatory_i) / 2,
    fit_ij = 1 + soft_fit * soft_law_i * (1 - regulatory_j),

so soft-law practice appeals most to states with little regulatory capacity of their own.
Sharing is also capacity building: it raises the targets' openness to outside practice,
which relaxes back toward its base level over time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.pulls import cross_distance

if TYPE_CHECKING:
    from sim.model import RuleMakingModel

NAME = "practice"
COL = 2


def _ties(model: RuleMakingModel, idx: np.ndarray) -> np.ndarray:
    w, p = model.world, model.scenario.paths.practice
    if w.ties_dirty or w.ties_rows:
        w.refresh_ties(p.partner_tie, p.region_tie, p.comember_tie)
    return w.ties[:, idx]


def _per_sharer(model: RuleMakingModel, idx: np.ndarray) -> np.ndarray:
    w, p = model.world, model.scenario.paths.practice
    quality = 0.5 * (w.cap[idx, 0] + w.cap[idx, 1]) * model.clout[idx]
    return p.share_rate * quality * model.syn[idx, COL]


def coefficients(model: RuleMakingModel, idx: np.ndarray) -> np.ndarray:
    """[N targets, n sharers] pull coefficients."""
    w, p = model.world, model.scenario.paths.practice
    fit = 1.0 + p.soft_fit * w.soft[idx][None, :] * (1.0 - w.cap[:, 1])[:, None]
    return fit * _ties(model, idx) * (_per_sharer(model, idx)[None, :] * w.openness[:, None])


def apply(model: RuleMakingModel, idx: np.ndarray) -> None:
    w, p = model.world, model.scenario.paths.practice
    coef = coefficients(model, idx)
    model.pulls.add_pos("practice", idx, coef)
    if p.capacity_building > 0:
        reach = np.minimum(1.0, w.ties[:, idx].sum(axis=1))
        w.openness += p.capacity_building * reach * (1.0 - w.openness)


def relax_openness(model: RuleMakingModel) -> None:
    w, p = model.world, model.scenario.paths.practice
    w.openness += p.openness_relax * (w.openness0 - w.openness)


def potential(model: RuleMakingModel, idx: np.ndarray) -> np.ndarray:
    """Expected gain of sharing now: the size-weighted movement of every tied state.

    sum_j size_j * openness_j * tie_ji * dist_ji * (1 + soft_fit * soft_i * (1 - reg_j)),
    times the sharer's own factor; computed as two matrix-vector products."""
    w, p = model.world, model.scenario.paths.practice
    td = _ties(model, idx) * cross_distance(w.pos, w.pos[idx])
    a = model.size * w.openness
    plain = a @ td
    soft = (a * (1.0 - w.cap[:, 1])) @ td
    return _per_sharer(model, idx) * (plain + p.soft_fit * w.soft[idx] * soft)
