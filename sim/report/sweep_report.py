"""The report of a sweep, drawn so that a reader can tell which line is which design point.

Per metric: its course over time (`series_<metric>`), its final value against every varied
parameter (`response_<metric>`, one panel per parameter) and, for a two-parameter factorial,
a table of colour (`heatmap_<metric>`); then the sensitivity indices of `sim analyze
sensitivity` (`sensitivity_<metric>`), the failed runs, a summary table and the provenance.

How a figure is drawn depends on the design, because the two kinds answer different questions:
- a factorial design has few points, each replicated: every point gets its own line, and the
  band around it is the 95% t interval of the mean over its replications (n stated; none
  with n < 2). Two varied parameters give small multiples, one panel per level of the
  parameter with fewer levels, colour for the other (a sequential colour map and a legend
  that names the parameter and its values);
- a sampled design (lhs, sobol, morris) has hundreds of points, one line each would be
  noise: it is summarised across runs (median with 50% and 90% bands of the runs, a few runs
  in grey; scatter of every run with the mean per bin of the parameter).
A categorical factor (`vary: {key: {levels: ...}}`) has unordered levels: its response is a
mean with its t interval per level (and the runs of each level, for a sampled design), never
a line joining levels, its colours are qualitative and its captions name the highest and
lowest level instead of a direction.
Captions are written from the numbers they describe.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from sim.discovery.report import sections as discoveries
from sim.errors import SimError
from sim.experiments.store import read_runs
from sim.io import atomic
from sim.report.base import Report, plt, provenance_html, table_html
from sim.report.replicate import LEVEL, group_interval, until

FACTORIAL = "factorial"
MAX_LEGEND = 10  # more colour levels than this: a colour bar instead of a legend
N_EXAMPLES = 5  # runs drawn in grey behind the percentile bands of a sampled design
SEQ = "viridis"
SEQ_RANGE = (0.08, 0.85)  # the part of the colour map that shows on white (no pale yellow)
S1_COLOUR, ST_COLOUR = "#0072B2", "#E69F00"  # Okabe-Ito blue and orange: colour-blind safe
# Okabe-Ito: qualitative, colour-blind safe colours for the unordered levels of a categorical factor
QUALITATIVE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
CONSTANT = 1e-9  # a relative range below this: the values are one value (round-off apart)


# ----------------------------------------------------------------------------- small helpers
def short(param: str) -> str:
    """A varied parameter's name for labels: its key path without `param:` and, for a path of
    three or more parts, without the table word (`levers.EU AI Act.stringency` -> `EU AI
    Act.stringency`)."""
    key = param.removeprefix("param:")
    parts = key.split(".")
    return ".".join(parts[1:]) if len(parts) > 2 and parts[0] in ("levers", "states", "forums") else key


def fmt(x: Any) -> str:
    """A number as a reader wants it in a caption (3 significant digits), anything else as text."""
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return "n/a" if not np.isfinite(x) else f"{float(x):.3g}"
    return str(x)


def _numeric(values: Any) -> bool:
    return bool(pd.api.types.is_numeric_dtype(pd.Series(values)))


def _colours(n: int, categorical: bool = False) -> list[Any]:
    """n colours: sequential (dark = low) for ordered values, qualitative for unordered levels."""
    if categorical:
        if n <= len(QUALITATIVE):
            return QUALITATIVE[:n]
        cmap = plt.get_cmap("tab20")
        return [cmap(k % 20) for k in range(n)]
    cmap = plt.get_cmap(SEQ)
    return [cmap(v) for v in np.linspace(*SEQ_RANGE, max(n, 1))][:n] if n > 1 else [cmap(SEQ_RANGE[0])]


def t_multiplier(n: int, level: float = LEVEL) -> float:
    """The t quantile that turns a standard error into the half-width of a two-sided interval
    on n - 1 degrees of freedom; NaN for n < 2 (no interval)."""
    from scipy import stats as st

    return float(st.t.ppf(0.5 + level / 2, n - 1)) if n >= 2 else float("nan")


def interval_note(ns: pd.Series, what: str = "replications") -> str:
    """What the bands are, with their n: the caption's statement of the interval."""
    ns = ns[ns > 0]
    if ns.empty:
        return "No values."
    lo, hi = int(ns.min()), int(ns.max())
    n_text = f"n = {lo}" if lo == hi else f"n = {lo} to {hi}"
    if hi < 2:
        return f"{n_text} {what[:-1] if lo == 1 else what} per point: no interval can be drawn (it needs n >= 2)."
    least = int(ns[ns >= 2].min())  # the widest interval drawn: points with one value have none
    band = (
        f"{LEVEL:.0%} t interval of the mean ({n_text} {what} per point; "
        f"half-width {t_multiplier(least):.2f} x the standard error at n = {least})"
    )
    return band + ("; points with a single value have none." if lo < 2 else ".")


def constant(values: Any) -> bool:
    """Whether finite values are one value: a range below CONSTANT of their size (round-off)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return len(v) > 0 and float(v.max() - v.min()) <= CONSTANT * (float(np.abs(v).max()) or 1.0)


def digits(*values: float) -> int:
    """The fewest significant digits (3 to 8) that write different values differently, so a
    caption never says 'rises from 0.0513 to 0.0513'."""
    v = {float(x) for x in values if np.isfinite(x)}
    return next((d for d in range(3, 9) if len({f"{x:.{d}g}" for x in v}) == len(v)), 8)


def fmt_d(x: Any, d: int = 3) -> str:
    """fmt with d significant digits."""
    if d == 3 or not isinstance(x, (int, float, np.integer, np.floating)) or isinstance(x, bool):
        return fmt(x)
    return "n/a" if not np.isfinite(x) else f"{float(x):.{d}g}"


def trend(values: list[float], xs: list[Any], name: str = "", ref: float = 0.0) -> str:
    """How a sequence of means moves along the levels xs (of the parameter `name`), in words,
    with its numbers: 'rises from 0.1 to 0.2, peaking at 0.3 at severity 0.6'. It 'stays' when
    it moves by less than 5% of `ref` (the metric's spread over the whole sweep; without it,
    1% of its size), and 'stays ... throughout' when it does not move at all. Numbers get as
    many digits as it takes to tell the ones it compares apart."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    if ok.sum() == 0:
        return "has no value"
    v, xs = v[ok], [x for x, k in zip(xs, ok, strict=True) if k]
    first, last = v[0], v[-1]
    span = float(v.max() - v.min())
    scale = float(np.abs(v).max()) or 1.0
    if len(v) > 1 and constant(v):
        return f"stays at {fmt(first)} throughout"
    if len(v) == 1 or span <= (0.05 * ref if ref > 0 else 0.01 * scale):
        return f"stays at {fmt(first)}"
    k_max, k_min = int(v.argmax()), int(v.argmin())
    peak = 0 < k_max < len(v) - 1 and v[k_max] - max(first, last) > 0.1 * span
    trough = not peak and 0 < k_min < len(v) - 1 and min(first, last) - v[k_min] > 0.1 * span
    d = digits(first, last, *([v[k_max]] if peak else []), *([v[k_min]] if trough else []))
    f = lambda x: fmt_d(x, d)  # noqa: E731
    if first == last:
        text = f"is {f(first)} at both ends"
    else:
        text = f"{'rises' if last > first else 'falls'} from {f(first)} to {f(last)}"
    at = f"{name} " if name else ""
    if peak:
        text += f", peaking at {f(v[k_max])} at {at}{fmt(xs[k_max])}"
    elif trough:
        text += f", lowest at {f(v[k_min])} at {at}{fmt(xs[k_min])}"
    return text


def extremes(g: pd.DataFrame, name: str, metric: str = "", ref: float = 0.0) -> str:
    """Which level of a categorical factor gives the highest and which the lowest mean, with
    t intervals and n: 'y is highest with policy = a (0.12 [0.11, 0.13], n = 20) and lowest
    with b (...)'. g: one row per level with columns level, mean, lo, hi, n."""
    g = g.dropna(subset=["mean"])
    subject = f"{metric} " if metric else ""
    if g.empty:
        return f"{subject}has no value"
    means = g["mean"].to_numpy(dtype=float)
    if len(g) == 1 or constant(means):
        if len(g) == 1:
            return f"{subject}is {fmt(means[0])} with {name} = {g['level'].iloc[0]} (its only level with a value)"
        return f"{subject}stays at {fmt(means[0])} throughout, at every level of {name}"
    hi, lo = g.iloc[int(np.argmax(means))], g.iloc[int(np.argmin(means))]
    d = digits(hi["mean"], lo["mean"])
    overlap = bool(np.isfinite(hi["lo"]) and np.isfinite(lo["hi"]) and hi["lo"] <= lo["hi"])

    def one(r: Any) -> str:
        ci = f" [{fmt_d(r['lo'], d)}, {fmt_d(r['hi'], d)}]" if np.isfinite(r["lo"]) else ""
        return f"{fmt_d(r['mean'], d)}{ci}, n = {int(r['n'])}"

    text = f"{subject}is highest with {name} = {hi['level']} ({one(hi)}) and lowest with {lo['level']} ({one(lo)})"
    if overlap:
        text += " (overlapping intervals: these runs cannot rank the two)"
    elif ref > 0 and float(means.max() - means.min()) <= 0.05 * ref:
        text += ", a difference small against its spread over the sweep"
    return text


def _spread(ys: np.ndarray, gap: float) -> np.ndarray:
    """Label heights near ys, at least `gap` apart, in the same order (direct labels at line
    ends that do not overlap)."""
    order = np.argsort(ys)
    out = ys.astype(float).copy()
    for a, b in itertools.pairwise(order):
        out[b] = max(out[b], out[a] + gap)
    shift = (out[order].mean() - ys[order].mean()) if len(ys) else 0.0
    return out - shift


@dataclass
class Sweep:
    """What the figures need to know about a finished sweep."""

    manifest: dict[str, Any]
    ok: pd.DataFrame  # the ok runs
    params: list[str]  # every `param:` column
    varied: list[str]  # those with more than one value
    metrics: list[str]
    levels: dict[str, list[Any]]  # per varied parameter, its sorted values (a category's: as declared)
    categorical: dict[str, list[str]] = field(default_factory=dict)  # param -> its level names, as declared

    @property
    def design(self) -> str:
        return str(self.manifest.get("design", ""))

    @property
    def factorial(self) -> bool:
        return self.design == FACTORIAL

    def is_categorical(self, param: str) -> bool:
        return param in self.categorical

    def label(self, param: str) -> str:
        names = [short(p) for p in self.params]
        s = short(param)
        return s if names.count(s) == 1 else param.removeprefix("param:")


def load(folder: Path) -> tuple[Sweep, pd.DataFrame]:
    manifest, runs = read_runs(folder)  # refused unless finished and matching its checksum
    params = [c for c in runs.columns if c.startswith("param:")]
    ok = runs[runs.status == "ok"].copy()
    varied = [p for p in params if runs[p].nunique(dropna=False) > 1]
    # a categorical factor's levels in the order the experiment declares them: the manifest's
    # problem lists them for a sampled design; a factorial design crosses them in that order, so
    # the runs (by index) meet them in it
    declared = (manifest.get("problem") or {}).get("levels") or {}
    in_order = runs.sort_values("index") if "index" in runs else runs
    categorical: dict[str, list[str]] = {}
    for p in params:
        names = [str(v) for v in declared.get(p.removeprefix("param:"), [])]
        if names or (runs[p].notna().any() and not _numeric(runs[p].dropna())):
            runs[p] = runs[p].where(runs[p].isna(), runs[p].astype(str))
            ok[p] = runs.loc[ok.index, p]
            met = in_order[p].dropna().astype(str)
            categorical[p] = names + [v for v in dict.fromkeys(met) if v not in names]
    levels = {
        p: [v for v in categorical[p] if v in set(runs[p].dropna())]
        if p in categorical
        else sorted(runs[p].dropna().unique().tolist())
        for p in varied
    }
    metrics = [m for m in manifest.get("metrics", {}) if m in runs.columns]
    return Sweep(manifest, ok, params, varied, metrics, levels, categorical), runs


# ----------------------------------------------------------------------------- series
def _series(folder: Path, sw: Sweep) -> pd.DataFrame | None:
    series_dir = folder / "series"
    if not series_dir.exists() or not any(series_dir.glob("*.parquet")):
        return None
    s = pd.read_parquet(series_dir, columns=["run_id", "year", "metric", "value"])
    s = s[s.run_id.isin(sw.ok.run_id)]
    s["value"] = s["value"].astype(float)
    return s.merge(sw.ok[["run_id", "point", *sw.varied]], on="run_id")


def _undefined_note(d: pd.DataFrame, metric: str) -> str:
    years = d.dropna(subset=["value"]).year
    if years.empty:
        return ""
    first = float(years.min())
    return f" {metric} has no value before {until(first)}." if first > float(d.year.min()) else ""


def series_factorial(rep: Report, metric: str, d: pd.DataFrame, sw: Sweep) -> None:
    """One line per design point (mean over its replications, t band); small multiples by one
    parameter and colour by the other when two are varied."""
    varied = sw.varied
    if len(varied) == 2:
        a, b = varied
        panel, colour = (a, b) if len(sw.levels[a]) < len(sw.levels[b]) else (b, a)
    elif len(varied) == 1:
        panel, colour = None, varied[0]
    else:
        panel = colour = None
    keys = [p for p in (panel, colour) if p is not None]
    g = group_interval(d, [*keys, "point", "year"], "value")
    panels = sw.levels[panel] if panel else [None]
    colours = sw.levels[colour] if colour else [None]
    unordered = colour is not None and sw.is_categorical(colour)  # qualitative colours, not dark = low
    cols = _colours(len(colours), unordered)
    ncol = min(len(panels), 3)
    nrow = int(np.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol + 1.4, 3.2 * nrow + 0.4), sharey=True,
                             squeeze=False, layout="constrained")  # fmt: skip
    final = float(g.dropna(subset=["mean"]).year.max())
    band_alpha = 0.18 if len(colours) <= 4 else 0.09  # many overlapping bands: lighter, so lines show
    for k, pv in enumerate(panels):
        ax = axes.flat[k]
        gp = g if panel is None else g[g[panel] == pv]
        ends = []
        for cv, c in zip(colours, cols, strict=True):
            gc = gp if colour is None else gp[gp[colour] == cv]
            if gc.empty:
                continue
            ax.plot(gc.year, gc["mean"], color=c, lw=1.8, label=fmt(cv) if colour else metric)
            if gc["n"].max() >= 2:
                ax.fill_between(gc.year, gc["lo"], gc["hi"], color=c, alpha=band_alpha, lw=0)
            last = gc.dropna(subset=["mean"]).iloc[-1:] if gc["mean"].notna().any() else gc.iloc[:0]
            if len(last):
                ends.append((float(last.year.iloc[0]), float(last["mean"].iloc[0]), cv, c))
        if panel is not None:
            ax.set_title(f"{sw.label(panel)} = {fmt(pv)}")
        ax.set_xlabel("year")
        if panel is None and colour is not None and (len(colours) <= MAX_LEGEND or unordered) and ends:
            lo, hi = ax.get_ylim()
            ys = _spread(np.array([e[1] for e in ends]), 0.055 * (hi - lo))
            for (x, _, cv, c), y in zip(ends, ys, strict=True):
                ax.annotate(f"{fmt(cv)}", (x, y), xytext=(4, 0), textcoords="offset points", color=c,
                            va="center", fontsize=8, annotation_clip=False)  # fmt: skip
            ax.set_title(f"line labels: {sw.label(colour)}", loc="right", fontsize=9, color="#444")
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax in axes.flat:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    for ax in axes[:, 0]:
        ax.set_ylabel(metric)
    if colour is not None and (panel is not None or (len(colours) > MAX_LEGEND and not unordered)):
        _colour_key(fig, axes, colour, colours, cols, sw)
    # the caption, from the data
    last = g[g.year == final].dropna(subset=["mean"])
    desc = ""
    if keys and len(last):
        means = last["mean"].to_numpy(dtype=float)
        hi_row, lo_row = last.iloc[int(np.argmax(means))], last.iloc[int(np.argmin(means))]
        where = lambda r: ", ".join(f"{sw.label(p)} {fmt(r[p])}" for p in keys)  # noqa: E731
        nd = digits(hi_row["mean"], lo_row["mean"])
        desc = (
            f"At {until(final)} {metric} is highest at {where(hi_row)} ({fmt_d(hi_row['mean'], nd)}) and lowest "
            f"at {where(lo_row)} ({fmt_d(lo_row['mean'], nd)}). "
            if not constant(means)
            else f"At {until(final)} {metric} is {fmt(means[0])} at every design point. "
        )
    key = "a colour per level" if unordered else "colour, dark = low"
    layout = (
        f"One panel per level of {sw.label(panel)}, one line per level of {sw.label(colour)} ({key}). "
        if panel is not None and colour is not None
        else f"One line per level of {sw.label(colour)}, labelled at its end. "
        if colour is not None and (len(colours) <= MAX_LEGEND or unordered)
        else f"One line per level of {sw.label(colour)} (colour bar, dark = low). "
        if colour is not None
        else ""
    )
    caption = (
        f"{layout}{desc}Lines: mean over the replications of each design point; bands: "
        f"{interval_note(g.groupby('point')['n'].max())}{_undefined_note(d, metric)}"
    )
    rep.save(fig, f"series_{metric}", f"{metric} over time, by design point", caption, g)


def _colour_key(fig: Any, axes: Any, colour: str, levels: list[Any], cols: list[Any], sw: Sweep) -> None:
    """A legend that names the colour parameter and its values (a colour bar when there are
    too many numeric values to list; a category's levels are always listed by name)."""
    if len(levels) <= MAX_LEGEND or sw.is_categorical(colour):
        handles = [plt.Line2D([], [], color=c, lw=2.5) for c in cols]
        fig.legend(handles, [fmt(v) for v in levels], title=sw.label(colour), loc="outside right center",
                   frameon=False, fontsize=9, title_fontsize=9, alignment="left")  # fmt: skip
    else:
        from matplotlib.colors import ListedColormap

        sm = plt.cm.ScalarMappable(cmap=ListedColormap(cols), norm=plt.Normalize(0, len(levels)))
        bar = fig.colorbar(sm, ax=list(axes.flat), label=sw.label(colour))
        step = max(1, len(levels) // 8)
        bar.set_ticks([k + 0.5 for k in range(0, len(levels), step)], labels=[fmt(v) for v in levels[::step]])


def series_sampled(rep: Report, metric: str, d: pd.DataFrame, sw: Sweep, why: str = "") -> None:
    """Median across runs with the 50% and 90% bands of the runs, and a few runs in grey."""
    q = d.groupby("year")["value"].quantile(np.array([0.05, 0.25, 0.5, 0.75, 0.95])).unstack()
    q.columns = ["p05", "p25", "median", "p75", "p95"]
    q["n"] = d.groupby("year")["value"].count()
    q = q.reset_index()
    fig, ax = plt.subplots(figsize=(9, 3.8))
    ids = sorted(d.run_id.unique())
    examples = [ids[k] for k in np.linspace(0, len(ids) - 1, min(N_EXAMPLES, len(ids))).astype(int)]
    for k, rid in enumerate(dict.fromkeys(examples)):
        r = d[d.run_id == rid].sort_values("year")
        ax.plot(r.year, r.value, color="0.6", lw=0.8, label="example runs" if k == 0 else None)
    ax.fill_between(q.year, q.p05, q.p95, color=S1_COLOUR, alpha=0.15, lw=0, label="90% of runs")
    ax.fill_between(q.year, q.p25, q.p75, color=S1_COLOUR, alpha=0.3, lw=0, label="50% of runs")
    ax.plot(q.year, q["median"], color=S1_COLOUR, lw=2, label="median")
    ax.set(xlabel="year", ylabel=metric)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.legend(loc="best", frameon=False)
    n_runs = d.run_id.nunique()
    end = q.dropna(subset=["median"]).iloc[-1] if q["median"].notna().any() else None
    start = q.dropna(subset=["median"]).iloc[0] if end is not None else None
    desc = (
        f"The median {trend([start['median'], end['median']], [start.year, end.year], ref=end.p95 - end.p05)} from {until(start.year)} "
        f"to {until(end.year)}; at {until(end.year)} half the runs lie between {fmt(end.p25)} and {fmt(end.p75)}, "
        f"90% between {fmt(end.p05)} and {fmt(end.p95)}. "
        if end is not None and start is not None
        else ""
    )
    reps = sw.manifest.get("replications")
    caption = (
        f"{why}Spread across all n = {n_runs} ok runs ({sw.ok.point.nunique()} design points x {reps} "
        f"replication{'s' if reps != 1 else ''}): median, and the bands that hold the middle 50% and 90% of "
        f"runs in each year; {len(set(examples))} runs spread over the design in grey. {desc}"
        f"{_undefined_note(d, metric)}"
    ).strip()
    rep.save(fig, f"series_{metric}", f"{metric} over time, across the design", caption, q)


# ----------------------------------------------------------------------------- responses
def _xpos(values: pd.Series, levels: list[Any]) -> np.ndarray:
    """x positions: the values themselves when numeric, else their place among the levels."""
    if _numeric(levels):
        return values.to_numpy(dtype=float)
    index = {v: k for k, v in enumerate(levels)}
    return values.map(index).to_numpy(dtype=float)


def _categorical_ticks(ax: Any, levels: list[Any], categorical: bool = False) -> None:
    """Level names as tick labels, slanted when side by side they would run into each other
    (about 14 characters fit under a panel 3.6 inches wide)."""
    if categorical or not _numeric(levels):
        names = [str(v) for v in levels]
        ax.set_xticks(range(len(levels)), names)
        ax.set_xlim(-0.5, len(levels) - 0.5)
        if max(len(n) for n in names) * len(names) > 28:
            ax.tick_params(axis="x", labelrotation=30)
            for t in ax.get_xticklabels():
                t.set_horizontalalignment("right")
                t.set_rotation_mode("anchor")


def per_level(d: pd.DataFrame, p: str, value: str, levels: list[str]) -> pd.DataFrame:
    """Mean, 95% t interval and n of `value` per level of a categorical p, in the levels' order:
    columns level, mean, lo, hi, n."""
    g = group_interval(d, [p], value).rename(columns={p: "level"}).set_index("level")
    return g.reindex([v for v in levels if v in g.index]).reset_index()


def _level_points(ax: Any, g: pd.DataFrame, levels: list[str], colour: Any, dx: float = 0.0,
                  label: str | None = None) -> None:  # fmt: skip
    """A mean and its t interval per level, unjoined: the levels have no order to draw a line along."""
    x = _xpos(g["level"], levels) + dx
    err = np.vstack([g["mean"] - g["lo"], g["hi"] - g["mean"]])
    ax.errorbar(x, g["mean"], yerr=np.where(np.isfinite(err), err, 0), color=colour, marker="o", ms=5,
                capsize=4, lw=1.8, ls="none", label=label, zorder=3)  # fmt: skip


def response_factorial(rep: Report, metric: str, sw: Sweep) -> None:
    """Final value against each varied parameter: mean and t interval per level, one line per
    level of the other parameter (two varied) or the mean over the others (three or more)."""
    varied = sw.varied
    fig, axes = plt.subplots(1, len(varied), figsize=(4.3 * len(varied) + 1.2, 3.8), sharey=True,
                             squeeze=False)  # fmt: skip
    tables, sentences = [], []
    per_point = group_interval(sw.ok, [*varied, "point"], metric)
    ref = float(per_point["mean"].max() - per_point["mean"].min())
    for ax, p in zip(axes.flat, varied, strict=True):
        others = [q for q in varied if q != p]
        levels = sw.levels[p]
        cat = sw.is_categorical(p)  # unordered levels: points and whiskers, no line joining them
        if len(others) == 1:
            o = others[0]
            cols = _colours(len(sw.levels[o]), sw.is_categorical(o))
            said = []
            xs = _xpos(pd.Series(levels), levels)
            # side by side, so the whiskers do not hide each other
            step = min(0.6 / len(cols), 0.15) if cat else 0.012 * float(xs.max() - xs.min())
            for k, (ov, c) in enumerate(zip(sw.levels[o], cols, strict=True)):
                g = per_point[per_point[o] == ov]
                dx = (k - (len(cols) - 1) / 2) * step
                if cat:
                    gl = g.rename(columns={p: "level"})
                    gl = gl.set_index("level").reindex([v for v in levels if v in set(g[p])]).reset_index()
                    _level_points(ax, gl, levels, c, dx, label=fmt(ov))
                    said.append((ov, extremes(gl, sw.label(p))))
                    continue
                g = g.sort_values(p)
                x = _xpos(g[p], levels) + dx
                err = np.vstack([g["mean"] - g["lo"], g["hi"] - g["mean"]])
                ax.errorbar(x, g["mean"], yerr=np.where(np.isfinite(err), err, 0), color=c, marker="o",
                            ms=4, capsize=3, lw=1.6, label=fmt(ov))  # fmt: skip
                said.append((ov, trend(g["mean"].tolist(), g[p].tolist(), sw.label(p), ref)))
            # below the panel; above it when slanted level names take the space below
            where = dict(loc="lower center", bbox_to_anchor=(0.5, 1.0)) if cat else dict(
                loc="upper center", bbox_to_anchor=(0.5, -0.24))  # fmt: skip
            ax.legend(title=sw.label(o), ncol=min(len(cols), 6), frameon=False, fontsize=8, title_fontsize=8,
                      **where)  # fmt: skip
            sentences.append(_panel_sentence(metric, sw.label(p), levels, sw.label(o), said, cat))
            tables.append(per_point.assign(panel=short(p)))
        elif not others:
            if cat:
                g = per_level(sw.ok, p, metric, levels)
                _level_points(ax, g, levels, S1_COLOUR)
                sentences.append(extremes(g, sw.label(p), metric))
            else:
                g = per_point.sort_values(p)
                err = np.vstack([g["mean"] - g["lo"], g["hi"] - g["mean"]])
                ax.errorbar(_xpos(g[p], levels), g["mean"], yerr=np.where(np.isfinite(err), err, 0),
                            color=S1_COLOUR, marker="o", ms=4, capsize=3, lw=1.6)  # fmt: skip
                sentences.append(
                    f"As {sw.label(p)} goes {fmt(levels[0])} -> {fmt(levels[-1])}, {metric} "
                    f"{trend(g['mean'].tolist(), g[p].tolist(), sw.label(p), ref)}"
                )
            tables.append(per_point.assign(panel=short(p)))
        else:  # three or more varied: the mean over the other parameters' levels, and each point
            ax.scatter(_xpos(per_point[p], levels), per_point["mean"], s=10, color="0.65", zorder=1,
                       label="each design point")  # fmt: skip
            m = sw.ok.groupby(p)[metric].agg(["mean", "count"]).reindex(levels)
            ax.plot(_xpos(pd.Series(levels), levels), m["mean"].to_numpy(), color=S1_COLOUR, marker="o",
                    lw=0 if cat else 2, ms=6, label="mean over the others")  # fmt: skip
            if ax is axes.flat[0]:
                ax.legend(frameon=False, fontsize=8)
            if cat:
                g = pd.DataFrame({"level": levels, "mean": m["mean"].to_numpy(), "lo": np.nan, "hi": np.nan,
                                  "n": m["count"].fillna(0).to_numpy()})  # fmt: skip
                sentences.append(f"Averaged over the other parameters, {extremes(g, sw.label(p), metric)}")
            else:
                sentences.append(
                    f"As {sw.label(p)} goes {fmt(levels[0])} -> {fmt(levels[-1])}, {metric} averaged over the "
                    f"other parameters {trend(m['mean'].tolist(), levels, sw.label(p), ref)}"
                )
            tables.append(per_point.assign(panel=short(p)))
        _categorical_ticks(ax, levels, cat)
        ax.set_xlabel(sw.label(p))
    axes.flat[0].set_ylabel(f"{metric} (final)")
    fig.tight_layout()
    bands = (
        "Whiskers: " + interval_note(per_point["n"])
        if len(varied) <= 2
        else "Grey: the mean of each design point; no interval (the runs at a level differ in the other "
        "parameters, so their spread is not noise)."
    )
    caption = ". ".join(sentences) + f". Points: mean final value over the replications. {bands}"
    data = pd.concat(tables, ignore_index=True).drop_duplicates(subset=[*varied, "point"])
    rep.save(fig, f"response_{metric}", f"{metric} against the varied parameters", caption,
             data.drop(columns="panel"))  # fmt: skip


def _panel_sentence(
    metric: str, p: str, levels: list[Any], o: str, per_level: list[tuple[Any, str]], cat: bool = False
) -> str:
    """One sentence per response panel: the direction along p at each level of o (the first and
    last levels of o when it has more than three); for a categorical p, its highest and lowest
    level at each level of o."""
    if cat:
        shown = per_level if len(per_level) <= 3 else [per_level[0], per_level[-1]]
        body = "; ".join(f"at {o} {fmt(ov)} it {t}" for ov, t in shown)
        return f"Across the levels of {p}, {metric}: {body}" + (
            " (the levels between: see the figure)" if len(shown) < len(per_level) else ""
        )
    words = {t.split(" ", 1)[0] for _, t in per_level}
    agree = next(iter(words)) if len(words) == 1 and words <= {"rises", "falls"} else None
    head = f"As {p} goes {fmt(levels[0])} -> {fmt(levels[-1])}, {metric} " + (
        f"{agree} at every level of {o}" if agree else f"moves differently at each level of {o}"
    )
    shown = per_level if len(per_level) <= 3 else [per_level[0], per_level[-1]]
    body = "; ".join(f"at {o} {fmt(ov)} it {t}" for ov, t in shown)
    return f"{head}: {body}" + (
        " (the levels between: see the figure)" if len(shown) < len(per_level) else ""
    )


def binned(x: pd.Series, y: pd.Series, max_bins: int = 10) -> pd.DataFrame:
    """The mean of y per bin of x: per value when x has few values (Morris levels, a category),
    else per quantile bin of about equal counts (at least 10 runs a bin)."""
    d = pd.DataFrame({"x": x, "y": y}).dropna()
    if d.empty:
        return pd.DataFrame(columns=["x", "mean", "n"])
    if d.x.nunique() <= 12 or not _numeric(d.x):
        g = d.groupby("x")["y"].agg(["mean", "count"]).reset_index()
        return g.rename(columns={"count": "n"})
    bins = int(min(max_bins, max(1, len(d) // 10)))
    d["bin"] = pd.qcut(d.x, bins, labels=False, duplicates="drop")
    g = d.groupby("bin").agg(x=("x", "mean"), mean=("y", "mean"), n=("y", "count")).reset_index(drop=True)
    return g


def _interactions_hint(sw: Sweep, metric: str, indices: bool) -> str:
    """Where to read about interactions: the sensitivity figure when there is one, else the
    command that computes it when the design allows (sobol, morris), else nothing."""
    if indices:
        return f" (see the sensitivity indices of {metric} below for interactions)"
    if sw.design in ("sobol", "morris"):
        return f" (run `sim analyze sensitivity` on this {sw.design} sweep for indices that include interactions)"
    return ""


def response_sampled(rep: Report, metric: str, sw: Sweep, indices: bool = False) -> None:
    """Every run's final value against each parameter (scatter), with the mean per bin; for a
    categorical factor, the runs per level and their mean with its t interval. `indices`: the
    sweep has sensitivity indices of this metric (the caption points to them)."""
    varied = sw.varied
    ncol = 2 if len(varied) == 4 else min(len(varied), 3)
    nrow = int(np.ceil(len(varied) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol + 0.8, 3.3 * nrow + 0.4), sharey=True,
                             squeeze=False)  # fmt: skip
    sentences, tables, by_level = [], [], []
    ranges = {}
    ref = float(sw.ok[metric].quantile(0.95) - sw.ok[metric].quantile(0.05))
    jitter = np.random.default_rng(0)  # fixed: the same figure every time
    for ax, p in zip(axes.flat, varied, strict=True):
        d = sw.ok[[p, metric]].dropna()
        if sw.is_categorical(p):  # a strip of the runs per level, and its mean with a t interval
            levels = [v for v in sw.levels[p] if v in set(d[p])]
            x = _xpos(d[p], levels) + jitter.uniform(-0.18, 0.18, len(d))
            ax.scatter(x, d[metric], s=7, color="0.55", alpha=0.45, lw=0, label="each run")
            g = per_level(d, p, metric, levels)
            _level_points(ax, g, levels, S1_COLOUR, label="mean, 95% t interval")
            _categorical_ticks(ax, levels, categorical=True)
            ax.set_xlabel(sw.label(p))
            if len(g):
                ranges[p] = float(g["mean"].max() - g["mean"].min())
                by_level.append(f"Per level, {extremes(g, sw.label(p), metric, ref)}")
            tables.append(g.rename(columns={"level": "x"}).assign(parameter=short(p))[
                ["parameter", "x", "mean", "lo", "hi", "n"]])  # fmt: skip
            continue
        levels = sorted(d[p].unique().tolist())
        ax.scatter(_xpos(d[p], levels), d[metric], s=7, color="0.55", alpha=0.45, lw=0, label="each run")
        b = binned(d[p], d[metric])
        ax.plot(_xpos(b["x"], levels), b["mean"], color=S1_COLOUR, lw=2.2, marker="o", ms=3.5,
                label="mean per bin")  # fmt: skip
        _categorical_ticks(ax, levels)
        ax.set_xlabel(sw.label(p))
        if len(b):
            ranges[p] = float(b["mean"].max() - b["mean"].min())
            sentences.append(
                f"along {sw.label(p)} (bins {fmt(b['x'].iloc[0])} -> {fmt(b['x'].iloc[-1])}) it "
                f"{trend(b['mean'].tolist(), b['x'].tolist(), sw.label(p), ref)}"
            )
        tables.append(b.assign(parameter=short(p))[["parameter", "x", "mean", "n"]])
    for ax in axes.flat[len(varied) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{metric} (final)")
    handles: dict[str, Any] = {}
    for ax in axes.flat[: len(varied)]:
        h, lab = ax.get_legend_handles_labels()
        handles.update(zip(lab, h, strict=True))
    axes.flat[0].legend(handles.values(), handles.keys(), frameon=False, fontsize=8)
    fig.tight_layout()
    strongest = max(ranges, key=lambda k: ranges[k]) if ranges else None
    lead = (
        f"The {'means' if by_level else 'bin means'} of {metric} move most along {sw.label(strongest)} "
        f"(range {fmt(ranges[strongest])}). "
        if strongest
        else ""
    )
    blue = "the mean per bin of the parameter (about equal counts per bin; per value when it has few values)"
    if by_level:
        blue += "; for a categorical factor, the runs of each level side by side and their mean with its 95% t interval"
    numeric = f"The bin mean of {metric}: {'; '.join(sentences)}. " if sentences else ""
    levels_text = "".join(f"{s}. " for s in by_level)
    if len(sw.ok) and constant(sw.ok[metric]):  # nothing to describe per parameter
        lead, numeric = "", ""
        levels_text = (
            f"{metric} stays at {fmt(sw.ok[metric].dropna().iloc[0])} throughout: every run has this value, "
            "whatever the parameters. "
        )
    caption = (
        f"Grey: the final value of each of the n = {len(sw.ok)} ok runs; blue: {blue}. {lead}{numeric}"
        f"{levels_text}Other parameters vary at the same time, so a panel shows the effect of its parameter "
        f"averaged over them{_interactions_hint(sw, metric, indices)}."
    )
    rep.save(fig, f"response_{metric}", f"{metric} against each varied parameter", caption,
             pd.concat(tables, ignore_index=True))  # fmt: skip


# ----------------------------------------------------------------------------- heatmap
def heatmap(rep: Report, metric: str, sw: Sweep) -> None:
    """Mean final value at each combination of two factorial parameters, written in its cell."""
    from matplotlib.colors import Normalize, TwoSlopeNorm

    rows, cols = sw.varied
    grid = sw.ok.pivot_table(index=rows, columns=cols, values=metric, aggfunc="mean")
    grid = grid.reindex(index=sw.levels[rows], columns=sw.levels[cols])
    z = grid.to_numpy(dtype=float)
    if not np.isfinite(z).any():
        return
    lo, hi = float(np.nanmin(z)), float(np.nanmax(z))
    norm: Normalize
    if lo < 0 < hi:  # both signs: a diverging map centred on zero
        cmap, norm, kind = plt.get_cmap("RdBu_r"), TwoSlopeNorm(0.0, lo, hi), "diverging (blue < 0 < red)"
    else:
        cmap, norm, kind = plt.get_cmap(SEQ), plt.Normalize(lo, hi if hi > lo else lo + 1e-12), "sequential"
    fig, ax = plt.subplots(figsize=(1.25 * z.shape[1] + 3.2, 0.55 * z.shape[0] + 2.2))
    im = ax.imshow(z, origin="lower", aspect="auto", cmap=cmap, norm=norm)
    ax.grid(False)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            if np.isfinite(z[i, j]):
                r, g, b, _ = cmap(norm(z[i, j]))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                ax.text(j, i, fmt(z[i, j]), ha="center", va="center", fontsize=9,
                        color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(z.shape[1]), [fmt(v) for v in grid.columns])
    ax.set_yticks(range(z.shape[0]), [fmt(v) for v in grid.index])
    if sw.is_categorical(cols) and max(len(str(v)) for v in grid.columns) > 8:  # level names: slanted
        ax.tick_params(axis="x", labelrotation=30)
        for t in ax.get_xticklabels():
            t.set_horizontalalignment("right")
            t.set_rotation_mode("anchor")
    ax.set(xlabel=sw.label(cols), ylabel=sw.label(rows))
    fig.colorbar(im, ax=ax, label=f"mean final {metric}")
    n = sw.ok.groupby("point")[metric].count()
    n_text = f"{int(n.min())}" if n.min() == n.max() else f"{int(n.min())} to {int(n.max())}"
    caption = (
        f"Mean final {metric} over the replications (n = {n_text} per cell), written in each cell; "
        f"{kind} colours. {_extreme('Highest', np.nanmax, z, grid, rows, cols, sw)} "
        f"{_extreme('Lowest', np.nanmin, z, grid, rows, cols, sw)}"
    )
    rep.save(fig, f"heatmap_{metric}", f"{metric} over both varied parameters", caption, grid.reset_index())


def _extreme(word: str, pick: Any, z: np.ndarray, grid: pd.DataFrame, rows: str, cols: str, sw: Sweep) -> str:
    """'Highest 0.143 at severity 0.6, leakage 0.05.', or, when several cells show the same
    value, in how many cells."""
    v = pick(z)
    same = np.argwhere(np.isfinite(z) & (np.vectorize(fmt)(z) == fmt(v)))
    if len(same) > 1:
        return f"{word} {fmt(v)} (to 3 digits), in {len(same)} of {int(np.isfinite(z).sum())} cells."
    i, j = same[0]
    return (
        f"{word} {fmt(v)} at {sw.label(rows)} {fmt(grid.index[i])}, {sw.label(cols)} {fmt(grid.columns[j])}."
    )


# ----------------------------------------------------------------------------- sensitivity
def sensitivity(rep: Report, csv: Path, sw: Sweep) -> None:
    """Sobol S1 and ST, or Morris mu* and sigma, sorted, with their 95% intervals, and a caption
    that says which parameter leads and which indices the samples cannot tell from zero."""
    try:
        si = pd.read_csv(csv)
    except (OSError, ValueError) as exc:
        raise SimError(
            f"{csv}: unreadable ({type(exc).__name__}); run `sim analyze sensitivity` again"
        ) from None
    metric = csv.stem.removeprefix("sensitivity-")
    sobol = "S1" in si
    need = (
        {"parameter", "S1", "S1_conf", "ST", "ST_conf"} if sobol else {"parameter", "mu_star", "mu_star_conf"}
    )
    if missing := sorted(need - set(si.columns)):
        raise SimError(
            f"{csv}: not a table of `sim analyze sensitivity` (no column {', '.join(missing)}); run it again"
        )
    if si.empty:
        raise SimError(f"{csv}: a table of `sim analyze sensitivity` without rows; run it again")
    cols = [("ST", "ST_conf", ST_COLOUR), ("S1", "S1_conf", S1_COLOUR)] if sobol else [
        ("mu_star", "mu_star_conf", S1_COLOUR), ("sigma", None, ST_COLOUR)]  # fmt: skip
    key = cols[0][0]
    si = si.sort_values(key, ascending=True).reset_index(drop=True)  # the largest at the top
    names = [short(f"param:{p}") for p in si.parameter]
    fig, ax = plt.subplots(figsize=(8, 0.7 * len(si) + 1.6))
    y = np.arange(len(si))
    h = 0.38
    for k, (col, err, colour) in enumerate(cols):
        if col not in si:
            continue
        xerr = si[err].abs() if err and err in si else None
        label = {"mu_star": "μ* (mean |effect|)", "sigma": "σ (spread of effects)"}.get(col, col)
        ax.barh(y + (0.5 - k) * h, si[col], h, xerr=xerr, color=colour, label=label, capsize=3,
                error_kw={"elinewidth": 1, "ecolor": "0.2"})  # fmt: skip
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, names)
    ax.set_xlabel(
        "Sobol index (share of the variance of the final value)"
        if sobol
        else f"Morris elementary effect (units of {metric})"
    )
    ax.legend(frameon=False, loc="lower right")
    ax.grid(axis="y", visible=False)
    # the caption, from the indices
    top = si.iloc[-1]
    idx, conf = (top["ST"], top["ST_conf"]) if sobol else (top["mu_star"], top["mu_star_conf"])
    what = "ST" if sobol else "mu*"
    parts = [
        f"Most influential: {short('param:' + str(top.parameter))} ({what} {fmt(idx)} ± {fmt(abs(conf))})."
    ]
    if len(si) > 1:
        second = si.iloc[-2]
        s_idx, s_conf = (
            (second["ST"], second["ST_conf"]) if sobol else (second["mu_star"], second["mu_star_conf"])
        )
        if idx - abs(conf) <= s_idx + abs(s_conf):
            parts.append(
                f"Its interval overlaps that of {short('param:' + str(second.parameter))} "
                f"({fmt(s_idx)} ± {fmt(abs(s_conf))}): the two cannot be ranked with these samples."
            )
    checks = [("S1", "S1_conf"), ("ST", "ST_conf")] if sobol else [("mu_star", "mu_star_conf")]
    unclear = []
    for r in si.iloc[::-1].itertuples(index=False):
        found = [
            f"{col} {fmt(float(getattr(r, col)))} ± {fmt(abs(float(getattr(r, err))))}"
            for col, err in checks
            if abs(float(getattr(r, err))) >= abs(float(getattr(r, col)))
        ]
        if found:
            unclear.append(f"{short('param:' + str(r.parameter))} ({', '.join(found)})")
    if unclear:
        parts.append(
            "Intervals that include zero (as wide as the index itself): " + "; ".join(unclear) + ". "
            f"The samples (N = {sw.manifest.get('samples')}) cannot tell these from no effect; raise `samples` "
            "in the experiment for narrower intervals."
        )
    if sobol:
        over = si["ST"] + si["ST_conf"].abs() < si["S1"]
        above = [short(f"param:{p}") for p in si.loc[over, "parameter"]]
        if above:
            parts.append(
                f"S1 exceeds ST beyond its interval for {', '.join(above)}: sampling error (S1 <= ST in theory)."
            )
    method = (
        "Sobol first-order (S1: the share of variance due to the parameter alone) and total (ST: with "
        "its interactions) indices"
        if sobol
        else "Morris mu* (mean absolute elementary effect) and sigma (their spread: interactions or "
        "non-linearity)"
    )
    caption = f"{method} from `sim analyze sensitivity`, sorted, with 95% bootstrap intervals. " + " ".join(
        parts
    )
    rep.save(fig, f"sensitivity_{metric}", f"Sensitivity of {metric}", caption, si)


# ----------------------------------------------------------------------------- the page
def _parameters_html(sw: Sweep) -> str:
    rows = []
    problem = sw.manifest.get("problem") or {}
    bounds = dict(zip(problem.get("names", []), problem.get("bounds", []), strict=False))
    for p in sw.params:
        key = p.removeprefix("param:")
        if sw.is_categorical(p):  # its level names, as declared (not the [0, k) of an lhs dimension)
            names = sw.categorical[p]
            values = f"{len(names)} level{'s' if len(names) != 1 else ''}: " + ", ".join(names)
        elif sw.factorial or p not in sw.varied:
            vals = sorted(sw.ok[p].dropna().unique().tolist()) if len(sw.ok) else []
            values = ", ".join(fmt(v) for v in vals)
        else:
            b = bounds.get(key)
            values = f"{fmt(b[0])} to {fmt(b[1])}" if b else f"{fmt(sw.ok[p].min())} to {fmt(sw.ok[p].max())}"
        rows.append(f"<tr><td>{html.escape(sw.label(p))}</td><td style='text-align:left'><code>"
                    f"{html.escape(key)}</code></td><td style='text-align:left'>{html.escape(values)}</td></tr>")  # fmt: skip
    return (
        "<table><tr><th>name in the figures</th><th style='text-align:left'>key path</th>"
        "<th style='text-align:left'>values</th></tr>" + "".join(rows) + "</table>"
    )


def sweep_report(folder: str | Path, force: bool = False) -> Path:
    folder = Path(folder)
    sw, runs = load(folder)
    manifest = sw.manifest

    def build(out: Path) -> None:
        rep = Report(f"Sweep report: {manifest.get('experiment', folder.name)}", out)
        rep.text("Varied parameters", _parameters_html(sw))
        series = _series(folder, sw)
        specs = manifest.get("metrics", {})
        for metric in sw.metrics:
            rep.text(metric, f"<p><code>{html.escape(str(specs.get(metric, '')))}</code></p>")
            if sw.ok[metric].notna().sum() == 0:
                rep.text(f"{metric}: no figures", "<p>No ok run has a value of this metric.</p>")
                continue
            d = series[series.metric == metric] if series is not None else None
            if d is not None and d["value"].notna().any():
                if sw.factorial and len(sw.varied) <= 2:
                    series_factorial(rep, metric, d, sw)
                else:
                    why = (
                        f"{len(sw.varied)} parameters are varied, too many for one line per point: "
                        if sw.factorial
                        else ""
                    )
                    series_sampled(rep, metric, d, sw, why)
            if sw.varied and sw.factorial:
                response_factorial(rep, metric, sw)
            elif sw.varied:
                response_sampled(rep, metric, sw, (folder / f"sensitivity-{metric}.csv").exists())
            if sw.factorial and len(sw.varied) == 2:
                heatmap(rep, metric, sw)
            if (folder / f"sensitivity-{metric}.csv").exists():
                sensitivity(rep, folder / f"sensitivity-{metric}.csv", sw)
        others = [
            c
            for c in sorted(folder.glob("sensitivity-*.csv"))
            if c.stem.removeprefix("sensitivity-") not in sw.metrics
        ]
        if others:  # indices of a metric that is not (or no longer) one of the sweep's
            rep.text(
                "Sensitivity of other metrics",
                "<p>Indices written by <code>sim analyze sensitivity</code>.</p>",
            )
        for csv in others:
            sensitivity(rep, csv, sw)
        failed = runs[runs.status != "ok"]
        rep.text(
            f"Failed runs ({len(failed)})",
            table_html(failed[["run_id", "index", *sw.params, "error"]]) if len(failed) else "<p>None.</p>",
        )
        if sw.factorial and sw.varied:
            g = sw.ok.groupby(sw.varied)
            summary = g[sw.metrics].mean().join(g.size().rename("n")).reset_index()
            rep.text("Mean final metrics by design point", table_html(summary))
        elif len(sw.ok):
            summary = sw.ok[sw.metrics].describe(percentiles=[0.05, 0.5, 0.95]).T.reset_index(names="metric")
            rep.text("Final metrics across the runs", table_html(summary))
        discoveries(rep, folder)  # `sim discover` results kept in the sweep folder
        rep.text("Provenance", provenance_html(manifest))
        rep.write(
            f"Design <code>{html.escape(str(manifest.get('design')))}</code>, {manifest.get('points')} points x "
            f"{manifest.get('replications')} replications = {manifest.get('runs')} runs; {len(sw.ok)} ok, "
            f"{len(failed)} failed."
        )

    return atomic(folder / "report", build, folder=True, force=force) / "index.html"
