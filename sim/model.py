"""RuleMakingModel: international rule-making competition in AI governance.

One step (a quarter by default) follows MODEL.md section 2:
  1. growth of resources and markets;
  2. scheduled events (forums created, presidencies, frameworks, joins, leaves, changes);
  3. every state chooses an action through its policy (simultaneously, from the state at
     the start of the step, so the outcome does not depend on an activation order);
  4. the chosen actions add pulls; forums' consensus and frameworks act; texts and
     positions move; membership grows;
  5. influence is credited and decays; policies learn from the gains they realised.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim import forums, influence
from sim.actions import ACTIONS
from sim.agents import ForumAgent, StateAgent
from sim.events import EventLog, Timeline
from sim.paths import institutional, practice, synergy
from sim.policies import Policies
from sim.powers import Powers
from sim.powers.stack import Stack
from sim.pulls import Pulls
from sim.recorder import Recorder
from sim.scenario.levers import StackSettings
from sim.scenario.loader import apply_set, load_scenario, validate
from sim.scenario.schema import PATHS, Scenario
from sim.world import World


class RuleMakingModel(mesa.Model):
    """Build from a scenario (object or path; None: the packaged baseline) and a seed
    (None: the scenario's `model.seed`). `steps` overrides the scenario's run length.

    Flat keyword parameters change scenario values, `__` standing for the `.` of a `--set`
    key path: `RuleMakingModel(seed=1, model__synergy=0.5, influence__decay=0.1)`. This is
    what `mesa.batch_run` needs (`parameters={"model__synergy": [0, 1], ...}`)."""

    def __init__(
        self,
        scenario: Scenario | str | Path | None = None,
        seed: int | None = None,
        steps: int | None = None,
        overrides: list[str] | tuple[str, ...] = (),
        **params: Any,
    ) -> None:
        overrides = [*overrides, *(f"{k.replace('__', '.')}={json.dumps(v)}" for k, v in params.items())]
        if isinstance(scenario, Scenario) and overrides:
            raw = scenario.model_dump(mode="json")
            for assignment in overrides:
                apply_set(raw, assignment)
            scenario = validate(raw, scenario.name or "scenario")
        elif not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario, overrides)
        if steps is not None:
            scenario = scenario.model_copy(
                update={"model": scenario.model.model_copy(update={"steps": steps, "end_year": None})}
            )
        self.scenario = scenario
        self.seed_used = int(scenario.model.seed if seed is None else seed)
        super().__init__(seed=self.seed_used)
        self.n_steps = scenario.n_steps
        self.actions = tuple(ACTIONS)
        self.world = World(scenario, self.actions)
        w = self.world
        self.gain_col = {a: k for k, a in enumerate(self.actions)}
        self.gains = np.zeros((w.N, w.A))
        self.pulls = Pulls(
            w,
            # the forums' own weighted consensus is not any one state's doing: not credited
            text_channels={"draft": "discourse", "consensus": None},
            # dependence on a supplier pulls toward it: structural power, credited as `alliance`
            pos_channels={"practice": "practice", "dependence": "alliance"},
        )
        self.coupling = synergy.coupling_matrix(scenario.model)
        self.syn = np.ones((w.N, len(PATHS)))
        self.policies = Policies(scenario, self.actions, w.allowed)
        self.log = EventLog()
        self.timeline = Timeline(self)
        stack_settings = scenario.stack or (StackSettings() if scenario.levers else None)
        self.stack = Stack(self, stack_settings) if stack_settings and stack_settings.enabled else None
        self.powers = Powers(self)
        self.recent_gain = np.zeros((w.N, w.A))
        self.state_agents = [StateAgent(self, i) for i in range(w.N)]
        self.forum_agents = [ForumAgent(self, f) for f in range(w.F)]
        self.recorder = Recorder(self, self.n_steps)
        self.refresh_cache()
        self.running = True
        self.recorder.record(self, 0)

    # ------------------------------------------------------------------ helpers
    def state(self, name: str) -> StateAgent:
        return self.state_agents[self.world.index[name]]

    def forum(self, name: str) -> ForumAgent:
        return self.forum_agents[self.world.forum_index[name]]

    def target_size(self) -> np.ndarray:
        """Weight of a state as a target of influence: market size relative to the mean."""
        m = self.world.market
        return m / m.mean()

    def text_value(self, size: np.ndarray) -> np.ndarray:
        """Weight of a forum text as a target: forum weight x total size of its members."""
        w = self.world
        return w.weight * (size @ (w.members & w.active[None, :]))

    def refresh_cache(self) -> None:
        """Quantities that hold for the whole choice-and-action phase of a step."""
        self.size = self.target_size()
        self.forum_value = self.text_value(self.size)
        self.clout = self.world.clout(self.scenario.influence.clout)
        self.cache: dict[str, np.ndarray] = {}

    def memo(self, key: str, fn) -> np.ndarray:
        """Compute once per step (cleared by `refresh_cache`)."""
        if key not in self.cache:
            self.cache[key] = fn()
        return self.cache[key]

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        w, sc = self.world, self.scenario
        # 1. growth (levers may slow or speed it)
        gf = w.growth.copy()
        if w.efficiency.any():  # induced efficiency innovation is realised over about a year
            realised = w.efficiency / w.calendar.steps_per_year
            gf[:, 0] *= 1.0 + realised
            w.efficiency -= realised
        self.powers.growth(self, gf)
        w.res *= gf[:, :3]
        w.market *= gf[:, 3]
        # 2. scheduled events
        self.timeline.fire(self)
        self.powers.fire(self)
        w.engagement *= 1.0 - sc.paths.institutional.engagement_decay
        self.refresh_cache()
        # 3. choices
        self.syn = synergy.multipliers(w.use, self.coupling, sc.model.synergy)
        w.action = self.policies.choose(self)
        # 4. effects
        self.pulls.reset()
        self.gains.fill(0.0)
        for a, name in enumerate(self.actions):
            actors = np.flatnonzero(w.action == a)
            if actors.size:
                ACTIONS[name].apply(self, actors)
        self.powers.effects(self)
        institutional.consensus(self)
        if self.stack is not None:
            self.stack.add_pulls(self)
        self.pulls.anchor += sc.influence.anchoring
        self.pulls.resolve(
            self.gains,
            self.gain_col,
            self.size,
            self.forum_value,
            w.dist_text_pos(),
            sc.paths.institutional.broker_credit,
        )
        self.powers.after_move(self)
        practice.relax_openness(self)
        forums.framework_step(self)
        forums.membership_step(self)
        if self.stack is not None:
            self.powers.stack_inputs(self)
            self.stack.step(self)
        synergy.record_use(w.use, w.action, sc.model.memory)
        # 5. influence and learning
        total = influence.update(self)
        self.policies.learn(w.action, self.gains, total)
        self.recent_gain += 0.2 * (self.gains - self.recent_gain)
        self.recorder.record(self, self.steps)
        if self.steps >= self.n_steps:
            self.running = False

    def run(self) -> RuleMakingModel:
        while self.running:
            self.step()
        return self

    @property
    def datacollector(self) -> RecorderView:
        """A read-only, Mesa DataCollector-shaped view of the recorded outputs (for
        `mesa.batch_run`): model_vars per step, and per-state records."""
        return RecorderView(self)

    def tables(self) -> dict[str, Any]:
        out = self.recorder.tables(self)
        out["powers"] = self.powers.table()
        return out


class RecorderView:
    """What `mesa.batch_run` reads from a DataCollector, built from the recorder."""

    agent_reporters = ("influence", "influence_share", "punching_ratio")  # names, as batch_run reads them

    def __init__(self, model: RuleMakingModel) -> None:
        rec, w = model.recorder, model.world
        derived = rec.derived(model)
        align = rec.alignment(model)
        with np.errstate(all="ignore"):
            index = np.nanmean(align, axis=1) if align.shape[1] else np.full(rec.n, np.nan)
        self.model_vars = {
            "alignment_index": index.tolist(),
            "influence_hhi": np.square(derived["influence_share"]).sum(axis=1).tolist(),
        }
        for i, name in enumerate(w.names):
            self.model_vars[f"influence_share[{name}]"] = derived["influence_share"][:, i].tolist()
        ids = [a.unique_id for a in model.state_agents]
        self._agent_records = {
            k: [
                (
                    k,
                    ids[i],
                    derived["influence"][k, i],
                    derived["influence_share"][k, i],
                    derived["punching_ratio"][k, i],
                )
                for i in range(w.N)
            ]
            for k in range(rec.n)
        }
