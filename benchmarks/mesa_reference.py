"""A speed peer for `benchmarks/bench_run.py` (figure c), not a second model: a per-agent Mesa 3
model written the way a Mesa user naturally would (plain loops over agents and neighbours, an
AgentSet, a DataCollector every step) of the same scenario at a smaller scope: the three paths
(`sim.paths`), forums' consensus, home anchoring, influence credited from the movement caused,
a fixed / learning / best-response choice. Left out: growth, events, frameworks, brokerage,
membership, synergy, powers. Only its cost is compared: `ReferenceModel(scenario).run()`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import mesa

from sim.fields import per_step
from sim.scenario.schema import Forum, Scenario, State

ACTIONS = ("institutional", "discourse", "practice")


def dist(a: Sequence[float], b: Sequence[float]) -> float:  # as `sim.engine.geometry.distance`
    return math.dist(a, b) / math.sqrt(len(a))


def share(rate: float) -> float:  # the share of a gap a pull of `rate` closes in one step
    return -math.expm1(-rate)


def vec(value: list[float] | dict[str, float], norms: list[str]) -> list[float]:
    return [float(value[n]) for n in norms] if isinstance(value, dict) else [float(v) for v in value]


class ForumAgent(mesa.Agent):
    def __init__(self, model: ReferenceModel, spec: Forum, norms: list[str]) -> None:
        super().__init__(model)
        self.weight, self.inclusiveness, self.presidency = spec.weight, spec.inclusiveness, spec.presidency
        self.members: list[StateAgent] = [model.by_name[n] for n in spec.members]
        for s in self.members:
            s.forums.append(self)
            s.engagement[self] = 0.0
        self.text = [0.5] * len(norms) if spec.text is None else vec(spec.text, norms)
        self.prepare()
        if spec.text is None and self.members:
            self.text = list(self.centre)  # no drafted text yet: the members' mean position

    def prepare(self) -> None:
        """Before the states act: the members' centre, the text's value, the current host."""
        n, dims = len(self.members), range(len(self.text))
        self.centre = [sum(s.pos[d] for s in self.members) / n for d in dims] if n else self.text
        self.value = self.weight * sum(s.size for s in self.members)
        self.president = self.model.by_name.get(self.presidency.get(self.model.year, ""))
        self.moved = 0.0

    def step(self) -> None:
        """Consensus: drift toward the members, weighted by agenda x clout x standing (nobody's credit)."""
        p = self.model.inst
        weights = [(p.baseline_engagement + s.engagement[self]) * s.clout * s.standing for s in self.members]
        total = sum(weights)
        if total <= 0:
            return
        dims = range(len(self.text))
        target = [sum(w * s.pos[d] for w, s in zip(weights, self.members, strict=True)) / total for d in dims]
        g = share(p.consensus_rate)
        self.moved += g * dist(self.text, target)
        self.text = [t + g * (x - t) for t, x in zip(self.text, target, strict=True)]


class StateAgent(mesa.Agent):
    def __init__(self, model: ReferenceModel, spec: State, norms: list[str]) -> None:
        super().__init__(model)
        self.region = spec.region
        self.pos = vec(spec.position, norms)
        self.home = list(self.pos)
        r, c = spec.resources, spec.capacities
        self.res = (r.compute, r.data, r.algorithms)
        self.standards_cap, self.regulatory_cap, self.discourse_cap = c.standards, c.regulatory, c.discourse
        self.market, self.openness, self.openness0 = spec.market, spec.openness, spec.openness
        soft = 1.0 - self.pos[norms.index("hardness")] if "hardness" in norms else 0.5
        self.soft = spec.soft_law if spec.soft_law is not None else soft
        self.policy = per_step(spec.policy, model.spy)
        self.forums: list[ForumAgent] = []
        self.engagement: dict[ForumAgent, float] = {}
        self.ties: dict[StateAgent, float] = {}
        self.size = self.clout = self.standing = 1.0
        self.influence = self.reputation = self.scale = self.moved = 0.0
        self.gains = dict.fromkeys(ACTIONS, 0.0)
        self.recent = dict.fromkeys(ACTIONS, 0.0)  # running mean of each action's gain when taken
        self.q = dict.fromkeys(ACTIONS, 1.0)  # Roth-Erev propensities
        self.action = ""

    def step(self) -> None:
        for f in self.forums:
            self.engagement[f] *= 1.0 - self.model.inst.engagement_decay
        self.action = self.choose()
        getattr(self, self.action)()

    def choose(self) -> str:
        pol, rnd = self.policy, self.model.random
        if pol.kind == "fixed":
            return rnd.choices(ACTIONS, [pol.mix.get(a, 0.0) for a in ACTIONS])[0]
        if pol.kind == "learning":
            return rnd.choices(ACTIONS, [self.q[a] for a in ACTIONS])[0]
        top = max(self.recent.values()) or 1.0  # best response to the recent gains, with Gumbel noise
        noisy = [self.recent[a] / top - pol.noise * math.log(rnd.expovariate(1.0) + 1e-300) for a in ACTIONS]
        return ACTIONS[noisy.index(max(noisy))]

    def institutional(self) -> None:
        """Raise engagement in the best forum (value x presidency x room to grow)."""
        p = self.model.inst
        best, best_score = None, 0.0
        for f in self.forums:
            pres = 1.0 + p.presidency_preference * (f.president is self)
            score = f.value * pres * (1.0 - self.engagement[f] + 1e-3)
            if score > best_score:
                best, best_score = f, score
        if best is None:
            return
        d = share(p.engagement_rate) * (1.0 - self.engagement[best])
        self.engagement[best] += d
        part = best.weight / sum(f.weight for f in self.forums)  # what the raise adds to reputation
        self.gains["institutional"] += self.model.infl.reputation_weight * d * part / p.engagement_decay

    def discourse(self) -> None:
        """Draft where value x pull x distance is largest (legitimacy: closeness to the members' centre)."""
        m, p = self.model, self.model.disc
        alg = self.res[2]
        base = p.draft_rate * self.discourse_cap * alg / (alg + m.mean_algorithms) * self.standing
        best, best_score, best_s = None, 0.0, 0.0
        for f in self.forums:
            penalty = p.distance_penalty * dist(self.pos, f.centre)
            penalty += sum(w * abs(self.pos[d] - f.centre[d]) for d, w in m.framing)
            agenda = (m.inst.baseline_engagement + self.engagement[f]) ** p.agenda_weight
            pres = p.presidency_multiplier if f.president is self else 1.0
            s = base * agenda * math.exp(-penalty) * pres
            score = f.value * s * dist(f.text, self.pos)
            if score > best_score:
                best, best_score, best_s = f, score, s
        if best is None:
            return
        g = share(best_s)
        moved = g * dist(best.text, self.pos)
        best.text = [t + g * (x - t) for t, x in zip(best.text, self.pos, strict=True)]
        best.moved += moved
        self.gains["discourse"] += best.value * moved

    def practice(self) -> None:
        """Share practice: every tied state's position moves toward ours (and opens up)."""
        p = self.model.prac
        own = p.share_rate * 0.5 * (self.standards_cap + self.regulatory_cap) * self.clout
        for j, tie in self.ties.items():
            fit = 1.0 + p.soft_fit * self.soft * (1.0 - j.regulatory_cap)
            g = share(own * fit * j.openness * tie)
            moved = g * dist(j.pos, self.pos)
            j.pos = [x + g * (y - x) for x, y in zip(j.pos, self.pos, strict=True)]
            j.moved += moved
            self.gains["practice"] += j.size * moved
            j.openness += share(p.capacity_building * tie) * (1.0 - j.openness)

    def advance(self) -> None:
        """After everyone acted: home anchoring, openness relaxing, influence, learning."""
        m, pi = self.model, self.model.infl
        k = pi.domestic * (1.0 - self.openness) / max(self.openness, 0.01)
        g = share(pi.anchoring * k)
        self.pos = [x + g * (h - x) for x, h in zip(self.pos, self.home, strict=True)]
        self.openness += m.prac.openness_relax * (self.openness0 - self.openness)
        total_w = sum(f.weight for f in self.forums)
        engaged = sum(f.weight * self.engagement[f] for f in self.forums) / total_w if total_w else 0.0
        self.reputation += pi.reputation_memory * (engaged - self.reputation)
        gain = sum(self.gains.values())
        self.influence = (1.0 - pi.decay) * self.influence + gain + pi.reputation_weight * self.reputation
        a, ps, pol = self.action, m.settings, self.policy
        self.recent[a] += ps.gain_memory * (self.gains[a] - self.recent[a])
        self.scale += ps.scale_memory * (gain - self.scale)
        if pol.kind == "learning":
            reward = max(self.gains[a], 0.0) / self.scale if self.scale > 0 else 0.0
            e = pol.experimentation
            for b in ACTIONS:
                self.q[b] *= 1.0 - pol.forgetting
                self.q[b] += pol.learning_rate * reward * ((1.0 - e) if b == a else e / (len(ACTIONS) - 1))
        self.gains = dict.fromkeys(ACTIONS, 0.0)


class ReferenceModel(mesa.Model):
    def __init__(self, sc: Scenario, seed: int | None = None, steps: int | None = None) -> None:
        super().__init__(seed=sc.model.seed if seed is None else seed)
        self.spy, self.start_year = sc.model.steps_per_year, sc.model.start_year
        self.year = self.start_year
        self.n_steps = sc.n_steps if steps is None else steps
        self.inst = per_step(sc.paths.institutional, self.spy)
        self.disc = per_step(sc.paths.discourse, self.spy)
        self.prac = per_step(sc.paths.practice, self.spy)
        self.infl = per_step(sc.influence, self.spy)
        self.settings = per_step(sc.policy_settings, self.spy)
        norms = sc.norm_names
        self.framing = [(norms.index(d), w) for d, w in self.disc.framing_penalty.items() if d in norms]
        self.by_name = {s.name: StateAgent(self, s, norms) for s in sc.states}
        self.states = self.agents_by_type[StateAgent]
        n = len(self.states)
        mean_market = sum(s.market for s in self.states) / n
        totals = [sum(s.res[r] for s in self.states) for r in range(3)]
        for s in self.states:
            s.size = s.market / mean_market
            s.clout = (sum(s.res[r] / totals[r] for r in range(3)) / 3 * n) ** self.infl.clout
        self.mean_algorithms = totals[2] / n
        for spec in sc.forums:
            ForumAgent(self, spec, norms)
        self.forums = self.agents_by_type[ForumAgent]
        self._ties(sc)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "mean_influence": lambda m: sum(s.influence for s in m.states) / len(m.states),
                "text_moved": lambda m: sum(f.moved for f in m.forums),
            },
            agent_reporters={"moved": "moved"},
            agenttype_reporters={
                StateAgent: {"influence": "influence", "action": "action", "pos": lambda a: tuple(a.pos)},
                ForumAgent: {"text": lambda f: tuple(f.text)},
            },
        )

    def _ties(self, sc: Scenario) -> None:
        """tie[j, i]: partners, the same region, shared club forums (`sim.paths.practice.Ties`)."""
        p, states = self.prac, list(self.states)
        ties: dict[StateAgent, dict[StateAgent, float]] = {s: {} for s in states}
        for f in self.forums:  # shared clubs add up, to at most comember_tie
            club = p.comember_tie * (1.0 - f.inclusiveness)
            for a in f.members:
                for b in f.members:
                    if a is not b:
                        ties[a][b] = min(p.comember_tie, ties[a].get(b, 0.0) + club)
        for a in states:
            for b in states:
                if a is not b and a.region and a.region == b.region:
                    ties[a][b] = max(ties[a].get(b, 0.0), p.region_tie)
        for spec in sc.states:
            a = self.by_name[spec.name]
            for b in (self.by_name[n] for n in spec.partners if n in self.by_name):
                if a is not b:
                    ties[a][b] = ties[b][a] = max(ties[a].get(b, 0.0), p.partner_tie)
        for a in states:
            a.ties = {b: t for b, t in ties[a].items() if t > 0}

    def step(self) -> None:
        self.year = self.start_year + (self.steps - 1) // self.spy
        total, n, w = sum(s.influence for s in self.states), len(self.states), self.infl.standing
        for s in self.states:
            x = s.influence * n / total if total > 0 else 0.0
            s.standing = 1.0 + w * x / (1.0 + x)  # accumulated influence lends weight (`influence.standing`)
            s.moved = 0.0
        self.forums.do("prepare")
        self.states.shuffle_do("step")
        self.forums.do("step")
        self.states.do("advance")
        self.datacollector.collect(self)

    def run(self) -> ReferenceModel:
        while self.steps < self.n_steps:
            self.step()
        return self
