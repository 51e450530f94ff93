"""Comparison of two runs (say the baseline and a counterfactual): what differs, and when."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.io import atomic
from sim.report.base import Palette, Report, plt, provenance_html, read_manifest, table_html
from sim.report.run_report import load_run, order_of


def compare_report(a: str | Path, b: str | Path, out: str | Path | None = None, force: bool = False) -> Path:
    a, b = Path(a), Path(b)
    ta, tb = load_run(a), load_run(b)
    ma, mb = read_manifest(a), read_manifest(b)
    la, lb = ma.get("scenario", a.name), mb.get("scenario", b.name)
    if la == lb:
        la, lb = a.name, b.name
    pal = Palette(order_of(ta["states"]))
    target = Path(out) if out else a / f"compare-{b.name}"

    def build(folder: Path) -> None:
        rep = Report(f"Comparison: {la} vs {lb}", folder)
        sa, sb = ta["states"], tb["states"]
        fa = sa[sa.step == sa.step.max()].set_index("state")
        fb = sb[sb.step == sb.step.max()].set_index("state")
        cols = ["influence_share", "resource_share", "punching_ratio", "rule_alignment", "compute", "market"]
        diff = (fa[cols] - fb[cols].reindex(fa.index)).sort_values("influence_share")
        fig, ax = plt.subplots(figsize=(9, 0.3 * len(diff) + 1.5))
        ax.barh(diff.index, diff.influence_share, color=[pal(s) for s in diff.index])
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel(f"influence share, {la} minus {lb} (final step)")
        rep.save(fig, "diff_influence_share", "Difference in final influence share",
                 f"Positive: the state ends with a larger share in {la} than in {lb}.", diff.reset_index())  # fmt: skip

        top = list(fa.sort_values("influence_share", ascending=False).index[:6])
        pa = sa.pivot(index="year", columns="state", values="influence_share")
        pb = sb.pivot(index="year", columns="state", values="influence_share")
        fig, ax = plt.subplots(figsize=(9, 4))
        for s in top:
            ax.plot(pa.index, pa[s], color=pal(s), lw=2, label=f"{s}")
            ax.plot(pb.index, pb[s], color=pal(s), lw=1.5, ls="--")
        ax.set(xlabel="year", ylabel="influence share (0-1)")
        ax.legend(title=f"solid: {la}; dashed: {lb}")
        both = pa[top].add_suffix(f" [{la}]").join(pb[top].add_suffix(f" [{lb}]"))
        rep.save(fig, "influence_paths", "Influence share of the leading states, both runs",
                 "Solid lines: the first run; dashed: the second. Where they part is when the difference arises.",
                 both.reset_index())  # fmt: skip

        d = (pa - pb.reindex_like(pa))[top]
        fig, ax = plt.subplots(figsize=(9, 3.6))
        for s in top:
            ax.plot(d.index, d[s], color=pal(s), lw=2, label=s)
        ax.axhline(0, color="k", lw=0.8)
        ax.set(xlabel="year", ylabel=f"share difference ({la} - {lb})")
        ax.legend()
        rep.save(fig, "diff_over_time", "Difference in influence share over time",
                 f"{la} minus {lb}, step by step, for the six leading states of {la}.", d.reset_index())  # fmt: skip

        mda, mdb = ta["model"], tb["model"]
        fig, ax = plt.subplots(figsize=(9, 3.4))
        ax.plot(mda.year, mda.alignment_index, lw=2, label=la)
        ax.plot(mdb.year, mdb.alignment_index, lw=2, ls="--", label=lb)
        ax.set(xlabel="year", ylabel="alignment index")
        ax.legend()
        al = pd.DataFrame({"year": mda.year, la: mda.alignment_index, lb: mdb.alignment_index.to_numpy()})
        rep.save(
            fig, "alignment", "Forum alignment index, both runs", "Solid: first run; dashed: second.", al
        )

        comp = pd.DataFrame({la: fa.compute, lb: fb.compute.reindex(fa.index)})
        comp["difference (%)"] = 100 * (comp[la] / comp[lb] - 1)
        changed = comp[np.abs(comp["difference (%)"]) > 0.5].sort_values("difference (%)")
        if len(changed):
            fig, ax = plt.subplots(figsize=(9, 0.3 * len(changed) + 1.5))
            ax.barh(changed.index, changed["difference (%)"], color=[pal(s) for s in changed.index])
            ax.axvline(0, color="k", lw=0.8)
            ax.set_xlabel(f"final compute, {la} relative to {lb} (%)")
            rep.save(fig, "diff_compute", "Difference in final compute",
                     "States whose compute ends more than 0.5% apart (export controls, regulation's drag...).",
                     changed.reset_index())  # fmt: skip
        rep.text("Final metrics: differences", table_html(diff.reset_index()))
        rep.text(f"Provenance: {la}", provenance_html(ma))
        rep.text(f"Provenance: {lb}", provenance_html(mb))
        rep.write(f"<code>{a}</code> against <code>{b}</code>.")

    return atomic(target, build, folder=True, force=force) / "index.html"
