"""Norm geometry: distances between positions and texts in the norm space (every dimension
in [0, 1]), normalised so that 0 is the same point and 1 opposite corners."""

from __future__ import annotations

import numpy as np

from sim.engine.types import Array


def distance(a: Array, b: Array) -> Array:
    """Normalised Euclidean distance, row by row: sqrt(sum_d (a_d - b_d)^2 / D).
    `a` and `b` have the same shape [..., D]."""
    diff = a - b
    out: Array = np.sqrt(np.einsum("...d,...d->...", diff, diff) / a.shape[-1])
    return out


def cross_distance(a: Array, b: Array) -> Array:
    """[n, m] normalised distances between every row of `a` [n, D] and of `b` [m, D].

    Uses |x - y|^2 = |x|^2 + |y|^2 - 2 x.y (one matrix product instead of an n*m*D array)."""
    sq = np.einsum("nd,nd->n", a, a)[:, None] + np.einsum("md,md->m", b, b)[None, :] - 2.0 * (a @ b.T)
    np.maximum(sq, 0.0, out=sq)
    sq /= a.shape[-1]
    out: Array = np.sqrt(sq, out=sq)
    return out
