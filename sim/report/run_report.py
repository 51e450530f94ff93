"""The report of one run, or of one scenario on N seeds (`sim run --replications N`): how
discourse power moved, where it came from, who sat where, who supplies whom, and what the
levers did.

One set of figures serves both: a single run is read as one replication, so every series is
drawn as the mean over the seeds with its t interval as a band (no band with one seed), and
every caption is written from the numbers it describes and states n. The states a report is
about (the leading six by final influence share, then the wielders of its levers) keep one
strong colour in every figure and are named at the ends of their lines; the others are grey,
or shades of their region's hue where every state is drawn (`sim.report.base.Palette`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from sim.errors import SimError
from sim.io import atomic
from sim.report.base import (
    DARK,
    FOCUS_COLOURS,
    GREY,
    OTHERS,
    Palette,
    Report,
    fmt_share,
    label_ends,
    plt,
    provenance_html,
    read_manifest,
    regions_in,
    table_html,
)
from sim.report.replicate import LEVEL, until
from sim.report.replicate import group_interval as _t_interval

MARKED_EVENTS = ("lever", "framework_launched", "forum_created")
FOCUS = 6  # leading states drawn in colour
LEVER_PANELS = [
    ("export_controls", "compute_gap", "Export controls: controller-target compute gap",
     "1 - target compute / controller compute, from each control's start (one panel per control): it widens while "
     "controls bite and narrows as leakage and the target's efficiency innovation erode them.", "gap (0-1)"),
    ("regulation", "adopters", "Brussels effect: states that adopted similar rules",
     "Cumulative number of states that emulated the regulation (de jure).", "adopters (states)"),
    ("alliance", "partner_dependence_technical", "Alliances: partners' dependence on the hub (models)",
     "Mean share of the partners' model supply that comes from the hub.", "share (0-1)"),
]  # fmt: skip
# where influence comes from, in three groups of hues: the paths (blues and greens), the forum
# roles (oranges), the technology powers (purples and reds); sim.model.core.SOURCES
SOURCE_GROUPS = {
    "paths": {"discourse": "#08519C", "practice": "#4292C6", "frameworks": "#9ECAE1", "reputation": "#41AB5D"},
    "forum roles": {"brokerage": "#E6550D", "hosting": "#FDAE6B"},
    "powers": {"dependence": "#54278F", "regulation": "#9E9AC8", "declaration": "#A50F15", "cocreation": "#E7298A"},
}  # fmt: skip
SOURCE_COLOURS = {s: c for group in SOURCE_GROUPS.values() for s, c in group.items()}
LAYERS = {"base": "base layer: chips and compute", "technical": "technical layer: models",
          "application": "application layer"}  # fmt: skip
NOT_DIMENSIONS = ("replication", "seed", "step", "year", "forum", "active", "members", "weight")


# ----------------------------------------------------------------------------- input
def load_run(folder: Path) -> dict[str, pd.DataFrame]:
    folder = Path(folder)
    if not (folder / "states.parquet").exists():
        raise SimError(f"{folder}: not a run folder (no states.parquet)")
    return {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def order_of(states: pd.DataFrame) -> list[str]:
    first = states[states.step == 0]
    return list(dict.fromkeys(first["state"]))


def replicated(t: dict[str, pd.DataFrame]) -> bool:
    """A folder of `sim run --replications N`: every table has `replication` and `seed` columns."""
    return "replication" in t["states"].columns


def as_replicated(t: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """A single run's tables as replication 0 of a replicated run (the figures read both)."""
    if replicated(t):
        return t
    return {k: df.assign(replication=np.int64(0)) for k, df in t.items()}


def _scenario(folder: Path) -> dict[str, Any]:
    import yaml

    path = Path(folder) / "scenario.resolved.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _decay_step(sc: dict[str, Any]) -> float:
    """The influence stock's decay per step, from the run's resolved scenario."""
    from sim.fields import PerYear

    if not sc:
        return 0.0
    return PerYear("share").to_step(float(sc["influence"]["decay"]), int(sc["model"]["steps_per_year"]))


def sources_at_end(sources: pd.DataFrame, states: pd.DataFrame, decay_step: float) -> pd.DataFrame:
    """[state x source] the final influence stock told apart by source (each source's gains
    decayed as the stock decays)."""
    last = int(states.step.max())
    age = last - sources.step.to_numpy()
    part = sources.assign(stock=sources.gain.to_numpy() * (1.0 - decay_step) ** age)
    return part.pivot_table(index="state", columns="source", values="stock", aggfunc="sum", fill_value=0.0)


def memberships(
    founders: dict[str, list[str]], events: pd.DataFrame, steps: Iterable[int]
) -> dict[int, dict[str, set[str]]]:
    """Who belongs to each forum after each of `steps`: the scenario's founding members, then
    the `join` and `leave` events of the steps up to it (one run's events)."""
    ev = events[events.event.isin(["join", "leave"])].sort_values("step", kind="stable")
    current = {f: set(m) for f, m in founders.items()}
    out: dict[int, dict[str, set[str]]] = {}
    rows = [(int(k), str(e), str(s), str(f)) for k, e, s, f in
            zip(ev.step.to_numpy(), ev.event, ev.state, ev.forum, strict=True)]  # fmt: skip
    k = 0
    for step in sorted(set(steps)):
        while k < len(rows) and rows[k][0] <= step:
            _, event, state, forum = rows[k]
            members = current.setdefault(forum, set())
            (members.add if event == "join" else members.discard)(state)
            k += 1
        out[step] = {f: set(m) for f, m in current.items()}
    return out


# ----------------------------------------------------------------------------- helpers
def group_interval(df: pd.DataFrame, keys: list[str], value: str = "value") -> pd.DataFrame:
    """`sim.report.replicate.group_interval` (mean, lo, hi, n per group of `keys`); for one seed
    the value itself and no interval, without loading scipy (a single run's report stays quick)."""
    if "replication" in df.columns and df["replication"].nunique() > 1:
        return _t_interval(df, keys, value)
    d = df[[*keys, value]].copy()
    d[value] = d[value].astype(float).where(np.isfinite(d[value].astype(float)))
    g = d.groupby(keys, sort=True, dropna=False)[value].agg(["mean", "count"]).reset_index()
    return g.assign(lo=np.nan, hi=np.nan, n=g["count"])[[*keys, "mean", "lo", "hi", "n"]]


def _say(n: int) -> str:
    if n > 1:
        return f" Mean over {n} seeds; bands and whiskers: {LEVEL:.0%} t intervals over the seeds (n = {n})."
    return " One seed (n = 1): no interval; `sim run --replications N` gives bands."


def _ci(row: Any, fmt: Any = fmt_share) -> str:
    """`0.25` or `0.25 [0.23, 0.27]`."""
    if np.isfinite(row["lo"]):
        return f"{fmt(row['mean'])} [{fmt(row['lo'])}, {fmt(row['hi'])}]"
    return fmt(row["mean"])


def _draw(ax: Any, b: pd.DataFrame, x: str, color: Any, label: str | None = None, lw: float = 2.0,
          alpha: float = 0.2, ls: str = "-") -> None:  # fmt: skip
    """A mean line and its interval band (from `group_interval`)."""
    ax.plot(b[x], b["mean"], color=color, lw=lw, label=label, ls=ls)
    if np.isfinite(b["lo"].to_numpy(dtype=float)).any():
        ax.fill_between(b[x], b["lo"], b["hi"], color=color, alpha=alpha, lw=0)


def _focus_lines(ax: Any, g: pd.DataFrame, key: str, pal: Palette, focus: list[str], x: str = "year",
                 fmt: Any = fmt_share, labels: bool = True) -> None:  # fmt: skip
    """Grey lines for the states outside `focus`, coloured lines with bands for those in it,
    named at their ends (with their last value)."""
    for _, b in g[~g[key].isin(focus)].groupby(key, sort=False):
        ax.plot(b[x], b["mean"], color=GREY, lw=0.8, zorder=1)
    ends = []
    for s in focus:
        b = g[g[key] == s]
        if b.empty:
            continue
        _draw(ax, b, x, pal(s), lw=2.0)
        last = b.iloc[-1]
        ends.append((f"{s} {fmt(last['mean'])}", float(last["mean"]), pal(s)))
    if labels:
        label_ends(ax, ends)


def _complete(df: pd.DataFrame, keys: list[str], reps: list[int], value: str) -> pd.DataFrame:
    """Rows for every replication of every key (missing ones: 0), so that a mean over the seeds
    counts the seeds where something did not happen (a supplier under 1%, an unused action)."""
    df = df.assign(**{value: df[value].astype(float)})
    wide = df.pivot_table(index=keys, columns="replication", values=value, aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(columns=reps, fill_value=0.0)
    return wide.melt(ignore_index=False, var_name="replication", value_name=value).reset_index()


def _final_rep(states: pd.DataFrame) -> pd.DataFrame:
    return states[states.step == states.step.max()]


def _event_marks(events: pd.DataFrame, n: int) -> pd.DataFrame:
    """The scheduled levers, frameworks and new forums that happen on every seed: year, label."""
    ev = events[events.event.isin(MARKED_EVENTS)].copy()
    ev["label"] = [str(d or f or e) for d, f, e in zip(ev.detail, ev.forum, ev.event, strict=True)]
    common = ev.groupby(["year", "label"]).replication.nunique().reset_index()
    return common[common.replication == n].sort_values("year")[["year", "label"]].reset_index(drop=True)


def _mark(ax: Any, marks: pd.DataFrame) -> str:
    """Numbered vertical lines at the events (one line per date, its numbers staggered in height
    when dates are close); returns their key for the caption."""
    if marks.empty:
        return ""
    marks = marks.assign(k=np.arange(1, len(marks) + 1))
    x0, x1 = ax.get_xlim()
    level, prev = 0, -np.inf
    for value, group in marks.groupby("year", sort=True):
        year = float(value)  # type: ignore[arg-type]
        ks = list(group.k)
        level = (level + 1) % 3 if year - prev < 0.04 * (x1 - x0) else 0
        prev = year
        ax.axvline(year, color="k", lw=0.6, alpha=0.35, zorder=0)
        text = str(ks[0]) if len(ks) == 1 else f"{ks[0]}-{ks[-1]}"
        ax.annotate(
            text,
            (year, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 2 + 9 * level),
            textcoords="offset points",
            fontsize=7,
            ha="center",
            va="bottom",
            annotation_clip=False,
        )
    key = "; ".join(f"{k} {lab} ({y:.2f})" for y, lab, k in marks.itertuples(index=False))
    return f" Numbered lines (events on every seed): {key}."


def focus_of(t: dict[str, pd.DataFrame], leaders: list[str]) -> list[str]:
    """The states a report is about: the leading six, then the wielders of its levers."""
    focus = list(leaders[:FOCUS])
    powers = t.get("powers")
    if powers is not None and len(powers):
        focus += [a for a in pd.unique(powers["actor"]) if a in leaders]
    return list(dict.fromkeys(focus))[:8]


# ----------------------------------------------------------------------------- figures
def figures(rep: Report, t: dict[str, pd.DataFrame], pal: Palette, sc: dict[str, Any] | None = None) -> None:
    """Every figure of a run report (`t`: the tables, with a `replication` column)."""
    sc = sc or {}
    t = as_replicated(t)
    states = t["states"]
    reps = sorted(states.replication.unique())
    n = len(reps)
    last = _final_rep(states)
    fin = {c: group_interval(last, ["state"], c).set_index("state")
           for c in ("influence_share", "resource_share", "punching_ratio", "influence")}  # fmt: skip
    leaders = list(fin["influence_share"]["mean"].sort_values(ascending=False, kind="stable").index)
    ctx = {"n": n, "reps": reps, "say": _say(n), "leaders": leaders, "fin": fin,
           "end": until(float(states.year.max()))}  # fmt: skip
    influence_share(rep, t, pal, ctx)
    influence_stock(rep, t, pal, ctx)
    punching_ratio(rep, pal, ctx)
    influence_by_source(rep, t, ctx, _decay_step(sc))
    action_mix(rep, t, pal, ctx)
    positions(rep, t, pal, ctx)
    forum_texts(rep, t, ctx)
    alignment(rep, t, ctx)
    forum_networks(rep, t, pal, ctx, sc)
    state_networks(rep, t, pal, ctx)
    dependence_layers(rep, t, pal, ctx)
    levers(rep, t, pal, ctx)


def influence_share(rep: Report, t: dict[str, pd.DataFrame], pal: Palette, ctx: dict[str, Any]) -> None:
    states, n, fin = t["states"], ctx["n"], ctx["fin"]
    share = group_interval(states, ["state", "year"], "influence_share")
    fig, ax = plt.subplots(figsize=(10, 5))
    _focus_lines(ax, share, "state", pal, pal.focus)
    ax.set(xlabel="year (end of quarter)", ylabel="share of world influence (0-1)",
           xlim=(share.year.min(), share.year.max()), ylim=(0, None))  # fmt: skip
    key = _mark(ax, _event_marks(t["events"], n))
    s, r = fin["influence_share"], fin["punching_ratio"]
    named = [f"{x}{' leads with' if k == 0 else ''} {_ci(s.loc[x])} ({r.loc[x, 'mean']:.1f}x its resource share)"
             for k, x in enumerate(ctx["leaders"][:4])]  # fmt: skip
    rest = len(ctx["leaders"]) - len([x for x in pal.focus if x in s.index])
    caption = (f"Each state's share of the world's discourse-power stock. At {ctx['end']} {named[0]}, then "
               + ", ".join(named[1:]) + f". Coloured: the states this report is about; grey: the other {rest}."
               + key + ctx["say"])  # fmt: skip
    rep.save(fig, "influence_share", "Influence share over time", caption, share)


def influence_stock(rep: Report, t: dict[str, pd.DataFrame], pal: Palette, ctx: dict[str, Any]) -> None:
    states, top = t["states"], ctx["leaders"][:FOCUS]
    stock = group_interval(states, ["state", "year"], "influence")
    fig, ax = plt.subplots(figsize=(10, 4.2))
    _focus_lines(ax, stock, "state", pal, top, fmt=lambda v: f"{v:.2f}")
    ax.set(
        xlabel="year (end of quarter)",
        ylabel="influence stock (model units)",
        xlim=(stock.year.min(), stock.year.max()),
    )
    peak = stock[stock.state.isin(top)].sort_values("mean", na_position="first").iloc[-1]
    caption = (f"The stock that gains the movement a state causes in forum texts and others' positions and decays "
               f"each step, for the {len(top)} leading states (grey: the others). The highest point: {peak.state}, "
               f"{peak['mean']:.2f} at {until(peak.year)}." + ctx["say"])  # fmt: skip
    rep.save(fig, "influence_stock", "Influence stock of the leading states", caption, stock)


def punching_ratio(rep: Report, pal: Palette, ctx: dict[str, Any]) -> None:
    leaders, fin = ctx["leaders"], ctx["fin"]
    inf, res, ratio = (fin[c].loc[leaders] for c in ("influence_share", "resource_share", "punching_ratio"))
    fig, ax = plt.subplots(figsize=(11, 4.5))
    x = np.arange(len(leaders))
    err = (
        np.vstack([inf["mean"] - inf["lo"], inf["hi"] - inf["mean"]])
        if np.isfinite(inf["lo"]).any()
        else None
    )
    ax.bar(x - 0.2, inf["mean"], 0.4, yerr=err, color=[pal(s) for s in leaders], ecolor="k", capsize=2,
           label="influence share")  # fmt: skip
    ax.bar(x + 0.2, res["mean"], 0.4, color="white", edgecolor="#777777", hatch="////", lw=0.8,
           label="resource share")  # fmt: skip
    tops = np.fmax(np.fmax(inf["mean"].to_numpy(), inf["hi"].fillna(0).to_numpy()), res["mean"].to_numpy())
    for k, r in enumerate(ratio["mean"]):
        ax.annotate(f"{r:.1f}x", (x[k], tops[k]), xytext=(0, 2), textcoords="offset points", ha="center",
                    va="bottom", fontsize=7.5, fontweight="bold" if r > 1 else "normal")  # fmt: skip
    ax.set_xticks(x, leaders, rotation=50, ha="right")
    ax.set(ylabel="share (0-1)", xlim=(-0.7, len(leaders) - 0.3))
    proxy = [plt.Rectangle((0, 0), 1, 1, color="#777777"),
             plt.Rectangle((0, 0), 1, 1, fc="white", ec="#777777", hatch="////")]  # fmt: skip
    ax.legend(proxy, ["influence share (the state's colour)", "resource share"], loc="upper right")
    hi = ratio["mean"].sort_values(ascending=False)
    above = [f"{s} {v:.1f}x" for s, v in hi.items() if v > 1][:4]
    caption = (f"At {ctx['end']}: coloured bars, influence share (whiskers: its interval); hatched bars, share of "
               "compute, data and algorithms; the label is their ratio (bold: above 1x, punching above its resource "
               f"weight). Highest: {', '.join(above) or 'none above 1x'}; lowest: {hi.index[-1]} {hi.iloc[-1]:.1f}x."
               + ctx["say"])  # fmt: skip
    table = pd.concat([fin[c][["mean", "lo", "hi"]].add_prefix(f"{c}_") for c in
                       ("influence_share", "resource_share", "punching_ratio")], axis=1).loc[leaders]  # fmt: skip
    rep.save(
        fig,
        "punching_ratio",
        "Punching ratio in the final year",
        caption,
        table.rename_axis("state").reset_index(),
    )


def influence_by_source(
    rep: Report, t: dict[str, pd.DataFrame], ctx: dict[str, Any], decay_step: float
) -> None:
    src, states, reps, n = t.get("influence_sources"), t["states"], ctx["reps"], ctx["n"]
    if src is None or not len(src):
        return
    parts = [
        sources_at_end(src[src.replication == r], states[states.replication == r], decay_step) for r in reps
    ]
    by = pd.concat(parts).groupby(level=0).sum().div(n).fillna(0.0)
    by = by[
        [s for s in SOURCE_COLOURS if s in by.columns] + [s for s in by.columns if s not in SOURCE_COLOURS]
    ]
    total = by.sum(axis=1).sort_values(ascending=False)
    order = list(total.index[:12])
    by = by.loc[order]
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(order) + 2.0))
    left = np.zeros(len(order))
    for source in by.columns:
        v = by[source].to_numpy()
        ax.barh(order, v, left=left, color=SOURCE_COLOURS.get(source, OTHERS), edgecolor="white", lw=0.6,
                label=source)  # fmt: skip
        for k in range(len(order)):
            if v[k] >= 0.12 * total.iloc[0] and v[k] / total.iloc[k] >= 0.15:
                light = source in (
                    "frameworks",
                    "hosting",
                    "regulation",
                    "reputation",
                    "practice",
                )
                ax.text(left[k] + v[k] / 2, k, f"{v[k] / total.iloc[k]:.0%}", ha="center", va="center",
                        fontsize=7, color="k" if light else "white")  # fmt: skip
        left += v
    for k in range(len(order)):
        ax.text(left[k], k, f" {left[k]:.2f}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel=f"influence stock at {ctx['end']} (model units)", xlim=(0, left.max() * 1.1))
    ax.grid(axis="y", visible=False)
    handles, labels = ax.get_legend_handles_labels()
    blank = plt.Rectangle((0, 0), 0, 0, visible=False)
    tall = max(len(m) for m in SOURCE_GROUPS.values()) + 1
    cells: list[tuple[Any, str]] = []
    for name, members in SOURCE_GROUPS.items():  # one column per group, its name on top
        column = [(blank, name.upper())] + [(handles[labels.index(s)], s) for s in members if s in labels]
        cells += column + [(blank, "")] * (tall - len(column))
    ax.legend(
        [c[0] for c in cells],
        [c[1] for c in cells],
        ncol=len(SOURCE_GROUPS),
        loc="lower right",
        fontsize=8,
        handlelength=1.5,
        columnspacing=1.5,
    )
    main = [f"{s}: {by.loc[s].idxmax()} {by.loc[s].max() / total.loc[s]:.0%}" for s in order[:5]]
    shown = (f"The {len(order)} largest influence stocks of the {len(total)} states" if len(order) < len(total)
             else f"The influence stocks of all {len(total)} states")  # fmt: skip
    caption = (f"{shown} at {ctx['end']}, told apart by the mechanism that earned it "
               "(each source's gains decayed as the stock decays, so the parts add up to the stock; the label is "
               "the stock, a segment's percentage its part of it). Blues and green, the paths: discourse (drafting "
               "forum texts), practice, frameworks, reputation; oranges, the forum roles: brokerage, hosting; "
               "purples, red and magenta, the technology powers: dependence, regulation, declaration, "
               f"cocreation. Largest source of the leading states: {'; '.join(main)}. From "
               "influence_sources.parquet."
               + ctx["say"].replace("; bands and whiskers", "; intervals").split(";")[0] + ".")  # fmt: skip
    rep.save(fig, "influence_by_source", "Where each state's influence comes from", caption,
             by.assign(total=by.sum(axis=1)).rename_axis("state").reset_index())  # fmt: skip


def action_mix(rep: Report, t: dict[str, pd.DataFrame], pal: Palette, ctx: dict[str, Any]) -> None:
    states, reps, n, leaders = t["states"], ctx["reps"], ctx["n"], ctx["leaders"]
    acts = states[states.step > 0].copy()
    acts["year_bin"] = np.floor(acts["year"] - 1e-9).astype(int)
    count = acts.groupby(["replication", "state", "year_bin", "action"]).size().rename("steps").reset_index()
    full = _complete(count, ["state", "year_bin", "action"], reps, "steps")
    full["share"] = full.steps / full.groupby(["replication", "state", "year_bin"]).steps.transform("sum")
    mix = group_interval(full, ["state", "year_bin", "action"], "share")
    actions = sorted(a for a in mix.action.unique() if a != "none") + (
        ["none"] if (mix.action == "none").any() else []
    )
    cmap = plt.get_cmap("Set2")
    colour = {a: cmap(j % 8) for j, a in enumerate(actions)}
    cols = 5
    rows = int(np.ceil(len(leaders) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(13, 2.0 * rows + 0.8), sharex=True, sharey=True, squeeze=False
    )
    for k, s in enumerate(leaders):
        ax = axes.flat[k]
        d = mix[mix.state == s]
        wide = d.pivot(index="year_bin", columns="action", values="mean").reindex(
            columns=actions, fill_value=0
        )
        ax.stackplot(wide.index, wide.fillna(0).T.to_numpy(), colors=[colour[a] for a in actions])
        ax.set_title(s, fontsize=9, color=pal(s) if s in pal.focus else "k",
                     fontweight="bold" if s in pal.focus else "normal")  # fmt: skip
        ax.set_ylim(0, 1)
    for ax in list(axes.flat)[len(leaders) :]:
        ax.axis("off")
    for ax in axes.flat:
        ax.xaxis.set_tick_params(labelbottom=True, labelsize=8)
    fig.subplots_adjust(left=0.06, right=0.99, top=1 - 0.75 / fig.get_figheight(), bottom=0.04, hspace=0.45,
                        wspace=0.12)  # fmt: skip
    fig.legend([plt.Rectangle((0, 0), 1, 1, color=colour[a]) for a in actions], actions, loc="lower center",
               ncol=len(actions), bbox_to_anchor=(0.5, 1 - 0.45 / fig.get_figheight()), frameon=False)  # fmt: skip
    fig.supylabel("share of the year's steps", x=0.01)
    top = mix[mix.action != "none"].groupby("action")["mean"].mean().sort_values(ascending=False)
    caption = ("Stacked: for each state, the share of each year's quarters spent on each path or power ('none': inactive), states in the "
               "order of their final influence share. Over all states and years the most used: "
               + ", ".join(f"{a} {v:.0%}" for a, v in top.head(3).items()) + "."
               + (f" Mean shares over {n} seeds, stacked (seven overlapping bands would hide each other); each "
                  f"share's {LEVEL:.0%} t interval (n = {n}) is in the CSV." if n > 1 else ctx["say"]))  # fmt: skip
    rep.save(fig, "action_mix", "Action mix over time", caption, mix)


def _dimensions(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in NOT_DIMENSIONS]


def positions(rep: Report, t: dict[str, pd.DataFrame], pal: Palette, ctx: dict[str, Any]) -> None:
    """One panel per norm dimension: the states' positions (focus coloured, the rest grey) and
    the forum texts (dashed), each named at its end."""
    states, forums = t["states"], t["forums"]
    dims = [c.removeprefix("position_") for c in states.columns if c.startswith("position_")]
    if not dims:
        return
    active = forums[forums.active]
    end = forums[forums.step == forums.step.max()]
    big = list(dict.fromkeys(end.sort_values("weight", ascending=False, kind="stable").forum))[:4]
    cols = 2
    rows = int(np.ceil(len(dims) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(13, 3.6 * rows), squeeze=False)
    data, spread = [], []
    for k, dim in enumerate(dims):
        ax = axes.flat[k]
        g = group_interval(states, ["state", "year"], f"position_{dim}")
        data.append(g.rename(columns={"state": "who"}).assign(kind="state", dimension=dim))
        _focus_lines(ax, g, "state", pal, pal.focus, labels=False)
        for line in ax.lines:
            if line.get_color() == GREY:
                line.set_alpha(0.6)
        ends = [
            (s, float(g[g.state == s]["mean"].iloc[-1]), pal(s)) for s in pal.focus if (g.state == s).any()
        ]
        if dim in active.columns:
            f = group_interval(active[active.forum.isin(big)], ["forum", "year"], dim)
            data.append(f.rename(columns={"forum": "who"}).assign(kind="forum text", dimension=dim))
            for name, b in f.groupby("forum", sort=False):
                ax.plot(b.year, b["mean"], color=DARK, lw=1.1, ls=(0, (4, 2)), zorder=3)
                ends.append((f"{name} (text)", float(b["mean"].iloc[-1]), DARK))
        ax.set(ylim=(0, 1), title=dim.replace("_", " "), xlim=(states.year.min(), states.year.max()))
        label_ends(ax, ends, fontsize=7)
        fin = g[g.year == g.year.max()].set_index("state")["mean"]
        spread.append((dim, fin.max() - fin.min(), fin.idxmin(), fin.idxmax()))
    for ax in axes.flat:
        ax.xaxis.set_tick_params(labelbottom=True)
    for ax in list(axes.flat)[len(dims) :]:
        ax.axis("off")
    if len(dims) < axes.size:
        key = axes.flat[len(dims)]
        key.plot([0.05, 0.2], [0.8, 0.8], color=FOCUS_COLOURS[0], lw=2)
        key.plot([0.05, 0.2], [0.6, 0.6], color=GREY, lw=0.8)
        key.plot([0.05, 0.2], [0.4, 0.4], color=DARK, lw=1.1, ls=(0, (4, 2)))
        for y, text in ((0.8, "a state this report is about (named)"), (0.6, "another state"),
                        (0.4, "a forum's text (named '(text)')")):  # fmt: skip
            key.text(0.25, y, text, va="center", fontsize=9)
        key.set(xlim=(0, 1), ylim=(0.2, 1))
    for ax in axes[:, 0]:
        ax.set_ylabel("position (0-1)")
    fig.subplots_adjust(wspace=0.45, hspace=0.3)
    widest = max(spread, key=lambda r: r[1])
    caption = ("Each state's position on every norm dimension (0: e.g. soft law, closed data; 1: binding law, open "
               "data), coloured for the states this report is about and grey for the others, with the texts of the "
               f"four forums of greatest weight ({', '.join(big)}; dashed, named '(text)'; every forum's text: the "
               f"forum-texts figure). At {ctx['end']} the states are furthest apart on {widest[0].replace('_', ' ')}"
               f" ({widest[2]} {fin_at(data, widest[0], widest[2]):.2f} to {widest[3]} "
               f"{fin_at(data, widest[0], widest[3]):.2f})." + ctx["say"])  # fmt: skip
    rep.save(fig, "positions", "Positions on each norm dimension, with the forum texts", caption,
             pd.concat(data, ignore_index=True))  # fmt: skip


def fin_at(data: list[pd.DataFrame], dim: str, who: str) -> float:
    d = pd.concat(data)
    d = d[(d.dimension == dim) & (d.who == who) & (d.kind == "state")]
    return float(d.sort_values("year")["mean"].iloc[-1])


def _forum_colours(forums: Iterable[str]) -> dict[str, Any]:
    from sim.report.base import FOCUS_COLOURS, REGION_COLOURS

    hues = list(FOCUS_COLOURS) + list(REGION_COLOURS)
    return {f: hues[k % len(hues)] for k, f in enumerate(dict.fromkeys(forums))}


def forum_texts(rep: Report, t: dict[str, pd.DataFrame], ctx: dict[str, Any]) -> None:
    forums = t["forums"]
    dims = _dimensions(forums)
    active = forums[forums.active]
    colour = _forum_colours(forums.forum)
    fig, axes = plt.subplots(1, len(dims), figsize=(2.9 * len(dims) + 1.5, 3.6), sharey=True, squeeze=False)
    texts = []
    for d, dim in enumerate(dims):
        ax = axes[0, d]
        b = group_interval(active, ["forum", "year"], dim)
        texts.append(b.assign(dimension=dim))
        for f, rows_f in b.groupby("forum", sort=False):
            _draw(ax, rows_f, "year", colour[str(f)], str(f), lw=1.5)
        ax.set(title=dim.replace("_", " "), ylim=(0, 1), xlabel="year")
    axes[0, 0].set_ylabel("forum text (0-1)")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    allt = pd.concat(texts)
    end = allt[allt.year == allt.year.max()]
    rng = end.groupby("dimension")["mean"].agg(lambda v: v.max() - v.min()).sort_values()
    caption = ("The principles each forum has adopted, as a position on every norm dimension (0: e.g. soft law, 1: "
               f"binding law), while the forum is active. At {ctx['end']} the forums agree most on "
               f"{rng.index[0].replace('_', ' ')} (range {rng.iloc[0]:.2f}) and least on "
               f"{rng.index[-1].replace('_', ' ')} (range {rng.iloc[-1]:.2f})." + ctx["say"])  # fmt: skip
    rep.save(fig, "forum_texts", "Forum texts on each norm dimension", caption, allt)


def alignment(rep: Report, t: dict[str, pd.DataFrame], ctx: dict[str, Any]) -> None:
    model = t["model"]
    pair_cols = [c for c in model.columns if c.startswith("alignment[")]
    overall = group_interval(model, ["year"], "alignment_index")
    if not overall["mean"].notna().any():  # no linked forums (or none active): nothing to draw or quote
        rep.text("Forum alignment", "<p>No two active forums are linked in this run: the alignment index "
                 "of linked forums is undefined, so there is no figure.</p>")  # fmt: skip
        return
    panels = [("all linked forums (the index)", "alignment_index")] + [(c[10:-1], c) for c in pair_cols]
    cols = min(3, len(panels))
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 2.7 * rows), sharex=True, sharey=True, squeeze=False
    )
    out, ends = [], []
    for k, (title, c) in enumerate(panels):
        ax = axes.flat[k]
        b = group_interval(model, ["year"], c).dropna(subset=["mean"])
        out.append(b.assign(series=c))
        if k:
            ax.plot(overall.year, overall["mean"], color=GREY, lw=1.2, label="index")
        _draw(ax, b, "year", "k" if k == 0 else "#0072B2", lw=2)
        ax.set_title(title, fontsize=9)
        if len(b):
            ax.annotate(f"{b['mean'].iloc[-1]:.3f}", (b.year.iloc[-1], b["mean"].iloc[-1]), xytext=(3, 0),
                        textcoords="offset points", fontsize=8, va="center", annotation_clip=False)  # fmt: skip
            if k:
                ends.append((title, float(b["mean"].iloc[-1]), float(b.year.iloc[0])))
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    for ax in axes.flat:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[:, 0]:
        ax.set_ylabel("alignment")
    fig.subplots_adjust(hspace=0.35, wspace=0.12)
    first, lastv = overall["mean"].iloc[0], overall["mean"].iloc[-1]
    ends.sort(key=lambda e: e[1])
    pairs = (f" Most aligned pair at the end: {ends[-1][0]} ({ends[-1][1]:.3f}); least: {ends[0][0]} "
             f"({ends[0][1]:.3f})." if ends else "")  # fmt: skip
    caption = ("Similarity of the texts of linked forums (1: identical): the overall index (first panel), then "
               "each linked pair from the year both forums exist (grey: the index, for reference). Brokers engaged "
               f"in both forums of a link raise it. The index goes from {first:.3f} to {lastv:.3f}." + pairs
               + ctx["say"])  # fmt: skip
    rep.save(fig, "alignment", "Forum alignment, per linked pair", caption, pd.concat(out, ignore_index=True))


# ----------------------------------------------------------------------------- the state-forum network
def network_years(years: np.ndarray) -> list[int]:
    """Whole years shown as networks: the first, 2022 (or the middle one) and the last."""
    first, lastyear = int(np.floor(years.min())), int(np.floor(years.max() - 1e-9))
    if lastyear < first:
        return [first]
    mid = 2022 if first < 2022 < lastyear else (first + lastyear) // 2
    return list(dict.fromkeys([first, mid, lastyear]))


def network_snapshot(
    t: dict[str, pd.DataFrame], sc: dict[str, Any], year: int, replication: int = 0
) -> dict[str, Any]:
    """The state-forum network at the end of `year` (or the last step before it), from one
    replication: members, active forums, presidencies, linked forums and their alignment,
    brokers, and influence shares."""
    pick = {
        k: (df[df.replication == replication] if "replication" in df.columns else df) for k, df in t.items()
    }
    states, forums, model, events = pick["states"], pick["forums"], pick["model"], pick["events"]
    step = int(states[states.year <= year + 1 + 1e-9].step.max())
    founders = {str(f["name"]): [str(m) for m in f.get("members", [])] for f in sc.get("forums", [])}
    members = memberships(founders, events, [step])[step]
    fs = forums[forums.step == step].set_index("forum")
    active = [f for f in fs.index if bool(fs.loc[f, "active"])]
    pres = events[(events.event == "presidency") & (events.year >= year) & (events.year < year + 1)]
    src = pick.get("influence_sources")
    brokers: list[str] = []
    if src is not None and len(src):
        b = src[(src.source == "brokerage") & (src.year > year) & (src.year <= year + 1 + 1e-9)]
        brokers = sorted(b.groupby("state").gain.sum().sort_values(ascending=False).index)
    row = model[model.step == step].iloc[0]
    links = []
    for c in (c for c in model.columns if c.startswith("alignment[")):
        a, b_ = c[10:-1].split("~", 1)
        if np.isfinite(row[c]) and a in active and b_ in active:
            links.append((a, b_, float(row[c])))
    share = states[states.step == step].set_index("state")["influence_share"]
    return {"year": year, "step": step, "members": {f: members.get(f, set()) for f in active},
            "presidencies": list(zip(pres.state, pres.forum, strict=True)), "brokers": brokers, "links": links,
            "share": share}  # fmt: skip


def _network_layout(snaps: list[dict[str, Any]], states: list[str], pal: Palette) -> dict[str, np.ndarray]:
    """States on a circle, grouped by region; forums evenly on an inner circle, in the order of
    the mean direction of their members (one layout for every year, so that the figures compare)."""
    regions = list(dict.fromkeys(pal.region_of(x) for x in states))
    order = sorted(states, key=lambda s: (regions.index(pal.region_of(s)), states.index(s)))
    angle = np.pi / 2 - 2 * np.pi * np.arange(len(order)) / max(1, len(order))
    pos = {s: np.array([np.cos(a), np.sin(a)]) for s, a in zip(order, angle, strict=True)}
    members: dict[str, set[str]] = {}
    for snap in snaps:
        for f, ms in snap["members"].items():
            members.setdefault(f, set()).update(m for m in ms if m in pos)
    direction = {}
    for f, ms in members.items():
        v = np.sum([pos[m] for m in ms], axis=0) if ms else np.zeros(2)
        direction[f] = float(np.arctan2(v[1], v[0])) if np.linalg.norm(v) > 1e-9 else -np.pi / 2
    forums = sorted(members, key=lambda f: (np.pi / 2 - direction[f]) % (2 * np.pi))
    if forums:
        start = direction[forums[0]]
        for k, f in enumerate(forums):
            a = start - 2 * np.pi * k / len(forums)
            pos[f] = 0.5 * np.array([np.cos(a), np.sin(a)])
    return pos


def _network_panel(ax: Any, snap: dict[str, Any], pos: dict[str, np.ndarray], pal: Palette) -> None:
    states = [s for s in snap["share"].index if s in pos]
    share = snap["share"]
    pres = {(s, f) for s, f in snap["presidencies"]}
    for f, ms in snap["members"].items():
        for m in ms:
            if m in pos and f in pos:
                chair = (m, f) in pres
                ax.plot(*zip(pos[m], pos[f], strict=True), color="k" if chair else "#CCCCCC",
                        lw=2.2 if chair else 0.6, zorder=2 if chair else 1)  # fmt: skip
    for a, b, v in snap["links"]:
        if a in pos and b in pos:
            ax.plot(*zip(pos[a], pos[b], strict=True), color="#0072B2", lw=1 + 6 * max(0.0, v - 0.8), ls="--",
                    zorder=3)  # fmt: skip
            mid = (pos[a] + pos[b]) / 2
            ax.text(*mid, f"{v:.2f}", fontsize=7, color="#0072B2", ha="center", va="center", zorder=6,
                    bbox={"fc": "white", "ec": "none", "pad": 0.5, "alpha": 0.8})  # fmt: skip
    brokers = set(snap["brokers"])
    for s in states:
        size = 40 + 2500 * float(share.get(s, 0.0))
        ax.scatter(*pos[s], s=size, color=pal(s), zorder=4, edgecolors="k" if s in brokers else "#888888",
                   linewidths=2.5 if s in brokers else 0.5)  # fmt: skip
        direction = pos[s] / np.linalg.norm(pos[s])
        p = pos[s] * 1.0 + direction * (0.07 + 0.12 * np.sqrt(float(share.get(s, 0.0))))
        ha = "left" if direction[0] > 0.2 else "right" if direction[0] < -0.2 else "center"
        ax.text(*p, s, fontsize=8, ha=ha, va="center", zorder=6,
                fontweight="bold" if s in pal.focus else "normal")  # fmt: skip
    chairs = {f: s for s, f in pres}
    for f in snap["members"]:
        if f not in pos:
            continue
        ax.scatter(*pos[f], s=260, marker="s", color="white", edgecolors="k", linewidths=2.0 if f in chairs else 1.0,
                   zorder=5)  # fmt: skip
        label = f + (f"\n(chair: {chairs[f]})" if f in chairs else "")
        ax.text(pos[f][0], pos[f][1] - 0.06, label, fontsize=7.5, ha="center", va="top", zorder=7,
                bbox={"fc": "white", "ec": "none", "pad": 0.6, "alpha": 0.85})  # fmt: skip
    ax.set(xlim=(-1.55, 1.55), ylim=(-1.3, 1.3), aspect="equal")
    ax.axis("off")


def forum_networks(
    rep: Report, t: dict[str, pd.DataFrame], pal: Palette, ctx: dict[str, Any], sc: dict[str, Any]
) -> None:
    """The state-forum network at chosen years (one figure each), from the first replication."""
    from matplotlib.lines import Line2D

    if not sc.get("forums"):
        return
    states = t["states"]
    first = ctx["reps"][0]
    snaps = [network_snapshot(t, sc, y, first) for y in network_years(states.year.to_numpy())]
    names = order_of(states[states.replication == first])
    pos = _network_layout(snaps, names, pal)
    keys = [Line2D([], [], color="#CCCCCC", lw=1, label="member"),
            Line2D([], [], color="k", lw=2.2, label="presidency that year"),
            Line2D([], [], color="#0072B2", lw=2, ls="--", label="linked forums (alignment)"),
            Line2D([], [], marker="o", ls="", markerfacecolor="white", markeredgecolor="k", markeredgewidth=2.5,
                   markersize=10, label="broker that year"),
            Line2D([], [], marker="s", ls="", markerfacecolor="white", markeredgecolor="k", markersize=9,
                   label="forum")]  # fmt: skip
    for snap in snaps:
        fig, ax = plt.subplots(figsize=(10, 8.6))
        _network_panel(ax, snap, pos, pal)
        ax.legend(handles=keys, loc="lower center", ncol=5, bbox_to_anchor=(0.5, -0.04), fontsize=8)
        rows = [
            {"kind": "member", "a": m, "b": f, "value": 1.0}
            for f, ms in snap["members"].items()
            for m in sorted(ms)
        ]
        rows += [{"kind": "presidency", "a": s, "b": f, "value": 1.0} for s, f in snap["presidencies"]]
        rows += [{"kind": "link", "a": a, "b": b, "value": v} for a, b, v in snap["links"]]
        rows += [{"kind": "broker", "a": s, "b": "", "value": 1.0} for s in snap["brokers"]]
        rows += [
            {"kind": "influence_share", "a": s, "b": "", "value": float(v)} for s, v in snap["share"].items()
        ]
        y = snap["year"]
        biggest = max(snap["members"].items(), key=lambda kv: len(kv[1]))
        pres = ", ".join(f"{s} ({f})" for s, f in snap["presidencies"]) or "none"
        links = ", ".join(f"{a}~{b} {v:.2f}" for a, b, v in snap["links"]) or "none"
        caption = (f"The {len(snap['members'])} active forums (squares) and their members at the end of {y}, states "
                   "on the circle grouped by region, node size: influence share. Presidencies held during "
                   f"{y} (thick lines): {pres}. Linked forums (dashed, with their text alignment): {links}. Brokers "
                   f"that year (ringed: credited with brokerage): {', '.join(snap['brokers']) or 'none'}. The "
                   f"largest forum: {biggest[0]} ({len(biggest[1])} members). Membership: the founding members, "
                   "then the joins and leaves of events.parquet."
                   + (f" From the first of {ctx['n']} seeds." if ctx["n"] > 1 else ""))  # fmt: skip
        rep.save(fig, f"forum_network_{y}", f"The state-forum network, {y}", caption, pd.DataFrame(rows))


def _network_figure(edges: pd.DataFrame, src: str, dst: str, weight: str, final: pd.Series, pal: Palette,
                    seed: int, scale_width: float | None) -> Any:  # fmt: skip
    """A directed network of the states, node size by final influence share."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(final.index)
    for r in edges.itertuples():
        g.add_edge(getattr(r, src), getattr(r, dst), weight=getattr(r, weight))
    size = 200 + 3500 * final / final.max()
    widths = [scale_width * g[u][v]["weight"] for u, v in g.edges] if scale_width else 1.2
    fig, ax = plt.subplots(figsize=(9, 7))
    lay = nx.spring_layout(g, seed=seed, k=1.2)
    nx.draw_networkx_edges(g, lay, ax=ax, edge_color="#999999", width=widths, arrows=True,
                           node_size=[size[v] for v in g.nodes])  # fmt: skip
    nx.draw_networkx_nodes(g, lay, ax=ax, node_color=[pal(v) for v in g.nodes], node_size=[size[v] for v in g.nodes],
                           edgecolors="#888888", linewidths=0.5)  # fmt: skip
    for v, (x, y) in lay.items():
        ax.text(x, y, v, fontsize=8, ha="center", va="center", zorder=5,
                fontweight="bold" if v in pal.focus else "normal",
                bbox={"fc": "white", "ec": "none", "pad": 0.3, "alpha": 0.6})  # fmt: skip
    ax.axis("off")
    return fig


def state_networks(rep: Report, t: dict[str, pd.DataFrame], pal: Palette, ctx: dict[str, Any]) -> None:
    n = ctx["n"]
    final = ctx["fin"]["influence_share"]["mean"]
    emu = t.get("emulation")
    if emu is None or "follower" not in emu.columns:
        emu = pd.DataFrame(columns=["replication", "follower", "leader", "received"])
    often = emu.groupby(["follower", "leader"]).replication.nunique().div(n).rename("seeds").reset_index()
    often = often[often.seeds >= 0.5]
    fig = _network_figure(often, "follower", "leader", "seeds", final, pal, seed=1, scale_width=2.0)
    led = often.groupby("leader").size().sort_values(ascending=False)
    top = ", ".join(f"{s} ({v})" for s, v in led.head(3).items()) or "nobody"
    rep.save(fig, "emulation_network", "Emulation (follower) network",
             "An arrow from A to B: A's position has been moved most by B's shared practice (A follows B)"
             + (f" on at least half of the {n} seeds (width: the share of seeds)" if n > 1 else "")
             + f". Node size: final influence share. {len(often)} states follow another; most followed: {top}.",
             often)  # fmt: skip
    dep = t.get("dependence")
    if dep is not None and len(dep):
        lastd = dep[(dep.step == dep.step.max()) & (dep.layer == "technical") & (dep.state != dep.supplier)]
        mean = lastd.groupby(["state", "supplier"]).share.sum().div(n).rename("share").reset_index()
        mean = mean[mean.share >= 0.1]
        fig = _network_figure(mean, "state", "supplier", "share", final, pal, seed=2, scale_width=4.0)
        hubs = mean.groupby("supplier").size().sort_values(ascending=False)
        rep.save(fig, "dependence_network", "Dependence network (models, final year)",
                 "An arrow from a buyer to a supplier whose models provide at least 10% of its supply"
                 + (f" on average over the {n} seeds" if n > 1 else "") + "; arrow width: that share. Node size: final "
                 "influence share. Suppliers with most such buyers: "
                 + (", ".join(f"{s} ({v})" for s, v in hubs.head(3).items()) or "none") + ".", mean)  # fmt: skip


# ----------------------------------------------------------------------------- dependence by layer
def default_region(pal: Palette, states: list[str]) -> str | None:
    """Southeast Asia when the run has it, else the region with most states."""
    regions = [pal.region_of(s) for s in states if pal.region_of(s)]
    if not regions:
        return None
    if "Southeast Asia" in regions:
        return "Southeast Asia"
    counts = pd.Series(regions).value_counts(sort=False)
    return str(counts.idxmax())


def region_dependence(dep: pd.DataFrame, members: list[str], reps: list[int]) -> pd.DataFrame:
    """Per replication, layer, year and supplier: the region's mean share of supply (a member
    without a row for a supplier counts 0)."""
    d = dep[dep.state.isin(members)]
    g = d.groupby(["replication", "layer", "year", "supplier"]).share.sum().div(len(members))
    return _complete(g.rename("share").reset_index(), ["layer", "year", "supplier"], reps, "share")


def dependence_layers(rep: Report, t: dict[str, pd.DataFrame], pal: Palette, ctx: dict[str, Any]) -> None:
    dep = t.get("dependence")
    names = order_of(t["states"])
    region = default_region(pal, names)
    if dep is None or not len(dep) or region is None:
        return
    members = [s for s in names if pal.region_of(s) == region]
    mean = region_dependence(dep, members, ctx["reps"])
    b = group_interval(mean, ["layer", "supplier", "year"], "share")
    top = list(b.groupby("supplier")["mean"].max().sort_values(ascending=False).index[:4])
    rest = mean[~mean.supplier.isin(top)].groupby(["replication", "layer", "year"]).share.sum().reset_index()
    others = group_interval(rest, ["layer", "year"], "share").assign(supplier="others")
    data = pd.concat([b[b.supplier.isin(top)], others], ignore_index=True)
    layers = [x for x in LAYERS if x in set(data.layer)]
    fig, axes = plt.subplots(1, len(layers), figsize=(4.6 * len(layers), 4), sharey=True, squeeze=False)
    ends_txt = []
    for ax, layer in zip(axes[0], layers, strict=True):
        d = data[data.layer == layer]
        ends = []
        for s in [*top, "others"]:
            ds = d[d.supplier == s]
            if ds.empty:
                continue
            colour = OTHERS if s == "others" else pal(s)
            _draw(ax, ds, "year", colour, lw=1.4 if s == "others" else 2.0, ls="--" if s == "others" else "-")
            ends.append((f"{s} {fmt_share(ds['mean'].iloc[-1])}", float(ds["mean"].iloc[-1]), colour))
        ax.set(title=LAYERS[layer], ylim=(0, 1), xlabel="year")
        label_ends(ax, ends, fontsize=7.5)
        lead = d[(d.year == d.year.max()) & (d.supplier != "others")].sort_values("mean").iloc[-1]
        ends_txt.append(f"{LAYERS[layer].split(':')[0]}: {lead.supplier} {lead['mean']:.2f}")
    axes[0, 0].set_ylabel(f"mean share of {region}'s supply")
    fig.subplots_adjust(wspace=0.55)
    caption = (f"Who supplies {region} ({len(members)} states: {', '.join(members)}) in each layer of the AI stack: "
               "the region's mean share of supply by supplier (its own states included), the four largest suppliers "
               "coloured, the rest summed as 'others' (dashed). Largest supplier at "
               f"{ctx['end']}: {'; '.join(ends_txt)}. The region is Southeast Asia when the run has it, otherwise "
               "the region with most states. From dependence.parquet." + ctx["say"])  # fmt: skip
    rep.save(fig, "dependence_layers", f"Dependence by AI layer: who supplies {region}", caption, data)


# ----------------------------------------------------------------------------- levers
def levers(rep: Report, t: dict[str, pd.DataFrame], pal: Palette, ctx: dict[str, Any]) -> None:
    powers = t.get("powers")
    if powers is not None and not powers.empty:
        for kind, metric, title, caption, ylabel in LEVER_PANELS:
            panel = powers[(powers.type == kind) & (powers.metric == metric)]
            if panel.empty:
                continue
            b = group_interval(panel, ["lever", "year"], "value")
            names = list(dict.fromkeys(panel.lever))
            fig, axes = plt.subplots(1, len(names), figsize=(min(14, 2.2 + 3.6 * len(names)), 3.4), sharey=True,
                                     squeeze=False)  # fmt: skip
            ends = []
            end = float(t["states"].year.max())
            for ax, lever in zip(axes[0], names, strict=True):
                d = b[b.lever == lever]
                actor = str(panel[panel.lever == lever].actor.iloc[0])
                _draw(ax, d, "year", pal(actor))
                ax.set(title=lever, xlabel="year", xlim=(b.year.min(), b.year.max()))
                ax.title.set_fontsize(9)
                v = d["mean"].iloc[-1]
                ax.annotate(f"{v:.3g}", (d.year.iloc[-1], v), xytext=(3, 0), textcoords="offset points",
                            fontsize=8, va="center", annotation_clip=False)  # fmt: skip
                stops = float(d.year.iloc[-1])
                # a series that stops before the run's end is quoted at its own last point
                ends.append(
                    f"{lever} {v:.3g}"
                    + (f" (at {until(stops)}, where its series stops)" if stops < end - 1e-9 else "")
                )
            axes[0, 0].set_ylabel(ylabel)
            fig.subplots_adjust(wspace=0.15)
            text = f"{caption} At {ctx['end']}: {'; '.join(ends)}. Colour: the wielder's."
            wide = b.pivot(index="year", columns="lever", values="mean").dropna()
            if len(names) > 1 and len(wide) and float(np.ptp(wide.to_numpy(), axis=1).max()) < 1e-9:
                text += (
                    " The panels coincide where they overlap: the indicator is measured between the same "
                    "states, whichever lever is counted."
                )
            rep.save(fig, f"lever_{kind}", title, text + ctx["say"], b)
    eco = t.get("ecosystem")
    if eco is not None and not eco.empty and (eco.region == "Southeast Asia").any():
        sea = _complete(eco[eco.region == "Southeast Asia"], ["year", "supplier"], ctx["reps"], "share")
        b = group_interval(sea, ["supplier", "year"], "share")
        top = list(b.groupby("supplier")["mean"].max().sort_values(ascending=False).index[:4])
        fig, ax = plt.subplots(figsize=(9, 3.6))
        for _, d in b[~b.supplier.isin(top)].groupby("supplier"):
            ax.plot(d.year, d["mean"], color=GREY, lw=0.8)
        sea_ends = []
        for s in top:
            d = b[b.supplier == s]
            _draw(ax, d, "year", pal(s))
            sea_ends.append((f"{s} {fmt_share(d['mean'].iloc[-1])}", float(d["mean"].iloc[-1]), pal(s)))
        ax.set(xlabel="year", ylabel="mean share of model supply (0-1)", ylim=(0, 1))
        label_ends(ax, sea_ends)
        rep.save(fig, "sea_ecosystem", "Southeast Asia: who supplies the models",
                 "Mean share of each supplier in the model (technical) layer of the Southeast Asian states, the four "
                 "largest coloured (grey: the others); every layer is in the dependence-by-layer figure. At "
                 f"{ctx['end']}: " + ", ".join(e[0] for e in sea_ends) + "." + ctx["say"], b[b.supplier.isin(top)])  # fmt: skip


# ----------------------------------------------------------------------------- the report
def _final_table(states: pd.DataFrame) -> pd.DataFrame:
    """Final metrics, one row per state: the value, or the mean and t interval over the seeds."""
    last = _final_rep(as_replicated({"states": states})["states"])
    cols = ["influence_share", "resource_share", "punching_ratio", "rule_alignment", "followers", "influence"]
    out, index, order = {}, None, None
    for c in cols:
        g = group_interval(last, ["state"], c).set_index("state")
        out[c] = [f"{m:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) else "")
                  for m, lo, hi in zip(g["mean"], g["lo"], g["hi"], strict=True)]  # fmt: skip
        index = g.index
        if c == "influence_share":
            order = g["mean"].sort_values(ascending=False).index
    return pd.DataFrame(out, index=index).loc[order].rename_axis("state").reset_index()


def palette_for(t: dict[str, pd.DataFrame], regions: dict[str, str]) -> Palette:
    """The report's palette: its focus states in order, every state's region."""
    t = as_replicated(t)
    last = _final_rep(t["states"])
    leaders = list(
        last.groupby("state", sort=False).influence_share.mean().sort_values(ascending=False).index
    )
    return Palette(order_of(t["states"]), regions, focus_of(t, leaders))


def run_report(folder: str | Path, force: bool = False) -> Path:
    folder = Path(folder)
    t = load_run(folder)
    manifest = read_manifest(folder)
    sc = _scenario(folder)
    pal = palette_for(t, regions_in(sc))
    many = replicated(t)
    n = int(t["states"].replication.nunique()) if many else 1

    def build(out: Path) -> None:
        title = f"Run report: {manifest.get('scenario', folder.name)}" + (
            f", {n} replications" if many else ""
        )
        rep = Report(title, out)
        figures(rep, t, pal, sc)
        heading = "Final metrics: mean [95% t interval] over the seeds" if n > 1 else "Final metrics"
        rep.text(heading, table_html(_final_table(t["states"])))
        rep.text("Provenance", provenance_html(manifest))
        if many:
            intro = (f"Scenario <code>{manifest.get('scenario', '?')}</code>, {n} replications (seeds derived from "
                     f"{manifest.get('base_seed', '?')}), {manifest.get('steps', '?')} steps. Every line is the mean "
                     "over the seeds and its band the 95% t interval; figures are PNG, each with its data as CSV "
                     "beside it.")  # fmt: skip
        else:
            intro = (
                f"Scenario <code>{manifest.get('scenario', '?')}</code>, seed {manifest.get('seed', '?')}, "
                f"{manifest.get('steps', '?')} steps. Figures are PNG; each has its data as CSV beside it."
            )
        rep.write(intro)

    return atomic(folder / "report", build, folder=True, force=force) / "index.html"
