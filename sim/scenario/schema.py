"""Typed schema of a scenario file.

Every key a user may write is declared here, with its range, so that a typo or an
out-of-range number is caught before a run starts. Cross-references between sections
(a forum member naming a state, a position's dimensions) are checked in `checks.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, Union

from pydantic import Field, model_validator

from sim.fields import Date, FolderName, Name, NonNeg, Position, Positive, Rate, Strict, Unit, YearShare
from sim.forums import AdmissionRule, FrameworkParams, MembershipParams
from sim.influence import InfluenceParams
from sim.paths import PATHS
from sim.paths.discourse import DiscourseParams
from sim.paths.institutional import InstitutionalParams
from sim.paths.practice import PracticeParams
from sim.policies import FixedPolicy, Policy, PolicySettings
from sim.powers.lever import LeverSpec
from sim.powers.registry import LEVER_TYPES, LEVERS
from sim.powers.stack import StackSettings, StateStack

ACTION_NAMES: tuple[str, ...] = PATHS + LEVER_TYPES

# a scenario's `levers:` entry: one of the lever types of the table, told apart by `type`
if TYPE_CHECKING:
    Lever = LeverSpec
else:
    Lever = Annotated[Union[tuple(t.spec for t in LEVERS.values())], Field(discriminator="type")]  # noqa: UP007


# ----------------------------------------------------------------------------- model settings
class ModelSettings(Strict):
    """Time, randomness and the global switches."""

    start_year: int = Field(2016, ge=1900, le=2200)
    steps_per_year: int = Field(4, ge=1, le=365)
    end_year: int | None = Field(None, ge=1900, le=2300)
    steps: int | None = Field(None, ge=1, le=100_000)
    seed: int = Field(0, ge=0)
    synergy: NonNeg = 1.0
    memory: YearShare = 0.684
    coupling: dict[str, dict[str, NonNeg]] = Field(
        default_factory=lambda: {
            "institutional": {"discourse": 0.5, "practice": 0.5},
            "discourse": {"institutional": 1.0, "practice": 1.0},
            "practice": {"institutional": 1.0, "discourse": 1.0},
        }
    )


class Norm(Strict):
    name: Name
    description: str = ""


# ----------------------------------------------------------------------------- mechanism parameters
class PathParams(Strict):
    """`paths`: each path's parameters live in its own module."""

    institutional: InstitutionalParams = InstitutionalParams()
    discourse: DiscourseParams = DiscourseParams()
    practice: PracticeParams = PracticeParams()


# ----------------------------------------------------------------------------- agents
class Resources(Strict):
    compute: Positive
    data: Positive
    algorithms: Positive


class Growth(Strict):
    """Annual growth rates (0.2 = +20 % a year)."""

    compute: Rate = 0.15
    data: Rate = 0.1
    algorithms: Rate = 0.1
    market: Rate = 0.2


class Capacities(Strict):
    standards: Unit
    regulatory: Unit
    discourse: Unit


class State(Strict):
    name: Name
    iso3: str | None = Field(None, pattern=r"^[A-Z]{3}$")  # ISO 3166-1 alpha-3 (EUU: the EU); matches data/
    tier: Literal[1, 2, 3]
    region: str = ""
    developing: bool = False
    resources: Resources
    market: Positive
    growth: Growth = Growth()
    capacities: Capacities
    position: Position
    soft_law: Unit | None = None
    openness: Unit = 0.5
    activity: Unit = 1.0
    partners: list[Name] = Field(default_factory=list)
    dependence: dict[str, dict[str, Unit]] | None = None
    actions: list[str] | None = None
    stack: StateStack = StateStack()
    policy: Policy = FixedPolicy(kind="fixed", mix={"institutional": 1.0, "discourse": 1.0, "practice": 1.0})


class Forum(Strict):
    name: Name
    members: list[Name]
    weight: Positive = 1.0
    inclusiveness: Unit = 0.5
    openness: Unit = 0.0
    open_to: list[str] | None = None
    admission: AdmissionRule = AdmissionRule()
    links: list[Name] = Field(default_factory=list)
    text: Position | None = None
    start: Date | None = None
    presidency: dict[int, Name] = Field(default_factory=dict)


class Framework(Strict):
    name: Name
    founder: Name
    forum: Name
    date: Date
    text: Position | None = None


# ----------------------------------------------------------------------------- events
class JoinEvent(Strict):
    type: Literal["join"]
    date: Date
    state: Name
    forum: Name
    note: str = ""


class LeaveEvent(Strict):
    type: Literal["leave"]
    date: Date
    state: Name
    forum: Name
    note: str = ""


SETTABLE = (
    "capacities.standards",
    "capacities.regulatory",
    "capacities.discourse",
    "openness",
    "soft_law",
    "activity",
    "stack.supply.base",
    "stack.supply.technical",
    "stack.supply.application",
    "stack.price.base",
    "stack.price.technical",
    "stack.price.application",
    "stack.open.base",
    "stack.open.technical",
    "stack.open.application",
)


class SetEvent(Strict):
    """Change one attribute of a state at a date (a new law, a new institute, ...). With
    `relative_to`, the new value is `value` times that state's value of the field then (say,
    China's models at 0.9 of the US's capability)."""

    type: Literal["set"]
    date: Date
    state: Name
    field: Literal[SETTABLE]  # type: ignore[valid-type]
    value: NonNeg
    relative_to: Name | None = None
    note: str = ""

    @model_validator(mode="after")
    def _range(self) -> SetEvent:
        bounded = not self.field.startswith(("stack.supply", "stack.price"))
        if bounded and self.relative_to is None and self.value > 1.0:
            raise ValueError(f"value: expected a number in [0, 1] for {self.field}, got {self.value:g}")
        return self


Event = Annotated[JoinEvent | LeaveEvent | SetEvent, Field(discriminator="type")]


# ----------------------------------------------------------------------------- the scenario
class Scenario(Strict):
    name: FolderName = ""
    description: str = ""
    model: ModelSettings = ModelSettings()
    norms: list[Norm] = Field(min_length=1)
    paths: PathParams = PathParams()
    influence: InfluenceParams = InfluenceParams()
    membership: MembershipParams = MembershipParams()
    framework_settings: FrameworkParams = FrameworkParams()
    policy_settings: PolicySettings = PolicySettings()
    states: list[State] = Field(min_length=2)
    forums: list[Forum] = Field(default_factory=list, min_length=1)  # every path acts through forums
    frameworks: list[Framework] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    stack: StackSettings | None = None
    levers: list[Lever] = Field(default_factory=list)

    @property
    def norm_names(self) -> list[str]:
        return [n.name for n in self.norms]

    @property
    def n_steps(self) -> int:
        m = self.model
        if m.steps is not None:
            return m.steps
        assert m.end_year is not None  # guaranteed by checks.py
        return (m.end_year - m.start_year + 1) * m.steps_per_year
