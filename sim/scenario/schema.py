"""Typed schema of a scenario file.

Every key a user may write is declared here, with its range, so that a typo or an
out-of-range number is caught before a run starts. Cross-references between sections
(a forum member naming a state, a position's dimensions) are checked in `checks.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, Union

from pydantic import Field, model_validator

from sim.fields import (
    Date,
    FolderName,
    Name,
    NonNeg,
    Position,
    Positive,
    Rate,
    Strict,
    Unit,
    YearShare,
    about,
)
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
YEAR_KEY = r"^\d{4}$"  # the JSON Schema of a mapping keyed by year (in YAML, `2016: Japan`)

# a scenario's `levers:` entry: one of the lever types of the table, told apart by `type`
if TYPE_CHECKING:
    Lever = LeverSpec
else:
    Lever = Annotated[Union[tuple(t.spec for t in LEVERS.values())], Field(discriminator="type")]  # noqa: UP007


# ----------------------------------------------------------------------------- model settings
class ModelSettings(Strict):
    """Time, randomness and the global switches."""

    start_year: int = Field(
        2016,
        ge=1900,
        le=2200,
        description="Year the run starts: step 0 is 1 January of this year.",
        json_schema_extra=about("calendar year"),
    )
    steps_per_year: int = Field(
        4,
        ge=1,
        le=365,
        description="Steps per year: 4 makes a step a quarter. Every rate is stated per year and "
        "converted inside, so results do not depend on the length of a step.",
        json_schema_extra=about("count (steps per year)"),
    )
    end_year: int | None = Field(
        None,
        ge=1900,
        le=2300,
        description="Last year of the run: it runs to the end of this year (give exactly one of `end_year` "
        "and `steps`).",
        json_schema_extra=about("calendar year"),
    )
    steps: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="Length of the run in steps (give exactly one of `end_year` and `steps`).",
        json_schema_extra=about("count (steps)"),
    )
    seed: int = Field(
        0,
        ge=0,
        description="Seed of the random draws: the same scenario and seed give byte-identical outputs "
        "(`--seed` overrides it).",
        json_schema_extra=about("none (an identifier)"),
    )
    synergy: NonNeg = Field(
        1.0,
        description="Strength of the coupling between the three paths: each path's strength is "
        "multiplied by 1 + synergy x (coupling-weighted recent use of the other paths); 0 makes "
        "the paths act independently.",
        json_schema_extra=about("multiplier", "s000 3.1; size assumption"),
    )
    memory: YearShare = Field(
        0.684,
        description="Weight per year of this year's choices in each state's recent-use stock of "
        "each path (what synergy reads).",
        json_schema_extra=about("share per year", "assumption (about a year)"),
    )
    coupling: dict[str, dict[str, NonNeg]] = Field(
        default_factory=lambda: {
            "institutional": {"discourse": 0.5, "practice": 0.5},
            "discourse": {"institutional": 1.0, "practice": 1.0},
            "practice": {"institutional": 1.0, "discourse": 1.0},
        },
        description="Coupling matrix C of the synergy, keyed amplified path -> {amplifying path: "
        "weight}: how much recent use of one path amplifies another.",
        json_schema_extra=about("multiplier per unit of recent use", "s000 3.1"),
    )


class Norm(Strict):
    """A dimension of the norm space: positions and forum texts hold one value in [0, 1] for
    each."""

    name: Name = Field(
        description="Name of the dimension (e.g. hardness, data_openness, rights, development, "
        "security); positions given as mappings and other keys refer to it."
    )
    description: str = Field("", description="What 0 and 1 mean on this dimension (free text).")


# ----------------------------------------------------------------------------- mechanism parameters
class PathParams(Strict):
    """`paths`: each path's parameters live in its own module."""

    institutional: InstitutionalParams = Field(
        InstitutionalParams(),
        description="Institutional participation: engagement in forums, the forums' consensus, "
        "brokerage between linked forums.",
        json_schema_extra=about(source="s000 2.1"),
    )
    discourse: DiscourseParams = Field(
        DiscourseParams(),
        description="Discourse construction: drafting forum texts.",
        json_schema_extra=about(source="s000 2.2, s002 4.1.2"),
    )
    practice: PracticeParams = Field(
        PracticeParams(),
        description="Practice sharing: exporting domestic governance practice to tied states.",
        json_schema_extra=about(source="s000 2.3"),
    )


# ----------------------------------------------------------------------------- agents
_RESOURCE_UNIT = "relative units > 0 (the baseline: 2022 share of the modelled world's total, in percent)"


class Resources(Strict):
    """Resource control (资源支配): compute, data and algorithms; they grow each step."""

    compute: Positive = Field(
        description="Computing power the state controls (chips, data centres).",
        json_schema_extra=about(_RESOURCE_UNIT, "s002 2.1, 4.1.1"),
    )
    data: Positive = Field(
        description="Data the state controls (in the baseline, from its digital population).",
        json_schema_extra=about(_RESOURCE_UNIT, "s002 2.1, 4.1.1"),
    )
    algorithms: Positive = Field(
        description="Algorithms: the knowledge base (research output, patents) behind the state's "
        "discourse power.",
        json_schema_extra=about(_RESOURCE_UNIT, "s002 2.1, 4.1.1"),
    )


_GROWTH_UNIT = "per year (0.2 = +20 % a year)"


class Growth(Strict):
    """Annual growth rates (0.2 = +20 % a year)."""

    compute: Rate = Field(
        0.15,
        description="Annual growth of compute.",
        json_schema_extra=about(_GROWTH_UNIT, "assumption"),
    )
    data: Rate = Field(
        0.1,
        description="Annual growth of data.",
        json_schema_extra=about(_GROWTH_UNIT, "assumption"),
    )
    algorithms: Rate = Field(
        0.1,
        description="Annual growth of algorithms (the knowledge base).",
        json_schema_extra=about(_GROWTH_UNIT, "assumption"),
    )
    market: Rate = Field(
        0.2,
        description="Annual growth of the AI market.",
        json_schema_extra=about(_GROWTH_UNIT, "assumption"),
    )


class Capacities(Strict):
    """What the state can do in rule-making, each in [0, 1]."""

    standards: Unit = Field(
        description="Standard-setting capacity: with regulatory capacity, the quality of the practice "
        "the state shares.",
        json_schema_extra=about("index 0-1", "s002 2.3, figure 1"),
    )
    regulatory: Unit = Field(
        description="Regulatory capacity: the quality of shared practice, the receptiveness to soft-law "
        "practice (low capacity welcomes it) and the pace of adopting a regulator's rules.",
        json_schema_extra=about("index 0-1", "s002 2.3, figure 1"),
    )
    discourse: Unit = Field(
        description="Discourse-building capacity: the strength of the state's drafts of forum texts and "
        "the legitimacy of its alliances.",
        json_schema_extra=about("index 0-1", "s002 2.3, figure 1"),
    )


class State(Strict):
    """A state (the EU is one actor): its resources, market, capacities, governance position,
    ties, place in the AI stack, and how it chooses its actions."""

    name: Name = Field(description="Name of the state; forums, events, levers and variants refer to it.")
    iso3: str | None = Field(
        None,
        pattern=r"^[A-Z]{3}$",
        description="ISO 3166-1 alpha-3 code (EUU: the EU as a bloc); matches the country codes of the "
        "records in data/ used by calibration.",
    )
    tier: Literal[1, 2, 3] = Field(
        description="Global AI innovation tier (1: the US, China; 2: Japan, Singapore, France; 3: Canada, "
        "India, Brazil).",
        json_schema_extra=about("rank (1 highest)", "s000 section 1"),
    )
    region: str = Field(
        "",
        description="Region (e.g. East Asia, Southeast Asia): states of a region are tied for practice "
        "sharing, and a forum's `open_to` admits regions.",
    )
    developing: bool = Field(
        False,
        description="Whether the state is a developing state: declarations pull developing states extra "
        "on the `development` dimension.",
    )
    resources: Resources = Field(description="Resource control: compute, data and algorithms.")
    market: Positive = Field(
        description="Size of the domestic AI market (市场规模): a state's weight as a target of influence "
        "is its market relative to the mean.",
        json_schema_extra=about(
            "relative units > 0 (the baseline: 2024 generative-AI market, USD bn)", "s002 2.2, 4.1.2"
        ),
    )
    growth: Growth = Field(
        Growth(), description="Annual growth of resources and market, before levers slow or speed it."
    )
    capacities: Capacities = Field(
        description="Standard-setting, regulatory and discourse-building capacity."
    )
    position: Position = Field(
        description="The state's preferred governance norms, one value per norm dimension (a list in the "
        "order of `norms`, or a mapping dimension: value); also its home position, which domestic "
        "politics pull it back to.",
        json_schema_extra=about("index 0-1 per norm dimension", "MODEL.md s.1"),
    )
    soft_law: Unit | None = Field(
        None,
        description="How soft-law and agile the state's domestic practice is; soft-law practice appeals "
        "most to states with little regulatory capacity (default: 1 - position on hardness).",
        json_schema_extra=about("index 0-1", "s000 2.3.1"),
    )
    openness: Unit = Field(
        0.5,
        description="Receptiveness to other states' practice (its base level: capacity building raises "
        "it, and it relaxes back); it also weakens the domestic anchor.",
        json_schema_extra=about("index 0-1", "s000 2.3.2"),
    )
    activity: Unit = Field(
        1.0,
        description="Probability of acting at all in a step (diplomatic bandwidth).",
        json_schema_extra=about("probability 0-1", "assumption"),
    )
    partners: list[Name] = Field(
        default_factory=list,
        description="Aid, talent-training and alliance partners (state names): ties for practice sharing.",
        json_schema_extra=about(source="s000 2.3.2"),
    )
    dependence: dict[str, dict[str, Unit]] | None = Field(
        None,
        description="Per AI layer (base, technical, application), the share of the state's supply that "
        "comes from each supplier state; each layer's shares sum to 1 (default: the stack's logit "
        "shares at the start).",
        json_schema_extra=about("share 0-1", "s002 4.1"),
    )
    actions: list[str] | None = Field(
        None,
        description="Actions the state may choose: the paths "
        + ", ".join(PATHS)
        + " and the lever types "
        + ", ".join(LEVER_TYPES)
        + " (a lever type needs a lever of that type that the state wields, and is available from its "
        "date); default: the three paths.",
        json_schema_extra=about(source="MODEL.md s.4, 5"),
    )
    stack: StateStack = Field(
        StateStack(),
        description="The state as a supplier in the AI stack: capacity, price and open-weight share of "
        "each layer.",
        json_schema_extra=about(source="s002 4.1, s001"),
    )
    policy: Policy = Field(
        FixedPolicy(kind="fixed", mix={"institutional": 1.0, "discourse": 1.0, "practice": 1.0}),
        description="How the state chooses its action each step: `fixed` (a given mix), `learning` "
        "(Roth-Erev reinforcement) or `best_response` (the largest expected gain); default: a fixed, "
        "equal mix of the three paths.",
        json_schema_extra=about(source="MODEL.md s.5"),
    )


class Forum(Strict):
    """A forum (the G7, the G20, the UN...): its members, its text (the principles it has
    adopted, a point in the norm space), its standing, who may join, its links and its
    presidencies."""

    name: Name = Field(description="Name of the forum; states, events and variants refer to it.")
    members: list[Name] = Field(description="Founding members (state names).")
    weight: Positive = Field(
        1.0,
        description="Standing of the forum in AI governance: its text's value is weight x the total size "
        "of its members; supporting frameworks raise it.",
        json_schema_extra=about("relative weight"),
    )
    inclusiveness: Unit = Field(
        0.5,
        description="How universal the forum is (0: a club, 1: universal); co-members of clubs are tied "
        "for practice sharing in proportion to 1 - inclusiveness.",
        json_schema_extra=about("index 0-1"),
    )
    openness: Unit = Field(
        0.0,
        description="Openness to new members: the pace at which admissible states join of their own accord "
        "(0: none do; dated `join` events still add members).",
        json_schema_extra=about("index 0-1"),
    )
    open_to: list[str] | None = Field(
        None,
        description="Regions whose states may join (default: any region); restricts every admission rule.",
    )
    admission: AdmissionRule = Field(
        AdmissionRule(),
        description="Whom the forum admits besides its dated joins: `founders`, `invitation`, `values` or "
        "`open`.",
        json_schema_extra=about(source="MODEL.md s.9"),
    )
    links: list[Name] = Field(
        default_factory=list,
        description="Forums this one is linked to (forum names): brokers in both align their texts.",
    )
    text: Position | None = Field(
        None,
        description="The forum's initial text, the principles it has adopted, one value per norm dimension "
        "(default: the founding members' mean position).",
        json_schema_extra=about("index 0-1 per norm dimension"),
    )
    start: Date | None = Field(
        None, description="Date the forum is created (default: active from the start)."
    )
    presidency: dict[int, Name] = Field(
        default_factory=dict,
        description="Presidency schedule: calendar year -> the state that holds it; the host drafts and "
        "brokers with extra weight.",
        json_schema_extra={**about("calendar year (keys)"), "propertyNames": {"pattern": YEAR_KEY}},
    )


class Framework(Strict):
    """A supporting framework (DFFT-like, s000 2.1.2) that a founder launches in a host forum and
    other states join."""

    name: Name = Field(description="Name of the framework; variants refer to it.")
    founder: Name = Field(
        description="The state that launches it (its first member), credited for each joiner."
    )
    forum: Name = Field(description="The host forum, whose weight grows as states join.")
    date: Date = Field(description="Launch date.")
    text: Position | None = Field(
        None,
        description="What the framework stands for, one value per norm dimension; states close enough join "
        "(default: the founder's position).",
        json_schema_extra=about("index 0-1 per norm dimension"),
    )


# ----------------------------------------------------------------------------- events
_EVENT_NAME = "Optional name: lets a variant change or drop this event by name."
_EVENT_DATE = "When it happens: in the step whose interval contains this date."
_EVENT_STATE = "The state it concerns."
_EVENT_NOTE = "Free text: what happened and its source."


class JoinEvent(Strict):
    """A state joins a forum at a date."""

    type: Literal["join"] = Field(description="`join`: the state joins the forum.")
    name: str = Field("", description=_EVENT_NAME)
    date: Date = Field(description=_EVENT_DATE)
    state: Name = Field(description=_EVENT_STATE)
    forum: Name = Field(description="The forum.")
    note: str = Field("", description=_EVENT_NOTE)


class LeaveEvent(Strict):
    """A state leaves a forum at a date."""

    type: Literal["leave"] = Field(description="`leave`: the state leaves the forum.")
    name: str = Field("", description=_EVENT_NAME)
    date: Date = Field(description=_EVENT_DATE)
    state: Name = Field(description=_EVENT_STATE)
    forum: Name = Field(description="The forum.")
    note: str = Field("", description=_EVENT_NOTE)


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

    type: Literal["set"] = Field(description="`set`: one attribute of the state changes.")
    name: str = Field("", description=_EVENT_NAME)
    date: Date = Field(description=_EVENT_DATE)
    state: Name = Field(description=_EVENT_STATE)
    field: Literal[SETTABLE] = Field(  # type: ignore[valid-type]
        description="The attribute that changes: a capacity, the base openness, soft_law, activity, or the "
        "state's supply, price or open-weight share in a layer of the AI stack."
    )
    value: NonNeg = Field(
        description="The new value (in [0, 1] except for stack supply and price); with `relative_to`, a "
        "multiple of that state's value of the field then.",
        json_schema_extra=about(
            "as the field: index or share 0-1, relative units for stack supply and price"
        ),
    )
    relative_to: Name | None = Field(
        None, description="A state whose value of the field, times `value`, gives the new value."
    )
    note: str = Field("", description=_EVENT_NOTE)

    @model_validator(mode="after")
    def _range(self) -> SetEvent:
        bounded = not self.field.startswith(("stack.supply", "stack.price"))
        if bounded and self.relative_to is None and self.value > 1.0:
            raise ValueError(f"value: expected a number in [0, 1] for {self.field}, got {self.value:g}")
        return self


class PolicyEvent(Strict):
    """Change how a state chooses its actions from a date on (a new government, a new
    strategy): from that step it follows `policy`, as if the scenario had given it from the
    start (a learning policy starts from its `initial` propensities)."""

    type: Literal["policy"] = Field(description="`policy`: the state follows a new policy from this date.")
    name: str = Field("", description=_EVENT_NAME)
    date: Date = Field(description=_EVENT_DATE)
    state: Name = Field(description=_EVENT_STATE)
    policy: Policy = Field(
        description="The policy the state follows from this date on (as `states[].policy`)."
    )
    note: str = Field("", description=_EVENT_NOTE)


Event = Annotated[JoinEvent | LeaveEvent | SetEvent | PolicyEvent, Field(discriminator="type")]


# ----------------------------------------------------------------------------- the scenario
class Scenario(Strict):
    """A scenario: the world (norms, states, forums, frameworks), its history (events, levers)
    and the parameters of every mechanism."""

    name: FolderName = Field(
        "", description="Name of the scenario; it names the output folder (default: the file's name)."
    )
    description: str = Field("", description="What the scenario is, in a sentence or two (free text).")
    model: ModelSettings = Field(
        ModelSettings(), description="Time, randomness and the synergy between paths."
    )
    norms: list[Norm] = Field(
        min_length=1,
        description="The dimensions of the norm space, in the order positions given as lists follow.",
    )
    paths: PathParams = Field(
        PathParams(), description="Parameters of the three paths of rule-making (s000)."
    )
    influence: InfluenceParams = Field(
        InfluenceParams(),
        description="Influence (discourse power) as a stock: decay, clout, reputation, followers, the "
        "domestic anchor.",
    )
    membership: MembershipParams = Field(
        MembershipParams(), description="How states join open forums of their own accord."
    )
    framework_settings: FrameworkParams = Field(
        FrameworkParams(), description="How states join supporting frameworks (DFFT-like)."
    )
    policy_settings: PolicySettings = Field(
        PolicySettings(), description="Running means every policy shares (the gains of each action)."
    )
    states: list[State] = Field(min_length=2, description="The states (at least two).")
    forums: list[Forum] = Field(
        default_factory=list,
        min_length=1,
        description="The forums (at least one: every path acts through forums).",
    )
    frameworks: list[Framework] = Field(
        default_factory=list, description="Supporting frameworks (DFFT-like), launched at their dates."
    )
    events: list[Event] = Field(
        default_factory=list,
        description="Dated events: a state joins or leaves a forum (`join`, `leave`), an attribute changes "
        "(`set`), a state changes its policy (`policy`).",
    )
    stack: StackSettings | None = Field(
        None,
        description="The AI stack: how buyers choose suppliers of chips, models and applications (on when "
        "given or when there is any lever).",
        json_schema_extra=about(source="s002 4.1"),
    )
    levers: list[Lever] = Field(
        default_factory=list,
        description="Technology powers, told apart by `type`: dated (fire at their date) or templates "
        "(no date: a state whose `actions` name the type may choose it).",
        json_schema_extra=about(source="s002 section 4, s001"),
    )

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
