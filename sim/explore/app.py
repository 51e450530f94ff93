"""The explorer's page (Solara): controls on the left, the headline figures on the right.

Served by `sim explore` (`sim.explore.serve`); importable only with the `viz` extra. The
scenario it opens with comes from the environment variable `SIM_EXPLORE_SCENARIO` (set by
`sim explore SCENARIO`). Everything it does is in `sim.explore.state` (settings, runs, the
variant file) and `sim.explore.figures` (the figures); this module only lays them out.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import solara

from sim.errors import SimError
from sim.explore import figures
from sim.explore.state import (
    ENV_FOLDER,
    ENV_SCENARIO,
    MAX_SEEDS,
    POSITIONS,
    Knob,
    LeverInfo,
    Outcome,
    Settings,
    Setup,
    load_setup,
    overrides,
    rerun_command,
    run,
    save_variant,
    shipped_scenarios,
    shown_path,
)
from sim.scenario.loader import PACKAGED


def initial_scenario() -> str:
    return os.environ.get(ENV_SCENARIO) or "baseline"


def _choices(first: str) -> list[str]:
    shipped = shipped_scenarios()
    return shipped if first in shipped else [first, *shipped]


def _error(exc: Exception) -> str:
    return str(exc) if isinstance(exc, SimError) else f"{type(exc).__name__}: {exc}"


@solara.component
def Note(text: str, style: dict | None = None) -> None:
    """A line of small text (plain: solara's Markdown would load KaTeX, which the locally
    served assets lack)."""
    solara.Text(text, style={"font-size": "0.8em", "color": "#444", **(style or {})})


@solara.component
def Heading(title: str, note: str) -> None:
    with solara.Column(gap="0px", style={"margin-top": "12px"}):
        solara.Text(title, style={"font-weight": "bold"})
        Note(note)


@solara.component
def LeverSwitch(lever: LeverInfo, on: bool, toggle: Any) -> None:
    """One lever of the scenario: on as the scenario has it, off dropped."""

    def flip(value: bool) -> None:
        toggle(lever.name, value)

    solara.Switch(
        label=f"{lever.name} ({lever.type}, {lever.actor})",
        classes=["sim-lever"],
        value=on,
        on_value=flip,
    )


# A lever's label may wrap to two lines in the narrow sidebar: its switch then grows with it
# (Vuetify fixes a label's height at one line, and the next switch would overlap the second)
CSS = """
.sim-lever.v-input { margin-top: 0; padding-top: 2px; }
.sim-lever .v-input__slot { margin-bottom: 0; align-items: flex-start; }
.sim-lever .v-input--selection-controls__input { margin-top: 0; }
.sim-lever .v-label { height: auto; line-height: 1.3; padding-top: 1px; }
.sim-lever .v-messages { display: none; }
"""


@solara.component
def KnobSlider(knob: Knob, value: float, off: bool, on_value: Any) -> None:
    """One declared uncertain parameter: its key and value with its unit, a slider over its
    range (log scale for a loguniform prior), and its meaning."""
    shown = f"{value:g} {knob.unit}" if knob.available else "not in this scenario"
    note = " (its lever is off)" if off else ""
    with solara.Column(gap="0px", classes=["sim-knob"], style={"margin-top": "6px"}):
        solara.Text(f"{knob.key} = {shown}{note}", style={"font-size": "0.85em", "font-weight": "500"})
        solara.SliderFloat(
            "",
            value=round(knob.position(value) * POSITIONS) / POSITIONS if knob.available else 0.0,
            min=0.0,
            max=1.0,
            step=1.0 / POSITIONS,
            thumb_label=False,
            disabled=not knob.available or off,
            on_value=lambda u: on_value(knob.key, knob.value(u)),
        )
        scale = "log scale " if knob.log else ""
        Note(f"{scale}{knob.low:g} to {knob.high:g}: {knob.meaning}", {"margin-top": "-12px"})


@solara.component
def Figures(outcome: Outcome, reference: Outcome | None) -> None:
    with solara.Row(classes=["sim-figures"], style={"flex-wrap": "wrap"}):
        for name, draw in figures.FIGURES.items():
            solara.Image(draw(outcome, reference), format="png", classes=[f"sim-figure-{name}"])


@dataclass(frozen=True)
class Done:
    """A finished request: its serial number, the scenario it ran, and its (outcome, the
    scenario as it is or None), or the message of its error."""

    serial: int
    source: str
    result: tuple[Outcome, Outcome | None] | None
    error: str = ""


@solara.component
def Page() -> None:
    scenario, set_scenario = solara.use_state(initial_scenario())
    values, set_values = solara.use_state(cast(dict[str, float], {}))  # the sliders the user moved
    off, set_off = solara.use_state(cast(frozenset[str], frozenset()))
    seeds, set_seeds = solara.use_state(3)
    # the run asked for last (its settings and a serial number: asking again runs again); it runs
    # in a thread, so the page stays live, and the figures of the last finished run of this
    # scenario stay shown: (scenario source, (outcome, the scenario as it is or None))
    request, set_request = solara.use_state(cast(tuple[Settings, int] | None, None))
    serials = solara.use_ref(0)  # never reused, so an old answer is never taken for a new one
    shown = solara.use_ref(cast(tuple[str, tuple[Outcome, Outcome | None]] | None, None))
    message, set_message = solara.use_state("")
    folder, set_folder = solara.use_state(os.environ.get(ENV_FOLDER) or str(Path.cwd()))
    name, set_name = solara.use_state("")
    saved, set_saved = solara.use_state("")
    cache = solara.use_memo(dict, [])  # (scenario source, seeds) -> the scenario as it is

    def load() -> Setup | Exception:
        try:
            return load_setup(scenario)
        except Exception as exc:
            return exc

    setup = solara.use_memo(load, [scenario])

    def execute(vals: dict, levers_off: frozenset, n: int) -> None:
        if isinstance(setup, Exception):
            return
        serials.current += 1
        set_request((Settings(dict(vals), frozenset(levers_off), n), serials.current))

    def work() -> Done | None:
        """The requested run (in a thread), with the scenario as it is on the same seeds; an
        error is returned as its message (raised, Solara would log its traceback)."""
        if request is None or isinstance(setup, Exception):
            return None
        settings, serial = request
        try:
            out = run(setup, settings)
            key = (setup.source, settings.seeds)
            if not (overrides(setup, settings) or settings.off):
                cache[key] = out  # the scenario as it is, on these seeds: the reference of what follows
                return Done(serial, setup.source, (out, None))
            if key not in cache:
                cache[key] = run(setup, Settings(seeds=settings.seeds))
            return Done(serial, setup.source, (out, cache[key]))
        except Exception as exc:
            return Done(serial, setup.source, None, _error(exc))

    # one run at a time: use_thread runs requests in turn (a click that reaches the server before
    # the controls are disabled waits for the run in progress, and only the last answer is
    # shown); not cancelled by tracing the thread, which would slow the model down
    job = solara.use_thread(work, dependencies=[request], intrusive_cancel=False)
    running = job.state in (
        solara.ResultState.STARTING,
        solara.ResultState.WAITING,
        solara.ResultState.RUNNING,
    )
    # only the answer to the current request counts (not one left from before a reset)
    done = job.value if job.state == solara.ResultState.FINISHED else None
    current = done is not None and request is not None and done.serial == request[1]
    if current and done is not None and done.result is not None:
        shown.current = (done.source, done.result)
    failed = done.error if current and done is not None else ""

    def first_run() -> None:
        set_values({})
        set_off(frozenset())
        set_saved("")
        if isinstance(setup, Exception):  # no figures of the scenario shown before: they would mislead
            shown.current = None
            set_request(None)
            set_message(_error(setup))
            return
        set_message("")
        set_name(re.sub(r"[^A-Za-z0-9_-]", "_", Path(scenario).stem).lstrip("_-")[:60] + "_explored")
        home = Path(setup.source).resolve().parent
        # a variant of a user's file goes beside it (`extends:` reads only there); of a shipped one,
        # where `sim explore` was started
        set_folder(os.environ.get(ENV_FOLDER) or str(Path.cwd()) if home == PACKAGED.resolve() else str(home))
        execute({}, frozenset(), seeds)

    solara.use_effect(first_run, [scenario])

    def set_value(key: str, value: float) -> None:
        set_values({**values, key: value})

    def toggle(lever: str, on: bool) -> None:
        set_off(frozenset(off - {lever}) if on else frozenset(off | {lever}))

    def save() -> None:
        if isinstance(setup, Exception):
            return
        try:
            path = save_variant(setup, Settings(dict(values), frozenset(off), seeds), folder, name.strip())
        except Exception as exc:
            set_saved(f"not saved: {_error(exc)}")
            return
        set_saved(f"saved {shown_path(path)}; rerun its seeds with: {rerun_command(path, seeds)}")

    solara.Title("sim explore")
    solara.Style(CSS)
    with solara.Sidebar():
        # while seeds run, the page takes no new request: Run, Reset and the scenario wait for them
        solara.Select(
            "Scenario",
            value=scenario,
            values=_choices(initial_scenario()),
            on_value=set_scenario,
            disabled=running,
            classes=["sim-scenario"],
        )
        if isinstance(setup, Exception):
            solara.Error(_error(setup))
            return
        Note((setup.scenario.description or setup.name).strip(), {"font-style": "italic"})
        Heading("Levers", "off: dropped, as {name: X, drop: true} in a variant")
        for lever in setup.levers:
            LeverSwitch(lever, lever.name not in off, toggle)
        Heading("Uncertain parameters", "declared in sim/parameters.yaml; the scenario's value at the start")
        for knob in setup.knobs:
            value = values.get(knob.key, knob.default if knob.default is not None else knob.low)
            KnobSlider(knob, value, knob.lever in off, set_value)
        Heading(
            f"Seeds: {seeds}",
            "the seeds of sim run --replications n (its replications 0 to n-1; about 0.2 s each)",
        )
        with solara.Column(gap="0px", classes=["sim-seeds"]):
            solara.SliderInt("", value=seeds, min=1, max=MAX_SEEDS, on_value=set_seeds)
        with solara.Row():
            solara.Button(
                "Run", color="primary", disabled=running, on_click=lambda: execute(values, off, seeds)
            )
            solara.Button("Reset", disabled=running, on_click=first_run)
        Heading("Save as a variant file", "extends the scenario; never replaces a file")
        solara.InputText("Folder", value=folder, on_value=set_folder)
        solara.InputText("Variant name", value=name, on_value=set_name)
        solara.Button("Save variant", on_click=save)
        if saved:
            (solara.Success if saved.startswith("saved") else solara.Error)(saved, classes=["sim-saved"])

    with solara.Column():
        if message or failed:
            solara.Error(message or failed, classes=["sim-message"])
        if running and request is not None:
            solara.Text(f"running {request[0].seeds} seeds ...", classes=["sim-running"])
        # the last figures of this scenario (never another scenario's, under this one's controls)
        result = (
            shown.current[1]
            if shown.current and not isinstance(setup, Exception) and (shown.current[0] == setup.source)
            else None
        )
        if result is not None:
            solara.Text(f"Ran {result[0].text}", classes=["sim-status"])
            Figures(*result)
        elif not (message or failed):
            solara.Text("running ...", classes=["sim-status"])
