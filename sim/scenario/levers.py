"""Schema of the technology-power levers (seed 002, section 4) and of the AI stack.

A lever with a `date` fires then (a scheduled event); a lever without one is a template
that a state may use as an action when its `actions:` list names the lever type.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from sim.scenario.schema_types import Date, Name, NonNeg, Position, Strict, Unit

LEVER_TYPES: tuple[str, ...] = ("export_controls", "alliance", "regulation", "declaration", "cocreation")


def _layers(v: list[str]) -> list[str]:
    bad = [x for x in v if x not in ("compute", "models", "investment")]
    if bad:
        raise ValueError(f"expected layers among compute, models, investment, got {bad[0]!r}")
    return v


# ----------------------------------------------------------------------------- the AI stack
class StackSettings(Strict):
    """Buyers' logit choice of suppliers per layer (base, technical, application)."""

    enabled: bool = True
    performance: NonNeg = 1.0
    price: NonNeg = 1.0
    trust: NonNeg = 2.0
    home: NonNeg = 1.0
    installed: NonNeg = 2.0
    local: NonNeg = 1.0
    offer: NonNeg = 3.0
    switch_rate: Unit = 0.1
    lock_in: Unit = 0.5
    position_pull: Unit = 0.02
    layer_weight: dict[Literal["base", "technical", "application"], NonNeg] = Field(
        default_factory=lambda: {"base": 0.2, "technical": 0.5, "application": 0.3}
    )


class StateStack(Strict):
    """A state's offer as a supplier of each layer (relative units; 0: not a supplier)."""

    supply: dict[Literal["base", "technical", "application"], NonNeg] = Field(default_factory=dict)
    price: dict[Literal["base", "technical", "application"], NonNeg] = Field(default_factory=dict)


# ----------------------------------------------------------------------------- levers
class ExportControls(Strict):
    type: Literal["export_controls"]
    name: str = ""
    date: Date | None = None
    controller: Name
    targets: list[Name] = Field(min_length=1)
    layers: Annotated[list[str], AfterValidator(_layers)] = Field(default_factory=lambda: ["compute"])
    severity: Unit = 0.5
    leakage: Unit = 0.1
    efficiency: Unit = 0.1
    revenue_share: Unit = 0.2
    note: str = ""


class Alliance(Strict):
    type: Literal["alliance"]
    name: str = ""
    date: Date | None = None
    hub: Name
    partners: list[Name] = Field(default_factory=list)
    open_call: bool = False
    offer: dict[Literal["compute", "api"], Unit] = Field(default_factory=lambda: {"compute": 0.5, "api": 0.5})
    lock_in: Unit = 0.3
    join_rate: Unit = 0.2
    note: str = ""


class Regulation(Strict):
    type: Literal["regulation"]
    name: str = ""
    date: Date | None = None
    regulator: Name
    stringency: Unit = 0.7
    compliance_cost: Unit = 0.1
    scope: list[Name] = Field(default_factory=lambda: ["hardness", "rights"])
    emulation_rate: Unit = 0.1
    peer_effect: NonNeg = 1.0
    base_exposure: Unit = 0.2
    innovation_drag: Unit = 0.3
    defacto_pull: Unit = 0.1
    note: str = ""


class Declaration(Strict):
    type: Literal["declaration"]
    name: str = ""
    date: Date | None = None
    issuer: Name
    content: Position | None = None
    reach: Unit = 0.5
    strength: Unit = 0.05
    development_bonus: NonNeg = 1.0
    duration: int = Field(4, ge=1, le=1000)
    note: str = ""


class Pillars(Strict):
    solutions: Unit = 0.5
    institutions: Unit = 0.5
    talent: Unit = 0.5
    local_models: Unit = 0.5


class Cocreation(Strict):
    type: Literal["cocreation"]
    name: str = ""
    date: Date | None = None
    sponsor: Name
    partners: list[Name] = Field(min_length=1)
    pillars: Pillars = Pillars()
    forum: Name | None = None
    rate: Unit = 0.05
    note: str = ""


Lever = Annotated[
    ExportControls | Alliance | Regulation | Declaration | Cocreation,
    Field(discriminator="type"),
]


def actor_of(lever: BaseModel) -> str:
    """The state that wields a lever."""
    for key in ("controller", "hub", "regulator", "issuer", "sponsor"):
        if hasattr(lever, key):
            return getattr(lever, key)
    raise AssertionError(lever)  # pragma: no cover
