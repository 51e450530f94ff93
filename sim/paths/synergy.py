"""Synergy between the paths (seed 000, section 3.1: the three paths interact).

Each path's strength is multiplied by 1 + synergy * sum_q C[p, q] * use[q], where `use` is
the state's recent use of path q (an exponential moving average of its choices, rate
`model.memory`) and C the coupling matrix: institutional participation is the platform of
the other two, discourse and practice reinforce each other and feed back into participation.
With `synergy: 0` every multiplier is 1 and the paths act independently.
"""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import PATHS, ModelSettings


def coupling_matrix(settings: ModelSettings) -> np.ndarray:
    c = np.zeros((len(PATHS), len(PATHS)))
    for amplified, row in settings.coupling.items():
        for amplifier, value in row.items():
            c[PATHS.index(amplified), PATHS.index(amplifier)] = value
    np.fill_diagonal(c, 0.0)
    return c


def multipliers(use: np.ndarray, coupling: np.ndarray, synergy: float) -> np.ndarray:
    """[N, 3] multipliers of the three paths."""
    if synergy == 0.0:
        return np.ones_like(use)
    return 1.0 + synergy * (use @ coupling.T)


def record_use(use: np.ndarray, action: np.ndarray, memory: float) -> None:
    """Update the recent-use stock in place from this step's choices (-1 or a non-path: none)."""
    chosen = np.zeros_like(use)
    rows = np.flatnonzero((action >= 0) & (action < use.shape[1]))
    chosen[rows, action[rows]] = 1.0
    use *= 1.0 - memory
    use += memory * chosen
