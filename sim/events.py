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
    """Scenario events indexed by the step they fire in."""

    def __init__(self, model: RuleMakingModel) -> None:
        self.by_step: dict[int, list] = defaultdict(list)
        for ev in model.scenario.events:
            self.by_step[model.world.calendar.step_of(ev.date)].append(ev)

    def fire(self, model: RuleMakingModel) -> None:
        w, k, log = model.world, model.steps, model.log
        for f in np.flatnonzero((w.start_step == k) & ~w.active):
            w.active[f] = True
            w.ties_dirty = True
            log.add(model, "forum_created", forum=w.forum_names[f])
        changed = np.flatnonzero(w.president[:, k] != w.president[:, k - 1])
        for f in changed:
            holder = w.president[f, k]
            if holder >= 0:
                log.add(model, "presidency", w.names[holder], w.forum_names[f])
        for fw in np.flatnonzero(w.fw_step == k):
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
                w.ties_dirty = True
                log.add(model, ev.type, ev.state, ev.forum, ev.note)
            elif ev.type == "set":
                attr, col = _FIELDS[ev.field]
                arr = getattr(w, attr)
                if col is None:
                    arr[i] = ev.value
                else:
                    arr[i, col] = ev.value
                log.add(model, "set", ev.state, "", f"{ev.field}={ev.value:g} {ev.note}".strip())
