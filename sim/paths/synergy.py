"""Synergy between the paths (seed 000, section 3.1: the three paths interact).

Each path's strength is multiplied by 1 + synergy * sum_q C[p, q] * use[q], where `use` is
the state's recent use of path q (an exponential moving average of its choices, rate
`model.memory`) and C the coupling matrix: institutional participation is the platform of
the other two, discourse and practice reinforce each other and feed back into participation.
With `synergy: 0` every multiplier is 1 and the paths act independently.
"""

from __future__ import annotations

import numpy as np

from sim.engine.types import Array, IntArray
from sim.paths import PATHS


def coupling_matrix(coupling: dict[str, dict[str, float]]) -> Array:
    """C[amplified path, amplifying path] from the scenario's `model.coupling`."""
    c = np.zeros((len(PATHS), len(PATHS)))
    for amplified, row in coupling.items():
        for amplifier, value in row.items():
            c[PATHS.index(amplified), PATHS.index(amplifier)] = value
    np.fill_diagonal(c, 0.0)
    return c


def multipliers(use: Array, coupling: Array, synergy: float) -> Array:
    """[N, 3] multipliers of the three paths."""
    if synergy == 0.0:
        return np.ones_like(use)
    return 1.0 + synergy * (use @ coupling.T)


def record_use(use: Array, action: IntArray, memory: float) -> None:
    """Update the recent-use stock in place from this step's choices (-1 or a non-path: none)."""
    chosen = np.zeros_like(use)
    rows = np.flatnonzero((action >= 0) & (action < use.shape[1]))
    chosen[rows, action[rows]] = 1.0
    use *= 1.0 - memory
    use += memory * chosen
