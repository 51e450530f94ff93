"""Exogenous growth of resources and markets (MODEL.md section 2, step 1).

Each step a state's compute, data, algorithms and market grow by its per-step factors
(1 + annual rate) ** (1 / steps_per_year), after the technology powers have slowed or sped
them (`sim.powers`: export controls cut a target's growth and let it catch up; regulation
drags on the regulator's own).
"""

from __future__ import annotations

from sim.engine.types import Array


def factors(growth: Array) -> Array:
    """This step's growth factors [N, 4] (compute, data, algorithms, market), for the levers
    to change."""
    return growth.copy()


def grow(res: Array, market: Array, gf: Array) -> None:
    """Apply the growth factors in place."""
    res *= gf[:, :3]
    market *= gf[:, 3]
