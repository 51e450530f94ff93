"""Sensitivity analysis of a finished sweep with SALib: Sobol (S1, ST with confidence
intervals) for `sobol` designs, Morris (mu*, sigma) for `morris` designs. The metric is
averaged over replications at each point first."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.errors import SimError
from sim.experiments.store import read_runs


def sensitivity(sweep_dir: str | Path, metric: str, seed: int = 0) -> tuple[pd.DataFrame, Path]:
    root = Path(sweep_dir)
    manifest, runs = read_runs(root)  # refused unless finished and matching its checksum
    design = manifest.get("design")
    if design not in ("sobol", "morris"):
        raise SimError(f"{root}: sensitivity needs a sobol or morris design, this sweep is {design!r}")
    if metric not in runs.columns:
        known = [c for c in manifest.get("metrics", {})]
        raise SimError(f"{root}: unknown metric {metric!r} (metrics: {', '.join(known)})")
    prob = manifest["problem"]
    n_points = manifest["points"]
    by_point = runs[runs["status"] == "ok"].groupby("point")[metric].mean()
    if len(by_point) != n_points or by_point.isna().any():
        raise SimError(
            f"{root}: {n_points - by_point.notna().sum()} points lack an ok run; resume the sweep first"
        )
    y = by_point.sort_index().to_numpy()
    if design == "sobol":
        from SALib.analyze import sobol

        res = sobol.analyze(prob, y, calc_second_order=False, seed=seed)
        df = pd.DataFrame(
            {
                "parameter": prob["names"],
                "S1": res["S1"],
                "S1_conf": res["S1_conf"],
                "ST": res["ST"],
                "ST_conf": res["ST_conf"],
            }
        )
    else:
        from SALib.analyze import morris

        params = [f"param:{n}" for n in prob["names"]]
        x = runs.groupby("point")[params].first().sort_index().to_numpy(dtype=float)
        res = morris.analyze(prob, x, y, num_levels=manifest["levels"], seed=seed)
        df = pd.DataFrame(
            {
                "parameter": prob["names"],
                "mu_star": res["mu_star"],
                "mu_star_conf": res["mu_star_conf"],
                "sigma": res["sigma"],
                "mu": res["mu"],
            }
        )
    out = root / f"sensitivity-{metric}.csv"
    df.to_csv(out, index=False, float_format="%.6g")
    return df, out
