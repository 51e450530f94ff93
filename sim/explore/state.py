"""What the explorer does, without any web framework: its controls, the variant they make,
the runs, and the saved variant file. The Solara page (`sim.explore.app`) only draws it.

A user's settings are one *variant* of the chosen scenario: the levers switched off
(`{name: X, drop: true}`), the wielders' actions and policy weights that named only those
levers, and the changed values of the declared uncertain parameters (`sim/parameters.yaml`),
written as `extends:` patches. The runs use exactly that patch, merged by the loader's own
rules onto the scenario, so a saved variant file reruns the same settings:
`sim run VARIANT.yaml --replications N` runs the explorer's N seeds.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import SimError

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario.schema import Scenario
    from sim.scenario.uncertain import Uncertain

ENV_SCENARIO = "SIM_EXPLORE_SCENARIO"  # the scenario the page opens with (`sim explore SCENARIO`)
ENV_FOLDER = "SIM_EXPLORE_FOLDER"  # where variants are saved by default (where `sim explore` runs)
MAX_SEEDS = 10
POSITIONS = 100  # a slider has this many steps between the ends of a parameter's range
DIGITS = 3  # a slider's values are rounded to this many significant digits
VARIANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")


@dataclass(frozen=True)
class Knob:
    """A slider: one declared uncertain parameter, on the scenario at hand."""

    key: str  # the scenario key path (as `sim run --set`)
    low: float
    high: float
    log: bool  # a loguniform prior: the slider moves on the log scale
    unit: str
    meaning: str
    default: float | None  # the scenario's value; None: the scenario has no such item
    lever: str | None  # the lever the key belongs to (`levers.NAME.field`), if any

    @property
    def available(self) -> bool:
        return self.default is not None

    def position(self, value: float) -> float:
        """The slider position (0-1) of a value."""
        lo, hi, v = self.low, self.high, min(max(value, self.low), self.high)
        if self.log:
            lo, hi, v = math.log(lo), math.log(hi), math.log(v)
        return 0.0 if hi == lo else (v - lo) / (hi - lo)

    def value(self, position: float) -> float:
        """The value at a slider position (0-1), rounded to `DIGITS` significant digits; the
        ends of the range exactly."""
        u = min(max(float(position), 0.0), 1.0)
        if u == 0.0:
            return self.low
        if u == 1.0:
            return self.high
        if self.log:
            v = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            v = self.low + u * (self.high - self.low)
        return float(f"{v:.{DIGITS}g}")


@dataclass(frozen=True)
class LeverInfo:
    name: str
    type: str
    actor: str  # the state that wields it


@dataclass
class Setup:
    """A scenario, read and validated once: what the controls start from."""

    arg: str  # as the user gave it (a path or a shipped scenario's name)
    source: str  # the file
    raw: dict[str, Any]  # merged with what it extends, before validation
    scenario: Scenario
    levers: list[LeverInfo]
    knobs: list[Knob]

    @property
    def name(self) -> str:
        return str(self.scenario.name)

    @property
    def base_seed(self) -> int:
        return int(self.scenario.model.seed)

    def knob(self, key: str) -> Knob:
        for k in self.knobs:
            if k.key == key:
                return k
        raise SimError(f"{key!r} is not a slider of the explorer (sim/parameters.yaml declares the sliders)")


@dataclass(frozen=True)
class Settings:
    """What the controls are set to: slider values (those left out keep the scenario's), the
    levers switched off, and the number of seeds."""

    values: Mapping[str, float] = field(default_factory=dict)
    off: frozenset[str] = frozenset()
    seeds: int = 3


def shipped_scenarios() -> list[str]:
    """The names of the scenarios that ship with sim (`sim/scenarios/*.yaml`)."""
    from sim.scenario.loader import PACKAGED

    return sorted(p.stem for p in PACKAGED.glob("*.yaml"))


def _at(resolved: Any, key: str) -> Any:
    """The value at a key path of a resolved scenario (list items by name), or None."""
    node = resolved
    for part in key.split("."):
        if isinstance(node, list):
            node = next((x for x in node if isinstance(x, dict) and x.get("name") == part), None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
        if node is None:
            return None
    return node


def _knob(p: Uncertain, resolved: dict[str, Any]) -> Knob:
    value = _at(resolved, p.key)
    default = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    low, high = float(p.prior.low), float(p.prior.high)
    if default is not None:  # a scenario value outside the declared range widens the slider
        low, high = min(low, default), max(high, default)
    parts = p.key.split(".")
    lever = parts[1] if parts[0] == "levers" and len(parts) >= 3 else None
    log = p.prior.distribution == "loguniform" and low > 0
    return Knob(p.key, low, high, log, p.unit, p.meaning, default, lever)


def load_setup(arg: str | None) -> Setup:
    """Read and validate a scenario (a path or a shipped name; None: the baseline) and the
    declared uncertain parameters; raises `ScenarioError` on a bad scenario."""
    from sim.scenario.loader import finish, read_scenario, scenario_source
    from sim.scenario.uncertain import declaration

    if arg is not None and not arg.strip():
        raise SimError(
            "scenario: empty; give a scenario file or a shipped scenario's name (default: baseline)"
        )
    arg = arg or "baseline"
    source = scenario_source(arg)
    if Path(source).is_dir():
        raise SimError(f"{arg}: is a folder; give a scenario file (.yaml) or a shipped scenario's name")
    if not Path(source).is_file():
        raise SimError(
            f"{arg}: no such scenario file, and no shipped scenario of that name "
            f"(shipped: {', '.join(shipped_scenarios())})"
        )
    raw = read_scenario(source)
    sc = finish(copy.deepcopy(raw), source)  # as `sim validate`: a problem is given with its line
    levers = [LeverInfo(lv.name, lv.type, lv.actor) for lv in sc.levers if lv.name]
    resolved = sc.model_dump(mode="json")
    knobs = [_knob(p, resolved) for p in declaration().parameters]
    return Setup(arg, source, raw, sc, levers, knobs)


# ----------------------------------------------------------------------------- settings -> variant
def check_settings(setup: Setup, settings: Settings) -> None:
    """Refuse settings the controls cannot make: unknown sliders or levers, values outside a
    slider's range, a seed count outside 1-MAX_SEEDS."""
    names = {lv.name for lv in setup.levers}
    unknown = sorted(set(settings.off) - names)
    if unknown:
        raise SimError(f"no lever named {', '.join(map(repr, unknown))} in {setup.name}")
    for key, value in settings.values.items():
        knob = setup.knob(key)
        if not knob.available:
            raise SimError(f"{key}: {setup.name} has no such item, so this slider is off")
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise SimError(f"{key}: expected a number, got {value!r}")
        if not knob.low <= value <= knob.high:
            raise SimError(f"{key}: {value:g} is outside the slider's range {knob.low:g}-{knob.high:g}")
    if not (isinstance(settings.seeds, int) and 1 <= settings.seeds <= MAX_SEEDS):
        raise SimError(f"seeds: expected a whole number from 1 to {MAX_SEEDS}, got {settings.seeds!r}")


def overrides(setup: Setup, settings: Settings) -> list[tuple[str, float]]:
    """The changed slider values as (key path, value), in the declaration's order. A slider
    of a lever switched off changes nothing (the lever is gone)."""
    out = []
    for knob in setup.knobs:
        if knob.key not in settings.values or not knob.available or knob.lever in settings.off:
            continue
        value = float(settings.values[knob.key])
        assert knob.default is not None
        if not math.isclose(value, knob.default, rel_tol=1e-12, abs_tol=0.0):
            out.append((knob.key, value))
    return out


def patch(setup: Setup, settings: Settings) -> dict[str, Any]:
    """The variant's content (without `extends:`, name and description): what the settings
    change, in the loader's variant language."""
    from sim.scenario.loader import merge, patch_for

    check_settings(setup, settings)
    out: dict[str, Any] = {}
    drops = [{"name": lv.name, "drop": True} for lv in setup.levers if lv.name in settings.off]
    if drops:
        out["levers"] = drops
    # a wielder may no longer choose a lever type of which it has no lever left
    left = {(lv.type, lv.actor) for lv in setup.levers if lv.name not in settings.off}
    gone = sorted({(lv.type, lv.actor) for lv in setup.levers if lv.name in settings.off} - left)
    states: list[dict[str, Any]] = []
    for st in setup.scenario.states:
        types = [t for t, actor in gone if actor == st.name]
        if not types or st.actions is None or not set(types) & set(st.actions):
            continue
        entry: dict[str, Any] = {"name": st.name, "actions": [a for a in st.actions if a not in types]}
        pol = st.policy
        key = "mix" if pol.kind == "fixed" else "initial"
        weights = getattr(pol, key, None) or {}
        zero = {t: 0.0 for t in types if weights.get(t, 0) > 0}
        if zero:
            entry["policy"] = {"kind": pol.kind, key: zero}
        states.append(entry)
    if states:
        out["states"] = states
    values: dict[str, Any] = {}
    for key, value in overrides(setup, settings):
        values = merge(values, patch_for(setup.raw, key, value))
    if "levers" in values:  # the changed levers after the dropped ones
        out["levers"] = [*out.get("levers", []), *values.pop("levers")]
    if "states" in values:
        raise SimError("a slider that sets a state's value is not supported by the explorer")
    out.update(values)
    return out


def raw_of(setup: Setup, settings: Settings) -> dict[str, Any]:
    """The scenario the settings make, merged as the loader merges a variant file."""
    from sim.scenario.loader import merge

    merged: dict[str, Any] = merge(copy.deepcopy(setup.raw), patch(setup, settings))
    return merged


def scenario_of(setup: Setup, settings: Settings) -> Scenario:
    """The validated scenario of the settings (`ScenarioError` if the loader refuses it)."""
    from sim.scenario.loader import validate

    return validate(raw_of(setup, settings), setup.source)


def describe(setup: Setup, settings: Settings) -> str:
    """The settings in one line: what was changed from the scenario."""
    parts = [f"{lv} off" for lv in sorted(settings.off)]
    parts += [f"{k}={v:g}" for k, v in overrides(setup, settings)]
    return "; ".join(parts) if parts else "as the scenario is"


# ----------------------------------------------------------------------------- runs
@dataclass(eq=False)  # compared by identity: its tables have no truth value
class Outcome:
    """The runs of one setting: per seed, the states' and the world's series."""

    settings: Settings
    seeds: list[int]
    states: pd.DataFrame  # seed, year, state, influence_share, resource_share, punching_ratio
    world: pd.DataFrame  # seed, year, alignment_index
    seconds: float
    text: str  # what was run, in one line
    names: list[str] = field(default_factory=list)  # the scenario's states, in its order (their colours)
    regions: dict[str, str] = field(default_factory=dict)  # state -> region


def seeds_of(setup: Setup, n: int) -> list[int]:
    """The seeds of n replications, derived as `sim run --replications n` derives them."""
    from sim.report.replicate import seeds

    return seeds(setup.base_seed, n)


def run(setup: Setup, settings: Settings) -> Outcome:
    """Run the settings on `settings.seeds` seeds, in this process."""
    import pandas as pd

    from sim.runner import RunTask, run_one

    t0 = time.perf_counter()
    raw = raw_of(setup, settings)
    sc = scenario_of(setup, settings)
    seeds = seeds_of(setup, settings.seeds)
    states, world = [], []
    for seed in seeds:
        res = run_one(RunTask(scenario=setup.source, seed=seed, content=raw), tables=("states", "model"))
        s = res.tables["states"][["year", "state", "influence_share", "resource_share", "punching_ratio"]]
        states.append(s.assign(seed=seed))
        world.append(res.tables["model"][["year", "alignment_index"]].assign(seed=seed))
    seconds = time.perf_counter() - t0
    n = len(seeds)
    text = (
        f"{sc.name}: {describe(setup, settings)}; {n} seed{'s' if n > 1 else ''} "
        f"({', '.join(map(str, seeds))}); {seconds:.2f} s"
    )
    regions = {st.name: st.region for st in sc.states}
    return Outcome(settings, seeds, pd.concat(states, ignore_index=True), pd.concat(world, ignore_index=True),
                   seconds, text, list(regions), regions)  # fmt: skip


# ----------------------------------------------------------------------------- the variant file
def variant_text(setup: Setup, settings: Settings, name: str, folder: Path) -> str:
    """The variant file of the settings: `extends:` the scenario (by its packaged name, or by
    its path relative to `folder`), with provenance in its first lines."""
    import yaml

    from sim import __version__
    from sim.provenance import git_commit
    from sim.scenario.loader import PACKAGED

    src = Path(setup.source).resolve()
    packaged = src.parent == PACKAGED.resolve()
    extends = src.name if packaged else os.path.relpath(src, folder.resolve())
    what = describe(setup, settings)
    doc = {
        "extends": extends,
        "name": name,
        "description": f"{setup.name} as set in sim explore: {what}.",
        **patch(setup, settings),
    }
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    head = (
        f"# Written by sim explore (sim {__version__}, commit {git_commit() or 'unknown'}, {now}):\n"
        f"# {setup.name} ({setup.source if not packaged else 'shipped'}) with {what}.\n"
        f"# Rerun the explorer's {settings.seeds} seed(s): "
        f"{rerun_command(folder / f'{name}.yaml', settings.seeds)}\n"
    )
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def shown_path(path: Path, cwd: Path | None = None) -> str:
    """A path as the user can give it from the current folder: relative to it when the path is
    inside it, absolute otherwise."""
    path = Path(path).expanduser().resolve()
    here = (cwd or Path.cwd()).resolve()
    return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)


def rerun_command(path: Path, seeds: int, cwd: Path | None = None) -> str:
    """The command that reruns a saved variant's seeds, runnable from the current folder."""
    import shlex

    return f"sim run {shlex.quote(shown_path(path, cwd))} --replications {seeds}"


def save_variant(setup: Setup, settings: Settings, folder: str | Path, name: str) -> Path:
    """Write the settings as `folder/NAME.yaml`; the loader checks the file before it is
    renamed into place; an existing file is never replaced."""
    from sim.io import atomic
    from sim.scenario.loader import PACKAGED, load_scenario

    if not VARIANT_NAME.match(name or ""):
        raise SimError(
            f"variant name {name!r}: expected letters, digits, '_' or '-' (up to 80, starting with a "
            "letter or digit)"
        )
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise SimError(f"{folder}: not a folder")
    target = folder / f"{name}.yaml"
    if target.exists():
        raise SimError(f"{target}: already exists; choose another name")
    src = Path(setup.source).resolve()
    if src.parent != PACKAGED.resolve() and not src.is_relative_to(folder.resolve()):
        raise SimError(
            f"{folder}: a variant of {setup.source} is saved in that file's folder ({src.parent}) or a "
            "folder above it: `extends:` reads files only there (or shipped scenarios)"
        )
    text = variant_text(setup, settings, name, folder)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")
        load_scenario(tmp)  # refused files are never renamed into place

    return atomic(target, write, replace=False)


# ----------------------------------------------------------------------------- summaries
def leaders(outcome: Outcome, n: int = 5) -> list[str]:
    """The n states of largest mean influence share in the last year."""
    s = outcome.states
    last = s[s["year"] == s["year"].max()]
    return list(last.groupby("state")["influence_share"].mean().sort_values(ascending=False).index[:n])


def final_punching(outcome: Outcome) -> pd.DataFrame:
    """Per state, the punching ratio in the last year: mean and 95% t interval over seeds."""
    from sim.report.replicate import group_interval

    s = outcome.states
    last = s[s["year"] == s["year"].max()]
    return group_interval(last, ["state"], "punching_ratio").sort_values("mean", ascending=False)


def band(frame: pd.DataFrame, keys: Sequence[str], value: str) -> pd.DataFrame:
    """Mean and 95% t interval over seeds per group of `keys` (NaN bounds with one seed)."""
    from sim.report.replicate import group_interval

    return group_interval(frame, list(keys), value)
