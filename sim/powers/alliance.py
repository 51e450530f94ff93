"""Structural technology power: government-industry alliances (seed 002, section 4.3).

An alliance (Frontier Model Forum, AI Alliance, PGIAI) offers partners compute and API
access: in the stack the hub gains `offer` in the partners' base (compute) and technical
(api) utility, and partners' switching away from the hub is slowed by `lock_in`, so their
dependence on the hub rises and, through the dependence pull, their governance positions
drift toward the hub's (the centre-periphery structure). With `open_call`, any state may
join each step with probability 1 - exp(-join_rate * legitimacy / steps_per_year)
(join_rate per year), legitimacy = the hub's discourse capacity * closeness to the hub: an
alliance with little discourse behind it attracts fewer partners (seed 002: the
partnership's inclusive, rights-respecting rhetoric is what legitimises it). `admission`
limits who may join to states whose position is at least `threshold` close to the hub's
position at launch on the named value `dimensions` (closeness 1 - RMS distance on them; the
alliance's charter, as for a forum's `values` rule), so an alliance built on the hub's
values (seed 002 line 360: PGIAI's inclusiveness, human rights and digital solidarity) does
not recruit states that reject them. Chosen as an action, it starts the alliance, or once
running, runs a recruitment drive at `act_boost` times the join rate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.engine.geometry import distance
from sim.engine.types import Array
from sim.errors import unknown
from sim.fields import Name, NonNeg, Strict, Unit, YearRate, about, share
from sim.powers.lever import Lever, LeverSpec, LeverType, Loc, Names, PowerContext
from sim.powers.stack import LAYER_NAMES, StackInputs

_OFFER: dict[Literal["compute", "api"], float] = {"compute": 0.5, "api": 0.5}


class AllianceAdmission(Strict):
    """`admission:` who an alliance's open call may recruit: states at least `threshold` close to
    the hub's position at launch on `dimensions` (empty: all)."""

    dimensions: list[Name] = Field(
        default_factory=list,
        description="Value dimensions of the alliance's charter compared (empty: all).",
        json_schema_extra=about(source="s002 line 360"),
    )
    threshold: Unit = Field(
        0.8,
        description="Closeness to the hub's position at launch on those dimensions (1 - RMS distance) a "
        "state needs to join.",
        json_schema_extra=about("closeness 0-1", "assumption"),
    )


class AllianceSpec(LeverSpec):
    """Structural power (`type: alliance`): a hub offers partners compute and API access, locking
    them in; their dependence draws their positions toward the hub's."""

    type: Literal["alliance"] = Field(description="`alliance`: structural technology power.")
    hub: Name = Field(description="The state at the centre of the alliance (its wielder).")
    partners: list[Name] = Field(
        default_factory=list,
        description="Partner states from the start (give partners, `open_call`, or both).",
    )
    open_call: bool = Field(
        False,
        description="Whether any state may join (at `join_rate` times legitimacy: the hub's discourse "
        "capacity x closeness to the hub).",
        json_schema_extra=about(source="s002 4.3 (PGIAI)"),
    )
    offer: dict[Literal["compute", "api"], Unit] = Field(
        default_factory=lambda: dict(_OFFER),
        description="Compute (base layer) and API access (technical layer) offered to partners, as a share "
        "of a full offer (`stack.offer` utility).",
        json_schema_extra=about(
            "share 0-1 of a full offer", "s002 4.3 (free cloud, API credits); size assumption"
        ),
    )
    lock_in: Unit = Field(
        0.3,
        description="Extra lock-in of partners on the hub: slows their switching away from it.",
        json_schema_extra=about("share 0-1", "s002 4.3; size assumption"),
    )
    join_rate: YearRate = Field(
        0.8,
        description="Open-call joining hazard, times legitimacy (the hub's discourse capacity x closeness "
        "to the hub).",
        json_schema_extra=about("per year (x legitimacy)", "assumption"),
    )
    act_boost: NonNeg = Field(
        2.0,
        description="Join-rate multiplier of a recruitment drive (the hub chooses the alliance as its "
        "action).",
        json_schema_extra=about("multiplier", "assumption"),
    )
    admission: AllianceAdmission | None = Field(
        None,
        description="Whom an open call may recruit: states close to the hub's position at launch on the "
        "charter's value dimensions (default: anyone).",
        json_schema_extra=about(source="s002 line 360; threshold assumption"),
    )
    note: str = Field("", description="Free text: what the alliance is and its source.")

    role: ClassVar[str] = "hub"
    state_lists: ClassVar[tuple[str, ...]] = ("partners",)

    def check(self, names: Names) -> Iterator[tuple[Loc, str]]:
        yield from super().check(names)
        if not self.partners and not self.open_call:
            yield (), "an alliance needs partners or open_call: true"
        for j, dim in enumerate(self.admission.dimensions if self.admission else []):
            if dim not in names.norms:
                yield ("admission", "dimensions", j), unknown("norm dimension", dim, names.norms)


class Alliance(Lever[AllianceSpec]):
    draws = 2  # open-call recruits; a recruitment drive

    def setup(self, ctx: PowerContext) -> None:
        w = ctx.world
        self.hub = w.index[self.spec.hub]
        self.members = np.zeros(w.N, dtype=bool)
        self.listed = np.array([w.index[p] for p in self.spec.partners], dtype=np.int64)
        adm = self.spec.admission
        self.dims = np.zeros(len(w.norms), dtype=bool)
        if adm is not None:
            self.dims[[w.norms.index(d) for d in adm.dimensions]] = True
            if not self.dims.any():
                self.dims[:] = True
        self.charter = w.pos[self.hub].copy()  # the hub's position at launch (set on start)

    def on_start(self, ctx: PowerContext) -> None:
        self.charter = ctx.world.pos[self.hub].copy()
        self.members[self.listed] = True
        n = int(self.members.sum())
        ctx.log.add(ctx.step, "alliance", self.spec.hub, "", f"{self.label}: {n} partners")

    def _recruit(self, ctx: PowerContext, u: Array, boost: float = 1.0) -> None:
        w = ctx.world
        legit = w.cap[self.hub, 2] * (1.0 - distance(w.pos, w.pos[self.hub][None, :]))
        cand = ~self.members
        cand[self.hub] = False
        if self.spec.admission is not None:
            diff = w.pos[:, self.dims] - self.charter[self.dims]
            cand &= 1.0 - np.sqrt(np.square(diff).mean(axis=1)) >= self.spec.admission.threshold
        joins = cand & (u < share(self.per_step.join_rate * boost * legit))
        for i in np.flatnonzero(joins):
            self.members[i] = True
            ctx.log.add(ctx.step, "alliance_join", w.names[i], "", self.label)

    def on_effects(self, ctx: PowerContext) -> None:
        if self.spec.open_call and self.active:
            self._recruit(ctx, self.u[0])

    def on_stack(self, ctx: PowerContext, inputs: StackInputs) -> None:
        if not self.active:
            return
        p = np.flatnonzero(self.members)
        weight = inputs.offer_weight
        inputs.offer[0, p, self.hub] += weight * self.spec.offer.get("compute", 0.0)
        inputs.offer[1, p, self.hub] += weight * self.spec.offer.get("api", 0.0)
        inputs.lock[:, p, self.hub] += self.spec.lock_in

    def act(self, ctx: PowerContext) -> None:
        if self.active:
            self._recruit(ctx, self.u[1], boost=self.spec.act_boost)
        else:
            self.start_now(ctx)

    def outputs(self, ctx: PowerContext) -> dict[str, float]:
        w = ctx.world
        p = np.flatnonzero(self.members)
        out = {"partners": float(p.size)}
        for li, layer in enumerate(LAYER_NAMES):
            dep = w.dependence[li, p, self.hub]
            out[f"partner_dependence_{layer}"] = float(dep.mean()) if p.size else np.nan
        if p.size:
            out["partner_closeness_to_hub"] = float(1.0 - distance(w.pos[p], w.pos[self.hub][None, :]).mean())
        return out


LEVER = LeverType(AllianceSpec, Alliance)
