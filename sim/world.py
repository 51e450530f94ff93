"""The model's state as numpy arrays, compiled once from a validated scenario.

Agents read and write through these arrays (they are thin views), so that every
mechanism can act on all states or forums at once. Index conventions: states `i, j` in
[0, N), forums `f, g` in [0, F), norm dimensions `d` in [0, D), actions `a` in [0, A).
"""

from __future__ import annotations

import numpy as np

from sim.calendar import Calendar
from sim.scenario.schema import LAYERS, PATHS, Scenario

RESOURCES = ("compute", "data", "algorithms")
CAPACITIES = ("standards", "regulatory", "discourse")


def _vec(pos: list[float] | dict[str, float], norms: list[str]) -> np.ndarray:
    if isinstance(pos, dict):
        return np.array([pos[n] for n in norms], dtype=float)
    return np.array(pos, dtype=float)


class World:
    """All dynamic and static arrays of one model instance."""

    def __init__(self, sc: Scenario, actions: tuple[str, ...]) -> None:
        self.scenario = sc
        self.norms = sc.norm_names
        self.actions = actions
        self.N, self.F, self.D, self.A = len(sc.states), len(sc.forums), len(self.norms), len(actions)
        self.calendar = Calendar(sc.model.start_year, sc.model.steps_per_year, sc.n_steps)
        spy = sc.model.steps_per_year
        N, F, D = self.N, self.F, self.D

        # ---- states
        self.names = [s.name for s in sc.states]
        self.index = {n: i for i, n in enumerate(self.names)}
        self.tier = np.array([s.tier for s in sc.states], dtype=np.int8)
        self.developing = np.array([s.developing for s in sc.states], dtype=bool)
        regions = [s.region for s in sc.states]
        self.region_names = sorted(set(regions))
        self.region = np.array([self.region_names.index(r) for r in regions], dtype=np.int32)
        self.res = np.array([[getattr(s.resources, r) for r in RESOURCES] for s in sc.states])
        self.market = np.array([s.market for s in sc.states], dtype=float)
        annual = np.array(
            [[s.growth.compute, s.growth.data, s.growth.algorithms, s.growth.market] for s in sc.states]
        )
        self.growth = (1.0 + annual) ** (1.0 / spy)  # per-step factors
        self.cap = np.array([[getattr(s.capacities, c) for c in CAPACITIES] for s in sc.states])
        self.pos = np.array([_vec(s.position, self.norms) for s in sc.states]).reshape(N, D)
        self.home = self.pos.copy()
        hard = self.norms.index("hardness") if "hardness" in self.norms else None
        self.soft = np.array(
            [
                s.soft_law
                if s.soft_law is not None
                else (1.0 - self.pos[i, hard] if hard is not None else 0.5)
                for i, s in enumerate(sc.states)
            ]
        )
        self.openness0 = np.array([s.openness for s in sc.states])
        self.openness = self.openness0.copy()
        self.activity = np.array([s.activity for s in sc.states])
        self.partners = np.zeros((N, N), dtype=bool)
        for i, s in enumerate(sc.states):
            for p in s.partners:
                self.partners[i, self.index[p]] = self.partners[self.index[p], i] = True
        # dependence[l, i, j]: share of state i's layer-l supply provided by state j
        self.dependence = np.zeros((len(LAYERS), N, N))
        for i, s in enumerate(sc.states):
            for li, layer in enumerate(LAYERS):
                row = (s.dependence or {}).get(layer)
                if row is None:
                    self.dependence[li, i, i] = 1.0
                else:
                    for sup, share in row.items():
                        self.dependence[li, i, self.index[sup]] = share
        self.allowed = np.zeros((N, self.A), dtype=bool)
        for i, s in enumerate(sc.states):
            for a in s.actions if s.actions is not None else PATHS:
                self.allowed[i, actions.index(a)] = True

        # ---- forums
        self.forum_names = [f.name for f in sc.forums]
        self.forum_index = {n: k for k, n in enumerate(self.forum_names)}
        self.members = np.zeros((N, F), dtype=bool)
        for k, f in enumerate(sc.forums):
            for mem in f.members:
                self.members[self.index[mem], k] = True
        self.weight0 = np.array([f.weight for f in sc.forums], dtype=float)
        self.weight = self.weight0.copy()
        self.inclusiveness = np.array([f.inclusiveness for f in sc.forums], dtype=float)
        self.forum_openness = np.array([f.openness for f in sc.forums], dtype=float)
        self.eligible = np.ones((F, N), dtype=bool)
        for k, f in enumerate(sc.forums):
            if f.open_to is not None:
                allowed_regions = [self.region_names.index(r) for r in f.open_to]
                self.eligible[k] = np.isin(self.region, allowed_regions)
        self.text = np.zeros((F, D))
        for k, f in enumerate(sc.forums):
            if f.text is not None:
                self.text[k] = _vec(f.text, self.norms)
            elif f.members:
                self.text[k] = self.pos[self.members[:, k]].mean(axis=0)
            else:
                self.text[k] = 0.5
        cal = self.calendar
        self.start_step = np.array(
            [0 if f.start is None else max(0, cal.step_of(f.start)) for f in sc.forums], dtype=np.int64
        )
        self.active = self.start_step == 0
        pairs = sorted(
            {tuple(sorted((k, self.forum_index[g]))) for k, f in enumerate(sc.forums) for g in f.links}
        )
        self.link_a = np.array([p[0] for p in pairs], dtype=np.int64)
        self.link_b = np.array([p[1] for p in pairs], dtype=np.int64)
        self.link_names = [f"{self.forum_names[a]}~{self.forum_names[b]}" for a, b in pairs]
        # president[f, k]: state holding forum f's presidency during step k (-1: none)
        T = sc.n_steps
        self.president = np.full((F, T + 1), -1, dtype=np.int64)
        years = np.array([cal.calendar_year_of_step(k) for k in range(1, T + 1)])
        for k, f in enumerate(sc.forums):
            for year, holder in f.presidency.items():
                self.president[k, 1:][years == year] = self.index[holder]

        # ---- frameworks (DFFT-like supporting institutions)
        self.fw_names = [fw.name for fw in sc.frameworks]
        self.fw_founder = np.array([self.index[fw.founder] for fw in sc.frameworks], dtype=np.int64)
        self.fw_forum = np.array([self.forum_index[fw.forum] for fw in sc.frameworks], dtype=np.int64)
        self.fw_step = np.array([cal.step_of(fw.date) for fw in sc.frameworks], dtype=np.int64)
        self.fw_text = np.array(
            [
                _vec(fw.text, self.norms) if fw.text is not None else self.pos[self.index[fw.founder]]
                for fw in sc.frameworks
            ]
        ).reshape(len(sc.frameworks), D)
        self.fw_launched = np.zeros(len(sc.frameworks), dtype=bool)
        self.fw_members = np.zeros((len(sc.frameworks), N), dtype=bool)

        # ---- dynamic stocks
        self.engagement = np.zeros((N, F))
        self.use = np.zeros((N, len(PATHS)))  # recent use of each path (EMA of choices)
        self.influence = np.zeros(N)
        self.efficiency = np.zeros(N)  # pending induced efficiency innovation (export controls)
        self.reputation = np.zeros(N)
        self.received = np.zeros((N, N))  # received[j, i]: practice pull j has taken from i
        self.action = np.full(N, -1, dtype=np.int64)
        self.ties_dirty = True  # everything must be recomputed (a forum opened, say)
        self.ties_rows: set[int] = set()  # states whose memberships changed since
        self.ties = np.zeros((N, N))
        self.static_ties: np.ndarray | None = None
        self.version = 0  # bumped whenever positions or texts change (caches key on it)
        self._dist_tp: tuple[int, np.ndarray] | None = None

    # ------------------------------------------------------------------ derived quantities
    def refresh_ties(self, partner_tie: float, region_tie: float, comember_tie: float) -> None:
        """Practice-sharing reach: partners, region, and co-membership of club forums.

        Co-membership tie = comember_tie * min(1, sum over shared active forums of
        (1 - inclusiveness)): clubs bind more than universal forums, and shared clubs add up."""
        if self.static_ties is None:
            has_region = np.array([bool(r) for r in self.region_names])[self.region]
            same_region = (self.region[:, None] == self.region[None, :]) & has_region[:, None]
            self.static_ties = np.maximum(partner_tie * self.partners, region_tie * same_region)
        club = (1.0 - self.inclusiveness) * self.active
        m = self.members.astype(float)
        if self.ties_dirty:
            comember = (m * (comember_tie * club)) @ m.T
            np.minimum(comember, comember_tie, out=comember)
            t = np.maximum(self.static_ties, comember, out=comember)
            np.fill_diagonal(t, 0.0)
            self.ties = t
        elif self.ties_rows:
            rows = np.fromiter(sorted(self.ties_rows), dtype=np.int64)
            part = np.minimum((m[rows] * (comember_tie * club)) @ m.T, comember_tie)
            part = np.maximum(self.static_ties[rows], part)
            part[np.arange(rows.size), rows] = 0.0
            self.ties[rows] = part
            self.ties[:, rows] = part.T
        self.ties_dirty = False
        self.ties_rows.clear()

    def membership_changed(self, states) -> None:
        """Note that these states joined or left a forum (ties are updated lazily)."""
        self.ties_rows.update(int(i) for i in states)

    def dist_text_pos(self) -> np.ndarray:
        """[F, N] distances between forum texts and state positions (cached per version)."""
        from sim.pulls import cross_distance

        if self._dist_tp is None or self._dist_tp[0] != self.version:
            self._dist_tp = (self.version, cross_distance(self.text, self.pos))
        return self._dist_tp[1]

    def resource_share(self) -> np.ndarray:
        return (self.res / self.res.sum(axis=0)).mean(axis=1)

    def clout(self, exponent: float) -> np.ndarray:
        """Weight of a state's voice from its power base (seed 002 s.2: resource control and
        market size): (resource share / mean share) ** exponent; exponent 0 switches it off."""
        if exponent == 0.0:
            return np.ones(self.N)
        return (self.resource_share() * self.N) ** exponent

    def influence_share(self) -> np.ndarray:
        total = self.influence.sum()
        return self.influence / total if total > 0 else np.full(self.N, 1.0 / self.N)
