"""Claim outputs: claims.csv, claims.md, the runs, and an HTML report with one figure per
claim (the distribution over replications, and the scan of where it holds)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sim.io import atomic, write_text
from sim.report.base import Report, plt, provenance_html, table_html

COLOURS = {"holds": "tab:green", "fails": "tab:red", "inconclusive": "tab:grey"}


def table(results) -> pd.DataFrame:
    rows = []
    for r in results:
        c = r.claim
        scan = r.scan
        holds_at = (
            ", ".join(f"{v:g}" for v in scan.loc[scan.verdict == "holds", "value"]) if len(scan) else ""
        )
        fails_at = (
            ", ".join(f"{v:g}" for v in scan.loc[scan.verdict == "fails", "value"]) if len(scan) else ""
        )
        rows.append(
            {
                "claim": c.id,
                "pattern": c.pattern if c.pattern is not None else "fact",
                "source": c.source,
                "statement": c.statement,
                "metric": c.metric,
                "kind": c.kind,
                "expect": c.expect,
                "effect": r.effect,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "n": r.n,
                "verdict": r.verdict,
                "scan": c.scan.key,
                "holds_at": holds_at,
                "fails_at": fails_at,
            }
        )
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame, manifest: dict) -> str:
    lines = [
        "| claim | pattern | statement | effect | 95% CI | n | verdict | scan: holds at / fails at |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in df.to_dict("records"):
        where = f"`{r['scan']}`: {r['holds_at'] or '-'} / {r['fails_at'] or '-'}"
        lines.append(
            f"| {r['claim']} | {r['pattern']} | {r['statement']} | {r['effect']:.4g} "
            f"| [{r['ci_low']:.4g}, {r['ci_high']:.4g}] | {r['n']} | **{r['verdict']}** | {where} |"
        )
    lines.append("")
    lines.append(
        f"Produced by `{manifest.get('command') or 'sim claims'}` on {manifest.get('date', '')[:10]} "
        f"({manifest.get('replications')} replications per claim, {manifest.get('runs')} runs, "
        f"{manifest.get('wall_seconds')} s, commit {manifest.get('git_commit')})."
    )
    if manifest.get("failed_runs"):
        lines.append("")
        lines.append(
            f"**{manifest['failed_runs']} of {manifest.get('runs')} runs failed** and count as missing "
            f"(n above); first error: {manifest.get('first_error', '')}"
        )
    return "\n".join(lines) + "\n"


def write_outputs(results, out: Path, manifest: dict, runs: pd.DataFrame) -> None:
    df = table(results)
    atomic(out / "claims.csv", lambda tmp: df.to_csv(tmp, index=False, float_format="%.6g"))
    write_text(out / "claims.md", markdown(df, manifest))
    scans = pd.concat([r.scan.assign(claim=r.claim.id) for r in results if len(r.scan)], ignore_index=True)
    atomic(out / "claims_scan.csv", lambda tmp: scans.to_csv(tmp, index=False, float_format="%.6g"))
    kept = runs.drop(columns=[c for c in ("traceback",) if c in runs], errors="ignore").astype(
        {c: "string" for c in runs.columns if runs[c].dtype == object}
    )
    atomic(out / "claims_runs.parquet", lambda tmp: kept.to_parquet(tmp, index=False))
    write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")

    def build(folder: Path) -> None:
        rep = Report("Claims of the source papers", folder)
        for r in results:
            c = r.claim
            fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1, 1.3]})
            eff = r.effects[np.isfinite(r.effects)]
            a1.hist(eff, bins=min(20, max(5, len(eff) // 2)), color=COLOURS[r.verdict], alpha=0.7)
            a1.axvline(0, color="k", lw=1)
            a1.axvspan(r.ci_low, r.ci_high, color=COLOURS[r.verdict], alpha=0.2, label="95% CI of the mean")
            a1.axvline(r.effect, color=COLOURS[r.verdict], lw=2, label=f"mean {r.effect:.3g}")
            a1.set(xlabel="effect per replication", ylabel="replications")
            a1.legend(fontsize=7)
            s = r.scan
            if len(s):
                a2.axhline(0, color="k", lw=1)
                a2.plot(s.value, s.effect, color="k", lw=1)
                a2.fill_between(s.value, s.ci_low, s.ci_high, color="grey", alpha=0.2)
                for v in ("holds", "fails", "inconclusive"):
                    pts = s[s.verdict == v]
                    a2.scatter(pts.value, pts.effect, color=COLOURS[v], label=v, zorder=3)
                a2.set(xlabel=c.scan.key, ylabel="effect (mean, 95% CI)")
                a2.legend(fontsize=7)
            fig.suptitle(f"{c.id} ({r.verdict}): {c.statement}", fontsize=10)
            data = pd.DataFrame({"replication": np.arange(len(r.effects)), "effect": r.effects})
            rep.save(fig, f"claim_{c.id}", f"{c.id}: {c.statement}",
                     f"Left: the {c.kind} effect ({c.metric}; expected {c.expect}) in each replication, its mean and "
                     f"95% interval; verdict {r.verdict}. Right: the same effect as {c.scan.key} varies, coloured by "
                     f"verdict: where the claim holds and where it breaks. {c.note}", data)  # fmt: skip
        rep.text("All claims", table_html(df.drop(columns=["statement"]), "{:.4g}"))
        rep.text("Provenance", provenance_html(manifest))
        rep.write(
            f"{manifest['replications']} paired replications per claim (a scenario and its counterfactual share each "
            f"replication's seed), {manifest['runs']} runs in {manifest['wall_seconds']} s."
        )

    atomic(out / "report", build, folder=True, force=True)  # `out` holds claims results: its report is ours
