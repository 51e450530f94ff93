"""Scheduled events from the scenario timeline, and the log of everything that happened.

Fired at the start of each step (MODEL.md section 2, step 2): forums created at a date,
supporting frameworks launched (DFFT, Davos 2019), presidencies changing hands, and the
scenario's `events:` list (join, leave, set). Endogenous happenings (a state joining a
forum or a framework) are written to the same log by the mechanisms that cause them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model import RuleMakingModel

_FIELDS = {
    "capacities.standards": ("cap", 0),
    "capacities.regulatory": ("cap", 1),
    "capacities.discourse": ("cap", 2),
    "openness": ("openness0", None),
    "soft_law": ("soft", None),
    "activity": ("activity", None),
}


class EventLog:
    def __init__(self) -> None:
        self.rows: list[tuple[int, float, str, str, str, str]] = []

    def add(
        self, model: RuleMakingModel, kind: str, state: str = "", forum: str = "", detail: str = ""
    ) -> None:
        k = model.steps  # the step it happened in; the year is when that step began
        self.rows.append((k, model.world.calendar.year_at(max(k - 1, 0)), kind, state, forum, detail))


class Timeline:
    """Everything scheduled, indexed by the step it happens in (built once)."""

    def __init__(self, model: RuleMakingModel) -> None:
        w = model.world
        self.by_step: dict[int, list] = defaultdict(list)
        for ev in model.scenario.events:
            self.by_step[w.calendar.step_of(ev.date)].append(ev)
        self.created: dict[int, list[int]] = defaultdict(list)
        for f in np.flatnonzero(w.start_step > 0):
            self.created[int(w.start_step[f])].append(int(f))
        self.presidencies: dict[int, list[tuple[int, int]]] = defaultdict(list)
        change = w.president[:, 1:] != w.president[:, :-1]
        for f, k in zip(*np.nonzero(change), strict=True):
            holder = int(w.president[f, k + 1])
            if holder >= 0:
                self.presidencies[int(k) + 1].append((int(f), holder))
        self.launches: dict[int, list[int]] = defaultdict(list)
        for fw in range(len(w.fw_step)):
            self.launches[int(w.fw_step[fw])].append(fw)

    def fire(self, model: RuleMakingModel) -> None:
        w, k, log = model.world, model.steps, model.log
        for f in self.created.get(k, ()):
            w.active[f] = True
            w.ties_dirty = True
            log.add(model, "forum_created", forum=w.forum_names[f])
        for f, holder in self.presidencies.get(k, ()):
            log.add(model, "presidency", w.names[holder], w.forum_names[f])
        for fw in self.launches.get(k, ()):
            w.fw_launched[fw] = True
            w.fw_members[fw, w.fw_founder[fw]] = True
            log.add(
                model,
                "framework_launched",
                w.names[w.fw_founder[fw]],
                w.forum_names[w.fw_forum[fw]],
                w.fw_names[fw],
            )
        for ev in self.by_step.get(k, ()):
            i = w.index[ev.state]
            if ev.type in ("join", "leave"):
                f = w.forum_index[ev.forum]
                w.members[i, f] = ev.type == "join"
                if ev.type == "leave":
                    w.engagement[i, f] = 0.0
                w.membership_changed([i])
                log.add(model, ev.type, ev.state, ev.forum, ev.note)
            elif ev.type == "set" and ev.field.startswith("stack."):
                _, kind, layer = ev.field.split(".")
                li = ("base", "technical", "application").index(layer)
                if model.stack is not None:
                    st = model.stack
                    if kind == "price":
                        st.price[li, i] = ev.value
                    else:  # new capacity in today's units: rebase on the current driver
                        st.supply0[li, i] = ev.value * st.driver0[li, i] / st.current_driver(model)[li, i]
                log.add(model, "set", ev.state, "", f"{ev.field}={ev.value:g} {ev.note}".strip())
            elif ev.type == "set":
                attr, col = _FIELDS[ev.field]
                arr = getattr(w, attr)
                if col is None:
                    arr[i] = ev.value
                else:
                    arr[i, col] = ev.value
                log.add(model, "set", ev.state, "", f"{ev.field}={ev.value:g} {ev.note}".strip())
