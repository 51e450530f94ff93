"""Cross-reference checks that a per-field schema cannot express.

Each check yields (location, message) pairs with the location as a pydantic-style tuple,
so that they are rendered the same way as schema errors.
"""

from __future__ import annotations

from collections.abc import Iterator

from sim.engine.calendar import Calendar
from sim.engine.world import LAYERS
from sim.errors import unknown as _unknown
from sim.fields import position_problems
from sim.paths import PATHS
from sim.policies import Policy
from sim.powers.lever import Loc, Names
from sim.powers.registry import LEVER_TYPES, ROLE
from sim.scenario.schema import ACTION_NAMES, PolicyEvent, Scenario


def _position(loc: Loc, pos: object, norms: list[str]) -> Iterator[tuple[Loc, str]]:
    for msg in position_problems(pos, norms):
        yield loc, msg


def _dup(names: list[str]) -> list[int]:
    seen: set[str] = set()
    dups = []
    for i, n in enumerate(names):
        if n in seen:
            dups.append(i)
        seen.add(n)
    return dups


def _policy(loc: Loc, pol: Policy, allowed: list[str], explicit: bool = True) -> Iterator[tuple[Loc, str]]:
    """A policy's weights name only the state's allowed actions, and a fixed mix has one."""
    weights = getattr(pol, "mix", None) or getattr(pol, "initial", None) or {}
    key = "mix" if pol.kind == "fixed" else "initial"
    for a, v in weights.items():
        if explicit and a not in allowed and v > 0:
            yield (*loc, key, a), f"action {a!r} is not among this state's actions ({', '.join(allowed)})"
    if pol.kind == "fixed" and sum(pol.mix.get(a, 0.0) for a in allowed) <= 0:
        yield (*loc, "mix"), "expected at least one positive weight"


def check(sc: Scenario, known_actions: tuple[str, ...] = ACTION_NAMES) -> list[tuple[Loc, str]]:
    return list(_check(sc, known_actions))


def _check(sc: Scenario, known_actions: tuple[str, ...]) -> Iterator[tuple[Loc, str]]:
    m = sc.model
    if (m.end_year is None) == (m.steps is None):
        yield ("model",), "give exactly one of end_year or steps"
        return
    if m.end_year is not None and m.end_year < m.start_year:
        yield ("model", "end_year"), f"must not be before start_year ({m.start_year}), got {m.end_year}"
        return
    cal = Calendar(m.start_year, m.steps_per_year, sc.n_steps)
    # a date after `end_year` is a mistake; a run given as a number of `steps` (a short run, a
    # run's scenario.resolved.yaml made with --steps) simply ends before it: it never fires
    calendar_end = m.end_year is not None
    norms = sc.norm_names
    for i in _dup(norms):
        yield ("norms", i, "name"), f"duplicate norm dimension {norms[i]!r}"
    for amplified, row in m.coupling.items():
        if amplified not in PATHS:
            yield ("model", "coupling", amplified), _unknown("path", amplified, list(PATHS))
        for amp in row:
            if amp not in PATHS:
                yield ("model", "coupling", amplified, amp), _unknown("path", amp, list(PATHS))
    for dim in sc.paths.discourse.framing_penalty:
        if dim not in norms:
            yield ("paths", "discourse", "framing_penalty", dim), _unknown("norm dimension", dim, norms)

    states = [s.name for s in sc.states]
    forums = [f.name for f in sc.forums]
    regions = sorted({s.region for s in sc.states if s.region})
    for i in _dup(states):
        yield ("states", i, "name"), f"duplicate state name {states[i]!r}"
    for i in _dup(forums):
        yield ("forums", i, "name"), f"duplicate forum name {forums[i]!r}"

    for i, s in enumerate(sc.states):
        yield from _position(("states", i, "position"), s.position, norms)
        for j, p in enumerate(s.partners):
            if p not in states:
                yield ("states", i, "partners", j), _unknown("state", p, states)
            elif p == s.name:
                yield ("states", i, "partners", j), "a state cannot be its own partner"
        allowed = s.actions if s.actions is not None else list(PATHS)
        for j, a in enumerate(allowed):
            if a not in known_actions:
                yield ("states", i, "actions", j), _unknown("action", a, list(known_actions))
        explicit = "policy" in s.model_fields_set  # the default mix adapts to `actions`
        yield from _policy(("states", i, "policy"), s.policy, allowed, explicit)
        if s.dependence is not None:
            for layer, row in s.dependence.items():
                if layer not in LAYERS:
                    yield ("states", i, "dependence", layer), _unknown("layer", layer, list(LAYERS))
                    continue
                for sup in row:
                    if sup not in states:
                        yield ("states", i, "dependence", layer, sup), _unknown("state", sup, states)
                total = sum(row.values())
                if abs(total - 1.0) > 1e-6:
                    yield ("states", i, "dependence", layer), (f"shares must sum to 1, got {total:.6g}")

    for i, f in enumerate(sc.forums):
        for j in _dup(f.members):
            yield ("forums", i, "members", j), f"duplicate member {f.members[j]!r}"
        for j, mem in enumerate(f.members):
            if mem not in states:
                yield ("forums", i, "members", j), _unknown("state", mem, states)
        for j, link in enumerate(f.links):
            if link not in forums:
                yield ("forums", i, "links", j), _unknown("forum", link, forums)
            elif link == f.name:
                yield ("forums", i, "links", j), "a forum cannot link to itself"
        if f.text is not None:
            yield from _position(("forums", i, "text"), f.text, norms)
        for j, dim in enumerate(f.admission.dimensions):
            if dim not in norms:
                yield ("forums", i, "admission", "dimensions", j), _unknown("norm dimension", dim, norms)
        for region in f.open_to or []:
            if region not in regions:
                yield ("forums", i, "open_to"), _unknown("region", region, regions)
        for year, holder in f.presidency.items():
            if holder not in states:
                yield ("forums", i, "presidency", year), _unknown("state", holder, states)
        if f.start is not None and calendar_end and cal.step_of(f.start) > cal.n_steps:
            yield ("forums", i, "start"), f"{f.start} is after the end of the run (the end of {m.end_year})"

    def dated(loc: Loc, date: str) -> Iterator[tuple[Loc, str]]:
        k = cal.step_of(date)
        if k < 1:
            yield loc, f"{date} is before the start of the run ({m.start_year})"
        elif k > cal.n_steps and calendar_end:
            yield loc, f"{date} is after the end of the run (the end of {m.end_year})"

    for i, fw in enumerate(sc.frameworks):
        if fw.founder not in states:
            yield ("frameworks", i, "founder"), _unknown("state", fw.founder, states)
        if fw.forum not in forums:
            yield ("frameworks", i, "forum"), _unknown("forum", fw.forum, forums)
        if fw.text is not None:
            yield from _position(("frameworks", i, "text"), fw.text, norms)
        yield from dated(("frameworks", i, "date"), fw.date)

    for i, ev in enumerate(sc.events):
        yield from dated(("events", i, "date"), ev.date)
        if ev.state not in states:
            yield ("events", i, "state"), _unknown("state", ev.state, states)
        other = getattr(ev, "relative_to", None)
        if other is not None and other not in states:
            yield ("events", i, "relative_to"), _unknown("state", other, states)
        forum = getattr(ev, "forum", None)
        if forum is not None and forum not in forums:
            yield ("events", i, "forum"), _unknown("forum", forum, forums)
        if isinstance(ev, PolicyEvent) and ev.state in states:
            s = sc.states[states.index(ev.state)]
            yield from _policy(("events", i, "policy"), ev.policy, s.actions or list(PATHS))
    event_names = [ev.name for ev in sc.events if ev.name]
    for i in _dup(event_names):
        j = [k for k, ev in enumerate(sc.events) if ev.name == event_names[i]][-1]
        yield ("events", j, "name"), f"duplicate event name {event_names[i]!r}"

    lever_names = [lv.name for lv in sc.levers if lv.name]
    for i in _dup(lever_names):
        j = [k for k, lv in enumerate(sc.levers) if lv.name == lever_names[i]][-1]
        yield ("levers", j, "name"), f"duplicate lever name {lever_names[i]!r}"
    names = Names(states, forums, norms)
    for i, lv in enumerate(sc.levers):
        for loc, msg in lv.check(names):
            yield ("levers", i, *loc), msg
        if lv.date is not None:
            yield from dated(("levers", i, "date"), lv.date)

    for i, s in enumerate(sc.states):
        for j, a in enumerate(s.actions or []):
            if a in LEVER_TYPES and not any(lv.type == a and lv.actor == s.name for lv in sc.levers):
                yield (
                    ("states", i, "actions", j),
                    (
                        f"action {a!r} needs a lever of type {a!r} with {s.name!r} as its {ROLE[a]} "
                        "(under levers:) to define its parameters"
                    ),
                )
