"""Held-out scores: does the calibrated model forecast 2023-2025 better than naive rules?

For each target, every state-year of the test span with a known outcome (0/1) is a forecast:
- the model: the share of posterior predictive runs in which the event has happened;
- persistence: the state's status at the end of the last training year;
- base rate: the share of known state-years in the training span that were 1;
- trend: persistence plus the training years' trend in the share of states with the event,
  extrapolated linearly (a state that has it keeps it; one that has not gets the predicted
  rise over the not-yet share).
Scores: Brier score (mean squared error of the probability) and log loss (probabilities
clipped to [eps, 1 - eps], eps = 1 / (2 x predictive draws), the resolution of the model's
own probabilities; the naive rules' 0/1 forecasts are clipped the same way). For aggregate
series (how many states have the event each year) the coverage of the held-out counts by the
50% and 90% predictive bands. A forecaster beats the naive rules when both its Brier score and
its log loss are below the best naive rule's; when no known held-out cell differs from the
last training status, persistence is exact and the comparison is "untestable".
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """The q-quantile of values x with weights w (the smallest x whose cumulative weight reaches q)."""
    order = np.argsort(x)
    cw = np.cumsum(w[order]) / w.sum()
    return float(x[order][min(int(np.searchsorted(cw, q)), len(x) - 1)])


def brier(p: np.ndarray, o: np.ndarray) -> float:
    return float(np.mean((p - o) ** 2))


def log_loss(p: np.ndarray, o: np.ndarray, eps: float) -> float:
    q = np.clip(p, eps, 1 - eps)
    return float(-np.mean(o * np.log(q) + (1 - o) * np.log(1 - q)))


def naive(obs: np.ndarray, years: list[int], train: list[int], test: list[int]) -> dict[str, np.ndarray]:
    """[n_states, len(test)] forecasts of the naive rules from the training record."""
    ti = [years.index(y) for y in train]
    last = obs[:, ti[-1]]
    rate = float(np.nanmean(obs[:, ti])) if np.isfinite(obs[:, ti]).any() else 0.0
    persist = np.where(np.isfinite(last), last, rate)
    share = np.array([np.nanmean(obs[:, k]) if np.isfinite(obs[:, k]).any() else np.nan for k in ti])
    ok = np.isfinite(share)
    slope = float(np.polyfit(np.array(train)[ok], share[ok], 1)[0]) if ok.sum() >= 2 else 0.0
    base_share = share[-1] if ok[-1] else float(np.nanmean(share)) if ok.any() else 0.0
    out = {"persistence": np.repeat(persist[:, None], len(test), axis=1),
           "base rate": np.full((obs.shape[0], len(test)), rate)}  # fmt: skip
    trend = np.empty((obs.shape[0], len(test)))
    for j, y in enumerate(test):
        rise = max(0.0, slope * (y - train[-1]))
        p_new = min(1.0, rise / max(1e-9, 1.0 - base_share))
        trend[:, j] = np.where(persist >= 1.0, 1.0, p_new)
    out["trend"] = trend
    return out


def score_table(
    obs: dict[str, np.ndarray],
    model_p: dict[str, dict[str, np.ndarray]],
    years: list[int],
    train: list[int],
    test: list[int],
    eps: float,
) -> pd.DataFrame:
    """One row per target and forecaster (the model's rows first), scored on the test cells.
    `model_p`: {forecaster name: {target: [n_states, n_years] probability}}."""
    rows = []
    ki = [years.index(y) for y in test]
    for target, o_all in obs.items():
        o = o_all[:, ki]
        known = np.isfinite(o)
        n = int(known.sum())
        forecasts = {name: p[target][:, ki] for name, p in model_p.items()}
        forecasts.update(naive(o_all, years, train, test))
        train_events, changes = events_in(o_all, years, train, test)
        for name, p in forecasts.items():
            rows.append({
                "target": target, "forecaster": name, "train_events": train_events, "cells": n,
                "events": int(np.nansum(o)), "changes": changes,
                "brier": brier(p[known], o[known]) if n else np.nan,
                "log_loss": log_loss(p[known], o[known], eps) if n else np.nan,
            })  # fmt: skip
    df = pd.DataFrame(rows)
    naive_rows = df[df.forecaster.isin(["persistence", "base rate", "trend"])].groupby("target")
    best_brier, best_loss = naive_rows.brier.min().to_dict(), naive_rows.log_loss.min().to_dict()
    df["beats_naive"] = [  # lower Brier score *and* lower log loss than the best naive rule
        ""
        if r.forecaster in ("persistence", "base rate", "trend")
        else "untestable"  # nothing changed in the held-out years: persistence cannot be beaten
        if r.changes == 0
        else "yes"
        if (r.brier < best_brier[r.target] and r.log_loss < best_loss[r.target])
        else "no"
        for r in df.itertuples()
    ]
    return df


def events_in(obs: np.ndarray, years: list[int], train: list[int], test: list[int]) -> tuple[int, int]:
    """Events in the training years (a known 0 followed by a known 1 the next year: what the fit
    can learn timing from) and held-out changes (known held-out cells that differ from the
    state's last training status: what persistence gets wrong)."""
    ti = [years.index(y) for y in train]
    tr = obs[:, ti]
    train_events = int(np.sum((tr[:, :-1] == 0) & (tr[:, 1:] == 1)))
    last = obs[:, ti[-1]][:, None]
    held = obs[:, [years.index(y) for y in test]]
    changes = int(np.sum(np.isfinite(held) & np.isfinite(last) & (held != last)))
    return train_events, changes


def counts(x: np.ndarray, known: np.ndarray) -> np.ndarray:
    """How many of the known states have the event each year: x [..., n_states, n_years]."""
    return np.where(known, x, 0.0).sum(axis=-2)


def coverage(sim_counts: np.ndarray, obs_counts: np.ndarray, cols: list[int]) -> dict[str, float]:
    """Share of the observed counts in `cols` inside the 50% and 90% predictive bands
    (sim_counts: [draws, n_years])."""
    out = {}
    for level in (50, 90):
        lo = np.percentile(sim_counts, 50 - level / 2, axis=0)
        hi = np.percentile(sim_counts, 50 + level / 2, axis=0)
        inside = [(lo[k] <= obs_counts[k] <= hi[k]) for k in cols]
        out[f"coverage_{level}"] = float(np.mean(inside)) if inside else np.nan
    return out
