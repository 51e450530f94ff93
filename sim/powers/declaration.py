"""Productive technology power: declarations and initiatives (seed 002, 4.5).

A declaration (the Global AI Governance Initiative 2023, the Shanghai Declaration 2024)
pulls every other state's position a little toward its content for `duration_years`:

    coef_j = strength * reach * acceptance_j   (strength: a pull rate per year),
    acceptance_j = exp(-sum_d framing_penalty[d] * |content_d - pos_jd|)   (discourse's penalties),

and developing states feel a second pull, development_bonus * coef_j, on the `development`
dimension alone, so that on it they move about (1 + development_bonus) times as far:
broad reach, weak per-state effect, strongest among developing states on development.
Securitised framing far from a state's own lowers its acceptance. The movement is credited
to the issuer as `declaration` gain. Each time its date comes, or its issuer chooses it as an
action, a new declaration pulls for `duration_years` again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.engine.types import Array
from sim.fields import Name, NonNeg, Position, Unit, YearRate, about, position_problems
from sim.powers.lever import Lever, LeverSpec, LeverType, Loc, Names, PowerContext

NAME = "declaration"


class DeclarationSpec(LeverSpec):
    """Productive power (`type: declaration`): a declaration or initiative pulls every other
    state's position a little toward its content for a while; broad and weak, strongest among
    developing states on development."""

    type: Literal["declaration"] = Field(description="`declaration`: productive technology power.")
    issuer: Name = Field(description="The state that issues it (its wielder).")
    content: Position | None = Field(
        None,
        description="What the declaration stands for, one value per norm dimension (default: the issuer's "
        "position).",
        json_schema_extra=about("index 0-1 per norm dimension"),
    )
    reach: Unit = Field(
        0.5,
        description="Breadth of the declaration: multiplies its pull on every other state.",
        json_schema_extra=about("index 0-1", "s002 4.5; size assumption"),
    )
    strength: YearRate = Field(
        0.2,
        description="Pull on each state per unit of reach, times its acceptance (lower for content far from "
        "its own position on the framing-penalised dimensions).",
        json_schema_extra=about("per year", "s002 4.5 (broad, weak); size assumption"),
    )
    development_bonus: NonNeg = Field(
        1.0,
        description="Extra pull on developing states on the `development` dimension, as a multiple of "
        "their pull.",
        json_schema_extra=about("multiplier", "s002 4.5 (Global South); size assumption"),
    )
    duration_years: Annotated[float, Field(gt=0, le=100)] = Field(
        1.0,
        description="How long the pull lasts after each issue.",
        json_schema_extra=about("years", "assumption"),
    )
    note: str = Field("", description="Free text: what the declaration is and its source.")

    role: ClassVar[str] = "issuer"

    def check(self, names: Names) -> Iterator[tuple[Loc, str]]:
        yield from super().check(names)
        if self.content is not None:
            for msg in position_problems(self.content, names.norms):
                yield ("content",), msg


class Declaration(Lever[DeclarationSpec]):
    def setup(self, ctx: PowerContext) -> None:
        w = ctx.world
        self.issuer = w.index[self.spec.issuer]
        c = self.spec.content
        self.content: Array | None
        if c is None:
            self.content = None
        elif isinstance(c, dict):
            self.content = np.array([c[n] for n in w.norms], dtype=float)
        else:
            self.content = np.array(c, dtype=float)
        self.moved = np.zeros(w.N)
        self.handles: list[int] = []
        self.steps = max(1, round(self.spec.duration_years * ctx.steps_per_year))  # how long it pulls

    def fire(self, ctx: PowerContext) -> None:
        self.start = None  # a new declaration: its pull runs for `duration` steps again
        self.start_now(ctx)

    def act(self, ctx: PowerContext) -> None:
        self.fire(ctx)

    def on_start(self, ctx: PowerContext) -> None:
        ctx.log.add(ctx.step, "declaration", self.spec.issuer, "", self.label)

    def on_effects(self, ctx: PowerContext) -> None:
        w = ctx.world
        self.handles = []
        if self.start is None or ctx.step - self.start >= self.steps:
            return
        content = self.content if self.content is not None else w.pos[self.issuer]
        penalty = np.zeros(w.N)
        for dim, weight in ctx.framing_penalty.items():
            d = w.norms.index(dim)
            penalty += weight * np.abs(content[d] - w.pos[:, d])
        coef = self.per_step.strength * self.spec.reach * np.exp(-penalty)
        coef[self.issuer] = 0.0
        credit = ctx.credit[NAME]
        self.handles = [
            ctx.pulls.add_target(coef, np.broadcast_to(content, w.pos.shape), self.issuer, credit, NAME)
        ]
        if "development" in w.norms and self.spec.development_bonus > 0:
            # an extra pull on the development dimension only, for developing states
            d = w.norms.index("development")
            target = w.pos.copy()
            target[:, d] = content[d]
            extra = coef * self.spec.development_bonus * w.developing
            self.handles.append(ctx.pulls.add_target(extra, target, self.issuer, credit, NAME))

    def on_moved(self, ctx: PowerContext) -> None:
        """Add up how far the declaration's own pulls moved each state (not the drift of
        positions from other causes)."""
        for h in self.handles:
            self.moved += ctx.pulls.target_moved[h]

    def outputs(self, ctx: PowerContext) -> dict[str, float]:
        others = np.arange(ctx.world.N) != self.issuer
        return {
            "reach": float((self.moved[others] > 1e-3).sum()),
            "mean_shift": float(self.moved[others].mean()),
        }


LEVER = LeverType(DeclarationSpec, Declaration)
