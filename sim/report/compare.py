"""Comparisons of two scenarios (or two run folders): what changes, by how much, and when.

Every difference is B minus A, for every headline metric (`sim.report.replicate`), aligned on
the years both sides have; states on one side only are listed. Two outputs share this code:

- `sim compare A B --replications N`: A and B on the same N seeds; `write_compare` writes
  compare.csv, compare.md, replications.parquet, manifest.json and, with --report, report/;
- `sim report --compare DIR_A DIR_B`: two run folders, usually one seed each
  (`compare_report`): the same figures and tables, without intervals.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from sim.errors import SimError
from sim.io import MARKER, atomic
from sim.report.base import Palette, Report, plt, provenance_html, read_manifest, regions_of, table_html
from sim.report.replicate import (
    HEADLINE_STATE,
    HEADLINE_WORLD,
    LABELS,
    WORLD,
    CompareRun,
    Comparison,
    headline_tables,
    paired_stats,
    rows_by,
    until,
)

LEADING = 6  # states drawn in the figures over time
# the units of the final-year table's columns that are not shares or ratios (docs/outputs.md)
UNITS = {"influence": "influence units", "compute": "relative units", "market": "relative units"}
UNITS_NOTE = (
    "Compute and market are in the scenario's relative units (the baseline starts compute at each state's 2022 "
    "share of the modelled world's total, in percent, and market at its 2024 generative-AI market, in USD bn); "
    "only their ratios carry meaning. The influence stock is in influence units; shares and rule alignment "
    "are 0 to 1; followers a count."
)
TABLE_METRICS = ("influence_share", "resource_share", "punching_ratio")  # the printed table's


# ----------------------------------------------------------------------------- text
def _d(x: float) -> str:
    """A difference: signed, three significant digits, exactly 0 shown as 0."""
    if not np.isfinite(x):
        return ""
    return "0" if x == 0 else f"{x:+.3g}"


def _v(x: float, digits: str = ".3f") -> str:
    return "" if not np.isfinite(x) else format(x, digits)


def diff_ci(row: Any) -> str:
    """`+0.0123 [+0.0101, +0.0145]`, or the difference alone when there is no interval."""
    if not np.isfinite(row.lo):
        return _d(row.diff)
    return f"{_d(row.diff)} [{_d(row.lo)}, {_d(row.hi)}]"


def final(cmp: Comparison) -> pd.DataFrame:
    """The rows of the last common year."""
    s = cmp.stats
    return s[s["year"] == cmp.final_year]


def leading(cmp: Comparison, k: int = LEADING) -> list[str]:
    """The states (on both sides) with the largest final influence share on either side."""
    f = final(cmp)
    f = f[(f.metric == "influence_share") & (f.state != WORLD) & (f.n > 0)]
    top = f.assign(top=np.fmax(f.mean_a, f.mean_b)).sort_values("top", ascending=False)
    return list(top.state[:k])


def how(cmp: Comparison) -> str:
    n = cmp.replications
    if n == 1:
        return "one replication: differences without intervals"
    return f"mean over {n} paired replications and {cmp.level:.0%} t interval (n = {n})"


def summary_md(cmp: Comparison, header: list[str]) -> str:
    """compare.md: the final-year headline table of B - A, the notes and the one-sided states."""
    f = final(cmp)
    by = rows_by(f)
    lines = [f"# {cmp.label_b} minus {cmp.label_a}", "", *header, ""]
    lines.append(
        f"Differences are B - A ({cmp.label_b} - {cmp.label_a}), {how(cmp)}, at {until(cmp.final_year)}."
    )
    if cmp.notes:
        lines += ["", *[f"- {n}" for n in cmp.notes]]
    a, b = cmp.label_a, cmp.label_b
    lines += [
        "",
        f"| state | influence share {a} | influence share {b} | B - A | resource share B - A | punching ratio B - A |",
        "|---|---|---|---|---|---|",
    ]
    shares = f[(f.metric == "influence_share") & (f.state != WORLD) & (f.n > 0)]
    for s in shares.sort_values("mean_a", ascending=False)["state"]:
        r = by[("influence_share", s)]
        cells = [_v(r.mean_a), _v(r.mean_b), diff_ci(r)] + [diff_ci(by[(m, s)]) for m in TABLE_METRICS[1:]]
        lines.append(f"| {s} | {' | '.join(cells)} |")
    lines += ["", f"| world | {a} | {b} | B - A |", "|---|---|---|---|"]
    for m in HEADLINE_WORLD:
        if (m, WORLD) in by:
            r = by[(m, WORLD)]
            lines.append(f"| {LABELS[m]} | {_v(r.mean_a)} | {_v(r.mean_b)} | {diff_ci(r)} |")
    for label, states, col in ((a, cmp.only_a, "mean_a"), (b, cmp.only_b, "mean_b")):
        if states:
            shown = ", ".join(f"{s} ({_v(getattr(by[('influence_share', s)], col))})" for s in states)
            lines += ["", f"Only in {label} (final influence share): {shown}."]
    lines += ["", "Every headline metric, state and year, with intervals: compare.csv."]
    return "\n".join(lines) + "\n"


def _final_table(cmp: Comparison) -> pd.DataFrame:
    """Every headline metric of the last common year, B - A with its interval, one row per state."""
    f = final(cmp)
    both = f[(f.state != WORLD) & (f.n > 0)]
    wide = both.assign(cell=[diff_ci(r) for r in both.itertuples()]).pivot(
        index="state", columns="metric", values="cell"
    )
    order = both[both.metric == "influence_share"].sort_values("mean_a", ascending=False).state
    wide = wide.reindex(index=list(order), columns=[m for m in HEADLINE_STATE if m in wide.columns])
    named = {m: f"{LABELS[m]} ({UNITS[m]})" if m in UNITS else LABELS[m] for m in wide.columns}
    return wide.rename(columns=named).reset_index()


# ----------------------------------------------------------------------------- figures
def _band(
    ax: Any, x: Any, mean: Any, lo: Any, hi: Any, color: Any, label: str | None = None, ls: str = "-"
) -> None:
    ax.plot(x, mean, color=color, lw=2, ls=ls, label=label)
    if np.isfinite(np.asarray(lo, dtype=float)).any():
        ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0)


def _grid(k: int, cols: int = 3, size: tuple[float, float] = (4.0, 2.6), **kw: Any) -> tuple[Any, Any]:
    rows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(
        rows, min(cols, k), figsize=(size[0] * min(cols, k), size[1] * rows), squeeze=False, **kw
    )
    for ax in axes.flat:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))  # whole years
    for ax in list(axes.flat)[k:]:
        ax.axis("off")
    return fig, axes


def _row(df: pd.DataFrame, k: int) -> Any:
    """Row k of a table as a named tuple (attribute access: `row.diff`)."""
    return next(df.iloc[[k]].itertuples(index=False))


def _sig(r: Any) -> str:
    """`+0.006 [+0.001, +0.013]`, marked when the interval excludes 0."""
    text = diff_ci(r)
    if np.isfinite(r.lo) and (r.lo > 0 or r.hi < 0):
        text += " (interval excludes 0)"
    return text


def figures(rep: Report, cmp: Comparison, pal: Palette) -> None:
    s, la, lb = cmp.stats, cmp.label_a, cmp.label_b
    n = cmp.replications
    nsay = f"n = {n} paired replications; bands and whiskers: {cmp.level:.0%} t intervals." if n > 1 else (
        "One replication (n = 1): no intervals; `sim compare A B --replications N` gives them.")  # fmt: skip
    end = until(cmp.final_year)
    f = final(cmp)
    d = f[(f.metric == "influence_share") & (f.state != WORLD) & (f.n > 0)].sort_values("diff")
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(d) + 1.5))
    err = None
    if np.isfinite(d["lo"]).any():
        err = np.vstack([d["diff"] - d["lo"], d["hi"] - d["diff"]])
    ax.barh(d.state, d["diff"], xerr=err, color=[pal(x) for x in d.state], ecolor="#444444", capsize=2)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel(f"influence share, {lb} minus {la}, at {end}")
    ax.grid(axis="y", visible=False)
    for lab in ax.get_yticklabels():
        if lab.get_text() in pal.focus:
            lab.set_fontweight("bold")
    up, down = _row(d, -1), _row(d, 0)
    rep.save(fig, "diff_influence_share", "Difference in final influence share (B - A)",
             f"Positive: the state ends with a larger share in {lb} than in {la}. Largest gain: {up.state} "
             f"{_sig(up)}; largest loss: {down.state} {_sig(down)}. {nsay}", d)  # fmt: skip

    top = leading(cmp)
    shares = s[(s.metric == "influence_share") & s.state.isin(top)]
    fig, axes = _grid(len(top), sharex=True)
    gaps = []
    for ax, st_ in zip(axes.flat, top, strict=False):
        r = shares[shares.state == st_]
        ax.plot(r.year, r.mean_a, color=pal(st_), lw=2, label=la)
        ax.plot(r.year, r.mean_b, color="k", lw=1.3, ls="--", label=lb)
        ax.set_title(st_, fontsize=10, color=pal(st_))
        ax.xaxis.set_tick_params(labelbottom=True)
        gap = (r.mean_b - r.mean_a).abs()
        if gap.max() > 0:  # NaN or no gap at all: nothing to point at
            k = int(np.nanargmax(gap.to_numpy()))
            gaps.append((float(gap.max()), st_, float(r.year.to_numpy()[k])))
    axes.flat[0].legend(loc="best", fontsize=8)
    fig.supylabel("influence share (0-1)", fontsize=10, x=0.01)
    fig.subplots_adjust(left=0.08, hspace=0.4, wspace=0.25)
    gaps.sort()
    where = (
        f" The paths part most for {gaps[-1][1]} ({gaps[-1][0]:.3f} at {until(gaps[-1][2])})." if gaps else ""
    )
    rep.save(fig, "influence_paths", "Influence share of the leading states, both scenarios",
             f"One panel per leading state (its own scale): solid, {la}; dashed, {lb}"
             + (f" (means over {n} seeds)" if n > 1 else "") + ". Where they part is when the difference arises."
             + where, shares)  # fmt: skip

    fig, axes = _grid(len(top), sharex=True, sharey=True)
    texts = []
    for ax, st_ in zip(axes.flat, top, strict=False):
        r = shares[shares.state == st_]
        _band(ax, r.year, r["diff"], r.lo, r.hi, pal(st_))
        ax.axhline(0, color="k", lw=0.8)
        ax.set_title(st_, fontsize=10, color=pal(st_))
        ax.xaxis.set_tick_params(labelbottom=True)
        if len(r):
            texts.append(f"{st_} {_sig(_row(r, -1))}")
    fig.supylabel(f"share difference ({lb} - {la})", fontsize=10, x=0.01)
    fig.subplots_adjust(left=0.08, hspace=0.4, wspace=0.1)
    rep.save(fig, "diff_over_time", "Difference in influence share over time (B - A)",
             f"{lb} minus {la}, step by step, one panel per leading state (shared scale). At {end}: "
             f"{'; '.join(texts)}. {nsay}", shares)  # fmt: skip

    world = s[s.metric.isin(HEADLINE_WORLD)]
    fig, axes = plt.subplots(1, len(HEADLINE_WORLD), figsize=(12, 3.4), squeeze=False)
    texts = []
    for ax, m in zip(axes[0], HEADLINE_WORLD, strict=True):
        r = world[world.metric == m]
        _band(ax, r.year, r["diff"], r.lo, r.hi, "k")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set(xlabel="year", title=f"{LABELS[m]}, B - A")
        if len(r):
            last = _row(r, -1)
            texts.append(f"{LABELS[m]} {_sig(last) if np.isfinite(last.diff) else 'undefined'}")
    fig.subplots_adjust(wspace=0.3)
    rep.save(fig, "diff_world", "Difference in forum alignment and influence concentration (B - A)",
             f"{lb} minus {la}: the alignment index of linked forums and the Herfindahl index of influence "
             f"shares. At {end}: {'; '.join(texts)}. {nsay}", world)  # fmt: skip

    comp = cmp.pairs[(cmp.pairs.metric == "compute") & (cmp.pairs.year == cmp.final_year)]
    if len(comp):
        from sim.report.replicate import group_interval

        with np.errstate(all="ignore"):
            rel = comp.assign(value=100.0 * (comp.b / comp.a - 1.0))
        g = group_interval(rel, ["state"], "value", cmp.level)
        changed = g[np.abs(g["mean"]) > 0.5].sort_values("mean")
        if len(changed):
            err = None
            if np.isfinite(changed["lo"]).any():
                err = np.vstack([changed["mean"] - changed["lo"], changed["hi"] - changed["mean"]])
            fig, ax = plt.subplots(figsize=(9, 0.35 * len(changed) + 1.3))
            ax.barh(changed.state, changed["mean"], xerr=err, color=[pal(x) for x in changed.state],
                    ecolor="#444444", capsize=2)  # fmt: skip
            # each label beyond the end of its whisker (or of its bar, without an interval)
            ends = np.where(changed["mean"] >= 0, changed["hi"], changed["lo"])
            ends = np.where(np.isfinite(ends), ends, changed["mean"])
            for y, (v, e) in enumerate(zip(changed["mean"], ends, strict=True)):
                ax.annotate(f"{v:+.1f}%", (e, y), xytext=(4 if v >= 0 else -4, 0), textcoords="offset points",
                            va="center", ha="left" if v >= 0 else "right", fontsize=8)  # fmt: skip
            lo, hi = min(0.0, float(np.nanmin(ends))), max(0.0, float(np.nanmax(ends)))
            pad = 0.18 * (hi - lo or 1.0)  # room for the labels
            ax.set_xlim(lo - (pad if lo < 0 else 0.02 * pad), hi + (pad if hi > 0 else 0.02 * pad))
            ax.axvline(0, color="k", lw=0.8)
            ax.grid(axis="y", visible=False)
            ax.set_xlabel(f"compute at {end}, {lb} relative to {la} (%)")
            # a replication where A's compute is 0 has no ratio: a state averaged over fewer says so
            listed = "; ".join(f"{r.state} {r['mean']:+.1f}%" + (f" [{r.lo:+.1f}, {r.hi:+.1f}]" if np.isfinite(r.lo)
                               else "") + (f" (over {int(r.n)} of {n}: A's compute is 0 in the others)"
                               if int(r.n) < n else "") for _, r in changed.iterrows())  # fmt: skip
            whose = ("one state whose compute differs" if len(changed) == 1
                     else f"{len(changed)} states whose compute differs")  # fmt: skip
            pairs = f"per paired replication, then averaged over {n}" if n > 1 else "one replication"
            rest = len(g) - len(changed)
            others = {0: "", 1: " The other state differs by 0.5% or less."}.get(
                rest, f" The other {rest} states differ by 0.5% or less."
            )
            rep.save(fig, "diff_compute", "Difference in final compute (B relative to A)",
                     f"Compute at {end}, {lb} relative to {la} (100 x (B / A - 1), {pairs}), for the "
                     f"{whose} by more than 0.5%: {listed}.{others} {nsay}", changed)  # fmt: skip


def _sections(rep: Report, cmp: Comparison) -> None:
    if cmp.notes:
        rep.text("Notes", "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in cmp.notes) + "</ul>")
    rep.text(f"Final-year differences, B - A ({how(cmp)})",
             table_html(_final_table(cmp)) + f"<p>{html.escape(UNITS_NOTE)}</p>")  # fmt: skip
    by = rows_by(final(cmp))
    world = pd.DataFrame(
        [{"metric": LABELS[m], cmp.label_a: by[(m, WORLD)].mean_a, cmp.label_b: by[(m, WORLD)].mean_b,
          "B - A": diff_ci(by[(m, WORLD)])} for m in HEADLINE_WORLD if (m, WORLD) in by]
    )  # fmt: skip
    rep.text("Final-year world metrics", table_html(world))
    for label, states in ((cmp.label_a, cmp.only_a), (cmp.label_b, cmp.only_b)):
        if states:
            rep.text(f"States only in {label}", f"<p>{html.escape(', '.join(states))}</p>")


def _palette(cmp: Comparison, regions: dict[str, str] | None = None) -> Palette:
    """The leading states in strong colours, the others in shades of their region's hue."""
    states = cmp.stats[cmp.stats.state != WORLD].state
    return Palette(list(dict.fromkeys(states)), regions, leading(cmp))


def write_report(
    cmp: Comparison,
    folder: Path,
    title: str,
    intro: str,
    provenance: list[tuple[str, dict]],
    regions: dict[str, str] | None = None,
) -> Path:
    """The HTML report of a comparison into `folder` (which exists)."""
    rep = Report(title, folder)
    figures(rep, cmp, _palette(cmp, regions))
    _sections(rep, cmp)
    for heading, manifest in provenance:
        rep.text(heading, provenance_html(manifest))
    return rep.write(intro)


# ----------------------------------------------------------------------------- sim compare
def _side_record(side: Any, years: tuple[float, float, int]) -> dict[str, Any]:
    from sim.scenario import scenario_hash

    sc = side.scenario
    return {
        "scenario": side.name,
        "argument": side.arg,
        "file": side.source,
        "scenario_sha256": scenario_hash(sc),
        "steps": sc.n_steps,
        "steps_per_year": sc.model.steps_per_year,
        "years": {"first": years[0], "last": years[1], "points": years[2]},
        "states": side.states,
    }


def write_compare(run: CompareRun, out: Path, command: str, report: bool = False) -> tuple[Path, str]:
    """Write a `sim compare` folder atomically: compare.csv (every headline metric, state and
    common year), compare.md (the final-year summary), replications.parquet (each paired
    replication's values), manifest.json and, with `report`, report/index.html."""
    from sim.provenance import git_commit, versions

    cmp = run.comparison
    side_a, side_b = run.sides
    ra, rb = _side_record(side_a, cmp.years_a), _side_record(side_b, cmp.years_b)
    from sim.scenario.loader import shown_path

    header = [
        f"- A: {cmp.label_a} ({shown_path(side_a.source)}, sha256 {ra['scenario_sha256'][:12]}...)",
        f"- B: {cmp.label_b} ({shown_path(side_b.source)}, sha256 {rb['scenario_sha256'][:12]}...)",
        f"- {cmp.replications} replications; seeds derived from {run.base_seed}; replication r of A and of B "
        "share its seed (common random numbers)",
    ]
    if run.overrides:
        header.append("- set on both sides: " + ", ".join(f"{k}={v}" for k, v in run.overrides))
    text = summary_md(cmp, header)

    def write(tmp: Path) -> None:
        cmp.stats.to_csv(tmp / "compare.csv", index=False)
        (tmp / "compare.md").write_text(text, encoding="utf-8")
        cmp.pairs.to_parquet(tmp / "replications.parquet", index=False, compression="zstd")
        manifest: dict[str, Any] = {
            "kind": "compare",
            "a": ra,
            "b": rb,
            "difference": "B - A",
            "replications": cmp.replications,
            "base_seed": run.base_seed,
            "seeds": run.seeds,
            "seed_rule": "replication r of A and of B runs on sim.experiments.designs.run_seed(base_seed, r)",
            "level": cmp.level,
            "interval": "two-sided t interval of the paired differences over the replications",
            "overrides": {k: v for k, v in run.overrides},
            "steps": run.steps,
            "common_years": {"first": cmp.common[0], "last": cmp.common[1], "points": cmp.common[2]},
            "only_in_a": cmp.only_a,
            "only_in_b": cmp.only_b,
            "notes": cmp.notes,
            "metrics": [*HEADLINE_STATE, *HEADLINE_WORLD],
            "workers": run.workers,
            "versions": versions(),
            "git_commit": git_commit(),
            "command": command,
            "started": run.started,
            "finished": run.finished,
            "wall_seconds": round(run.wall_seconds, 3),
            "run_seconds_total": round(run.run_seconds, 3),
        }
        files = sorted([*(p.name for p in tmp.iterdir() if p.name != MARKER), "manifest.json"])
        manifest["files"] = files + (["report/"] if report else [])
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if report:
            folder = tmp / "report"
            folder.mkdir()
            intro = (
                f"<code>{html.escape(cmp.label_b)}</code> minus <code>{html.escape(cmp.label_a)}</code>, "
                f"{html.escape(how(cmp))}. Figures are PNG; each has its data as CSV beside it; every metric, "
                "state and year is in <code>../compare.csv</code>."
            )
            regions = {st.name: st.region for side in run.sides for st in side.scenario.states}
            write_report(cmp, folder, f"Comparison: {cmp.label_b} - {cmp.label_a}", intro,
                         [("Provenance", manifest)], regions)  # fmt: skip

    return atomic(out, write, replace=False, folder=True), text


# ----------------------------------------------------------------------------- sim report --compare
def _load(folder: Path) -> tuple[pd.DataFrame, dict, list[int]]:
    """A run folder's headline metrics (replication, metric, state, year, value), manifest and seeds."""
    if not (folder / "states.parquet").exists() or not (folder / "model.parquet").exists():
        raise SimError(f"{folder}: not a run folder (no states.parquet and model.parquet)")
    tables = {n: pd.read_parquet(folder / f"{n}.parquet") for n in ("states", "model")}
    manifest = read_manifest(folder)
    h = headline_tables(tables)
    if "replication" not in h.columns:
        h.insert(0, "replication", 0)
        seed = manifest.get("seed")
        return h, manifest, [int(seed)] if isinstance(seed, int) else []
    return h, manifest, [int(s) for s in manifest.get("seeds", [])]


def compare_report(a: str | Path, b: str | Path, out: str | Path | None = None, force: bool = False) -> Path:
    """`sim report --compare DIR_A DIR_B`: B minus A, aligned on the common years, one-sided
    states listed. Two single runs are one seed against one seed, without intervals; two
    replicated runs (`sim run --replications`) on the same seeds are compared pair by pair."""
    a, b = Path(a), Path(b)
    ha, ma, sa = _load(a)
    hb, mb, sb = _load(b)
    na, nb = ha["replication"].nunique(), hb["replication"].nunique()
    if (na > 1 or nb > 1) and (sa != sb or not sa):
        raise SimError(
            f"{a if na > 1 else b}: a replicated run; two replicated runs are compared only when they have the "
            f"same seeds ({na} and {nb} replications here). Use `sim compare A.yaml B.yaml --replications N`"
        )
    la, lb = str(ma.get("scenario", a.name)), str(mb.get("scenario", b.name))
    if la == lb:
        la, lb = a.name, b.name
    cmp = paired_stats(ha, hb, la, lb, sa, sb)
    if cmp.replications == 1:
        cmp.notes = [n for n in cmp.notes if not n.startswith("One replication")]
        cmp.notes.append(
            "Single seed: one run against one run, so a difference may be noise. "
            "`sim compare A.yaml B.yaml --replications N` runs both on N paired seeds and gives intervals."
        )
    target = Path(out) if out else a / f"compare-{b.name}"
    header = [f"- A: {la} ({a})", f"- B: {lb} ({b})"]
    text = summary_md(cmp, header)

    def build(folder: Path) -> None:
        cmp.stats.to_csv(folder / "compare.csv", index=False)
        (folder / "compare.md").write_text(text, encoding="utf-8")
        intro = (
            f"<code>{html.escape(str(b))}</code> minus <code>{html.escape(str(a))}</code>, {html.escape(how(cmp))}. "
            "Figures are PNG; each has its data as CSV beside it; every metric, state and year is in "
            "<code>compare.csv</code>."
        )
        write_report(cmp, folder, f"Comparison: {lb} - {la}", intro,
                     [(f"Provenance: A, {la}", ma), (f"Provenance: B, {lb}", mb)],
                     {**regions_of(b), **regions_of(a)})  # fmt: skip

    return atomic(target, build, folder=True, force=force) / "index.html"
