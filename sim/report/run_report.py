"""The report of one run: how discourse power moved, who did what, and what the levers did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import SimError
from sim.io import atomic
from sim.report.base import Palette, Report, plt, provenance_html, read_manifest, table_html

MARKED_EVENTS = ("lever", "framework_launched", "forum_created")
LEVER_PANELS = [
    ("export_controls", "compute_gap", "Export controls: controller-target compute gap",
     "1 - target compute / controller compute, from each control's start (one line per control). It widens while "
     "controls bite and narrows as leakage and the target's efficiency innovation erode them.", "gap (0-1)"),
    ("regulation", "adopters", "Brussels effect: states that adopted similar rules",
     "Cumulative number of states that emulated the regulation (de jure).", "adopters (states)"),
    ("alliance", "partner_dependence_technical", "Alliances: partners' dependence on the hub (models)",
     "Mean share of the partners' model supply that comes from the hub.", "share (0-1)"),
]  # fmt: skip


def _source_bars(by: pd.DataFrame, order: list[str]) -> Any:
    """Stacked bars of each state's influence stock by source (rows `order`, one column per
    source)."""
    fig, ax = plt.subplots(figsize=(11, 0.42 * len(order) + 1.6))
    cmap = plt.get_cmap("tab20")
    left = np.zeros(len(order))
    for j, source in enumerate(by.columns):
        ax.barh(order, by[source], left=left, color=cmap(j % 20), label=source)
        left += by[source].to_numpy()
    ax.invert_yaxis()
    ax.set(xlabel="influence stock at the end (model units)")
    ax.legend(loc="lower right", ncol=2, fontsize=7)
    return fig


def load_run(folder: Path) -> dict[str, pd.DataFrame]:
    folder = Path(folder)
    if not (folder / "states.parquet").exists():
        raise SimError(f"{folder}: not a run folder (no states.parquet)")
    return {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def order_of(states: pd.DataFrame) -> list[str]:
    first = states[states.step == 0]
    return list(first["state"])


def _final(states: pd.DataFrame) -> pd.DataFrame:
    return states[states.step == states.step.max()].set_index("state")


def sources_at_end(sources: pd.DataFrame, states: pd.DataFrame, decay_step: float) -> pd.DataFrame:
    """[state x source] the final influence stock told apart by source (each source's gains
    decayed as the stock decays)."""
    last = int(states.step.max())
    age = last - sources.step.to_numpy()
    part = sources.assign(stock=sources.gain.to_numpy() * (1.0 - decay_step) ** age)
    return part.pivot_table(index="state", columns="source", values="stock", aggfunc="sum", fill_value=0.0)


def figures(rep: Report, t: dict[str, pd.DataFrame], pal: Palette, decay_step: float = 0.0) -> None:
    states, forums, model, events = t["states"], t["forums"], t["model"], t["events"]
    final = _final(states)
    leaders = list(final.sort_values("influence_share", ascending=False).index)
    year_label = "year (end of quarter)"

    # 1. influence shares, stacked, with events marked
    share = states.pivot(index="year", columns="state", values="influence_share")[leaders]
    fig, ax = plt.subplots(figsize=(11, 5))
    ax.stackplot(share.index, share.T.to_numpy(), labels=leaders, colors=[pal(s) for s in leaders], alpha=0.9)
    marks = events[events.event.isin(MARKED_EVENTS)].drop_duplicates("year")
    for _, ev in marks.iterrows():
        ax.axvline(ev.year, color="k", lw=0.6, alpha=0.4)
        label = ev.detail or ev.forum or ev.event
        ax.annotate(str(label)[:24], (ev.year, 0.99), rotation=90, fontsize=7, va="top", ha="right",
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})  # fmt: skip
    ax.set(
        xlabel=year_label,
        ylabel="share of world influence (0-1)",
        ylim=(0, 1),
        xlim=(share.index.min(), share.index.max()),
    )
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), ncol=1)
    rep.save(fig, "influence_share", "Influence share over time",
             "Each band is one state's share of the world's discourse-power stock; bands stack to 1. "
             "Vertical lines mark scheduled levers (technology powers), frameworks and new forums.",
             share.reset_index())  # fmt: skip

    # 2. influence stock of the leading states
    top = leaders[:6]
    stock = states.pivot(index="year", columns="state", values="influence")[top]
    fig, ax = plt.subplots(figsize=(9, 4))
    for s in top:
        ax.plot(stock.index, stock[s], color=pal(s), label=s, lw=2)
    ax.set(xlabel=year_label, ylabel="influence stock (model units)")
    ax.legend()
    rep.save(fig, "influence_stock", "Influence stock of the six leading states",
             "The stock that gains the movement a state causes in forum texts and others' positions and decays each step.",
             stock.reset_index())  # fmt: skip

    # 3. punching ratio: influence share next to resource share
    bars = final[["influence_share", "resource_share", "punching_ratio"]].loc[leaders]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    x = np.arange(len(leaders))
    ax.bar(x - 0.2, bars.influence_share, 0.4, color=[pal(s) for s in leaders], label="influence share")
    ax.bar(
        x + 0.2,
        bars.resource_share,
        0.4,
        color="lightgrey",
        edgecolor=[pal(s) for s in leaders],
        label="resource share",
    )
    for k, r in enumerate(bars.punching_ratio):
        ax.annotate(f"{r:.1f}x", (x[k], max(bars.influence_share.iloc[k], bars.resource_share.iloc[k])),
                    ha="center", va="bottom", fontsize=7)  # fmt: skip
    ax.set_xticks(x, leaders, rotation=60, ha="right")
    ax.set(ylabel="share (0-1)")
    ax.legend()
    rep.save(fig, "punching_ratio", "Punching ratio in the final year",
             "Coloured bars: influence share; grey bars: share of compute, data and algorithms. The label is their "
             "ratio: above 1x a state punches above its resource weight (Japan's pattern in seed 000).",
             bars.reset_index())  # fmt: skip

    # 3b. where influence comes from: the final stock told apart by source
    if "influence_sources" in t and len(t["influence_sources"]):
        by = sources_at_end(t["influence_sources"], t["states"], decay_step)
        order = [s for s in leaders if s in by.index][:12]
        by = by.loc[order]
        fig = _source_bars(by, order)
        rep.save(fig, "influence_by_source", "Where each state's influence comes from",
                 "The influence stock at the end of the run, told apart by the mechanism that earned it (each source's "
                 "gains decayed as the stock decays, so the parts add up to the stock): discourse (drafting), hosting "
                 "(what a presidency added to drafts and bridges), brokerage, frameworks, practice, reputation, and the "
                 "technology powers. From influence_sources.parquet.", by.reset_index())  # fmt: skip

    # 4. action mix over time, small multiples
    acts = states[states.step > 0].copy()
    acts["year_bin"] = np.floor(acts["year"] - 1e-9).astype(int)
    mix = acts.groupby(["state", "year_bin", "action"]).size().unstack(fill_value=0)
    mix = mix.div(mix.sum(axis=1), axis=0)
    actions = [a for a in mix.columns if a != "none"] + (["none"] if "none" in mix.columns else [])
    cmap = plt.get_cmap("Set2")
    n = len(leaders)
    cols = 5
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(13, 2.2 * rows), sharex=True, sharey=True, squeeze=False)
    for k, s in enumerate(leaders):
        ax = axes.flat[k]
        d = mix.loc[s].reindex(columns=actions, fill_value=0) if s in mix.index.get_level_values(0) else None
        if d is not None:
            ax.stackplot(d.index, d.T.to_numpy(), colors=[cmap(j) for j in range(len(actions))])
        ax.set_title(s, fontsize=9, color=pal(s))
        ax.set_ylim(0, 1)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.legend([plt.Rectangle((0, 0), 1, 1, color=cmap(j)) for j in range(len(actions))], actions,
               loc="lower center", ncol=len(actions), bbox_to_anchor=(0.5, -0.02))  # fmt: skip
    fig.supxlabel("year")
    fig.supylabel("share of the year's steps")
    rep.save(fig, "action_mix", "Action mix over time",
             "For each state, the share of each year's quarters spent on each path or power ('none': inactive).",
             mix.reset_index())  # fmt: skip

    # 5. forum texts over the norm dimensions
    dims = [c for c in forums.columns if c not in ("step", "year", "forum", "active", "members", "weight")]
    fnames = list(forums.forum.unique())
    fcmap = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(dims), figsize=(3.2 * len(dims), 3.4), sharey=True, squeeze=False)
    for d, dim in enumerate(dims):
        ax = axes[0, d]
        for k, f in enumerate(fnames):
            rows_f = forums[(forums.forum == f) & forums.active]
            ax.plot(rows_f.year, rows_f[dim], color=fcmap(k % 10), label=f, lw=1.5)
        ax.set_title(dim)
        ax.set_ylim(0, 1)
        ax.set_xlabel("year")
    axes[0, 0].set_ylabel("forum text (0-1)")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    rep.save(fig, "forum_texts", "Forum texts on each norm dimension",
             "The principles each forum has adopted, as a position on every norm dimension (0: e.g. soft law, 1: binding "
             "law), while the forum is active.", forums[forums.active])  # fmt: skip

    # 6. alignment index
    fig, ax = plt.subplots(figsize=(9, 3.6))
    pair_cols = [c for c in model.columns if c.startswith("alignment[")]
    for c in pair_cols:
        ax.plot(model.year, model[c], lw=1, alpha=0.7, label=c[10:-1])
    ax.plot(model.year, model.alignment_index, color="k", lw=2.5, label="overall")
    ax.set(xlabel=year_label, ylabel="alignment (1 - distance of texts)")
    ax.legend(ncol=2)
    rep.save(fig, "alignment", "Forum alignment index",
             "Similarity of the texts of linked forums (1: identical). Brokers engaged in both forums of a link raise it "
             "(seed 000: G7, G20 and OECD principles 'aligned').", model[["step", "year", "alignment_index", *pair_cols]])  # fmt: skip

    networks(rep, t, pal, final)
    levers(rep, t, pal)


def _network_figure(
    edges: pd.DataFrame,
    src: str,
    dst: str,
    weight: str,
    final: pd.DataFrame,
    pal: Palette,
    seed: int,
    scale_width: float | None,
):
    """A directed network of the states, node size by final influence share."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(final.index)
    for r in edges.itertuples():
        g.add_edge(getattr(r, src), getattr(r, dst), weight=getattr(r, weight))
    size = 300 + 4000 * final["influence_share"] / final["influence_share"].max()
    widths = [scale_width * g[u][v]["weight"] for u, v in g.edges] if scale_width else 1.2
    fig, ax = plt.subplots(figsize=(9, 7))
    nx.draw_networkx(g, nx.spring_layout(g, seed=seed, k=1.2), ax=ax, node_color=[pal(n) for n in g.nodes],
                     node_size=[size[n] for n in g.nodes], font_size=7, arrows=True, edge_color="grey", width=widths)  # fmt: skip
    ax.axis("off")
    return fig


def networks(rep: Report, t: dict[str, pd.DataFrame], pal: Palette, final: pd.DataFrame) -> None:
    emu = t.get("emulation")
    if emu is None:
        emu = pd.DataFrame(columns=["follower", "leader", "received"])
    # always drawn: a network without arrows says that nobody emulates anybody yet
    fig = _network_figure(emu, "follower", "leader", "received", final, pal, seed=1, scale_width=None)
    rep.save(fig, "emulation_network", "Emulation (follower) network",
             "An arrow from A to B: A's position has been moved most by B's shared practice (A follows B). "
             f"Node size: final influence share. {len(emu)} states follow another.", emu)  # fmt: skip
    dep = t.get("dependence")
    if dep is not None and len(dep):
        last = dep[(dep.step == dep.step.max()) & (dep.layer == "technical") & (dep.state != dep.supplier)]
        last = last[last.share >= 0.1]
        fig = _network_figure(last, "state", "supplier", "share", final, pal, seed=2, scale_width=4.0)
        rep.save(fig, "dependence_network", "Dependence network (models, final year)",
                 "An arrow from a buyer to a supplier whose models provide at least 10% of its supply; arrow width: the "
                 "share. Node size: final influence share. Hubs at the centre are the centre-periphery structure of seed 002.",
                 last)  # fmt: skip


def levers(rep: Report, t: dict[str, pd.DataFrame], pal: Palette) -> None:
    powers = t.get("powers")
    if powers is None or powers.empty:
        return
    for kind, metric, title, caption, ylabel in LEVER_PANELS:
        d = powers[(powers.type == kind) & (powers.metric == metric)]
        if d.empty:
            continue
        fig, ax = plt.subplots(figsize=(9, 3.6))
        for lever, rows in d.groupby("lever", sort=False):
            ax.plot(rows.year, rows.value, lw=2, label=lever)
        ax.set(xlabel="year", ylabel=ylabel)
        ax.legend()
        rep.save(fig, f"lever_{kind}", title, caption, d)
    eco = t.get("ecosystem")
    if eco is not None and not eco.empty and (eco.region == "Southeast Asia").any():
        sea = (
            eco[eco.region == "Southeast Asia"]
            .pivot(index="year", columns="supplier", values="share")
            .fillna(0)
        )
        sea = sea[sea.max().sort_values(ascending=False).index[:6]]
        fig, ax = plt.subplots(figsize=(9, 3.6))
        for s in sea.columns:
            ax.plot(sea.index, sea[s], color=pal(s), lw=2, label=s)
        ax.set(xlabel="year", ylabel="mean share of model supply (0-1)")
        ax.legend()
        rep.save(fig, "sea_ecosystem", "Southeast Asia: who supplies the models",
                 "Mean share of each supplier in the model (technical) layer of the Southeast Asian states (seed 001: "
                 "US big tech, Chinese open models and Japan's co-creation compete there).", sea.reset_index())  # fmt: skip


# ----------------------------------------------------------------------------- replicated runs
def replicated(t: dict[str, pd.DataFrame]) -> bool:
    """A folder of `sim run --replications N`: every table has `replication` and `seed` columns."""
    return "replication" in t["states"].columns


def _draw(ax, b: pd.DataFrame, x: str, color, label: str | None, lw: float = 2.0, alpha: float = 0.2) -> None:
    """A mean line and its interval band (from `group_interval`)."""
    ax.plot(b[x], b["mean"], color=color, lw=lw, label=label)
    if np.isfinite(b["lo"].to_numpy(dtype=float)).any():
        ax.fill_between(b[x], b["lo"], b["hi"], color=color, alpha=alpha, lw=0)


def _complete(df: pd.DataFrame, keys: list[str], reps: list[int], value: str) -> pd.DataFrame:
    """Rows for every replication of every key (missing ones: 0), so that a mean over the seeds
    counts the seeds where something did not happen (a supplier under 1%, an unused action)."""
    df = df.assign(**{value: df[value].astype(float)})
    wide = df.pivot_table(index=keys, columns="replication", values=value, aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(columns=reps, fill_value=0.0)
    return wide.melt(ignore_index=False, var_name="replication", value_name=value).reset_index()


def _final_rep(states: pd.DataFrame) -> pd.DataFrame:
    return states[states.step == states.step.max()]


def figures_replicated(
    rep: Report, t: dict[str, pd.DataFrame], pal: Palette, decay_step: float = 0.0
) -> None:
    """The run report's figures over N seeds: every series is the mean over the seeds with its
    95% t interval as a band; bars carry the interval as whiskers."""
    from sim.report.replicate import LEVEL, group_interval

    states, forums, model, events = t["states"], t["forums"], t["model"], t["events"]
    reps = sorted(states.replication.unique())
    n = len(reps)
    say = (
        f" Mean over {n} seeds; bands and whiskers: {LEVEL:.0%} t intervals over the seeds (n = {n})."
        if n > 1
        else " One seed (n = 1): no interval."
    )
    year_label = "year (end of quarter)"
    last = _final_rep(states)
    fin = {
        c: group_interval(last, ["state"], c).set_index("state")
        for c in ("influence_share", "resource_share", "punching_ratio")
    }
    leaders = list(fin["influence_share"]["mean"].sort_values(ascending=False).index)

    # 1. influence shares: the leading states' mean share with its band, events on every seed marked
    share = group_interval(states, ["year", "state"], "influence_share")
    fig, ax = plt.subplots(figsize=(11, 5))
    for s in leaders[:8]:
        _draw(ax, share[share.state == s], "year", pal(s), s)
    ev = events[events.event.isin(MARKED_EVENTS)]
    key = ["event", "year", "forum", "detail"]
    common = ev.groupby(key, dropna=False).replication.nunique().reset_index()
    marks = common[common.replication == n].drop_duplicates("year")
    for _, e in marks.iterrows():
        ax.axvline(e.year, color="k", lw=0.6, alpha=0.4)
        ax.annotate(str(e.detail or e.forum or e.event)[:24], (e.year, ax.get_ylim()[1]), rotation=90, fontsize=7,
                    va="top", ha="right", bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})  # fmt: skip
    ax.set(
        xlabel=year_label, ylabel="share of world influence (0-1)", xlim=(share.year.min(), share.year.max())
    )
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    rep.save(fig, "influence_share", "Influence share over time",
             "The eight leading states' share of the world's discourse-power stock (the data has every state). "
             "Vertical lines mark scheduled levers, frameworks and new forums that happen on every seed." + say,
             share)  # fmt: skip

    # 2. influence stock of the leading states
    top = leaders[:6]
    stock = group_interval(states[states.state.isin(top)], ["year", "state"], "influence")
    fig, ax = plt.subplots(figsize=(9, 4))
    for s in top:
        _draw(ax, stock[stock.state == s], "year", pal(s), s)
    ax.set(xlabel=year_label, ylabel="influence stock (model units)")
    ax.legend()
    rep.save(fig, "influence_stock", "Influence stock of the six leading states",
             "The stock that gains the movement a state causes in forum texts and others' positions and decays each "
             "step." + say, stock)  # fmt: skip

    # 3. punching ratio: influence share next to resource share, in the final year
    bars = pd.concat({c: f.loc[leaders, "mean"] for c, f in fin.items()}, axis=1)
    lo_hi = fin["influence_share"].loc[leaders]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    x = np.arange(len(leaders))
    err = None
    if np.isfinite(lo_hi["lo"]).any():
        err = np.vstack([lo_hi["mean"] - lo_hi["lo"], lo_hi["hi"] - lo_hi["mean"]])
    ax.bar(x - 0.2, bars.influence_share, 0.4, yerr=err, color=[pal(s) for s in leaders], ecolor="k",
           capsize=2, label="influence share")  # fmt: skip
    ax.bar(x + 0.2, bars.resource_share, 0.4, color="lightgrey", edgecolor=[pal(s) for s in leaders],
           label="resource share")  # fmt: skip
    tops = np.fmax(
        np.fmax(bars.influence_share.to_numpy(), lo_hi["hi"].to_numpy()), bars.resource_share.to_numpy()
    )
    for k, r in enumerate(bars.punching_ratio):
        ax.annotate(f"{r:.1f}x", (x[k], tops[k]), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, leaders, rotation=60, ha="right")
    ax.set(ylabel="share (0-1)")
    ax.legend()
    table = pd.concat([f[["mean", "lo", "hi"]].add_prefix(f"{c}_") for c, f in fin.items()], axis=1).loc[
        leaders
    ]
    rep.save(fig, "punching_ratio", "Punching ratio in the final year",
             "Coloured bars: mean influence share (whiskers: its interval); grey bars: share of compute, data and "
             "algorithms. The label is the mean ratio: above 1x a state punches above its resource weight." + say,
             table.reset_index())  # fmt: skip

    # 3b. where influence comes from, averaged over the seeds
    src = t.get("influence_sources")
    if src is not None and len(src):
        parts = [
            sources_at_end(src[src.replication == r], states[states.replication == r], decay_step)
            for r in reps
        ]
        by = pd.concat(parts).groupby(level=0).sum().div(n)
        order = [s for s in leaders if s in by.index][:12]
        by = by.loc[order].fillna(0.0)
        fig = _source_bars(by, order)
        rep.save(fig, "influence_by_source", "Where each state's influence comes from",
                 "The influence stock at the end of the run, told apart by the mechanism that earned it (each "
                 f"source's gains decayed as the stock decays), the mean over {n} seeds. From "
                 "influence_sources.parquet.", by.reset_index())  # fmt: skip

    # 4. action mix over time: each action's share of a state's year, mean and band over the seeds
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
    cols = 5
    rows = int(np.ceil(len(leaders) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(13, 2.2 * rows), sharex=True, sharey=True, squeeze=False)
    for k, s in enumerate(leaders):
        ax = axes.flat[k]
        for j, a in enumerate(actions):
            _draw(
                ax, mix[(mix.state == s) & (mix.action == a)], "year_bin", cmap(j), None, lw=1.2, alpha=0.12
            )
        ax.set_title(s, fontsize=9, color=pal(s))
        ax.set_ylim(0, 1)
    for ax in list(axes.flat)[len(leaders) :]:
        ax.axis("off")
    fig.legend([plt.Rectangle((0, 0), 1, 1, color=cmap(j)) for j in range(len(actions))], actions,
               loc="lower center", ncol=len(actions), bbox_to_anchor=(0.5, -0.02))  # fmt: skip
    fig.supxlabel("year")
    fig.supylabel("share of the year's steps")
    rep.save(fig, "action_mix", "Action mix over time",
             "For each state, the share of each year's quarters spent on each path or power ('none': inactive)."
             + say, mix)  # fmt: skip

    # 5. forum texts over the norm dimensions
    dims = [c for c in forums.columns if c not in ("replication", "seed", "step", "year", "forum", "active", "members",
                                                     "weight")]  # fmt: skip
    fnames = list(forums.forum.unique())
    active = forums[forums.active]
    fcmap = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(dims), figsize=(3.2 * len(dims), 3.4), sharey=True, squeeze=False)
    texts = []
    for d, dim in enumerate(dims):
        ax = axes[0, d]
        b = group_interval(active, ["forum", "year"], dim)
        texts.append(b.assign(dimension=dim))
        for k, f in enumerate(fnames):
            _draw(ax, b[b.forum == f], "year", fcmap(k % 10), f, lw=1.5)
        ax.set_title(dim)
        ax.set_ylim(0, 1)
        ax.set_xlabel("year")
    axes[0, 0].set_ylabel("forum text (0-1)")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    rep.save(fig, "forum_texts", "Forum texts on each norm dimension",
             "The principles each forum has adopted, as a position on every norm dimension (0: e.g. soft law, 1: "
             "binding law), while the forum is active." + say, pd.concat(texts, ignore_index=True))  # fmt: skip

    # 6. alignment index
    pair_cols = [c for c in model.columns if c.startswith("alignment[")]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    aligned = []
    for k, c in enumerate(pair_cols):
        b = group_interval(model, ["year"], c)
        aligned.append(b.assign(series=c))
        _draw(ax, b, "year", plt.get_cmap("tab10")(k % 10), c[10:-1], lw=1, alpha=0.1)
    b = group_interval(model, ["year"], "alignment_index")
    aligned.append(b.assign(series="alignment_index"))
    _draw(ax, b, "year", "k", "overall", lw=2.5)
    ax.set(xlabel=year_label, ylabel="alignment (1 - distance of texts)")
    ax.legend(ncol=2)
    rep.save(fig, "alignment", "Forum alignment index",
             "Similarity of the texts of linked forums (1: identical); black: the overall index." + say,
             pd.concat(aligned, ignore_index=True))  # fmt: skip

    final = pd.DataFrame({"influence_share": fin["influence_share"]["mean"]})
    emu = t.get("emulation")
    if emu is None:
        emu = pd.DataFrame(columns=["replication", "follower", "leader", "received"])
    often = emu.groupby(["follower", "leader"]).replication.nunique().div(n).rename("seeds").reset_index()
    often = often[often.seeds >= 0.5]
    fig = _network_figure(often, "follower", "leader", "seeds", final, pal, seed=1, scale_width=3.0)
    rep.save(fig, "emulation_network", "Emulation (follower) network",
             "An arrow from A to B: A's position has been moved most by B's shared practice (A follows B) on at least "
             f"half of the {n} seeds; width: the share of seeds. Node size: mean final influence share.", often)  # fmt: skip
    dep = t.get("dependence")
    if dep is not None and len(dep):
        lastd = dep[(dep.step == dep.step.max()) & (dep.layer == "technical") & (dep.state != dep.supplier)]
        mean = lastd.groupby(["state", "supplier"]).share.sum().div(n).rename("share").reset_index()
        mean = mean[mean.share >= 0.1]
        fig = _network_figure(mean, "state", "supplier", "share", final, pal, seed=2, scale_width=4.0)
        rep.save(fig, "dependence_network", "Dependence network (models, final year)",
                 "An arrow from a buyer to a supplier whose models provide at least 10% of its supply on average over "
                 f"the {n} seeds; arrow width: that mean share. Node size: mean final influence share.", mean)  # fmt: skip

    powers = t.get("powers")
    if powers is not None and not powers.empty:
        for kind, metric, title, caption, ylabel in LEVER_PANELS:
            panel = powers[(powers.type == kind) & (powers.metric == metric)]
            if panel.empty:
                continue
            b = group_interval(panel, ["lever", "year"], "value")
            fig, ax = plt.subplots(figsize=(9, 3.6))
            for k, (lever, rows_l) in enumerate(b.groupby("lever", sort=False)):
                _draw(ax, rows_l, "year", plt.get_cmap("tab10")(k % 10), str(lever))
            ax.set(xlabel="year", ylabel=ylabel)
            ax.legend()
            rep.save(fig, f"lever_{kind}", title, caption + say, b)
    eco = t.get("ecosystem")
    if eco is not None and not eco.empty and (eco.region == "Southeast Asia").any():
        sea = _complete(eco[eco.region == "Southeast Asia"], ["year", "supplier"], reps, "share")
        b = group_interval(sea, ["supplier", "year"], "share")
        top_s = b.groupby("supplier")["mean"].max().sort_values(ascending=False).index[:6]
        fig, ax = plt.subplots(figsize=(9, 3.6))
        for s in top_s:
            _draw(ax, b[b.supplier == s], "year", pal(s), s)
        ax.set(xlabel="year", ylabel="mean share of model supply (0-1)")
        ax.legend()
        rep.save(fig, "sea_ecosystem", "Southeast Asia: who supplies the models",
                 "Mean share of each supplier in the model (technical) layer of the Southeast Asian states." + say,
                 b[b.supplier.isin(top_s)])  # fmt: skip


def _final_table_replicated(states: pd.DataFrame) -> pd.DataFrame:
    """Final metrics, mean and t interval over the seeds, one row per state."""
    from sim.report.replicate import group_interval

    last = _final_rep(states)
    cols = ["influence_share", "resource_share", "punching_ratio", "rule_alignment", "followers", "influence"]
    out = {}
    for c in cols:
        g = group_interval(last, ["state"], c).set_index("state")
        out[c] = [
            f"{m:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) else "")
            for m, lo, hi in zip(g["mean"], g["lo"], g["hi"], strict=True)
        ]
        index = g.index
        if c == "influence_share":
            order = g["mean"].sort_values(ascending=False).index
    return pd.DataFrame(out, index=index).loc[order].reset_index()


def _decay_step(folder: Path) -> float:
    """The influence stock's decay per step, from the run's resolved scenario."""
    import yaml

    from sim.fields import PerYear

    path = folder / "scenario.resolved.yaml"
    if not path.exists():
        return 0.0
    sc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return PerYear("share").to_step(float(sc["influence"]["decay"]), int(sc["model"]["steps_per_year"]))


def run_report(folder: str | Path, force: bool = False) -> Path:
    folder = Path(folder)
    t = load_run(folder)
    manifest = read_manifest(folder)
    pal = Palette(order_of(t["states"]))
    if replicated(t):
        return _replicated_report(folder, t, manifest, force)

    def build(out: Path) -> None:
        rep = Report(f"Run report: {manifest.get('scenario', folder.name)}", out)
        final = _final(t["states"]).sort_values("influence_share", ascending=False)
        cols = [
            "influence_share",
            "resource_share",
            "punching_ratio",
            "rule_alignment",
            "followers",
            "influence",
        ]
        figures(rep, t, pal, _decay_step(folder))
        rep.text("Final metrics", table_html(final[cols].reset_index()))
        rep.text("Provenance", provenance_html(manifest))
        rep.write(
            f"Scenario <code>{manifest.get('scenario', '?')}</code>, seed {manifest.get('seed', '?')}, "
            f"{manifest.get('steps', '?')} steps. Figures are PNG; each has its data as CSV beside it."
        )

    return atomic(folder / "report", build, folder=True, force=force) / "index.html"


def _replicated_report(folder: Path, t: dict[str, pd.DataFrame], manifest: dict, force: bool) -> Path:
    """The report of `sim run --replications N`: bands over the seeds in every figure."""
    states = t["states"]
    pal = Palette(list(dict.fromkeys(order_of(states))))
    n = int(states.replication.nunique())

    def build(out: Path) -> None:
        rep = Report(f"Run report: {manifest.get('scenario', folder.name)}, {n} replications", out)
        figures_replicated(rep, t, pal, _decay_step(folder))
        rep.text(
            "Final metrics: mean [95% t interval] over the seeds" if n > 1 else "Final metrics (one seed)",
            table_html(_final_table_replicated(states)),
        )
        rep.text("Provenance", provenance_html(manifest))
        rep.write(
            f"Scenario <code>{manifest.get('scenario', '?')}</code>, {n} replications (seeds derived from "
            f"{manifest.get('base_seed', '?')}), {manifest.get('steps', '?')} steps. Every line is the mean over the "
            "seeds and its band the 95% t interval; figures are PNG, each with its data as CSV beside it."
        )

    return atomic(folder / "report", build, folder=True, force=force) / "index.html"
