"""The table of lever types, and `Powers`: the levers of one run, called in step order.

The four technology powers of seed 002 (coercive: export controls; structural: alliances;
institutional: regulation and the Brussels effect; productive: declarations) and Japan's
co-creation (seed 001). Every lever type is also an action: a state whose `actions:` names
it may choose it, and choosing it acts through the state's own lever of that type (an
undated lever is such a template).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.types import Array, BoolArray
from sim.powers import alliance, brussels_effect, cocreation, declaration, export_controls
from sim.powers.lever import Lever, LeverSpec, LeverType, PowerContext

# The table: a new lever is a module that defines `LEVER`, and one line here.
LEVERS: dict[str, LeverType] = {
    "export_controls": export_controls.LEVER,
    "alliance": alliance.LEVER,
    "regulation": brussels_effect.LEVER,
    "declaration": declaration.LEVER,
    "cocreation": cocreation.LEVER,
}
LEVER_TYPES: tuple[str, ...] = tuple(LEVERS)
ROLE: dict[str, str] = {kind: t.spec.role for kind, t in LEVERS.items()}


class Powers:
    """The levers of a run: built from the scenario's entries, fired at their dates, and
    called at each hook in the order of the scenario."""

    def __init__(self, specs: list[LeverSpec], ctx: PowerContext) -> None:
        self.ctx = ctx
        self.levers: list[Lever[Any]] = []
        self.by_step: dict[int, list[Lever[Any]]] = defaultdict(list)
        used: dict[str, int] = defaultdict(int)
        for k, spec in enumerate(specs):
            base = spec.name or f"{spec.type}:{spec.actor}"
            used[base] += 1
            label = base if used[base] == 1 else f"{base}#{used[base]}"
            lever = LEVERS[spec.type].runtime(spec, k, label, ctx)
            self.levers.append(lever)
            if lever.scheduled is not None:
                self.by_step[lever.scheduled].append(lever)
        self.rows: list[tuple[int, float, str, str, str, str, float]] = []
        self._first: Array | None = None  # [N, A] the first step each action is usable

    # ------------------------------------------------------------------ hooks, in step order
    def draw(self) -> None:
        for lever in self.levers:
            lever.draw()

    def on_growth(self, gf: Array) -> None:
        for lever in self.levers:
            lever.on_growth(self.ctx, gf)

    def fire(self) -> None:
        """Levers whose date is this step start (or renew)."""
        ctx = self.ctx
        for lever in self.by_step.get(ctx.step, ()):
            lever.fire(ctx)
            ctx.log.add(ctx.step, "lever", lever.actor, "", lever.label)

    def template(self, kind: str, state: int) -> Lever[Any] | None:
        """The lever of type `kind` that `state` acts through now: its undated template, or else
        the latest of its dated levers whose date has come (history first: a power cannot be
        used before the lever that gives it)."""
        step = self.ctx.step
        own = [lv for lv in self.levers if lv.spec.type == kind and self.ctx.world.index[lv.actor] == state]
        undated = [lv for lv in own if lv.scheduled is None]
        if undated:
            return undated[-1]
        due = [lv for lv in own if lv.scheduled is not None and lv.scheduled <= step]
        return max(due, key=lambda lv: (lv.scheduled, lv.index)) if due else None

    def available(self, actions: tuple[str, ...], n_states: int) -> BoolArray:
        """[N, A] which actions each state can take this step: every path; a power only through
        a lever it wields that exists now (from the first step any of its levers of that type is
        usable: at once if undated, else from its date)."""
        if self._first is None or self._first.shape != (n_states, len(actions)):
            first = np.zeros((n_states, len(actions)))
            for a, kind in enumerate(actions):
                if kind in LEVERS:
                    first[:, a] = np.inf
                    for lv in self.levers:
                        if lv.spec.type == kind:
                            i = self.ctx.world.index[lv.actor]
                            first[i, a] = min(first[i, a], 0 if lv.scheduled is None else lv.scheduled)
            self._first = first
        out: BoolArray = self._first <= self.ctx.step
        return out

    def act(self, kind: str, state: int) -> None:
        """`state` chose the power `kind`: its own lever of that type acts."""
        lever = self.template(kind, state)
        if lever is not None:
            lever.act(self.ctx)

    def on_effects(self) -> None:
        for lever in self.levers:
            lever.on_effects(self.ctx)

    def on_moved(self) -> None:
        for lever in self.levers:
            lever.on_moved(self.ctx)

    def on_stack(self) -> None:
        stack = self.ctx.stack
        if stack is None:
            return
        stack.inputs.reset()
        for lever in self.levers:
            lever.on_stack(self.ctx, stack.inputs)

    def record(self) -> None:
        """Each started lever's indicators this step."""
        ctx = self.ctx
        year = ctx.world.calendar.year_at(ctx.step)
        for lever in self.levers:
            if not lever.active:  # a lever's indicators are recorded from its start on
                continue
            for metric, value in lever.outputs(ctx).items():
                self.rows.append(
                    (ctx.step, year, lever.label, lever.spec.type, lever.actor, metric, float(value))
                )

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            self.rows, columns=["step", "year", "lever", "type", "actor", "metric", "value"]
        ).astype({"step": "int64", "year": "float64", "value": "float64"})
