"""Forums: their texts, membership, presidencies, supporting frameworks, weights and links.

- Texts (MODEL.md section 2, step 4): every step each forum's text drifts toward its
  members' positions, weighted by their agenda weight (baseline_engagement + engagement)
  * clout, at `paths.institutional.consensus_rate`. The drift is the forum's own process and
  is credited to nobody (seed 000, section 3.1: participation without content is free riding).
- Membership (MODEL.md section 1): each step a non-member joins an active forum that is open
  to it (`openness` > 0, `open_to` its region) with probability `join_rate * openness` when
  the forum's text is close to its own position (closeness = 1 - distance >= `join_threshold`).
  Scheduled joins, leaves and forum creations come from the timeline.
- Frameworks (seed 000, section 2.1.2: DFFT as the supporting institution of AI principles):
  after launch, a state whose position is close to the framework's text joins with
  probability `join_rate * min(1, baseline_engagement + founder's engagement in the host
  forum)`; each joiner credits the founder (`founder_credit` x the joiner's size, as
  `institutional` gain) and the host forum's weight grows to
  weight0 * (1 + weight_gain * share of states that joined).
- Presidencies: `president[f, k]`, the state holding forum f's presidency in step k.
- Alignment of linked forums: 1 - distance between their texts (MODEL.md section 6).
"""

from __future__ import annotations

import numpy as np

from sim.engine.events import EventLog
from sim.engine.geometry import cross_distance
from sim.engine.pulls import Pulls
from sim.engine.types import Array, BoolArray, IntArray
from sim.engine.world import World
from sim.fields import NonNeg, Strict, Unit

CONSENSUS = "consensus"  # the text-pull channel of the forums' own consensus: credited to nobody


class MembershipParams(Strict):
    """`membership`: endogenous joining of open forums."""

    join_threshold: Unit = 0.8
    join_rate: Unit = 0.05


class FrameworkParams(Strict):
    """`framework_settings`: supporting frameworks (DFFT-like)."""

    join_rate: Unit = 0.1
    join_threshold: Unit = 0.7
    weight_gain: NonNeg = 0.5
    founder_credit: NonNeg = 0.05


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
def membership_step(
    w: World, params: MembershipParams, rng: np.random.Generator, log: EventLog, step: int
) -> None:
    """Endogenous joins of open forums by closeness (reads texts, positions, eligibility)."""
    if params.join_rate == 0.0 or not w.forum_openness.any():
        return
    open_f = w.active & (w.forum_openness > 0)
    if not open_f.any():
        return
    close = 1.0 - w.dist_text_pos().T  # [N, F]
    cand = (~w.members) & open_f[None, :] & w.eligible.T & (close >= params.join_threshold)
    if not cand.any():
        return
    u = rng.random(cand.shape)
    joins = cand & (u < params.join_rate * w.forum_openness[None, :])
    if joins.any():
        w.members |= joins
        w.changes.joined(np.flatnonzero(joins.any(axis=1)))
        for i, f in zip(*np.nonzero(joins), strict=True):
            log.add(step, "join", w.names[i], w.forum_names[f], "endogenous")


def create(w: World, forum: int, log: EventLog, step: int) -> None:
    """A forum founded at a date (GPAI 2020, the Friends Group 2024) opens."""
    w.activate_forum(forum)
    log.add(step, "forum_created", forum=w.forum_names[forum])


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
def launch_framework(w: World, fw: int, log: EventLog, step: int) -> None:
    """The founder launches a supporting framework (DFFT at Davos, January 2019)."""
    w.fw_launched[fw] = True
    w.fw_members[fw, w.fw_founder[fw]] = True
    log.add(
        step, "framework_launched", w.names[w.fw_founder[fw]], w.forum_names[w.fw_forum[fw]], w.fw_names[fw]
    )


def framework_step(
    w: World,
    params: FrameworkParams,
    baseline_engagement: float,
    size: Array,
    gains: Array,
    credit: int,
    rng: np.random.Generator,
    log: EventLog,
    step: int,
) -> None:
    """Joining launched frameworks; founders credited; host forums' weights follow."""
    live = np.flatnonzero(w.fw_launched)
    if live.size == 0:
        return
    close = 1.0 - cross_distance(w.fw_text[live], w.pos)  # [K, N]
    drive = baseline_engagement + w.engagement[w.fw_founder[live], w.fw_forum[live]]
    prob = params.join_rate * np.minimum(1.0, drive)[:, None]
    cand = ~w.fw_members[live] & (close >= params.join_threshold)
    joins = cand & (rng.random(cand.shape) < prob) if cand.any() else cand
    if joins.any():
        w.fw_members[live] |= joins
        for r, i in zip(*np.nonzero(joins), strict=True):
            k = live[r]
            founder = w.fw_founder[k]
            gains[founder, credit] += params.founder_credit * size[i]
            log.add(step, "framework_join", w.names[i], w.forum_names[w.fw_forum[k]], w.fw_names[k])
    shares = w.fw_members[live].mean(axis=1)
    w.weight[:] = w.weight0
    np.add.at(w.weight, w.fw_forum[live], w.weight0[w.fw_forum[live]] * params.weight_gain * shares)
