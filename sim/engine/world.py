"""The model's state as numpy arrays, so that every mechanism can act on all states or forums
at once. Mesa agents (`sim.model.agents`) are named views onto rows of these arrays.

Index conventions: states `i, j` in [0, N), forums `f, g` in [0, F), norm dimensions `d` in
[0, D), actions `a` in [0, A), AI layers `l` in [0, 3) (base, technical, application),
frameworks `k`. The world is allocated here from its sizes and filled from a scenario by
`sim.model.build`; arrays are only ever changed in place, so a view made of them stays live.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.engine.calendar import Calendar
from sim.engine.geometry import cross_distance
from sim.engine.types import AnyArray, Array, BoolArray, IntArray

RESOURCES = ("compute", "data", "algorithms")
CAPACITIES = ("standards", "regulatory", "discourse")
LAYERS = ("base", "technical", "application")


@dataclass
class Changes:
    """What changed in the world's structure since a cache last looked: states whose forum
    memberships changed, forums opened, partnerships formed. The one cache that reads it is
    the practice ties (`sim.paths.practice.Ties`), which clears what it has taken in."""

    rows: set[int] = field(default_factory=set)
    forums: bool = True  # a forum opened (or the world is new): recompute all
    partners: bool = True

    def joined(self, states: object) -> None:
        self.rows.update(int(i) for i in np.atleast_1d(np.asarray(states)))


class World:
    """All dynamic and static arrays of one model instance."""

    # ---- sizes and names
    N: int
    F: int
    D: int
    A: int
    norms: list[str]
    actions: tuple[str, ...]
    calendar: Calendar
    names: list[str]
    index: dict[str, int]
    region_names: list[str]
    forum_names: list[str]
    forum_index: dict[str, int]
    link_names: list[str]
    fw_names: list[str]

    def __init__(
        self,
        calendar: Calendar,
        norms: list[str],
        actions: tuple[str, ...],
        names: list[str],
        region_names: list[str],
        forum_names: list[str],
        links: list[tuple[int, int]],
        fw_names: list[str],
    ) -> None:
        self.calendar = calendar
        self.norms = list(norms)
        self.actions = actions
        self.names = list(names)
        self.index = {n: i for i, n in enumerate(self.names)}
        self.region_names = list(region_names)
        self.forum_names = list(forum_names)
        self.forum_index = {n: k for k, n in enumerate(self.forum_names)}
        self.fw_names = list(fw_names)
        N, F, D, A = len(names), len(forum_names), len(norms), len(actions)
        K, T = len(fw_names), calendar.n_steps
        self.N, self.F, self.D, self.A = N, F, D, A

        # ---- states (static: scenario data; `set` events may change capacities and the like)
        self.tier: AnyArray = np.zeros(N, dtype=np.int8)
        self.developing: BoolArray = np.zeros(N, dtype=bool)
        self.region: AnyArray = np.zeros(N, dtype=np.int32)
        self.res: Array = np.zeros((N, 3))  # compute, data, algorithms
        self.market: Array = np.zeros(N)
        self.growth: Array = np.ones((N, 4))  # per-step growth factors: the 3 resources, market
        self.cap: Array = np.zeros((N, 3))  # standards, regulatory, discourse capacity
        self.pos: Array = np.zeros((N, D))  # governance position
        self.home: Array = np.zeros((N, D))  # domestic anchor of the position
        self.soft: Array = np.zeros(N)  # soft-law character of its practice
        self.openness0: Array = np.zeros(N)  # base openness to outside practice
        self.openness: Array = np.zeros(N)
        self.activity: Array = np.ones(N)  # probability of acting in a step
        self.partners: BoolArray = np.zeros((N, N), dtype=bool)  # aid / talent-training partners
        self.dependence: Array = np.zeros((len(LAYERS), N, N))  # [l, buyer, supplier] shares
        self.allowed: BoolArray = np.zeros((N, A), dtype=bool)  # actions a state may choose

        # ---- forums
        self.members: BoolArray = np.zeros((N, F), dtype=bool)
        self.weight0: Array = np.ones(F)
        self.weight: Array = np.ones(F)
        self.inclusiveness: Array = np.zeros(F)
        self.forum_openness: Array = np.zeros(F)
        self.eligible: BoolArray = np.ones((F, N), dtype=bool)  # who a forum may admit (regions)
        self.admission_rule: IntArray = np.zeros(F, dtype=np.int64)  # index of the forum's admission rule
        self.admission_dims: BoolArray = np.zeros((F, D), dtype=bool)  # the dimensions it compares
        self.admission_threshold: Array = np.zeros(F)  # the closeness it asks for
        self.text: Array = np.zeros((F, D))  # adopted principles, in the norm space
        self.charter: Array = np.zeros((F, D))  # each forum's founding text (what values rules compare)
        self.start_step: IntArray = np.zeros(F, dtype=np.int64)
        self.active: BoolArray = np.zeros(F, dtype=bool)
        self.link_a: IntArray = np.array([p[0] for p in links], dtype=np.int64)
        self.link_b: IntArray = np.array([p[1] for p in links], dtype=np.int64)
        self.link_names = [f"{self.forum_names[a]}~{self.forum_names[b]}" for a, b in links]
        self.president: IntArray = np.full((F, T + 1), -1, dtype=np.int64)  # holder in step k (-1: none)

        # ---- frameworks (DFFT-like supporting institutions)
        self.fw_founder: IntArray = np.zeros(K, dtype=np.int64)
        self.fw_forum: IntArray = np.zeros(K, dtype=np.int64)
        self.fw_step: IntArray = np.zeros(K, dtype=np.int64)
        self.fw_text: Array = np.zeros((K, D))
        self.fw_launched: BoolArray = np.zeros(K, dtype=bool)
        self.fw_members: BoolArray = np.zeros((K, N), dtype=bool)

        # ---- dynamic stocks
        self.engagement: Array = np.zeros((N, F))
        self.use: Array = np.zeros((N, 3))  # recent use of each path (EMA of choices)
        self.influence: Array = np.zeros(N)
        self.reputation: Array = np.zeros(N)
        self.received: Array = np.zeros((N, N))  # received[j, i]: tracked pull j has taken from i
        self.action: IntArray = np.full(N, -1, dtype=np.int64)

        # ---- change tracking, for caches kept by mechanisms
        self.version = 0  # bumped whenever positions or texts move
        self.changes = Changes()
        self._dist_tp: tuple[int, Array] | None = None

    # ------------------------------------------------------------------ changes of structure
    def set_members(self, states: IntArray | list[int], forum: int, member: bool) -> None:
        """States join (or leave) a forum."""
        self.members[states, forum] = member
        self.changes.joined(states)

    def activate_forum(self, forum: int) -> None:
        self.active[forum] = True
        self.changes.forums = True

    def link_partners(self, a: int, others: IntArray) -> None:
        """Make `others` partners of state `a` (both ways)."""
        self.partners[a, others] = self.partners[others, a] = True
        self.changes.partners = True

    # ------------------------------------------------------------------ derived quantities
    def dist_text_pos(self) -> Array:
        """[F, N] distances between forum texts and state positions (cached per version)."""
        if self._dist_tp is None or self._dist_tp[0] != self.version:
            self._dist_tp = (self.version, cross_distance(self.text, self.pos))
        return self._dist_tp[1]

    def live_members(self) -> BoolArray:
        """[N, F] membership of forums that are active now."""
        return self.members & self.active[None, :]
