"""RuleMakingModel: international rule-making competition in AI governance.

The model composes the mechanisms; it holds no equation of its own. One step (a quarter by
default) follows MODEL.md section 2:
  1. growth of resources and markets (`sim.growth`; levers slow or speed it);
  2. scheduled events (`sim.model.timeline`: forums created, presidencies, frameworks, joins,
     leaves, changes; dated levers), then neglected engagement decays;
  3. every state chooses an action through its policy (`sim.policies`; simultaneously, from
     the state at the start of the step, so the outcome does not depend on an activation
     order);
  4. the chosen actions add pulls (`sim.paths`, `sim.powers`), forums' consensus drifts
     (`sim.forums`), the stack's dependence pulls; texts and positions move and each source
     is credited (`sim.engine.pulls`); frameworks and memberships grow; buyers re-choose
     their suppliers (`sim.powers.stack`);
  5. influence is credited and decays (`sim.influence`); policies learn from the gains they
     realised; outputs are recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim import forums, growth, influence
from sim.engine.events import EventLog
from sim.engine.ledger import Ledger
from sim.engine.pulls import Channel, Pulls
from sim.engine.streams import Streams
from sim.engine.types import Array, IntArray
from sim.errors import SimError
from sim.fields import per_step
from sim.model.agents import ForumAgent, StateAgent
from sim.model.build import build_world, stack_data, stack_settings
from sim.model.recorder import Recorder, RecorderView
from sim.model.timeline import Timeline
from sim.paths import discourse, institutional, practice, synergy
from sim.policies import Policies
from sim.powers import stack as stack_mod
from sim.powers.lever import PowerContext
from sim.powers.registry import Powers
from sim.powers.stack import Stack
from sim.scenario.loader import load_scenario, with_overrides
from sim.scenario.schema import ACTION_NAMES, ModelSettings, Scenario

# where influence comes from: the ledger's sources (MODEL.md s.10)
SOURCES = (
    "discourse", "hosting", "brokerage", "frameworks", "practice", "reputation",
    "dependence", "regulation", "declaration", "cocreation",
)  # fmt: skip


@dataclass(frozen=True)
class StepParams:
    """The scenario's parameter sections with every per-year rate converted for one step."""

    institutional: institutional.InstitutionalParams
    discourse: discourse.DiscourseParams
    practice: practice.PracticeParams
    influence: influence.InfluenceParams
    membership: forums.MembershipParams
    frameworks: forums.FrameworkParams
    model: ModelSettings


class RuleMakingModel(mesa.Model):
    """Build from a scenario (object or path; None: the packaged baseline) and a seed
    (None: the scenario's `model.seed`). `steps` overrides the scenario's run length.

    Flat keyword parameters change scenario values, `__` standing for the `.` of a `--set`
    key path: `RuleMakingModel(seed=1, model__synergy=0.5, influence__decay=0.1)`. This is
    what `mesa.batch_run` needs (`parameters={"model__synergy": [0, 1], ...}`).

    `ledger_entries=False` keeps only each step's credited gains, not the ledger's entries, so
    the run has no influence_sources table: what sweeps, comparisons, claims and calibrations
    use, since their metrics never read it (in a big world those entries are most of a run's memory and a
    quarter of its time). Every other output is the same."""

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        seed: int | None = None,
        steps: int | None = None,
        overrides: list[str] | tuple[str, ...] = (),
        *,
        ledger_entries: bool = True,
        **params: Any,
    ) -> None:
        from sim.scenario.loader import parse_assignment

        pairs = [parse_assignment(o) for o in overrides] + [
            (k.replace("__", "."), v) for k, v in params.items()
        ]
        if isinstance(scenario, Scenario):
            scenario = with_overrides(scenario, pairs, steps)
        else:
            scenario = load_scenario(scenario, pairs, steps)
        self.scenario = sc = scenario
        self.seed_used = int(sc.model.seed if seed is None else seed)
        super().__init__(seed=self.seed_used)
        self.streams = Streams(self.seed_used)  # one random stream per mechanism
        self.n_steps = sc.n_steps
        spy = sc.model.steps_per_year
        # every rate of the scenario is per year (MODEL.md s.10); the mechanisms get them per step
        self.p = StepParams(
            institutional=per_step(sc.paths.institutional, spy),
            discourse=per_step(sc.paths.discourse, spy),
            practice=per_step(sc.paths.practice, spy),
            influence=per_step(sc.influence, spy),
            membership=per_step(sc.membership, spy),
            frameworks=per_step(sc.framework_settings, spy),
            model=per_step(sc.model, spy),
        )
        self.actions: tuple[str, ...] = ACTION_NAMES
        self.world = w = build_world(sc, self.actions)
        self.gain_col = {a: k for k, a in enumerate(self.actions)}
        # every credited gain, by source and target (`ledger_entries=False`: this step's gains
        # only, for runs that never read the influence_sources table: sweeps, calibrations)
        self.ledger = Ledger(w.N, w.A, SOURCES, keep=ledger_entries)
        self.gains = self.ledger.gains  # this step's credited gains, by action
        col = self.gain_col
        self.pulls = Pulls(
            w,
            text_channels=[
                Channel(discourse.CHANNEL, col[discourse.CREDITED_TO], source="discourse"),
                Channel(discourse.HOST_CHANNEL, col[discourse.CREDITED_TO], source="hosting"),
                Channel(forums.CONSENSUS, None),  # the forums' own consensus is nobody's doing
            ],
            pos_channels=[
                Channel(practice.CHANNEL, col[practice.CREDITED_TO], tracked=True, source="practice"),
                Channel(
                    stack_mod.CHANNEL, col[stack_mod.CREDITED_TO], source="dependence"
                ),  # structural power
            ],
            link=Channel("brokerage", col[institutional.CREDITED_TO]),
            link_scale=self.p.institutional.broker_credit,
        )
        self.coupling = synergy.coupling_matrix(sc.model.coupling)
        self.syn = np.ones((w.N, 3))
        self.policies = Policies(
            [s.policy for s in sc.states],
            self.actions,
            w.allowed,
            sc.policy_settings,
            sc.model.steps_per_year,
        )
        self.log = EventLog(w.calendar)
        self.timeline = Timeline(sc, w)
        settings = stack_settings(sc)
        self.stack: Stack | None = None
        if settings is not None:
            supply0, price, open_share, given = stack_data(sc, w)
            self.stack = Stack(
                settings, supply0, price, open_share, w.res, w.market, w.pos, w.dependence, given, spy
            )
        self.ties = practice.Ties(
            self.p.practice,
            w.partners,
            w.region,
            w.region_names,
            w.members,
            w.active,
            w.inclusiveness,
            w.changes,
        )
        # quantities that hold for the whole choice-and-action phase of a step (`_refresh`)
        self.size = np.zeros(w.N)
        self.forum_value = np.zeros(w.F)
        self.clout = np.ones(w.N)
        self.power_ctx = PowerContext(
            world=w,
            step=0,
            streams=self.streams,
            pulls=self.pulls,
            ledger=self.ledger,
            credit=col,
            log=self.log,
            stack=self.stack,
            size=self.size,
            framing_penalty=sc.paths.discourse.framing_penalty,
        )
        self.powers = Powers(sc.levers, self.power_ctx)
        self.state_agents = [StateAgent(self, w, i) for i in range(w.N)]
        self.forum_agents = [ForumAgent(self, w, f) for f in range(w.F)]
        # Mesa 3.3 numbers agents from a class-level counter keyed by the model, which keeps
        # every model alive (about 2 MB a baseline run: gigabytes over a sweep). All agents
        # exist now, so the counter is no longer needed.
        mesa.Agent._ids.pop(self, None)
        self.recorder = Recorder(w, self.n_steps, self.stack is not None, with_sources=ledger_entries)
        self._datacollector: Any = None  # made when first read (`datacollector`)
        self._refresh()
        self.running = True
        self._record(0)

    # ------------------------------------------------------------------ helpers
    def state(self, name: str) -> StateAgent:
        return self.state_agents[self.world.index[name]]

    def forum(self, name: str) -> ForumAgent:
        return self.forum_agents[self.world.forum_index[name]]

    def _refresh(self) -> None:
        """Quantities that hold for the whole choice-and-action phase of a step."""
        w, sc = self.world, self.scenario
        self.size[:] = influence.target_size(w.market)
        self.forum_value[:] = influence.text_value(w.weight, self.size, w.live_members())
        self.clout[:] = influence.clout(w.res, sc.influence.clout)
        self.standing = influence.standing(w.influence, sc.influence.standing)
        # agenda weight of each member in each forum, as the step's choices begin
        self.agenda = self.p.institutional.baseline_engagement + w.engagement
        self._views: dict[str, Any] = {}

    def drafting(self) -> discourse.Drafting:
        """This step's view for discourse construction."""
        if "drafting" not in self._views:
            w = self.world
            self._views["drafting"] = discourse.Drafting(
                params=self.p.discourse,
                norms=w.norms,
                pos=w.pos,
                text=w.text,
                live=w.live_members(),
                algorithms=w.res[:, 2],
                capacity=w.cap[:, 2],
                president=w.president[:, self.steps],
                syn=self.syn[:, discourse.COL],
                agenda=self.agenda,
                standing=self.standing,
                forum_value=self.forum_value,
                dist=w.dist_text_pos(),
                pulls=self.pulls,
            )
        view: discourse.Drafting = self._views["drafting"]
        return view

    def participation(self) -> institutional.Participation:
        """This step's view for institutional participation."""
        if "participation" not in self._views:
            w = self.world
            self._views["participation"] = institutional.Participation(
                params=self.p.institutional,
                reputation_weight=self.p.influence.reputation_weight,
                members=w.members,
                active=w.active,
                live=w.live_members(),
                engagement=w.engagement,
                weight=w.weight,
                text=w.text,
                link_a=w.link_a,
                link_b=w.link_b,
                president=w.president[:, self.steps],
                forum_value=self.forum_value,
                syn=self.syn[:, institutional.COL],
                pulls=self.pulls,
            )
        view: institutional.Participation = self._views["participation"]
        return view

    def sharing(self) -> practice.Sharing:
        """This step's view for practice sharing."""
        if "sharing" not in self._views:
            w = self.world
            self._views["sharing"] = practice.Sharing(
                params=self.p.practice,
                ties=self.ties,
                pos=w.pos,
                cap=w.cap,
                soft=w.soft,
                openness=w.openness,
                size=self.size,
                clout=self.clout,
                syn=self.syn[:, practice.COL],
                pulls=self.pulls,
            )
        view: practice.Sharing = self._views["sharing"]
        return view

    def frameworks(self) -> forums.Frameworks:
        """The view of supporting frameworks (made when used)."""
        w = self.world
        return forums.Frameworks(
            params=self.p.frameworks,
            baseline_engagement=self.p.institutional.baseline_engagement,
            launched=w.fw_launched,
            founder=w.fw_founder,
            forum=w.fw_forum,
            text=w.fw_text,
            members=w.fw_members,
            pos=w.pos,
            engagement=w.engagement,
            weight=w.weight,
            weight0=w.weight0,
            size=self.size,
            ledger=self.ledger,
            credit=self.gain_col[institutional.CREDITED_TO],
            names=w.names,
            forum_names=w.forum_names,
            fw_names=w.fw_names,
            rng=self.streams["frameworks"],
            log=self.log,
            step=self.steps,
        )

    def joining(self) -> forums.Joining:
        """The view of endogenous membership (made when used: it reads the distances now)."""
        w = self.world
        return forums.Joining(
            params=self.p.membership,
            members=w.members,
            active=w.active,
            openness=w.forum_openness,
            eligible=w.eligible,
            rule=w.admission_rule,
            rule_dims=w.admission_dims,
            rule_threshold=w.admission_threshold,
            weight=w.weight,
            pos=w.pos,
            text=w.text,
            charter=w.charter,
            dist=w.dist_text_pos,
            changes=w.changes,
            names=w.names,
            forum_names=w.forum_names,
            rng=self.streams["membership"],
            log=self.log,
            step=self.steps,
        )

    # ------------------------------------------------------------------ actions
    def apply(self, action: str, actors: IntArray) -> None:
        """The `actors` take `action` this step."""
        if action == institutional.NAME:
            institutional.apply(self.participation(), actors)
        elif action == discourse.NAME:
            discourse.apply(self.drafting(), actors)
        elif action == practice.NAME:
            practice.apply(self.sharing(), actors)
        else:
            for i in actors:
                self.powers.act(action, int(i))

    def potential(self, action: str, actors: IntArray) -> Array:
        """Expected gain of `action` for each of `actors` now (what best response weighs)."""
        if action == institutional.NAME:
            return institutional.potential(self.participation(), actors)
        if action == discourse.NAME:
            return discourse.potential(self.drafting(), actors)
        if action == practice.NAME:
            return practice.potential(self.sharing(), actors)
        # a technology power: what it has recently earned the state
        return self.policies.expected[actors, self.gain_col[action]]

    def potentials(self, actors: IntArray) -> Array:
        """[len(actors), A] expected gains of every action."""
        return np.column_stack([self.potential(name, actors) for name in self.actions])

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        """One step, with floating-point overflow and invalid operations (inf - inf) as errors:
        a parameter too large for the arithmetic stops the run, located, instead of writing
        silently wrong numbers."""
        try:
            with np.errstate(over="raise", invalid="raise"):
                self._advance()
        except FloatingPointError as exc:
            year = self.world.calendar.year_at(self.steps)
            raise SimError(
                f"{self.scenario.name}: numeric {exc} at step {self.steps} (year {year:g}); a parameter "
                "value is too large for the model's arithmetic (see docs/model.md for each one's range)"
            ) from None

    def _advance(self) -> None:
        w, sc, k = self.world, self.scenario, self.steps
        self.power_ctx.step = k
        self.powers.draw()
        # 1. growth (levers may slow or speed it)
        gf = growth.factors(w.growth)
        self.powers.on_growth(gf)
        growth.grow(w.res, w.market, gf)
        # 2. scheduled events
        self.timeline.fire(k, w, self.log, self.stack, self.frameworks, self.policies)
        self.powers.fire()
        institutional.decay_engagement(w.engagement, self.p.institutional)
        self._refresh()
        # 3. choices
        self.syn[:] = synergy.multipliers(w.use, self.coupling, sc.model.synergy)
        if self.powers.levers:
            self.policies.available[:] = w.allowed & self.powers.available(self.actions, w.N)
        w.action[:] = self.policies.choose(self.streams["choice"], w.activity, self.potentials)
        # 4. effects
        self.pulls.reset()
        self.ledger.reset(k)
        for a, name in enumerate(self.actions):
            actors = np.flatnonzero(w.action == a)
            if actors.size:
                self.apply(name, actors)
        self.powers.on_effects()
        p_inst = self.p.institutional
        forums.consensus(
            self.pulls,
            w.live_members(),
            w.engagement,
            self.clout * self.standing,
            p_inst.consensus_rate,
            p_inst.baseline_engagement,
        )
        if self.stack is not None:
            self.stack.add_pulls(self.pulls)
        self.pulls.add_anchor(
            self.p.influence.anchoring, influence.domestic_weight(w.openness, sc.influence.domestic)
        )
        self.pulls.resolve(self.ledger, self.size, self.forum_value, w.dist_text_pos())
        self.powers.on_moved()
        practice.relax_openness(w.openness, w.openness0, self.p.practice)
        if w.fw_launched.any():
            forums.framework_step(self.frameworks())
        forums.membership_step(self.joining())
        if self.stack is not None:
            self.powers.on_stack()
            self.stack.step()
        synergy.record_use(w.use, w.action, self.p.model.memory)
        # 5. influence and learning
        total = influence.update(
            w.influence,
            w.reputation,
            self.ledger,
            w.live_members(),
            w.weight,
            w.engagement,
            self.clout,
            self.p.influence,
        )
        self.policies.learn(w.action, self.gains, total)
        self._record(k)
        if k >= self.n_steps:
            self.running = False

    def _record(self, k: int) -> None:
        self.recorder.record(
            k, influence.followers(self.world.received, self.scenario.influence.follow_threshold)
        )
        self.powers.record()

    def run(self) -> RuleMakingModel:
        while self.running:
            self.step()
        return self

    @property
    def datacollector(self) -> Any:
        """Mesa's DataCollector interface over the recorded outputs (`RecorderView`: model and
        agent dataframes, every output table, what `mesa.batch_run` reads), built when read.
        A subclass may set its own `mesa.DataCollector` here instead."""
        if self._datacollector is None:
            self._datacollector = RecorderView(
                self.recorder,
                self.table,
                (*self.recorder.names(), "powers"),
                [a.unique_id for a in self.state_agents],
                [a.unique_id for a in self.forum_agents],
            )
        return self._datacollector

    @datacollector.setter
    def datacollector(self, collector: Any) -> None:
        self._datacollector = collector

    def table(self, name: str) -> pd.DataFrame:
        """One output table, as `tables()` gives it, built alone from the recorded arrays."""
        if name == "powers":
            return self.powers.table()
        return self.recorder.table(name, self.log, self.scenario.influence.follow_threshold, self.ledger)

    def tables(self, names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        """The output tables `names` (default: all, `powers` last), each built once."""
        rec = [n for n in names if n != "powers"] if names is not None else None
        out = self.recorder.tables(self.log, self.scenario.influence.follow_threshold, self.ledger, rec)
        if names is None or "powers" in names:
            out["powers"] = self.powers.table()
        return out if names is None else {n: out[n] for n in names}
