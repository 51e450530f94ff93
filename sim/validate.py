"""`sim validate FILE`: check any file the program reads, before anything runs.

The kind of file is told from its top-level keys: an experiment has `vary`, a claims file
`claims` (or `include`), a calibration `targets` and `split`, the declaration of uncertain
parameters a `parameters` list of `key`s; anything else is a scenario. Each gets every
check its command makes before the first run (for an experiment: the scenario, every varied
key at the design's ends, every metric and the state, forum and lever names it uses), so
that `sim validate` passing means the command will start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.errors import Problem, ScenarioError
from sim.yamlfile import read_yaml

KINDS = ("scenario", "experiment", "claims", "calibration", "parameters")


def kind_of(raw: dict[str, Any]) -> str:
    """Which kind of input file a top-level mapping is."""
    if "vary" in raw:
        return "experiment"
    if "claims" in raw or "include" in raw:
        return "claims"
    if "targets" in raw and "split" in raw:
        return "calibration"
    params = raw.get("parameters")
    if isinstance(params, list) and params and all(isinstance(p, dict) and "key" in p for p in params):
        return "parameters"
    return "scenario"


def a_kind(kind: str) -> str:
    """'a scenario', 'an experiment'."""
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def file_kind(path: str) -> str:
    """The kind of the file `path` names (a shipped scenario's name: a scenario)."""
    from sim.scenario.loader import scenario_source

    source = scenario_source(path) if not Path(path).exists() else path
    return kind_of(read_yaml(source, path)) if Path(source).is_file() else "scenario"


def validate_file(path: str, overrides: list[str] | None = None, kind: str | None = None) -> str:
    """Check the file; a one-line summary when it passes, a located `ScenarioError` when not.
    `overrides` (`key.path=value`) apply to a scenario only."""
    from sim.scenario.loader import packaged_scenario
    from sim.shipped import shipped_input

    if not Path(path).exists():  # a shipped scenario or experiment by name
        path = shipped_input(path)
    if kind is None:
        kind = file_kind(path)
    if overrides and kind != "scenario":
        raise ScenarioError(
            [Problem("--set", "", f"applies to a scenario, and {path} is {a_kind(kind)} file")]
        )
    if kind == "experiment":
        from sim.experiments.sweep import check_experiment

        exp, scen, runs = check_experiment(path)
        return (
            f"{path}: ok (experiment {exp.name!r}: {exp.design} design, {runs} runs of {scen}, "
            f"{len(exp.metrics)} metrics)"
        )
    if kind == "claims":
        from sim.claims.run import prepare

        suite, reps, _, _, plan, _ = prepare(path)
        return (
            f"{path}: ok ({len(suite.claims)} claims, {reps} replications each, "
            f"{len(plan.tasks)} runs; every scenario and metric checked)"
        )
    if kind == "calibration":
        from sim.calibration.spec import load_calibration

        spec, priors = load_calibration(path)
        return (
            f"{path}: ok (calibration {spec.name!r}: {len(priors)} parameters, {len(spec.targets)} targets)"
        )
    if kind == "parameters":
        from sim.scenario.uncertain import check_declared, read_declaration

        decl = read_declaration(path)
        check_declared(decl, packaged_scenario(), path)
        return f"{path}: ok ({len(decl.parameters)} declared parameters, each settable in the baseline)"
    from sim.limits import run_cost
    from sim.scenario import load_scenario

    sc = load_scenario(path, overrides or [])
    late = after_the_end(sc)
    return (
        f"{path}: ok ({len(sc.states)} states, {len(sc.forums)} forums, "
        f"{len(sc.events)} events, {sc.n_steps} steps; estimated {run_cost(len(sc.states), sc.n_steps)})"
        + (f"; {late} dated items fall after the last step and never fire" if late else "")
    )


def after_the_end(sc: Any) -> int:
    """Dated items (events, levers, frameworks, forum starts) after a run given in `steps`."""
    from sim.engine.calendar import Calendar

    m = sc.model
    cal = Calendar(m.start_year, m.steps_per_year, sc.n_steps)
    dates = [e.date for e in sc.events] + [lv.date for lv in sc.levers if lv.date is not None]
    dates += [fw.date for fw in sc.frameworks] + [f.start for f in sc.forums if f.start is not None]
    return sum(cal.step_of(d) > cal.n_steps for d in dates)
