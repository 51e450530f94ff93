"""Co-creation: Japan's "third way" in Southeast Asia (seed 001; s000 2.3.2).

From its start, a sponsor's co-creation initiative with `partners` works through four
pillars (seed 001: co-created AI solutions; institutions and governance support, through
the Hiroshima Process Friends Group; talent and capacity building; local-language models
and data):
- solutions: the partners become the sponsor's practice-sharing partners (full ties);
- institutions: partners' positions are pulled toward the sponsor's at a rate per year of
  rate * institutions * openness (credited as `cocreation` gain); with `forum`, partners join
  that forum;
- talent: partners' base openness rises toward 1 at a rate per year of rate * talent;
- local_models: the sponsor gains `local` utility in partners' technical and application
  layers, scaled by the strength of its own foundation models (its technical supply
  relative to the strongest supplier's): weak models limit the ecosystem share it wins.
Chosen as an action, it starts the initiative, or once running, adds an extra round of
governance support at `act_boost` times the usual pull.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.engine.geometry import distance
from sim.errors import unknown
from sim.fields import Name, NonNeg, Strict, Unit, YearRate, about, share
from sim.powers.lever import Lever, LeverSpec, LeverType, Loc, Names, PowerContext
from sim.powers.stack import StackInputs

NAME = "cocreation"


class Pillars(Strict):
    """The four pillars of co-creation (s001), each a strength in [0, 1]."""

    solutions: Unit = Field(
        0.5,
        description="Co-created AI solutions: if above 0, partners become the sponsor's practice-sharing "
        "partners.",
        json_schema_extra=about("strength 0-1", "s001 pillar 1; size assumption"),
    )
    institutions: Unit = Field(
        0.5,
        description="Institutions and governance support: partners' positions are pulled toward the "
        "sponsor's at rate x institutions x openness.",
        json_schema_extra=about("strength 0-1", "s001 pillar 2; size assumption"),
    )
    talent: Unit = Field(
        0.5,
        description="Talent and capacity building: partners' base openness rises toward 1 at rate x talent.",
        json_schema_extra=about("strength 0-1", "s001 pillar 3, s000 2.3.2; size assumption"),
    )
    local_models: Unit = Field(
        0.5,
        description="Local-language models and data: local utility for the sponsor in partners' technical "
        "and application layers, scaled by the strength of its own models.",
        json_schema_extra=about("strength 0-1", "s001 pillar 4; size assumption"),
    )


class CocreationSpec(LeverSpec):
    """Co-creation (`type: cocreation`): a sponsor's initiative with partners through four pillars
    (Japan-ASEAN, s001)."""

    type: Literal["cocreation"] = Field(description="`cocreation`: a co-creation initiative.")
    sponsor: Name = Field(description="The state that sponsors the initiative (its wielder).")
    partners: list[Name] = Field(min_length=1, description="The partner states.")
    pillars: Pillars = Field(Pillars(), description="Strength of each of the four pillars.")
    forum: Name | None = Field(
        None, description="A forum the partners join when the initiative starts (the Friends Group)."
    )
    rate: YearRate = Field(
        0.2,
        description="Pace of the pillars' effects (governance pull, openness).",
        json_schema_extra=about("per year", "assumption"),
    )
    act_boost: NonNeg = Field(
        1.0,
        description="Size of the extra round of governance support when the sponsor chooses the initiative "
        "as its action, relative to the usual pull.",
        json_schema_extra=about("multiplier", "assumption"),
    )
    note: str = Field("", description="Free text: what the initiative is and its source.")

    role: ClassVar[str] = "sponsor"
    state_lists: ClassVar[tuple[str, ...]] = ("partners",)

    def check(self, names: Names) -> Iterator[tuple[Loc, str]]:
        yield from super().check(names)
        if self.forum is not None and self.forum not in names.forums:
            yield ("forum",), unknown("forum", self.forum, names.forums)


class Cocreation(Lever[CocreationSpec]):
    def setup(self, ctx: PowerContext) -> None:
        w = ctx.world
        self.sponsor = w.index[self.spec.sponsor]
        self.p = np.array([w.index[x] for x in self.spec.partners], dtype=np.int64)

    def on_start(self, ctx: PowerContext) -> None:
        w = ctx.world
        if self.spec.pillars.solutions > 0:
            w.link_partners(self.sponsor, self.p)
        if self.spec.forum is not None:
            f = w.forum_index[self.spec.forum]
            new = self.p[~w.members[self.p, f]]
            w.set_members(new, f, True)
            for i in new:
                ctx.log.add(ctx.step, "join", w.names[i], self.spec.forum, self.label)
        ctx.log.add(ctx.step, "cocreation", self.spec.sponsor, "", f"{self.label}: {self.p.size} partners")

    def on_effects(self, ctx: PowerContext, boost: float = 1.0) -> None:
        if not self.active:
            return
        w, sp = ctx.world, self.spec
        pil = sp.pillars
        rate = self.per_step.rate
        w.openness0[self.p] += share(rate * pil.talent) * (1.0 - w.openness0[self.p])
        coef = np.zeros(w.N)
        coef[self.p] = boost * rate * pil.institutions * w.openness[self.p]
        if coef.any():
            target = np.broadcast_to(w.pos[self.sponsor], w.pos.shape)
            ctx.pulls.add_target(coef, target, self.sponsor, ctx.credit[NAME], NAME)

    def on_stack(self, ctx: PowerContext, inputs: StackInputs) -> None:
        if not self.active or ctx.stack is None:
            return
        tech = ctx.stack.supply()[1]
        strength = tech[self.sponsor] / tech.max()
        inputs.local[1:, self.p, self.sponsor] += self.spec.pillars.local_models * strength

    def act(self, ctx: PowerContext) -> None:
        if self.active:
            self.on_effects(ctx, boost=self.spec.act_boost)  # an extra round of governance support
        else:
            self.start_now(ctx)

    def outputs(self, ctx: PowerContext) -> dict[str, float]:
        w = ctx.world
        gap = distance(w.pos[self.p], w.pos[self.sponsor][None, :])
        out = {
            "partner_closeness_to_sponsor": float(1.0 - gap.mean()),
            "partner_openness": float(w.openness[self.p].mean()),
        }
        if ctx.stack is not None:
            share = ctx.stack.ecosystem_share(self.p)
            for j in np.flatnonzero(share >= 0.02):
                out[f"ecosystem_share[{w.names[j]}]"] = float(share[j])
            out[f"ecosystem_share[{w.names[self.sponsor]}]"] = float(share[self.sponsor])
        return out


LEVER = LeverType(CocreationSpec, Cocreation)
