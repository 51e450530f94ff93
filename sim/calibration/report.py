"""The calibration report: what the data pinned down, and how well the model forecasts.

Figures: each parameter's posterior against its prior range; the posterior pairs; for each
target, the posterior predictive band of how many states have the event each year, with the
record on top and the held-out years shaded; the score table and the generations.
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.calibration.scores import weighted_quantile
from sim.report.base import Report, provenance_html, table_html
from sim.scenario.uncertain import Prior

EXACT = "; persistence is exact, so no forecaster can beat it"
NO_EVENTS = "; no event in the training years, so the fit could not learn their timing"


def _short(key: str) -> str:
    return key if len(key) <= 28 else "..." + key[-25:]


def write_report(
    folder: Path,
    post: pd.DataFrame,
    priors: dict[str, Prior],
    gens: pd.DataFrame,
    bands: pd.DataFrame,
    scores: pd.DataFrame,
    manifest: dict,
) -> Path:
    out = folder / "report"
    out.mkdir()
    rep = Report(f"Calibration: {manifest['name']}", out)
    keys = list(priors)
    w = post["weight"].to_numpy()

    # 1. marginals against the prior
    n = len(keys)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    summary = []
    for ax, k in zip(axes.ravel(), keys, strict=False):
        p = priors[k]
        x = post[k].to_numpy()
        log = p.distribution == "loguniform"
        edges = np.geomspace(p.low, p.high, 21) if log else np.linspace(p.low, p.high, 21)
        ax.hist(x, bins=edges, weights=w, color="tab:blue", alpha=0.7, label="posterior")
        prior_h = 1.0 / (len(edges) - 1)
        ax.hlines(prior_h, p.low, p.high, color="k", ls="--", lw=1, label="prior")
        if log:
            ax.set_xscale("log")
        ax.set(title=_short(k), xlabel=f"{p.distribution} [{p.low:g}, {p.high:g}]", ylabel="weight")
        q = [weighted_quantile(x, w, v) for v in (0.05, 0.5, 0.95)]
        width_prior = np.log(p.high / p.low) if log else p.high - p.low
        width_post = np.log(q[2] / q[0]) if log and q[0] > 0 else q[2] - q[0]
        summary.append({"parameter": k, "prior": f"{p.distribution} [{p.low:g}, {p.high:g}]", "median": q[1],
                        "q05": q[0], "q95": q[2],
                        "90% width / prior width": width_post / width_prior})  # fmt: skip
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    axes.ravel()[0].legend()
    fig.tight_layout()
    table = pd.DataFrame(summary)
    rep.save(fig, "marginals", "Posterior of each parameter against its prior",
             "Weighted histogram of the last ABC generation; the dashed line is the flat prior (log axis for "
             "loguniform priors). A posterior as wide as the prior means the record used does not pin the "
             "parameter down.", table)  # fmt: skip

    # 2. pairs
    if n >= 2:
        fig, axes = plt.subplots(n, n, figsize=(2.2 * n, 2.2 * n), squeeze=False)
        for i, ki in enumerate(keys):
            for j, kj in enumerate(keys):
                ax = axes[i, j]
                if i == j:
                    ax.hist(post[ki], bins=15, weights=w, color="tab:blue", alpha=0.7)
                elif i > j:
                    ax.scatter(post[kj], post[ki], s=8 + 200 * w, alpha=0.5, color="tab:blue")
                else:
                    ax.set_visible(False)
                if priors[kj].distribution == "loguniform":
                    ax.set_xscale("log")
                if i == n - 1:
                    ax.set_xlabel(_short(kj), fontsize=7)
                if j == 0:
                    ax.set_ylabel(_short(ki), fontsize=7)
                ax.tick_params(labelsize=6)
        fig.tight_layout()
        rep.save(fig, "pairs", "Posterior pairs",
                 "Each dot is a particle of the last generation (size: its weight): "
                 "ridges show parameters the record can trade for one another.", post)  # fmt: skip

    # 3. predictive bands per target
    for target, b in bands.groupby("target", sort=False):
        fig, ax = plt.subplots(figsize=(9, 3.8))
        test = b[b.split == "test"].year
        if len(test):
            ax.axvspan(test.min() - 0.5, test.max() + 0.5, color="orange", alpha=0.12, label="held out")
        for label, colour in (
            ("model (calibrated)", "tab:blue"),
            ("model (scenario as it stands)", "tab:grey"),
        ):
            d = b[b.forecaster == label]
            ax.fill_between(d.year, d.q5, d.q95, color=colour, alpha=0.15)
            ax.fill_between(d.year, d.q25, d.q75, color=colour, alpha=0.3)
            ax.plot(d.year, d.q50, color=colour, lw=1.5, label=f"{label}: median, 50% and 90% bands")
        d = b[b.forecaster == "model (calibrated)"]
        ax.scatter(d.year, d.observed, color="k", zorder=5, label="record")
        ax.set(xlabel="year (status at its end)", ylabel="states with the event (of those known)")
        ax.legend(fontsize=7, loc="upper left")
        rep.save(fig, f"bands_{target}", f"{target}: posterior predictive against the record",
                 "How many of the states whose status the record gives had the event by the end of each year "
                 "(known states per year in the CSV). Fitted on the unshaded years; the shaded years are "
                 "held out "
                 "and only scored.", b)  # fmt: skip

    # 4. generations
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(gens.t, gens.epsilon, marker="o", label="epsilon")
    ax2 = ax.twinx()
    ax2.plot(gens.t, gens.acceptance, marker="s", color="tab:orange", label="acceptance")
    ax.set(xlabel="generation", ylabel="epsilon")
    ax2.set_ylabel("acceptance rate")
    rep.save(fig, "generations", "ABC-SMC generations",
             "The acceptance threshold (the distance on the training "
             "years) and the acceptance rate by generation.", gens)  # fmt: skip

    verdict = []
    for t, d in scores.groupby("target", sort=False):
        m = d[d.forecaster == "model (calibrated)"].iloc[0]
        naive = d[d.forecaster.isin(["persistence", "base rate", "trend"])]
        best = naive.sort_values("brier").iloc[0]
        best_loss = naive.sort_values("log_loss").iloc[0]
        word = {"yes": "beats", "no": "does not beat"}.get(str(m.beats_naive), "cannot be compared with")
        verdict.append(f"<li><b>{html.escape(str(t))}</b>: the calibrated model (Brier {m.brier:.3f}, log "
                       f"loss {m.log_loss:.3f}) {word} the best naive rules (Brier: "
                       f"{html.escape(str(best.forecaster))}, {best.brier:.3f}; log loss: "
                       f"{html.escape(str(best_loss.forecaster))}, {best_loss.log_loss:.3f}) on "
                       f"{int(m.cells)} held-out state-years ({int(m.events)} "
                       f"with the event, {int(m.changes)} changes from the last training year"
                       f"{EXACT if int(m.changes) == 0 else ''}"
                       f"{NO_EVENTS if int(m.train_events) == 0 else ''}"
                       f").</li>")  # fmt: skip
    rep.text("Held-out scores", "<ul>" + "".join(verdict) + "</ul>" + table_html(scores, "{:.3f}"))
    rep.text("Parameters", table_html(table, "{:.4g}"))
    rep.text("Provenance", provenance_html(manifest))
    return rep.write(
        f"ABC-SMC fit on {manifest['train_years'][0]}-{manifest['train_years'][1]}, scored on "
        f"{manifest['test_years'][0]}-{manifest['test_years'][1]}: {manifest['simulations']} simulations"
        f"{' (quick settings)' if manifest['quick'] else ''}."
    )
