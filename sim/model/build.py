"""Compiling a validated scenario into the world's arrays (and the AI stack's data).

Every scenario key that describes a state, a forum, a presidency or a framework lands here
in one array of `sim.engine.world.World`; the mechanisms' parameters stay in their scenario
sections and are handed to the mechanisms by the model.
"""

from __future__ import annotations

import numpy as np

from sim.engine.calendar import Calendar
from sim.engine.types import Array, BoolArray
from sim.engine.world import CAPACITIES, LAYERS, RESOURCES, World
from sim.forums import RULES
from sim.paths import PATHS
from sim.powers.stack import LAYER_NAMES, StackSettings
from sim.scenario.schema import Scenario


def _vec(pos: list[float] | dict[str, float], norms: list[str]) -> Array:
    if isinstance(pos, dict):
        return np.array([pos[n] for n in norms], dtype=float)
    return np.array(pos, dtype=float)


def build_world(sc: Scenario, actions: tuple[str, ...]) -> World:
    norms = sc.norm_names
    spy = sc.model.steps_per_year
    calendar = Calendar(sc.model.start_year, spy, sc.n_steps)
    names = [s.name for s in sc.states]
    index = {n: i for i, n in enumerate(names)}
    regions = [s.region for s in sc.states]
    region_names = sorted(set(regions))
    forum_names = [f.name for f in sc.forums]
    forum_index = {n: k for k, n in enumerate(forum_names)}
    links = sorted({tuple(sorted((k, forum_index[g]))) for k, f in enumerate(sc.forums) for g in f.links})
    w = World(
        calendar,
        norms,
        actions,
        names,
        region_names,
        forum_names,
        [(a, b) for a, b in links],
        [fw.name for fw in sc.frameworks],
    )
    N, D = w.N, w.D

    # ---- states
    w.tier[:] = [s.tier for s in sc.states]
    w.developing[:] = [s.developing for s in sc.states]
    w.region[:] = [region_names.index(r) for r in regions]
    w.res[:] = [[getattr(s.resources, r) for r in RESOURCES] for s in sc.states]
    w.market[:] = [s.market for s in sc.states]
    annual = np.array(
        [[s.growth.compute, s.growth.data, s.growth.algorithms, s.growth.market] for s in sc.states]
    ).reshape(N, 4)
    w.growth[:] = (1.0 + annual) ** (1.0 / spy)  # per-step factors
    w.cap[:] = [[getattr(s.capacities, c) for c in CAPACITIES] for s in sc.states]
    w.pos[:] = np.array([_vec(s.position, norms) for s in sc.states]).reshape(N, D)
    w.home[:] = w.pos
    hard = norms.index("hardness") if "hardness" in norms else None
    w.soft[:] = [
        s.soft_law if s.soft_law is not None else (1.0 - w.pos[i, hard] if hard is not None else 0.5)
        for i, s in enumerate(sc.states)
    ]
    w.openness0[:] = [s.openness for s in sc.states]
    w.openness[:] = w.openness0
    w.activity[:] = [s.activity for s in sc.states]
    for i, s in enumerate(sc.states):
        for p in s.partners:
            w.partners[i, index[p]] = w.partners[index[p], i] = True
    for i, s in enumerate(sc.states):
        for li, layer in enumerate(LAYERS):
            row = (s.dependence or {}).get(layer)
            if row is None:
                w.dependence[li, i, i] = 1.0
            else:
                for sup, share in row.items():
                    w.dependence[li, i, index[sup]] = share
    for i, s in enumerate(sc.states):
        for a in s.actions if s.actions is not None else PATHS:
            w.allowed[i, actions.index(a)] = True

    # ---- forums
    for k, f in enumerate(sc.forums):
        for mem in f.members:
            w.members[index[mem], k] = True
    w.weight0[:] = [f.weight for f in sc.forums]
    w.weight[:] = w.weight0
    w.inclusiveness[:] = [f.inclusiveness for f in sc.forums]
    w.forum_openness[:] = [f.openness for f in sc.forums]
    for k, f in enumerate(sc.forums):
        if f.open_to is not None:
            allowed_regions = [region_names.index(r) for r in f.open_to]
            w.eligible[k] = np.isin(w.region, allowed_regions)
    for k, f in enumerate(sc.forums):
        w.admission_rule[k] = RULES.index(f.admission.rule)
        w.admission_dims[k] = [d in f.admission.dimensions for d in norms]
        w.admission_threshold[k] = f.admission.threshold
    for k, f in enumerate(sc.forums):
        if f.text is not None:
            w.text[k] = _vec(f.text, norms)
        elif f.members:
            w.text[k] = w.pos[w.members[:, k]].mean(axis=0)
        else:
            w.text[k] = 0.5
    w.charter[:] = w.text
    w.start_step[:] = [0 if f.start is None else max(0, calendar.step_of(f.start)) for f in sc.forums]
    w.active[:] = w.start_step == 0
    years = np.array([calendar.calendar_year_of_step(k) for k in range(1, sc.n_steps + 1)])
    for k, f in enumerate(sc.forums):
        for year, holder in f.presidency.items():
            w.president[k, 1:][years == year] = index[holder]

    # ---- frameworks
    w.fw_founder[:] = [index[fw.founder] for fw in sc.frameworks]
    w.fw_forum[:] = [forum_index[fw.forum] for fw in sc.frameworks]
    w.fw_step[:] = [calendar.step_of(fw.date) for fw in sc.frameworks]
    for k, fw in enumerate(sc.frameworks):
        w.fw_text[k] = _vec(fw.text, norms) if fw.text is not None else w.pos[index[fw.founder]]
    return w


def stack_settings(sc: Scenario) -> StackSettings | None:
    """The stack runs when the scenario enables it, or has levers and does not disable it."""
    settings = sc.stack or (StackSettings() if sc.levers else None)
    return settings if settings is not None and settings.enabled else None


def stack_data(sc: Scenario, w: World) -> tuple[Array, Array, Array, BoolArray]:
    """[3, N] supply capacities, prices and open-weight shares from the scenario (default supply:
    compute, algorithms and market for the three layers; default price 1; default closed), and
    which states gave their dependence."""
    supply0 = np.zeros((3, w.N))
    price = np.ones((3, w.N))
    open_share = np.zeros((3, w.N))
    defaults = (w.res[:, 0], w.res[:, 2], w.market)
    for i, st in enumerate(sc.states):
        for li, layer in enumerate(LAYER_NAMES):
            supply0[li, i] = st.stack.supply.get(layer, defaults[li][i])
            price[li, i] = st.stack.price.get(layer, 1.0)
            open_share[li, i] = st.stack.open.get(layer, 0.0)
    given = np.array([st.dependence is not None for st in sc.states], dtype=bool)
    return supply0, price, open_share, given
