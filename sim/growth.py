"""Exogenous growth of resources and markets (MODEL.md section 2, step 1), and the
realisation of induced efficiency innovation.

Each step a state's compute, data, algorithms and market grow by its per-step factors
(1 + annual rate) ** (1 / steps_per_year), after the technology powers have slowed or sped
them (`sim.powers`). Efficiency innovation that export controls induce in a target
(`World.efficiency`, a pending stock) is realised over `efficiency_lag` years: each step a
fraction 1 / (efficiency_lag * steps_per_year) of the stock raises that step's compute growth
(seed 002, 4.2: DeepSeek-v3 trained on 2,048 H800s; controls provoke efficiency).
"""

from __future__ import annotations

from sim.engine.types import Array
from sim.fields import Positive, Strict


class GrowthSettings(Strict):
    """`growth_settings`: how growth is shaped beyond each state's own rates."""

    efficiency_lag: Positive = 1.0  # years over which induced efficiency innovation arrives


def factors(growth: Array, efficiency: Array, steps_per_year: int, settings: GrowthSettings) -> Array:
    """This step's growth factors [N, 4] (compute, data, algorithms, market), with pending
    efficiency innovation realised into compute (the stock is drawn down in place)."""
    gf = growth.copy()
    if efficiency.any():
        realised = efficiency / (settings.efficiency_lag * steps_per_year)
        gf[:, 0] *= 1.0 + realised
        efficiency -= realised
    return gf


def grow(res: Array, market: Array, gf: Array) -> None:
    """Apply the growth factors in place."""
    res *= gf[:, :3]
    market *= gf[:, 3]
