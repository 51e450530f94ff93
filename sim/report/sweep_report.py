"""The report of a sweep: metrics over time with 95% bands, responses to the varied
parameters, sensitivity indices when analysed, and the failed runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.store import read_runs
from sim.io import atomic
from sim.report.base import Report, plt, provenance_html, table_html


def _ci(x: pd.Series) -> float:
    return 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0.0


def sweep_report(folder: str | Path, force: bool = False) -> Path:
    folder = Path(folder)
    manifest, runs = read_runs(folder)  # refused unless finished and matching its checksum
    metrics = list(manifest.get("metrics", {}))
    params = [c for c in runs.columns if c.startswith("param:")]
    ok = runs[runs.status == "ok"]

    def build(out: Path) -> None:
        rep = Report(f"Sweep report: {manifest.get('experiment', folder.name)}", out)
        series_dir = folder / "series"
        if series_dir.exists() and any(series_dir.glob("*.parquet")):
            s = pd.read_parquet(series_dir)
            s = s[s.run_id.isin(ok.run_id)]
            for metric in metrics:
                d = s[s.metric == metric].merge(ok[["run_id", "point"]], on="run_id")
                if d.empty:
                    continue
                g = d.groupby(["point", "year"])["value"].agg(["mean", _ci]).reset_index()
                fig, ax = plt.subplots(figsize=(9, 3.8))
                cmap = plt.get_cmap("viridis")
                points = sorted(g.point.unique())
                for k, p in enumerate(points):
                    gp = g[g.point == p]
                    c = cmap(k / max(1, len(points) - 1))
                    ax.plot(gp.year, gp["mean"], color=c, lw=1.5)
                    ax.fill_between(
                        gp.year, gp["mean"] - gp["_ci"], gp["mean"] + gp["_ci"], color=c, alpha=0.15
                    )
                ax.set(xlabel="year", ylabel=metric)
                rep.save(fig, f"series_{metric}", f"{metric} over time, by design point",
                         f"Mean over replications (line) and 95% band, one colour per design point ({len(points)} points; "
                         f"see the response figures for which parameters each stands for).", g)  # fmt: skip
        for metric in metrics:
            for param in params:
                d = ok.groupby(param)[metric].agg(["mean", _ci, "count"]).reset_index()
                fig, ax = plt.subplots(figsize=(7, 3.8))
                if len(d) <= 12:
                    ax.errorbar(d[param], d["mean"], yerr=d["_ci"], marker="o", capsize=3, lw=1.5)
                else:
                    ax.scatter(ok[param], ok[metric], s=8, alpha=0.5)
                ax.set(xlabel=param.removeprefix("param:"), ylabel=metric)
                name = f"response_{metric}_{params.index(param)}"
                rep.save(fig, name, f"{metric} against {param.removeprefix('param:')}",
                         "Final value of the metric: mean over runs at each value with 95% interval (or every run, for "
                         "sampled designs).", d if len(d) <= 12 else ok[[param, metric]])  # fmt: skip
            if len(params) == 2 and manifest.get("design") == "factorial":
                grid = ok.pivot_table(index=params[0], columns=params[1], values=metric, aggfunc="mean")
                fig, ax = plt.subplots(figsize=(7, 5))
                im = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
                ax.grid(False)
                ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns])
                ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
                ax.set(xlabel=params[1].removeprefix("param:"), ylabel=params[0].removeprefix("param:"))
                fig.colorbar(im, ax=ax, label=f"mean {metric}")
                rep.save(fig, f"heatmap_{metric}", f"{metric} over both varied parameters",
                         "Mean final value over replications at each combination.", grid.reset_index())  # fmt: skip
        for csv in sorted(folder.glob("sensitivity-*.csv")):
            si = pd.read_csv(csv)
            metric = csv.stem.removeprefix("sensitivity-")
            cols = [("S1", "S1_conf"), ("ST", "ST_conf")] if "S1" in si else [("mu_star", "mu_star_conf")]
            fig, ax = plt.subplots(figsize=(8, 0.6 * len(si) + 1.5))
            y = np.arange(len(si))
            h = 0.8 / len(cols)
            for k, (index_col, err_col) in enumerate(cols):
                ax.barh(y + k * h, si[index_col], h, xerr=si[err_col], label=index_col, capsize=3)
            ax.set_yticks(y + h * (len(cols) - 1) / 2, si.parameter)
            ax.set_xlabel("index (Sobol: share of variance; Morris: mean absolute elementary effect)")
            ax.legend()
            rep.save(fig, f"sensitivity_{metric}", f"Sensitivity of {metric}",
                     "Sobol first-order (S1) and total (ST) indices with 95% intervals, or Morris mu*, from "
                     "`sim analyze sensitivity`.", si)  # fmt: skip
        failed = runs[runs.status != "ok"]
        rep.text(
            f"Failed runs ({len(failed)})",
            table_html(failed[["run_id", "index", *params, "error"]]) if len(failed) else "<p>None.</p>",
        )
        summary = ok.groupby(params)[metrics].mean().reset_index() if params else ok[metrics].describe()
        rep.text("Mean final metrics by design point", table_html(summary))
        rep.text("Provenance", provenance_html(manifest))
        rep.write(
            f"Design <code>{manifest.get('design')}</code>, {manifest.get('points')} points x "
            f"{manifest.get('replications')} replications = {manifest.get('runs')} runs; {len(ok)} ok, {len(failed)} failed."
        )

    return atomic(folder / "report", build, folder=True, force=force) / "index.html"
