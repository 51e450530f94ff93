"""Forums: their texts, membership, presidencies, supporting frameworks, weights and links.

- Texts (MODEL.md section 2, step 4): every step each forum's text drifts toward its
  members' positions, weighted by their agenda weight (baseline_engagement + engagement)
  * clout, at `paths.institutional.consensus_rate` per year. The drift is the forum's own process and
  is credited to nobody (seed 000, section 3.1: participation without content is free riding).
- Membership (MODEL.md section 1): each step a non-member joins an active forum that is open
  to it (`openness` > 0, `open_to` its region) with probability
  1 - exp(-join_rate * openness / steps_per_year) when the forum's text is close to its own
  position (closeness = 1 - distance >= `join_threshold`).
  Scheduled joins, leaves and forum creations come from the timeline.
- Frameworks (seed 000, section 2.1.2: DFFT as the supporting institution of AI principles):
  after launch, a state whose position is close to the framework's text joins with
  probability 1 - exp(-join_rate * min(1, baseline_engagement + founder's engagement in the
  host forum) / steps_per_year); each joiner credits the founder (`founder_credit` x the joiner's size, as
  `institutional` gain) and the host forum's weight grows to
  weight0 * (1 + weight_gain * share of states that joined).
- Presidencies: `president[f, k]`, the state holding forum f's presidency in step k.
- Alignment of linked forums: 1 - distance between their texts (MODEL.md section 6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from sim.engine.events import EventLog
from sim.engine.geometry import cross_distance
from sim.engine.ledger import Ledger
from sim.engine.pulls import Pulls
from sim.engine.types import Array, BoolArray, IntArray
from sim.engine.world import Changes
from sim.fields import Name, NonNeg, Strict, Unit, YearRate, about, share

CONSENSUS = "consensus"  # the text-pull channel of the forums' own consensus: credited to nobody


class MembershipParams(Strict):
    """`membership`: endogenous joining of forums (the join rate per year)."""

    join_threshold: Unit = Field(
        0.8,
        description="Closeness of an open forum's text to a state's own position (1 - distance) needed "
        "for the state to consider joining.",
        json_schema_extra=about("closeness 0-1", "assumption"),
    )
    join_rate: YearRate = Field(
        0.2,
        description="Hazard of joining an open forum that admits the state and whose text is close "
        "enough, times the forum's openness.",
        json_schema_extra=about("per year (x forum openness)", "assumption"),
    )
    cost: NonNeg = Field(
        0.1,
        description="Cost of a membership: a state joins only if the forum's weight is at least this "
        "times the number of forums it already belongs to.",
        json_schema_extra=about(
            "forum weight per membership held",
            "MODEL.md s.9 (joining is a decision with a cost); assumption: size",
        ),
    )


RULES = ("founders", "invitation", "values", "open")


class AdmissionRule(Strict):
    """A forum's `admission:` who it admits besides its scheduled joins (MODEL.md s.9).

    - `founders`: no one (the G7, the G20, the UN; expansions only as dated events);
    - `invitation`: the members invite states whose position is at least `threshold` close to
      the members' mean position on `dimensions` (the OECD's accession roadmaps);
    - `values`: states whose position is at least `threshold` close to the forum's charter (its
      founding text, which later drift does not change) on its value `dimensions` (GPAI's and
      the Hiroshima Friends Group's commitments);
    - `open`: any state (closeness to the text is the state's own decision, below).
    `dimensions` empty: all of them. A forum's `open_to` regions restrict every rule."""

    rule: Literal["founders", "invitation", "values", "open"] = Field(
        "open",
        description="`founders`: no one (expansions only as dated events); `invitation`: states close to "
        "the members' mean position; `values`: states close to the forum's charter (its founding text); "
        "`open`: anyone.",
        json_schema_extra=about(source="MODEL.md s.9"),
    )
    dimensions: list[Name] = Field(
        default_factory=list,
        description="Norm dimensions an `invitation` or `values` rule compares (empty: all).",
        json_schema_extra=about(source="MODEL.md s.9"),
    )
    threshold: Unit = Field(
        0.8,
        description="Closeness on those dimensions (1 - normalised distance) the rule asks for.",
        json_schema_extra=about("closeness 0-1", "assumption"),
    )


class FrameworkParams(Strict):
    """`framework_settings`: supporting frameworks (DFFT-like; the join rate per year)."""

    join_rate: YearRate = Field(
        0.4,
        description="Hazard of a close-enough state joining a framework, times min(1, baseline engagement "
        "+ the founder's engagement in the host forum): the founder's participation drives uptake.",
        json_schema_extra=about("per year (x min(1, drive))", "s000 2.1.2; size assumption"),
    )
    join_threshold: Unit = Field(
        0.7,
        description="Closeness of a state's position to the framework's text (1 - distance) needed to join.",
        json_schema_extra=about("closeness 0-1", "assumption"),
    )
    weight_gain: NonNeg = Field(
        0.5,
        description="Host forum's weight gained at full uptake: weight = initial weight x (1 + weight_gain "
        "x share of states that joined).",
        json_schema_extra=about("share of the initial weight", "s000 2.1.2; size assumption"),
    )
    founder_credit: NonNeg = Field(
        0.05,
        description="Influence credited to the founder for each joiner, times the joiner's size.",
        json_schema_extra=about("influence per joiner (x size)", "assumption"),
    )


# ----------------------------------------------------------------------------- texts
def consensus(
    pulls: Pulls, live: BoolArray, engagement: Array, clout: Array, rate: float, baseline: float
) -> None:
    """Every forum's text drifts toward its members, weighted by their agenda weight."""
    if rate == 0.0:
        return
    agenda = live * (baseline + engagement) * clout[:, None]
    total = agenda.sum(axis=0)
    share = np.divide(agenda, total, out=np.zeros_like(agenda), where=total > 0)
    pulls.text_matrix(CONSENSUS)[:] += rate * share.T


def alignment(text: Array, active: BoolArray, link_a: IntArray, link_b: IntArray) -> Array:
    """[..., L] alignment of each linked forum pair, 1 - distance between their texts (NaN
    while either forum is inactive); `text` is [..., F, D] and `active` [..., F]."""
    diff = text[..., link_a, :] - text[..., link_b, :]
    align = 1.0 - np.sqrt(np.square(diff).mean(axis=-1))
    return np.where(active[..., link_a] & active[..., link_b], align, np.nan)


# ----------------------------------------------------------------------------- membership
@dataclass
class Joining:
    """What endogenous membership reads and writes."""

    params: MembershipParams
    members: BoolArray  # [N, F], written
    active: BoolArray  # [F]
    openness: Array  # [F] forums' openness to new members (the pace of joining)
    eligible: BoolArray  # [F, N] who each forum may admit (its `open_to` regions)
    rule: IntArray  # [F] index in RULES
    rule_dims: BoolArray  # [F, D] the dimensions each rule compares
    rule_threshold: Array  # [F]
    weight: Array  # [F] forum weights (the value of a membership)
    pos: Array  # [N, D]
    text: Array  # [F, D]
    charter: Array  # [F, D] each forum's founding text
    dist: Callable[[], Array]  # [F, N] distance of each text from each position now
    changes: Changes  # membership changes are noted here
    names: list[str]
    forum_names: list[str]
    rng: np.random.Generator
    log: EventLog
    step: int


def admitted(v: Joining) -> BoolArray:
    """[N, F] whom each forum's admission rule lets in now (members aside)."""
    out = v.eligible.T & (v.rule != RULES.index("founders"))[None, :]
    for k in np.flatnonzero(v.rule == RULES.index("values")):
        out[:, k] &= _close_on(v.pos, v.charter[k], v.rule_dims[k]) >= v.rule_threshold[k]
    for k in np.flatnonzero(v.rule == RULES.index("invitation")):
        mem = v.members[:, k]
        centre = v.pos[mem].mean(axis=0) if mem.any() else v.text[k]
        out[:, k] &= _close_on(v.pos, centre, v.rule_dims[k]) >= v.rule_threshold[k]
    return out


def _close_on(pos: Array, point: Array, dims: BoolArray) -> Array:
    """[N] closeness (1 - normalised distance) of each position to a point on some dimensions."""
    d = dims if dims.any() else np.ones_like(dims)
    diff = pos[:, d] - point[d]
    out: Array = 1.0 - np.sqrt(np.square(diff).mean(axis=1))
    return out


def membership_step(v: Joining) -> None:
    """Endogenous joins: a forum admits by its rule; a state joins, at the forum's pace, when
    the forum's text is close to its own position and the membership is worth its cost (the
    forum's weight is at least `cost` times the memberships the state already keeps up)."""
    p = v.params
    if p.join_rate == 0.0 or not v.openness.any():
        return
    open_f = v.active & (v.openness > 0)
    if not open_f.any():
        return
    u = v.rng.random(v.members.shape)  # drawn every step, whoever is a candidate (paired runs)
    close = 1.0 - v.dist().T  # [N, F]
    kept = (v.members & v.active[None, :]).sum(axis=1)
    worth = v.weight[None, :] >= p.cost * kept[:, None]
    cand = (~v.members) & open_f[None, :] & (close >= p.join_threshold) & worth
    if cand.any():  # the admission rules are read only when someone would join
        cand &= admitted(v)
    joins = cand & (u < share(p.join_rate * v.openness[None, :]))
    if joins.any():
        v.members |= joins
        v.changes.joined(np.flatnonzero(joins.any(axis=1)))
        for i, f in zip(*np.nonzero(joins), strict=True):
            v.log.add(v.step, "join", v.names[i], v.forum_names[f], "endogenous")


def presidency_changes(president: IntArray) -> dict[int, list[tuple[int, int]]]:
    """{step: [(forum, new holder)]} for every step in which a presidency changes hands."""
    out: dict[int, list[tuple[int, int]]] = {}
    change = president[:, 1:] != president[:, :-1]
    for f, k in zip(*np.nonzero(change), strict=True):
        holder = int(president[f, k + 1])
        if holder >= 0:
            out.setdefault(int(k) + 1, []).append((int(f), holder))
    return out


# ----------------------------------------------------------------------------- frameworks
@dataclass
class Frameworks:
    """What supporting frameworks read and write."""

    params: FrameworkParams
    baseline_engagement: float  # agenda weight a passive member keeps (`paths.institutional`)
    launched: BoolArray  # [K], written at launch
    founder: IntArray  # [K]
    forum: IntArray  # [K] host forum
    text: Array  # [K, D]
    members: BoolArray  # [K, N], written
    pos: Array  # [N, D]
    engagement: Array  # [N, F]
    weight: Array  # [F] forum weights, written
    weight0: Array  # [F] base weights
    size: Array  # [N] value of each joiner
    ledger: Ledger  # this step's credited gains, written
    credit: int  # the gain column founders are credited in
    names: list[str]
    forum_names: list[str]
    fw_names: list[str]
    rng: np.random.Generator
    log: EventLog
    step: int


def launch(v: Frameworks, fw: int) -> None:
    """The founder launches a supporting framework (DFFT at Davos, January 2019)."""
    v.launched[fw] = True
    v.members[fw, v.founder[fw]] = True
    v.log.add(
        v.step, "framework_launched", v.names[v.founder[fw]], v.forum_names[v.forum[fw]], v.fw_names[fw]
    )


def framework_step(v: Frameworks) -> None:
    """Joining launched frameworks; founders credited; host forums' weights follow."""
    p = v.params
    live = np.flatnonzero(v.launched)
    if live.size == 0:
        return
    close = 1.0 - cross_distance(v.text[live], v.pos)  # [K, N]
    drive = v.baseline_engagement + v.engagement[v.founder[live], v.forum[live]]
    prob = share(p.join_rate * np.minimum(1.0, drive)[:, None])
    cand = ~v.members[live] & (close >= p.join_threshold)
    joins = cand & (v.rng.random(cand.shape) < prob)  # drawn every step (paired runs)
    if joins.any():
        v.members[live] |= joins
        for r, i in zip(*np.nonzero(joins), strict=True):
            k = live[r]
            founder = v.founder[k]
            amount = np.array([p.founder_credit * v.size[i]])
            v.ledger.add(v.credit, "frameworks", np.array([founder]), amount, "state", np.array([i]))
            v.log.add(v.step, "framework_join", v.names[i], v.forum_names[v.forum[k]], v.fw_names[k])
    shares = v.members[live].mean(axis=1)
    v.weight[:] = v.weight0
    np.add.at(v.weight, v.forum[live], v.weight0[v.forum[live]] * p.weight_gain * shares)
