"""The scenario's timeline: everything scheduled, indexed by the step it happens in, and fired
at the start of that step (MODEL.md section 2, step 2): forums created at a date,
presidencies changing hands, supporting frameworks launched (DFFT, Davos 2019), and the
scenario's `events:` list (join, leave, set, policy). Dated levers are fired by `sim.powers`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np

from sim import forums
from sim.engine.events import EventLog
from sim.engine.types import Array
from sim.engine.world import World
from sim.policies import Policies
from sim.powers.stack import LAYER_NAMES, Stack
from sim.scenario.schema import SETTABLE, JoinEvent, LeaveEvent, PolicyEvent, Scenario, SetEvent

# `set` events on state attributes: field -> (world array, column or None)
_FIELDS: dict[str, tuple[str, int | None]] = {
    "capacities.standards": ("cap", 0),
    "capacities.regulatory": ("cap", 1),
    "capacities.discourse": ("cap", 2),
    "openness": ("openness0", None),
    "soft_law": ("soft", None),
    "activity": ("activity", None),
}
assert set(_FIELDS) | {f for f in SETTABLE if f.startswith("stack.")} == set(SETTABLE)


def _value(ev: SetEvent, w: World, current: Array) -> float:
    """The event's value, or with `relative_to` that multiple of the other state's value now."""
    if ev.relative_to is None:
        return float(ev.value)
    return float(ev.value * current[w.index[ev.relative_to]])


class Timeline:
    """Everything scheduled, indexed by the step it happens in (built once)."""

    def __init__(self, sc: Scenario, w: World) -> None:
        self.by_step: dict[int, list[JoinEvent | LeaveEvent | SetEvent | PolicyEvent]] = defaultdict(list)
        for ev in sc.events:
            self.by_step[w.calendar.step_of(ev.date)].append(ev)
        self.created: dict[int, list[int]] = defaultdict(list)
        for f in np.flatnonzero(w.start_step > 0):
            self.created[int(w.start_step[f])].append(int(f))
        self.presidencies = forums.presidency_changes(w.president)
        self.launches: dict[int, list[int]] = defaultdict(list)
        for fw in range(len(w.fw_step)):
            self.launches[int(w.fw_step[fw])].append(fw)

    def fire(
        self,
        k: int,
        w: World,
        log: EventLog,
        stack: Stack | None,
        frameworks: Callable[[], forums.Frameworks],
        policies: Policies | None = None,
    ) -> None:
        for f in self.created.get(k, ()):
            w.activate_forum(f)
            log.add(k, "forum_created", forum=w.forum_names[f])
        for f, holder in self.presidencies.get(k, ()):
            log.add(k, "presidency", w.names[holder], w.forum_names[f])
        for fw in self.launches.get(k, ()):
            forums.launch(frameworks(), fw)
        for ev in self.by_step.get(k, ()):
            i = w.index[ev.state]
            if isinstance(ev, JoinEvent | LeaveEvent):
                f = w.forum_index[ev.forum]
                w.set_members([i], f, ev.type == "join")
                if ev.type == "leave":
                    w.engagement[i, f] = 0.0
                log.add(k, ev.type, ev.state, ev.forum, ev.note)
            elif isinstance(ev, PolicyEvent):
                if policies is not None:
                    policies.change(i, ev.policy)
                log.add(k, "policy", ev.state, "", f"policy={ev.policy.kind} {ev.note}".strip())
            elif ev.field.startswith("stack."):
                _, kind, layer = ev.field.split(".")
                if stack is not None:
                    li = LAYER_NAMES.index(layer)
                    now = {"price": stack.price, "open": stack.open, "supply": stack.supply()}[kind]
                    value = _value(ev, w, now[li])
                    {"price": stack.set_price, "open": stack.set_open, "supply": stack.set_supply}[kind](
                        li, i, value
                    )
                    log.add(k, "set", ev.state, "", f"{ev.field}={value:g} {ev.note}".strip())
            else:
                attr, col = _FIELDS[ev.field]
                arr = getattr(w, attr)
                current = arr if col is None else arr[:, col]
                value = min(1.0, _value(ev, w, current))
                current[i] = value
                log.add(k, "set", ev.state, "", f"{ev.field}={value:g} {ev.note}".strip())
