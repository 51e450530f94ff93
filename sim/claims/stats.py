"""Effects, intervals and verdicts, kept apart so they can be checked by hand.

The effect of a claim is the mean of its per-replication differences (paired: a scenario and
its counterfactual share the seed of each replication). The interval is the two-sided t
interval at `level`. The verdict for an expected sign:
- holds: the interval lies entirely on the expected side of zero;
- fails: it lies entirely on the other side;
- inconclusive: it contains zero.
For `expect: not_positive` (a gap that should vanish), holds unless the interval lies above zero.
For `expect: never_positive` (something that must not happen, such as an ineligible
membership), the verdict is read from the replications, not the mean: holds when no
replication is positive, fails when any is.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as st


def effect_ci(diffs: np.ndarray, level: float = 0.95) -> tuple[float, float, float, int]:
    d = np.asarray(diffs, dtype=float)
    d = d[np.isfinite(d)]
    n = d.size
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(d.mean())
    if n == 1:
        return mean, math.nan, math.nan, 1
    half = float(st.t.ppf(0.5 + level / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n


def verdict(expect: str, lo: float, hi: float, effects: np.ndarray | None = None) -> str:
    if expect == "never_positive":
        d = np.asarray(effects if effects is not None else [], dtype=float)
        d = d[np.isfinite(d)]
        return "inconclusive" if d.size < 2 else "fails" if (d > 0).any() else "holds"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "inconclusive"
    if expect == "positive":
        return "holds" if lo > 0 else "fails" if hi < 0 else "inconclusive"
    if expect == "negative":
        return "holds" if hi < 0 else "fails" if lo > 0 else "inconclusive"
    if expect == "not_positive":
        return "fails" if lo > 0 else "holds"
    raise ValueError(f"unknown expectation {expect!r}")
