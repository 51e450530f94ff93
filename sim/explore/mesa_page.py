"""A thin Mesa `SolaraViz` page of the model (`sim explore --mesa`), for Mesa users: the
model as Mesa's own visualisation shows any model, stepped and plotted live, with Mesa's
sliders for the declared uncertain parameters of the scenario (`sim/parameters.yaml`).

It is Mesa's page, not the explorer: one seed, stepped in the browser, no levers or variant
files. The model reads its parameters as keyword arguments whose `__` stands for `.` in a
key path (`model__synergy` sets `model.synergy`, as `RuleMakingModel(**params)` does).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

with warnings.catch_warnings():  # Mesa 3.3's SolaraViz trips Solara's hook check on import (harmless)
    warnings.simplefilter("ignore", UserWarning)
    from mesa.visualization import SolaraViz, make_plot_component
    from mesa.visualization.user_param import Slider

from sim.explore.state import ENV_SCENARIO, POSITIONS, load_setup
from sim.model import RuleMakingModel

SHOWN = 6  # the states whose influence share the page plots


class ExploredModel(RuleMakingModel):
    """`RuleMakingModel` with its extra parameters named `kwargs`: SolaraViz accepts parameters
    that are not in the signature only when a `**kwargs` of that name takes them."""

    def __init__(self, scenario: str | None = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(scenario, seed=seed, **kwargs)


def param_name(key: str) -> str:
    """A key path as a keyword argument of the model (`.` -> `__`)."""
    return key.replace(".", "__")


def colours(setup: Any, n: int = SHOWN) -> dict[str, str]:
    """The scenario's first n states in the colours the reports and the explorer give them."""
    from matplotlib.colors import to_hex

    from sim.report.base import Palette

    regions = {st.name: st.region for st in setup.scenario.states}
    first = list(regions)[:n]
    pal = Palette(regions, regions, first)
    return {s: to_hex(pal(s)) for s in first}


def build(scenario: str) -> Any:
    """The SolaraViz page of a scenario."""
    setup = load_setup(scenario)
    params: dict[str, Any] = {"scenario": setup.source, "seed": setup.base_seed}
    for knob in setup.knobs:
        if knob.available:
            step = float(f"{(knob.high - knob.low) / POSITIONS:.2g}")
            params[param_name(knob.key)] = Slider(
                knob.key, knob.default, knob.low, knob.high, step, dtype=float
            )
    model = ExploredModel(setup.source, seed=setup.base_seed)
    shares = make_plot_component({f"influence_share[{s}]": c for s, c in colours(setup).items()})
    return SolaraViz(
        model,
        components=[shares, make_plot_component("alignment_index")],
        model_params=params,
        name=f"sim: {setup.name} (Mesa SolaraViz)",
    )


page = build(os.environ.get(ENV_SCENARIO) or "baseline")
