"""The AI stack: who supplies whom, layer by layer, and what that dependence does.

Layers (seed 002, section 4.1): `base` (chips and compute), `technical` (models),
`application`. dependence[l, i, j] is the share of state i's layer-l supply that comes
from state j (rows sum to 1). Each step buyers move part of the way toward the shares a
logit choice gives:

    U[l,i,j] = performance * log(supply[l,j] * access[l,i,j])
               - price * price[l,j] * (1 - open_discount * open[l,j])
               + trust * (1 - dist(pos_i, pos_j)) + home * [i == j]
               + installed * (1 + lock[l,i,j]) * dependence[l,i,j] + local * local[l,i,j]
               + offer * alliance_offer[l,i,j]
    dependence <- dependence + rate_i * (softmax_j U - dependence),
    rate_i = 1 - exp(-switch_rate / steps_per_year * (1 - lock_in * max_j closed[l,i,j])),
    closed[l,i,j] = dependence[l,i,j] * (1 - open[l,j]).

Performance is the supplier's capacity (the scenario's `stack.supply`, growing with its
compute, algorithms or market); price gives low-cost open models their edge (s001: Qwen,
DeepSeek); trust is closeness of governance positions; the installed base gives increasing
returns and, through the slower switching of concentrated buyers, lock-in (s002 2.2, 4.3:
network effects and dependence on one model). Open weights (`open`, the open-weight share of a
supplier's offer in a layer: Qwen, DeepSeek, Llama) make a model cheap to adopt (no licence:
`open_discount` of its price) and cheap to leave (a buyer concentrated on an open supplier is
not locked in), s001 line 2 and s002 lines 424-446. `access` < 1 where export controls cut a
supplier off, `offer` > 0 where an alliance offers compute or API access, `local` where
co-creation builds local-language models (`StackInputs`, set by the levers each step).
Dependence pulls a buyer's governance position toward its suppliers' (the centre-periphery
structure of s002 4.3) with coefficient position_pull * sum_l layer_weight[l] *
dependence[l, i, j] per year, credited to the supplier as structural power (`alliance` gain).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from sim.engine.geometry import cross_distance
from sim.engine.pulls import Pulls
from sim.engine.types import Array, BoolArray, IntArray
from sim.fields import NonNeg, Strict, Unit, YearRate, about, per_step, share

LAYER_NAMES: tuple[LayerName, LayerName, LayerName] = ("base", "technical", "application")
CHANNEL = "dependence"  # the position-pull channel of dependence
CREDITED_TO = "alliance"  # structural power

LayerName = Literal["base", "technical", "application"]
_LAYER_WEIGHT: dict[LayerName, float] = {"base": 0.2, "technical": 0.5, "application": 0.3}


class StackSettings(Strict):
    """`stack`: buyers' logit choice of suppliers per layer (base, technical, application);
    rates per year."""

    enabled: bool = Field(True, description="Switch the stack on or off.")
    performance: NonNeg = Field(
        1.0,
        description="Weight of the log of a supplier's capacity in buyers' choice.",
        json_schema_extra=about("logit utility weight", "s002 4.1 (resource control); size assumption"),
    )
    price: NonNeg = Field(
        1.0,
        description="Weight of a supplier's price (open models' cost edge).",
        json_schema_extra=about("logit utility weight", "s001; size assumption"),
    )
    trust: NonNeg = Field(
        2.0,
        description="Weight of the closeness of buyer's and supplier's governance positions.",
        json_schema_extra=about("logit utility weight", "s002 4.1.2 (politicised AI); size assumption"),
    )
    home: NonNeg = Field(
        1.0,
        description="Home bias: utility of supplying oneself.",
        json_schema_extra=about("logit utility", "assumption"),
    )
    installed: NonNeg = Field(
        2.0,
        description="Increasing returns to the installed base: weight of a buyer's current share from a "
        "supplier.",
        json_schema_extra=about("logit utility weight", "s002 2.2 (network effects); size assumption"),
    )
    local: NonNeg = Field(
        1.0,
        description="Weight of local support (co-creation's local-language models).",
        json_schema_extra=about("logit utility weight", "s001; size assumption"),
    )
    offer: NonNeg = Field(
        3.0,
        description="Utility of a full alliance offer of compute or API access.",
        json_schema_extra=about("logit utility", "s002 4.3; size assumption"),
    )
    switch_rate: YearRate = Field(
        0.42,
        description="Hazard of a buyer closing the gap to its preferred mix of suppliers, times (1 - lock_in "
        "x its concentration on closed suppliers).",
        json_schema_extra=about("per year", "assumption (a tenth a quarter)"),
    )
    lock_in: Unit = Field(
        0.5,
        description="Slowing of switching by a buyer's concentration on one closed supplier.",
        json_schema_extra=about("share 0-1", "s002 4.3 (lock-in); size assumption"),
    )
    position_pull: YearRate = Field(
        0.08,
        description="Pull of suppliers on their buyers' governance positions, times the layer-weighted "
        "dependence; credited to the supplier as structural power.",
        json_schema_extra=about("per year", "s002 4.3 (centre-periphery); size assumption"),
    )
    open_discount: Unit = Field(
        0.5,
        description="Share of an open-weight supplier's price a buyer does not pay (no licence).",
        json_schema_extra=about(
            "share 0-1", "s001 line 2, s002 line 424 (open models win on cost); size assumption"
        ),
    )
    layer_weight: dict[LayerName, NonNeg] = Field(
        default_factory=lambda: dict(_LAYER_WEIGHT),
        description="Weights of the base, technical and application layers in the dependence pull on "
        "positions.",
        json_schema_extra=about("relative weight", "assumption"),
    )


class StateStack(Strict):
    """A state's offer as a supplier of each layer (relative units; 0: not a supplier), its
    price, and the open-weight share of its offer."""

    supply: dict[LayerName, NonNeg] = Field(
        default_factory=dict,
        description="Capacity as a supplier of each layer (base, technical, application; 0: not a "
        "supplier); default: the state's compute, algorithms and market. It grows with that driver.",
        json_schema_extra=about(
            "relative units (the baseline: share of the world's supply, in percent)", "s002 4.1, s001"
        ),
    )
    price: dict[LayerName, NonNeg] = Field(
        default_factory=dict,
        description="Price of the state's offer in each layer (default 1).",
        json_schema_extra=about("relative units", "s002 4.1, s001"),
    )
    open: dict[LayerName, Unit] = Field(
        default_factory=dict,
        description="Open-weight share of the state's offer in each layer (default 0): open models are cheap "
        "to adopt (no licence) and cheap to leave (no lock-in).",
        json_schema_extra=about("share 0-1", "s001 line 2 and s002 lines 424-446"),
    )


@dataclass
class StackInputs:
    """What the levers set each step, [l, buyer, supplier]: access (export controls cut it),
    offers and lock-in (alliances), local support (co-creation)."""

    access: Array
    offer: Array
    lock: Array
    local: Array
    offer_weight: float  # utility of a full alliance offer, in logit units

    def reset(self) -> None:
        self.access.fill(1.0)
        self.offer.fill(0.0)
        self.lock.fill(0.0)
        self.local.fill(0.0)


class Stack:
    """The stack's state: supply capacities and prices per layer and supplier, and the
    buyers' dependence (the world's array), which it updates."""

    def __init__(
        self,
        settings: StackSettings,
        supply0: Array,
        price: Array,
        open_share: Array,
        res: Array,
        market: Array,
        pos: Array,
        dependence: Array,
        given: BoolArray,
        steps_per_year: int,
    ) -> None:
        """`supply0`, `price`, `open_share`: [3, N] from the scenario; `given`: [N] whether a
        state's dependence was given (the others start from the logit shares). `settings`
        are per year; the stack converts them for a step of 1 / steps_per_year."""
        self.s = per_step(settings, steps_per_year)
        self.res, self.market, self.pos, self.dependence = res, market, pos, dependence
        n = market.shape[0]
        self.supply0 = supply0
        self.price = price
        self.open = open_share
        self.driver0 = np.stack([res[:, 0], res[:, 2], market]).copy()
        self.inputs = StackInputs(
            np.ones((3, n, n)), np.zeros((3, n, n)), np.zeros((3, n, n)), np.zeros((3, n, n)), settings.offer
        )
        self.layer_weight = np.array([settings.layer_weight.get(x, 0.0) for x in LAYER_NAMES])
        self.home_bias = self.s.home * np.eye(n)[None, :, :]  # the home-supplier term of the utility
        target = self.target_shares(with_installed=False)
        dependence[:, ~given, :] = target[:, ~given, :]

    def current_driver(self) -> Array:
        return np.stack([self.res[:, 0], self.res[:, 2], self.market])

    def supply(self) -> Array:
        """[L, N] supply capacity now: the scenario's figure grown with compute (base),
        algorithms (technical) or market (application)."""
        return self.supply0 * self.current_driver() / self.driver0

    def set_supply(self, layer: int, state: int, value: float) -> None:
        """A new capacity in today's units (rebased on the current driver)."""
        self.supply0[layer, state] = value * self.driver0[layer, state] / self.current_driver()[layer, state]

    def set_price(self, layer: int, state: int, value: float) -> None:
        self.price[layer, state] = value

    def set_open(self, layer: int, state: int, value: float) -> None:
        self.open[layer, state] = value

    def target_shares(self, with_installed: bool = True) -> Array:
        s, inp = self.s, self.inputs
        sup = self.supply()[:, None, :] * inp.access  # [L, i, j]
        with np.errstate(divide="ignore"):
            u = s.performance * np.log(sup)
        u = u - s.price * (self.price * (1.0 - s.open_discount * self.open))[:, None, :]
        u = u + s.trust * (1.0 - cross_distance(self.pos, self.pos))[None, :, :]
        u = u + self.home_bias
        u = u + s.local * inp.local + inp.offer
        if with_installed:
            u = u + s.installed * (1.0 + inp.lock) * self.dependence
        top = u.max(axis=2, keepdims=True)
        e = np.exp(u - np.where(np.isfinite(top), top, 0.0))
        total = e.sum(axis=2, keepdims=True)
        # a buyer with no available supplier at all keeps the suppliers it has
        return np.where(total > 0, e / np.where(total > 0, total, 1.0), self.dependence)

    def step(self) -> None:
        """Buyers adjust their suppliers."""
        s, dep = self.s, self.dependence
        target = self.target_shares()
        closed = (dep * (1.0 - self.open[:, None, :])).max(
            axis=2, keepdims=True
        )  # lock-in to closed suppliers
        rate = share(s.switch_rate * (1.0 - s.lock_in * closed))
        dep += rate * (target - dep)
        dep /= dep.sum(axis=2, keepdims=True)

    def add_pulls(self, pulls: Pulls) -> None:
        """Dependence pulls buyers' positions toward their suppliers."""
        if self.s.position_pull == 0.0:
            return
        coef = self.s.position_pull * np.einsum("l,lij->ij", self.layer_weight, self.dependence)
        np.fill_diagonal(coef, 0.0)
        suppliers = np.flatnonzero(coef.max(axis=0) > 1e-9)
        if suppliers.size:
            pulls.add_pos(CHANNEL, suppliers, coef[:, suppliers])

    def ecosystem_share(self, buyers: IntArray, layer: int = 1) -> Array:
        """[N] mean share of each supplier in the buyers' layer (default: technical) supply."""
        return self.dependence[layer, buyers, :].mean(axis=0)
