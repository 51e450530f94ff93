"""Institutional participation (seed 000, section 2.1 制度参与).

A participating state raises its engagement in one forum it belongs to, preferring forums
where it holds the presidency and whose texts matter more (weight x members' size):

    engagement += (1 - exp(-engagement_rate * synergy / steps_per_year)) * (1 - engagement),

a stock in [0, 1] that loses `engagement_decay` of itself per year when neglected. Engagement
is the state's agenda weight in the forum's consensus (`sim.forums.consensus`), scaled by its
clout; that drift is the forum's own process and is credited to nobody: participation
without content makes a free rider (seed 000, section 3.1, line 263). Participation earns
influence through what it builds (brokerage, frameworks, the reputation of an active actor)
and, through synergy, by amplifying the state's drafting and practice sharing.

A state engaged in two linked forums is a broker (Japan between the G7, G20 and OECD), but a
broker carries content: its own recent drafting and sharing, the synergy term of this path
(synergy * sum_q coupling[institutional, q] * use_q; zero for a state that only participates,
and zero with `synergy: 0`). Hosting either forum's presidency multiplies its bridging by
`host_brokerage` (seed 000, line 261: hosting gave Japan the structural power to build bridges
between institutions). The linked texts are pulled toward each other with

    link pull = brokerage_rate * sum over brokers i of b_i,
    b_i = min(engagement on both sides) * content_i * (host_brokerage if i hosts either),

and the movement, weighted by both texts' value and scaled by `broker_credit`, is credited
to the brokers in proportion to b_i, as `institutional` gain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import Field

from sim.engine.geometry import distance
from sim.engine.pulls import Pulls
from sim.engine.types import Array, BoolArray, IntArray
from sim.fields import NonNeg, Strict, Unit, YearRate, YearShare, about, share

NAME = "institutional"
COL = 0  # column in the synergy multipliers
CREDITED_TO = NAME  # brokerage and framework joiners are credited to this path


class InstitutionalParams(Strict):
    """`paths.institutional`: engagement, the forums' consensus, brokerage (rates per year)."""

    engagement_rate: YearRate = Field(
        1.43,
        description="Hazard of the gap to full engagement in a forum closing while the state participates "
        "there (a year of steady participation at synergy 1 closes 1 - e^-rate of it).",
        json_schema_extra=about("per year", "assumption (30% of the gap a quarter)"),
    )
    engagement_decay: YearShare = Field(
        0.185,
        description="Share of engagement in a forum lost per year when neglected.",
        json_schema_extra=about("share per year", "assumption (halves in about 3.5 years)"),
    )
    consensus_rate: YearRate = Field(
        0.2,
        description="Pull of the members' agenda-weighted positions on a forum's text (the forum's own "
        "consensus, credited to nobody).",
        json_schema_extra=about("per year", "assumption"),
    )
    baseline_engagement: Unit = Field(
        0.1,
        description="Agenda weight a passive member keeps (added to its engagement in the forum's "
        "consensus, in drafting and in framework uptake).",
        json_schema_extra=about("engagement 0-1", "assumption"),
    )
    presidency_preference: NonNeg = Field(
        1.0,
        description="Extra appeal of a forum the state presides when it chooses where to participate "
        "(the forum's value is multiplied by 1 + this).",
        json_schema_extra=about("multiplier", "s000 3.1 (hosting as structural power); size assumption"),
    )
    brokerage_rate: YearRate = Field(
        0.4,
        description="Pull between the texts of two linked forums per unit of brokerage by states engaged "
        "in both (the content they carry across).",
        json_schema_extra=about(
            "per year (per unit of brokerage)",
            's000 2.1.1 ("middleman" aligning G7/G20/OECD); size assumption',
        ),
    )
    broker_credit: NonNeg = Field(
        1.0,
        description="Influence credited to brokers per unit of the (value-weighted) alignment of linked "
        "texts they cause.",
        json_schema_extra=about("influence per unit of alignment", "assumption"),
    )
    host_brokerage: NonNeg = Field(
        2.0,
        description="Multiplier of a broker's bridging while it holds the presidency of either linked forum.",
        json_schema_extra=about(
            "multiplier",
            "s000 line 261 (hosting gave Japan the structural power to build bridges); size assumption",
        ),
    )


@dataclass
class Participation:
    """What participation reads and writes in one step."""

    params: InstitutionalParams
    reputation_weight: float  # influence per unit of reputation (for the expected gain)
    members: BoolArray  # [N, F]
    active: BoolArray  # [F]
    live: BoolArray  # [N, F] membership of active forums
    engagement: Array  # [N, F], written
    weight: Array  # [F] forum weights
    text: Array  # [F, D]
    link_a: IntArray  # [L] linked forum pairs
    link_b: IntArray
    president: IntArray  # [F] the state holding each presidency this step (-1: none)
    forum_value: Array  # [F] weight x members' size
    syn: Array  # [N] this path's synergy multiplier (1 + content)
    pulls: Pulls
    _targets: tuple[IntArray, BoolArray] | None = field(default=None, repr=False)


def decay_engagement(engagement: Array, params: InstitutionalParams) -> None:
    """Neglected engagement fades: engagement *= 1 - engagement_decay (per step)."""
    engagement *= 1.0 - params.engagement_decay


def _targets(v: Participation, idx: IntArray) -> tuple[IntArray, BoolArray]:
    """The forum each state would engage in now, and whether it has one (once a step)."""
    if v._targets is None:
        p = v.params
        n = v.live.shape[0]
        pres = v.president[None, :] == np.arange(n)[:, None]
        score = v.live * v.forum_value * (1.0 + p.presidency_preference * pres) * (1.0 - v.engagement + 1e-3)
        if score.shape[1] == 0:  # a world without forums: nowhere to engage
            v._targets = (np.zeros(n, dtype=np.intp), np.zeros(n, dtype=bool))
        else:
            best = score.argmax(axis=1)
            v._targets = (best, score[np.arange(n), best] > 0)
    best, ok = v._targets
    return best[idx], ok[idx]


def apply(v: Participation, idx: IntArray) -> None:
    f, ok = _targets(v, idx)
    i, f = idx[ok], f[ok]
    rate = share(v.params.engagement_rate * v.syn[i])
    v.engagement[i, f] += rate * (1.0 - v.engagement[i, f])
    _brokerage(v, idx)


def _broker_strength(v: Participation, idx: IntArray) -> Array:
    """[n_actors, n_links]: each actor's bridging of each active link it belongs to on both
    sides: min engagement on both sides, times `host_brokerage` where it hosts either forum,
    times the content it carries (its synergy term)."""
    la, lb = v.link_a, v.link_b
    both = v.members[idx][:, la] & v.members[idx][:, lb] & (v.active[la] & v.active[lb])[None, :]
    hosts = (v.president[la][None, :] == idx[:, None]) | (v.president[lb][None, :] == idx[:, None])
    host = np.where(hosts, v.params.host_brokerage, 1.0)
    content = v.syn[idx] - 1.0
    return np.minimum(v.engagement[idx][:, la], v.engagement[idx][:, lb]) * both * host * content[:, None]


def _brokerage(v: Participation, idx: IntArray) -> None:
    p = v.params
    if v.link_a.size == 0 or p.brokerage_rate == 0.0:
        return
    contrib = _broker_strength(v, idx)
    if contrib.any():
        la, lb = v.link_a, v.link_b
        hosts = (v.president[la][None, :] == idx[:, None]) | (v.president[lb][None, :] == idx[:, None])
        host = np.where(hosts, contrib * (1.0 - 1.0 / max(p.host_brokerage, 1e-12)), 0.0)
        v.pulls.add_link(p.brokerage_rate * contrib.sum(axis=0), idx, contrib.T, host.T)


def potential(v: Participation, idx: IntArray) -> Array:
    """Expected gain of participating now: the reputation the raised engagement buys over
    its lifetime (1 / engagement_decay steps) plus the brokerage it enables this step."""
    p = v.params
    f, ok = _targets(v, idx)
    rate = share(p.engagement_rate * v.syn[idx])
    d_eng = rate * (1.0 - v.engagement[idx, f])
    wm = v.live[idx] * v.weight
    part = v.weight[f] / np.maximum(wm.sum(axis=1), 1e-12)  # the forum's part in reputation
    lifetime = 1.0 / max(p.engagement_decay, 1e-6)
    gain = v.reputation_weight * d_eng * part * lifetime
    value = v.forum_value
    if v.link_a.size and p.brokerage_rate > 0:
        d_link = distance(v.text[v.link_a], v.text[v.link_b])
        wl = (value[v.link_a] + value[v.link_b]) * p.broker_credit
        gain = gain + p.brokerage_rate * (_broker_strength(v, idx) @ (d_link * wl))
    return np.where(ok, gain, 0.0)
