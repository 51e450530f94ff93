"""Practice sharing (seed 000, section 2.3 实践共享).

A sharing state exports its domestic governance practice (Japan's soft-law, agile
governance; its AI Safety Institute; talent training with ASEAN) to the states it is tied
to: partners (aid, talent-training), its region, and fellow members of club forums
(tie = comember_tie * min(1, sum of (1 - inclusiveness) over shared forums): universal
forums bind less, and shared clubs add up). Each target j's own position is pulled toward
the sharer i's with coefficient

    c_ij = share_rate / steps_per_year * quality_i * fit_ij * openness_j * tie_ij * synergy_i,
    quality_i = (standards_i + regulatory_i) / 2 * clout_i,
    fit_ij = 1 + soft_fit * soft_law_i * (1 - regulatory_j),

so soft-law practice appeals most to states with little regulatory capacity of their own.
The movement is credited to the sharer as `practice` gain, and tracked per pair (the
emulation network: who follows whom). Sharing is also capacity building: it raises the
targets' openness to outside practice (by 1 - exp(-capacity_building * reach / steps_per_year)
of the gap to 1, each step), which relaxes back toward its base level by `openness_relax` of
the gap per year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from sim.engine.geometry import cross_distance
from sim.engine.pulls import Pulls
from sim.engine.types import Array, BoolArray, IntArray
from sim.engine.world import Changes
from sim.fields import NonNeg, Strict, Unit, YearRate, YearShare, about, share

NAME = "practice"
COL = 2  # column in the synergy multipliers
CHANNEL = "practice"  # the position-pull channel of shared practice, credited to this path
CREDITED_TO = NAME


class PracticeParams(Strict):
    """`paths.practice`: sharing, its reach (ties) and capacity building (rates per year)."""

    share_rate: YearRate = Field(
        0.2,
        description="Base pull of shared practice on a tied state's position, before the sharer's "
        "quality and clout, the fit, the target's openness, the tie and synergy multiply it.",
        json_schema_extra=about("per year", "assumption"),
    )
    soft_fit: NonNeg = Field(
        1.0,
        description="Extra appeal of soft-law practice to targets with little regulatory capacity: "
        "fit = 1 + soft_fit x sharer's soft_law x (1 - target's regulatory capacity).",
        json_schema_extra=about("multiplier", "s000 2.3.1; size assumption"),
    )
    capacity_building: YearRate = Field(
        0.08,
        description="Openness gained by the targets of sharing (talent training): hazard of closing their "
        "gap to full openness, times their reach by sharers.",
        json_schema_extra=about("per year (x reach)", "s000 2.3.2; size assumption"),
    )
    openness_relax: YearShare = Field(
        0.078,
        description="Share of the gap between raised openness and its base level closed per year.",
        json_schema_extra=about("share per year", "assumption"),
    )
    partner_tie: Unit = Field(
        1.0,
        description="Tie of a sharer to its partners (`states[].partners`).",
        json_schema_extra=about("tie 0-1", "assumption"),
    )
    region_tie: Unit = Field(
        0.5,
        description="Tie of a sharer to the states of its region.",
        json_schema_extra=about("tie 0-1", "assumption"),
    )
    comember_tie: Unit = Field(
        0.25,
        description="Tie through club forums: comember_tie x the sum over shared active forums of "
        "(1 - inclusiveness), at most comember_tie.",
        json_schema_extra=about("tie 0-1", "assumption"),
    )


class Ties:
    """tie[j, i]: the reach of i's practice to j (symmetric, 0 on the diagonal).

    Kept between steps and brought up to date from the world's change record: partners
    (static), shared region (static), and co-membership of active club forums."""

    def __init__(
        self,
        params: PracticeParams,
        partners: BoolArray,
        region: IntArray,
        region_names: list[str],
        members: BoolArray,
        active: BoolArray,
        inclusiveness: Array,
        changes: Changes,
    ) -> None:
        self.p = params
        self.partners, self.region, self.region_names = partners, region, region_names
        self.members, self.active, self.inclusiveness = members, active, inclusiveness
        self.changes = changes
        n = partners.shape[0]
        self.matrix = np.zeros((n, n))
        self.static: Array | None = None

    def current(self) -> Array:
        """The up-to-date tie matrix."""
        ch = self.changes
        if ch.partners:
            self.static = None
            ch.forums = True
            ch.partners = False
        if ch.forums or ch.rows:
            self._refresh()
        return self.matrix

    def _refresh(self) -> None:
        p, ch = self.p, self.changes
        if self.static is None:
            has_region = np.array([bool(r) for r in self.region_names])[self.region]
            same_region = (self.region[:, None] == self.region[None, :]) & has_region[:, None]
            self.static = np.maximum(p.partner_tie * self.partners, p.region_tie * same_region)
        club = (1.0 - self.inclusiveness) * self.active
        m = self.members.astype(float)
        if ch.forums:
            comember = (m * (p.comember_tie * club)) @ m.T
            np.minimum(comember, p.comember_tie, out=comember)
            t = np.maximum(self.static, comember, out=comember)
            np.fill_diagonal(t, 0.0)
            self.matrix = t
        elif ch.rows:
            rows = np.fromiter(sorted(ch.rows), dtype=np.int64)
            part = np.minimum((m[rows] * (p.comember_tie * club)) @ m.T, p.comember_tie)
            part = np.maximum(self.static[rows], part)
            part[np.arange(rows.size), rows] = 0.0
            self.matrix[rows] = part
            self.matrix[:, rows] = part.T
        ch.forums = False
        ch.rows.clear()


@dataclass
class Sharing:
    """What practice sharing reads and writes in one step."""

    params: PracticeParams
    ties: Ties
    pos: Array  # [N, D]
    cap: Array  # [N, 3] standards, regulatory, discourse capacity
    soft: Array  # [N] soft-law character of each state's practice
    openness: Array  # [N], written (capacity building)
    size: Array  # [N] value of moving each state
    clout: Array  # [N]
    syn: Array  # [N] this path's synergy multiplier
    pulls: Pulls


def _per_sharer(v: Sharing, idx: IntArray) -> Array:
    quality = 0.5 * (v.cap[idx, 0] + v.cap[idx, 1]) * v.clout[idx]
    return v.params.share_rate * quality * v.syn[idx]


def coefficients(v: Sharing, idx: IntArray) -> Array:
    """[N targets, n sharers] pull coefficients."""
    p = v.params
    fit = 1.0 + p.soft_fit * v.soft[idx][None, :] * (1.0 - v.cap[:, 1])[:, None]
    ties = np.take(v.ties.current(), idx, axis=1)  # = [:, idx], about twice as fast on a big world
    return fit * ties * (_per_sharer(v, idx)[None, :] * v.openness[:, None])


def apply(v: Sharing, idx: IntArray) -> None:
    p = v.params
    coef = coefficients(v, idx)
    v.pulls.add_pos(CHANNEL, idx, coef)
    if p.capacity_building > 0:
        reach = np.minimum(1.0, np.take(v.ties.matrix, idx, axis=1).sum(axis=1))
        v.openness += share(p.capacity_building * reach) * (1.0 - v.openness)


def relax_openness(openness: Array, openness0: Array, params: PracticeParams) -> None:
    """Openness raised by capacity building relaxes toward its base level."""
    openness += params.openness_relax * (openness0 - openness)


def potential(v: Sharing, idx: IntArray) -> Array:
    """Expected gain of sharing now: the size-weighted movement of every tied state.

    sum_j size_j * openness_j * tie_ji * dist_ji * (1 + soft_fit * soft_i * (1 - reg_j)),
    times the sharer's own factor; computed as two matrix-vector products."""
    p = v.params
    td = np.take(v.ties.current(), idx, axis=1) * cross_distance(v.pos, v.pos[idx])
    a = v.size * v.openness
    plain = a @ td
    soft = (a * (1.0 - v.cap[:, 1])) @ td
    return _per_sharer(v, idx) * (plain + p.soft_fit * v.soft[idx] * soft)
