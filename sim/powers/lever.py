"""What every lever is: a scenario entry (`LeverSpec`, a pydantic model) and a runtime
(`Lever`) whose hooks the model calls at fixed points of the step, in this order:

    1. growth      `on_growth(ctx, gf)`   change this step's growth factors gf[N, 4]
    2. events      `fire(ctx)`            a dated lever's date arrives (starts or renews it)
    4. actions     `act(ctx)`             its wielder chose it as this step's action
                   `on_effects(ctx)`      add pulls, adopt, recruit... (every step)
                   `on_moved(ctx)`        after texts and positions moved
                   `on_stack(ctx, inputs)` shape the AI stack's choice (access, offers, ...)
    5. outputs     `outputs(ctx)`         this step's indicators, recorded from its start

Every hook is a no-op unless a lever overrides it. A new lever is one module that defines a
spec and a runtime, plus one line in the table of `sim.powers.registry`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from pydantic import Field

from sim.engine.events import EventLog
from sim.engine.ledger import Ledger
from sim.engine.pulls import Pulls
from sim.engine.streams import Streams
from sim.engine.types import Array
from sim.engine.world import World
from sim.errors import unknown
from sim.fields import Date, Strict, per_step
from sim.powers.stack import Stack, StackInputs

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Names:
    """What a lever's cross-reference check may look up."""

    states: list[str]
    forums: list[str]
    norms: list[str]


class LeverSpec(Strict):
    """The scenario entry every lever shares: a type, an optional name, and a date (none: a
    template its wielder may choose as an action). `role` names the field of the wielder;
    `state_lists` the fields that list other states."""

    type: str
    name: str = Field(
        "",
        description="Label of the lever in the outputs (default: type:wielder); a variant changes or drops "
        "the lever by this name.",
    )
    date: Date | None = Field(
        None,
        description="When the lever fires (starts it, or renews it); none: a template that its wielder may "
        "choose as an action.",
    )

    role: ClassVar[str] = ""
    state_lists: ClassVar[tuple[str, ...]] = ()

    @property
    def actor(self) -> str:
        return str(getattr(self, self.role))

    def check(self, names: Names) -> Iterator[tuple[Loc, str]]:
        """Cross-reference problems, located relative to this lever's entry."""
        if self.actor not in names.states:
            yield (self.role,), unknown("state", self.actor, names.states)
        for key in self.state_lists:
            for j, other in enumerate(getattr(self, key)):
                if other not in names.states:
                    yield (key, j), unknown("state", other, names.states)
                elif other == self.actor:
                    yield (key, j), f"the {self.role} cannot be one of its own {key}"


@dataclass
class PowerContext:
    """What a lever may read and write: the world's arrays and this step's services."""

    world: World
    step: int
    streams: Streams  # each lever draws from its own stream, `lever:<label>`
    pulls: Pulls
    ledger: Ledger  # this step's credited gains (by action column, and by source and target)
    credit: dict[str, int]  # gain column of each action
    log: EventLog
    stack: Stack | None
    size: Array  # [N] value of moving each state
    framing_penalty: dict[str, float]  # discourse's acceptance penalties, per dimension

    @property
    def steps_per_year(self) -> int:
        return self.world.calendar.steps_per_year


S = TypeVar("S", bound=LeverSpec)


class Lever(Generic[S]):
    """A lever at run time. `start` is the step it last started (None: not yet).

    A lever that needs random numbers declares `draws`: every step, started or not, it draws
    that many rows of one uniform per state from its own stream (`self.u`), so its draws do
    not depend on what happened (common random numbers across paired runs)."""

    draws: ClassVar[int] = 0

    def __init__(self, spec: S, index: int, label: str, ctx: PowerContext) -> None:
        self.spec = spec
        self.index = index
        self.label = label
        self.actor = spec.actor  # the wielder's name
        self.rng = ctx.streams[f"lever:{label}"]
        self.per_step = per_step(spec, ctx.steps_per_year)  # its per-year rates, for one step
        self.u = np.zeros((self.draws, ctx.world.N))  # this step's uniforms (`draw`)
        self.scheduled = None if spec.date is None else ctx.world.calendar.step_of(spec.date)
        self.start: int | None = None
        self.setup(ctx)

    @property
    def active(self) -> bool:
        return self.start is not None

    def start_now(self, ctx: PowerContext) -> None:
        first = self.start is None
        self.start = ctx.step
        if first:
            self.on_start(ctx)

    def draw(self) -> None:
        """This step's uniforms (called by `Powers` at the start of every step)."""
        if self.draws:
            self.u = self.rng.random(self.u.shape)

    # hooks --------------------------------------------------------------
    def setup(self, ctx: PowerContext) -> None:
        """Called once when the model is built."""

    def on_start(self, ctx: PowerContext) -> None:
        """Called once, the first time the lever starts."""

    def fire(self, ctx: PowerContext) -> None:
        """The lever's date has come."""
        self.start_now(ctx)

    def act(self, ctx: PowerContext) -> None:
        """The lever's wielder chose it as its action this step."""
        self.start_now(ctx)

    def on_growth(self, ctx: PowerContext, gf: Array) -> None:
        """Modify this step's growth factors gf[N, 4] (compute, data, algorithms, market)."""

    def on_effects(self, ctx: PowerContext) -> None:
        """Add pulls and other effects for this step (after the states' own actions)."""

    def on_moved(self, ctx: PowerContext) -> None:
        """Texts and positions have moved."""

    def on_stack(self, ctx: PowerContext, inputs: StackInputs) -> None:
        """Shape the stack's choice: access[l, buyer, supplier], offers, lock-in, local support."""

    def outputs(self, ctx: PowerContext) -> dict[str, float]:
        """This step's indicators."""
        return {}


@dataclass(frozen=True)
class LeverType:
    """A kind of lever: its scenario entry and its runtime (the table in `registry` lists them)."""

    spec: type[LeverSpec]
    runtime: type[Lever[Any]]
