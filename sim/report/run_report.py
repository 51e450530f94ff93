"""The report of one run: how discourse power moved, who did what, and what the levers did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import SimError
from sim.io import atomic
from sim.report.base import Palette, Report, plt, provenance_html, read_manifest, table_html

MARKED_EVENTS = ("lever", "framework_launched", "forum_created")


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
        fig, ax = plt.subplots(figsize=(11, 0.42 * len(order) + 1.6))
        cmap = plt.get_cmap("tab20")
        left = np.zeros(len(order))
        for j, source in enumerate(by.columns):
            ax.barh(order, by[source], left=left, color=cmap(j % 20), label=source)
            left += by[source].to_numpy()
        ax.invert_yaxis()
        ax.set(xlabel="influence stock at the end (model units)")
        ax.legend(loc="lower right", ncol=2, fontsize=7)
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
    panels = [
        ("export_controls", "compute_gap", "Export controls: controller-target compute gap",
         "1 - target compute / controller compute, from each control's start (one line per control). It widens while "
         "controls bite and narrows as leakage and the target's efficiency innovation erode them.", "gap (0-1)"),
        ("regulation", "adopters", "Brussels effect: states that adopted similar rules",
         "Cumulative number of states that emulated the regulation (de jure).", "adopters (states)"),
        ("alliance", "partner_dependence_technical", "Alliances: partners' dependence on the hub (models)",
         "Mean share of the partners' model supply that comes from the hub.", "share (0-1)"),
    ]  # fmt: skip
    for kind, metric, title, caption, ylabel in panels:
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
