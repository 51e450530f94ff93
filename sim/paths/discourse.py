"""Discourse construction (seed 000, section 2.2 话语构建; seed 002, section 4.1.2).

A drafting state submits text to one forum it belongs to: the forum's text is pulled toward
the state's position with strength

    s = draft_rate / steps_per_year * discourse capacity * knowledge * agenda * legitimacy
        * presidency * synergy * standing,

where knowledge = algorithms / (algorithms + world mean) (the knowledge base behind
discourse power, seed 002: patents and research), agenda = (baseline_engagement +
engagement in the forum) ** agenda_weight, the drafter's standing in the forum that its
institutional participation built (MODEL.md s.3: the draft's step is proportional to agenda
weight; seed 000 line 259: participation is the platform of discourse construction;
`agenda_weight: 0` switches it off), presidency = `presidency_multiplier` for the forum's
current host (Japan's G7 2016 and 2023, G20 2019 drafts) and 1 otherwise, and

    legitimacy = exp(-(distance_penalty * dist(position, forum centre)
                       + sum_d framing_penalty[d] * |position_d - centre_d|))

penalises drafts far from the members' mean position, most of all on securitised or
ideological dimensions (seed 002: security discourse laden with geopolitics and ideology
struggles to win broad acceptance), and standing = `influence.standing` (discourse power is
power: accumulated influence lends later drafts weight, bounded). The state drafts where
value * s * distance is largest
(value: the forum's weight times the total size of its members, as in the influence credit).
The text's movement is credited to the drafter as `discourse` gain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
from pydantic import Field

from sim.engine.geometry import cross_distance
from sim.engine.pulls import Pulls
from sim.engine.types import Array, BoolArray, IntArray
from sim.fields import NonNeg, Strict, YearRate, about

NAME = "discourse"
COL = 1  # column in the synergy multipliers
CHANNEL = "draft"  # the text-pull channel of drafts, credited to this path
HOST_CHANNEL = "draft_host"  # what a presidency adds to a host's draft (ledger source: hosting)
CREDITED_TO = NAME


class DiscourseParams(Strict):
    """`paths.discourse`: drafting (the pull rate per year)."""

    draft_rate: YearRate = Field(
        0.4,
        description="Base pull of one state's draft on a forum's text, before its discourse capacity, "
        "knowledge base, agenda weight, legitimacy, presidency and synergy multiply it.",
        json_schema_extra=about("per year", "assumption"),
    )
    presidency_multiplier: Annotated[float, Field(ge=1.0, le=20.0)] = Field(
        2.0,
        description="Multiplier of the pull of a draft by the forum's current host (its presidency).",
        json_schema_extra=about("multiplier", "s000 2.2; size assumption"),
    )
    distance_penalty: NonNeg = Field(
        1.0,
        description="Legitimacy lost per unit distance of the drafter's position from the forum's centre "
        "(the members' mean position): legitimacy = exp(-penalty x distance - framing).",
        json_schema_extra=about("per unit distance (in the exponent)", "s002 4.1.2; size assumption"),
    )
    agenda_weight: NonNeg = Field(
        1.0,
        description="Exponent of the drafter's agenda weight in the forum (baseline engagement + its "
        "engagement there), the standing its participation built (0: off).",
        json_schema_extra=about(
            "exponent",
            "MODEL.md s.3; s000 line 259 (participation as the platform); assumption: proportional",
        ),
    )
    framing_penalty: dict[str, NonNeg] = Field(
        default_factory=lambda: {"security": 2.0, "rights": 0.5},
        description="Extra legitimacy lost per unit distance on named norm dimensions (dimension: "
        "penalty): securitised or ideological framing far from the forum's centre wins little acceptance. "
        "Declarations use the same penalties.",
        json_schema_extra=about("per unit distance (in the exponent)", "s002 4.1.2; sizes assumption"),
    )


@dataclass
class Drafting:
    """What drafting reads in one step (the `_` fields cache what it computes once a step)."""

    params: DiscourseParams
    norms: list[str]
    pos: Array  # [N, D] positions
    text: Array  # [F, D] forum texts
    live: BoolArray  # [N, F] membership of active forums
    algorithms: Array  # [N] the knowledge base
    capacity: Array  # [N] discourse capacity
    president: IntArray  # [F] the state holding each forum's presidency this step (-1: none)
    syn: Array  # [N] this path's synergy multiplier
    agenda: Array  # [N, F] each member's agenda weight in each forum (baseline + engagement)
    standing: Array  # [N] what accumulated influence adds to a state's drafts (`influence.standing`)
    forum_value: Array  # [F] weight x members' size
    dist: Array  # [F, N] distance of each text from each position
    pulls: Pulls
    _legitimacy: Array | None = field(default=None, repr=False)
    _score: tuple[Array, Array] | None = field(default=None, repr=False)


def legitimacy(v: Drafting) -> Array:
    """[N, F] acceptance of each state's drafts in each forum (computed once a step)."""
    if v._legitimacy is None:
        p, m = v.params, v.live
        count = m.sum(axis=0)
        centre = np.divide(m.T @ v.pos, count[:, None], out=v.text.copy(), where=count[:, None] > 0)
        penalty = p.distance_penalty * cross_distance(v.pos, centre)
        if p.framing_penalty:
            dims = [v.norms.index(d) for d in p.framing_penalty]
            weights = np.array(list(p.framing_penalty.values()))
            gap = np.abs(v.pos[:, None, dims] - centre[None, :, dims])  # [N, F, k]
            penalty += gap @ weights
        v._legitimacy = np.exp(-penalty)
    return v._legitimacy


def strength(v: Drafting, idx: IntArray) -> Array:
    """[n, F] drafting pull of each actor in each forum it can draft in (0 elsewhere)."""
    p, alg = v.params, v.algorithms
    knowledge = alg[idx] / (alg[idx] + alg.mean())
    base = p.draft_rate * v.capacity[idx] * knowledge * v.syn[idx] * v.standing[idx]
    pres = np.where(v.president[None, :] == idx[:, None], p.presidency_multiplier, 1.0)
    agenda = v.agenda[idx] ** p.agenda_weight if p.agenda_weight != 1.0 else v.agenda[idx]
    return base[:, None] * agenda * legitimacy(v)[idx] * pres * v.live[idx]


def _score(v: Drafting, idx: IntArray) -> tuple[Array, Array]:
    """Pull strength and expected gain of the actors in every forum (computed for every state
    once a step)."""
    if v._score is None:
        s = strength(v, np.arange(v.pos.shape[0]))
        v._score = (s, s * v.dist.T * v.forum_value)
    s, score = v._score
    return s[idx], score[idx]


def apply(v: Drafting, idx: IntArray) -> None:
    s, score = _score(v, idx)
    f = score.argmax(axis=1)
    rows = np.arange(idx.size)
    ok = score[rows, f] > 0
    i, f, pull = idx[ok], f[ok], s[rows[ok], f[ok]]
    hosts = v.president[f] == i
    base = np.where(hosts, pull / v.params.presidency_multiplier, pull)
    v.pulls.add_text(CHANNEL, f, i, base)
    if hosts.any():  # the presidency's part of a host's draft, entered as hosting
        v.pulls.add_text(HOST_CHANNEL, f[hosts], i[hosts], pull[hosts] - base[hosts])


def potential(v: Drafting, idx: IntArray) -> Array:
    """Expected gain of drafting now: the best forum's value * pull * distance."""
    _, score = _score(v, idx)
    return score.max(axis=1, initial=0.0)
