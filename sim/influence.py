"""Discourse power (话语权) as a stock, what it is worth to move someone, and the indicators
derived from it (MODEL.md section 6).

    influence_i(t) = (1 - decay) * influence_i(t-1) + gains_i(t) + reputation_weight * reputation_i(t)

(per step: `decay` is the share lost per year and `reputation_weight` the influence a unit of
reputation earns per year, both converted to a step)

gains_i: the movement state i's own actions caused this step in forum texts and in other
states' positions (see `sim.engine.pulls`), valued by `target_size` (a state: its market
relative to the mean) and `text_value` (a forum text: its weight x the total size of the
members it binds), plus framework joiners and Brussels-effect adopters. reputation_i: a
running mean (weight `reputation_memory` per year) of the state's forum-weighted engagement in
its forums, the "active actor" image that keeps it from being seen as a free rider (seed 000,
section 3.1). A state's voice weighs by its `clout`, (resource share / mean share) ** clout
(seed 002 section 2: resource control and market size as power sources).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field

from sim.engine.ledger import Ledger
from sim.engine.types import Array, BoolArray, IntArray
from sim.fields import NonNeg, Strict, YearRate, YearShare, about


class InfluenceParams(Strict):
    """`influence`: the stock, its value, reputation, followers, the domestic anchor (rates per
    year)."""

    decay: YearShare = Field(
        0.185,
        description="Share of the influence stock (discourse power) lost per year without renewal.",
        json_schema_extra=about("share per year", "assumption (halves in about 3.5 years)"),
    )
    clout: Annotated[float, Field(ge=0.0, le=2.0)] = Field(
        0.5,
        description="Exponent on a state's relative resource share in its agenda weight and the appeal of "
        "its practice: clout = (N x resource share) ^ clout.",
        json_schema_extra=about("exponent", "s002 2 (resources as power); size assumption"),
    )
    reputation_weight: YearRate = Field(
        0.04,
        description="Influence earned per unit of reputation (the image of an active actor rather than a "
        "free rider), times the state's clout.",
        json_schema_extra=about("per year (influence per unit of reputation)", "s000 3.1; size assumption"),
    )
    reputation_memory: YearShare = Field(
        0.344,
        description="Weight per year of current forum-weighted engagement in the reputation running mean.",
        json_schema_extra=about("share per year", "assumption"),
    )
    follow_threshold: NonNeg = Field(
        0.01,
        description="Movement of a state's position caused by another's practice, accumulated, needed for "
        "it to count as that state's follower.",
        json_schema_extra=about("distance (accumulated movement)", "assumption"),
    )
    anchoring: YearRate = Field(
        0.08,
        description="Pull of each state's home position on its current position (domestic politics).",
        json_schema_extra=about("per year", "assumption"),
    )
    domestic: NonNeg = Field(
        1.0,
        description="Weight of the home position against the outside pulls on a state, per unit of "
        "(1 - openness) / openness: positions stay apart rather than converge (0: off).",
        json_schema_extra=about(
            "multiplier", "MODEL.md s.9 (domestic anchor); s002 (a polarised contest); assumption: size"
        ),
    )
    standing: NonNeg = Field(
        0.5,
        description="Largest extra weight accumulated influence lends to a state's drafts and agenda "
        "weight (bounded, with diminishing returns; 0: off).",
        json_schema_extra=about(
            "multiplier (largest extra)", "MODEL.md s.9 (discourse power is power); assumption: size"
        ),
    )


# ----------------------------------------------------------------------------- valuation
def target_size(market: Array) -> Array:
    """Weight of a state as a target of influence: market size relative to the mean."""
    return market / market.mean()


def text_value(weight: Array, size: Array, live: BoolArray) -> Array:
    """Weight of a forum text as a target: forum weight x total size of its members."""
    return weight * (size @ live)


def resource_share(res: Array) -> Array:
    """[..., N] mean over the three resources of each state's share of the world's total."""
    return (res / res.sum(axis=-2, keepdims=True)).mean(axis=-1)


def standing(influence: Array, weight: float) -> Array:
    """Discourse power is power (MODEL.md s.9): the weight a state's accumulated influence adds
    to its drafts and its agenda weight, 1 + weight * x / (1 + x) with x = the state's influence
    relative to the mean: bounded by 1 + weight, with diminishing returns; `standing: 0` off."""
    n = influence.shape[0]
    total = influence.sum()
    if weight == 0.0 or total <= 0:
        return np.ones(n)
    x = influence * n / total
    out: Array = 1.0 + weight * x / (1.0 + x)
    return out


def domestic_weight(openness: Array, weight: float) -> Array:
    """How much a state's own constituency weighs against the world when its position moves:
    k = weight * (1 - openness) / openness (openness floored at 0.01): the home position's pull
    is k times the sum of outside pulls, so a position settles k / (k + 1) of the way from where
    outside pulls would take it back to home (MODEL.md s.9: polarised, not converging)."""
    out: Array = weight * (1.0 - openness) / np.maximum(openness, 0.01)
    return out


def clout(res: Array, exponent: float) -> Array:
    """Weight of a state's voice from its power base: (resource share / mean share) ** exponent;
    exponent 0 switches it off."""
    n = res.shape[0]
    if exponent == 0.0:
        return np.ones(n)
    return (resource_share(res) * n) ** exponent


# ----------------------------------------------------------------------------- the stock
def update(
    influence: Array,
    reputation: Array,
    ledger: Ledger,
    live: BoolArray,
    weight: Array,
    engagement: Array,
    clout: Array,
    params: InfluenceParams,
) -> Array:
    """Reputation, decay and this step's credit; returns each state's total gain this step
    (the ledger's entries for the step, reputation included, add up to it). Reputation earns
    through the state's voice: reputation_weight * reputation * clout."""
    n = influence.shape[0]
    wm = live * weight
    denom = wm.sum(axis=1)
    activity = np.divide((wm * engagement).sum(axis=1), denom, out=np.zeros(n), where=denom > 0)
    reputation += params.reputation_memory * (activity - reputation)
    earned = params.reputation_weight * reputation * clout
    ledger.add(None, "reputation", np.arange(n), earned)
    total = ledger.gains.sum(axis=1) + earned
    influence *= 1.0 - params.decay
    influence += total
    return total


# ----------------------------------------------------------------------------- indicators
def followers(received: Array, threshold: float) -> IntArray:
    """How many states emulate each state: a state follows the sharer whose practice has
    moved its position most, once that cumulative pull exceeds `follow_threshold`."""
    n = received.shape[0]
    top = received.argmax(axis=1)
    has = received[np.arange(n), top] > threshold
    return np.bincount(top[has], minlength=n)


def leaders(received: Array, threshold: float) -> tuple[IntArray, IntArray, Array]:
    """The emulation network: (followers, the leader each follows, the pull received)."""
    n = received.shape[0]
    top = received.argmax(axis=1)
    pull = received[np.arange(n), top]
    keep = pull > threshold
    return np.flatnonzero(keep), top[keep], pull[keep]


def indicators(
    influence: Array, res: Array, pos: Array, text: Array, weight: Array, active: BoolArray
) -> dict[str, Array]:
    """[T, N] series from the recorded stocks, in one vectorised pass: influence share,
    resource share, punching ratio (influence share / resource share) and rule alignment
    (the forum-weight-averaged similarity, 1 - distance, of a state's position to the active
    forums' texts)."""
    n, d = influence.shape[1], pos.shape[-1]
    total = influence.sum(axis=1, keepdims=True)
    share = np.divide(influence, total, out=np.full_like(influence, 1.0 / n), where=total > 0)
    rshare = resource_share(res)
    sq = (
        np.einsum("tnd,tnd->tn", pos, pos)[:, :, None]
        + np.einsum("tfd,tfd->tf", text, text)[:, None, :]
        - 2.0 * np.einsum("tnd,tfd->tnf", pos, text)
    )  # [T, N, F] squared distances
    sim = 1.0 - np.sqrt(np.maximum(sq, 0.0) / d)
    wt = weight * active
    wsum = wt.sum(axis=1)
    with np.errstate(all="ignore"):
        align = np.einsum("tnf,tf->tn", sim, wt) / wsum[:, None]
    return {
        "influence": influence,
        "influence_share": share,
        "resource_share": rshare,
        "punching_ratio": share / rshare,
        "rule_alignment": np.where(wsum[:, None] > 0, align, np.nan),
    }


def herfindahl(shares: Array) -> Array:
    """Concentration of influence, sum of squared shares, over the last axis."""
    return np.square(shares).sum(axis=-1)


def stock_by_source(gains: Array, decay_step: float) -> Array:
    """[T, N, S] the influence stock told apart by source: each source's gains, decayed as the
    stock decays, stock_s(k) = (1 - decay) * stock_s(k - 1) + gain_s(k); summed over sources it
    is the influence stock (`gains`: the ledger's totals by step, state and source)."""
    out = np.zeros_like(gains)
    for k in range(gains.shape[0]):
        out[k] = gains[k] if k == 0 else (1.0 - decay_step) * out[k - 1] + gains[k]
    return out
