"""Discourse construction (seed 000, section 2.2 话语构建; seed 002, section 4.1.2).

A drafting state submits text to one forum it belongs to: the forum's text is pulled toward
the state's position with strength

    s = draft_rate * discourse capacity * knowledge * legitimacy * presidency * synergy,

where knowledge = algorithms / (algorithms + world mean) (the knowledge base behind
discourse power, seed 002: patents and research), presidency = `presidency_multiplier` for
the forum's current host (Japan's G7 2016 and 2023, G20 2019 drafts) and 1 otherwise, and

    legitimacy = exp(-(distance_penalty * dist(position, forum centre)
                       + sum_d framing_penalty[d] * |position_d - centre_d|))

penalises drafts far from the members' mean position, most of all on securitised or
ideological dimensions (seed 002: security discourse laden with geopolitics and ideology
struggles to win broad acceptance). The state drafts where value * s * distance is largest
(value: the forum's weight times the total size of its members, as in the influence credit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.pulls import cross_distance

if TYPE_CHECKING:
    from sim.model import RuleMakingModel

NAME = "discourse"
COL = 1


def legitimacy(model: RuleMakingModel) -> np.ndarray:
    """[N, F] acceptance of each state's drafts in each forum (computed once a step)."""

    def compute() -> np.ndarray:
        w, p = model.world, model.scenario.paths.discourse
        m = w.members & w.active[None, :]
        count = m.sum(axis=0)
        centre = np.divide(m.T @ w.pos, count[:, None], out=w.text.copy(), where=count[:, None] > 0)
        penalty = p.distance_penalty * cross_distance(w.pos, centre)
        if p.framing_penalty:
            dims = [w.norms.index(d) for d in p.framing_penalty]
            weights = np.array(list(p.framing_penalty.values()))
            gap = np.abs(w.pos[:, None, dims] - centre[None, :, dims])  # [N, F, k]
            penalty += gap @ weights
        return np.exp(-penalty)

    return model.memo("legitimacy", compute)


def strength(model: RuleMakingModel, idx: np.ndarray) -> np.ndarray:
    """[n, F] drafting pull of each actor in each forum it can draft in (0 elsewhere)."""
    w, p = model.world, model.scenario.paths.discourse
    alg = w.res[:, 2]
    knowledge = alg[idx] / (alg[idx] + alg.mean())
    base = p.draft_rate * w.cap[idx, 2] * knowledge * model.syn[idx, COL]
    pres = np.where(w.president[:, model.steps][None, :] == idx[:, None], p.presidency_multiplier, 1.0)
    can = w.members[idx] & w.active[None, :]
    return base[:, None] * legitimacy(model)[idx] * pres * can


def _score_all(model: RuleMakingModel) -> tuple[np.ndarray, np.ndarray]:
    """Pull strength and expected gain of every state in every forum (once a step)."""

    def compute():
        w = model.world
        s = strength(model, np.arange(w.N))
        return s, s * w.dist_text_pos().T * model.forum_value

    return model.memo("discourse_score", compute)


def _score(model: RuleMakingModel, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s, score = _score_all(model)
    return s[idx], score[idx]


def apply(model: RuleMakingModel, idx: np.ndarray) -> None:
    s, score = _score(model, idx)
    f = score.argmax(axis=1)
    rows = np.arange(idx.size)
    ok = score[rows, f] > 0
    model.pulls.add_text("draft", f[ok], idx[ok], s[rows[ok], f[ok]])


def potential(model: RuleMakingModel, idx: np.ndarray) -> np.ndarray:
    """Expected gain of drafting now: the best forum's value * pull * distance."""
    _, score = _score(model, idx)
    return score.max(axis=1, initial=0.0)
